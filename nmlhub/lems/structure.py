"""A network a model's own ComponentTypes build with LEMS ``<Structure>``, read as jLEMS builds it.

jLEMS simulates any component: a ``<Simulation>`` may target a component of the model's own type
whose children make cells with ``MultiInstantiate`` and connect them with ``EventConnection``
(inside ``ForEach`` loops over instances, or between instances ``With`` names). This module reads
those elements, without running anything, into the instances and connections they make
(:class:`BuiltNetwork`); :mod:`nmlhub.lems.structure_network` turns them into the NeuroML network
the driver runs (populations, projections, inputs). What it cannot read is refused in one line
naming the file, the line and the element.

How each element reads (as jLEMS's builders do):

- ``MultiInstantiate number="P" component="R"``: ``P`` instances of the component ``R`` names (a
  component written inline as the holder's ``<Child name="R">``, else the reference ``R``); the
  component holding it is the population (``pop[2]`` is its third instance).
- ``ForEach instances="X" as="a"``: ``a`` is each instance ``X`` reaches from the component (``X`` an
  attribute's value when the component has one, else the path itself: ``../source``, ``pop``).
- ``With instance="X" as="a"``: the instance at path ``X`` from the component's parent (``this``,
  ``parent`` and ``this/...`` from the component itself).
- ``EventConnection from="a" to="b" receiver="R"``: a new instance of the component ``R`` names
  (relative: ``../synapse``) receives the events of ``a`` on ``b``; ``delay``, ``sourcePort``,
  ``targetPort`` and ``receiverContainer`` name attributes of the component, read when it has them
  (jLEMS ignores them otherwise; the ports and the ``Attachments`` set must exist,
  :mod:`nmlhub.lems.structure_ports`); an ``<Assign property="weight">`` sets the connection's
  weight. From an instance to itself, a receiver that is not a synapse is an input of that
  instance (NeuroML's explicitInput); a synapse makes an autapse. Without a receiver the events go
  into ``b`` itself (its in port), with weight 1 (jLEMS reads an ``<Assign>`` only with a receiver).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ..errors import ModelError, UnsupportedComponentError
from ..model.model import Model
from ..model.records import ComponentTypeDef, LemsComponent, Location
from ..xmlsafe import local_name, parse_xml_bytes
from . import expr as ex
from .structure_ports import PortProblem, container_problem, direct_port_problem, receiver_port_problem
from .structure_types import TypeDeclarations

#: The elements that build a network (the others a Structure may hold are refused by name).
BUILDING = frozenset({"MultiInstantiate", "CoInstantiate", "ForEach", "EventConnection", "With", "ChildInstance"})

#: The elements that make a component a network (a ``ChildInstance`` or ``With`` alone is a part of a
#: cell, such as a synapse's connection to its parent, and leaves the component as it is).
_MAKES_A_NETWORK = frozenset({"MultiInstantiate", "CoInstantiate", "ForEach", "EventConnection"})

#: NeuroML's own network elements (their structure is NeuroML's, read by the NeuroML path).
_NEUROML_NETWORK = frozenset({"network", "basePopulation", "baseProjection", "projection", "explicitInput",
                              "inputList", "explicitConnection", "connection", "connectionWD"})

_SEGMENT = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*(?:\[\s*(\d+)\s*\])?\s*")


@dataclass(frozen=True)
class Cell:
    """One instance a ``MultiInstantiate`` made: the population (the component holding it) and the index."""

    population: str
    index: int

    def __str__(self) -> str:
        return f"{self.population}[{self.index}]"


@dataclass(frozen=True)
class Connection:
    """One ``EventConnection``: through a receiver (``synapse``, a synapse made on the target for
    it), or, without one (``synapse`` None), into the target's own in port."""

    pre: Cell
    post: Cell
    synapse: str | None
    delay_ms: float
    weight: float
    where: Location


@dataclass(frozen=True)
class Population:
    """The instances one ``MultiInstantiate`` (or ``ChildInstance``) made; ``path`` is jLEMS's path
    to the component holding them from the target (``layer/pop``), ``id`` the population's
    (``layer_pop``; the same for a child of the target)."""

    id: str
    component: str
    size: int
    where: Location
    path: str = ""


@dataclass
class BuiltNetwork:
    """What the target's ``<Structure>`` elements build, in the order jLEMS builds it."""

    target: str
    populations: dict[str, Population] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    inputs: list[tuple[Cell, str, Location]] = field(default_factory=list)
    #: populations of the one instance a ``ChildInstance`` makes, with the names jLEMS finds it by
    #: (the component's id, the ChildInstance's ``component``): jLEMS's path to it is
    #: ``holder/name``, nmlhub's ``holder[0]``
    singles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: components written inline (a ``<Child>`` of a component of the tree) that a structure names,
    #: by the id they are known by in the network
    inline: dict[str, LemsComponent] = field(default_factory=dict)


@dataclass
class _Node:
    """A component of the target's tree, with its parent."""

    component: LemsComponent
    parent: "_Node | None"
    children: list["_Node"] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.component.id


def _tree(component: LemsComponent, parent: _Node | None = None) -> _Node:
    node = _Node(component, parent)
    node.children = [_tree(child, node) for child in component.children]
    return node


def _walk(node: _Node) -> list[_Node]:
    return [node] + [n for child in node.children for n in _walk(child)]


@dataclass(frozen=True)
class _Structure:
    """The ``<Structure>`` of a node's type (the nearest along its type chain) and where it is."""

    definition: ComponentTypeDef
    element: etree._Element

    def location(self, element: etree._Element) -> Location:
        start = self.definition.location.line
        line = start + element.sourceline - 1 if start and element.sourceline else start
        return Location(self.definition.location.file, line)


def structure_of(model: Model, type_name: str) -> _Structure | None:
    """The ``<Structure>`` that builds instances of a type of the model's own (the nearest along its
    type chain), or None."""
    for name in model.type_chain(type_name):
        definition = model.component_types.get(name)
        if definition is None or "Structure" not in definition.xml:
            continue
        root = parse_xml_bytes(definition.xml.encode()).getroot()
        found = [e for e in root if isinstance(e.tag, str) and local_name(e) == "Structure"]
        if found:
            return _Structure(definition, found[0])
    return None


def builds_a_network(model: Model, component: LemsComponent) -> tuple[str, Location, str] | None:
    """Where the component or one of its descendants is built by a ``<Structure>`` of the model's
    own types that makes instances or connects them (``MultiInstantiate``, ``CoInstantiate``,
    ``ForEach``, ``EventConnection``): (type name, location, element), or None."""
    for node in _walk(_tree(component)):
        structure = structure_of(model, node.component.type)
        if structure is None:
            continue
        for element in structure.element.iter(etree.Element):
            if local_name(element) in _MAKES_A_NETWORK:
                return structure.definition.name, structure.location(element), local_name(element)
    return None


class _Reader:
    """Reads the structures of one target's tree into a :class:`BuiltNetwork`."""

    def __init__(self, model: Model, root: _Node) -> None:
        self.model = model
        self.root = root
        self.built = BuiltNetwork(root.id)
        self.structures = {id(n): structure_of(model, n.component.type) for n in _walk(root)}
        self.population_of: dict[int, str] = {}  # id() of a node holding instances -> its population
        self.declared = TypeDeclarations(model)
        self.inline_ids: dict[int, str] = {}  # id() of a node written inline -> the id it is known by

    # -- refusals --------------------------------------------------------------------------------
    def refuse(self, node: _Node, element: etree._Element, what: str) -> UnsupportedComponentError:
        where = self.structures[id(node)].location(element)
        return UnsupportedComponentError(
            f"not supported: {what} (in the <Structure> of ComponentType "
            f"{self.structures[id(node)].definition.name}, for '{node.id}')",
            file=where.file, line=where.line, element=f"<{local_name(element)}>")

    def wrong(self, node: _Node, element: etree._Element, what: str) -> ModelError:
        where = self.structures[id(node)].location(element)
        return ModelError(f"{what} (in the <Structure> of ComponentType {self.structures[id(node)].definition.name}, "
                          f"for '{node.id}')", file=where.file, line=where.line, element=f"<{local_name(element)}>")

    # -- reading ---------------------------------------------------------------------------------
    def read(self) -> BuiltNetwork:
        nodes = _walk(self.root)
        # the components that hold the network: those with a <Structure> and their ancestors (the
        # others, cells written inline, are not)
        holders = {id(a) for node in nodes if self.structures[id(node)] is not None for a in self._ancestors(node)}
        for node in nodes:
            self._check_node(node, id(node) in holders)
        for node in nodes:  # every population first: connections may name any of them
            for element in self._elements(node):
                if local_name(element) in ("MultiInstantiate", "ChildInstance"):
                    self._instantiate(node, element)
        for node in nodes:
            bound: dict[str, Cell] = {}  # what a <With> names, for the elements after it
            for element in self._elements(node):
                if local_name(element) not in ("MultiInstantiate", "ChildInstance"):
                    self._build(node, element, bound)
        return self.built

    def _check_node(self, node: _Node, holder: bool) -> None:
        """Refuse what jLEMS would compute in the tree beside the structures: a NeuroML network
        element (its own structure is NeuroML's), dynamics of a component holding the network."""
        record = self.model.components.get(self.root.id)
        where = record.location if record is not None else Location(str(self.model.path))
        chain = self.model.type_chain(node.component.type)
        if node is not self.root and _NEUROML_NETWORK & set(chain):
            raise UnsupportedComponentError(
                f"not supported: a NeuroML <{node.component.type}> ('{node.id}') inside '{self.root.id}', a "
                "network LEMS <Structure> builds (nmlhub reads one or the other)",
                file=where.file, line=where.line, element=f"<{node.component.type} id='{node.id}'>")
        for name in chain if holder else ():
            definition = self.model.component_types.get(name)
            if definition is None:
                continue
            root = parse_xml_bytes(definition.xml.encode()).getroot()
            dynamics = [d for d in root if isinstance(d.tag, str) and local_name(d) == "Dynamics"
                        and any(isinstance(c.tag, str) for c in d)]
            if dynamics:
                line = definition.location.line + dynamics[0].sourceline - 1 if definition.location.line else None
                raise UnsupportedComponentError(
                    f"not supported: the <Dynamics> of ComponentType {name}, the type of '{node.id}', which "
                    "holds a network LEMS <Structure> builds (nmlhub runs the network, not its holder's dynamics)",
                    file=definition.location.file, line=line, element="<Dynamics>")

    @staticmethod
    def _ancestors(node: _Node) -> list[_Node]:
        """The node and its ancestors, nearest first."""
        found: list[_Node] = []
        current: _Node | None = node
        while current is not None:
            found.append(current)
            current = current.parent
        return found

    def _child_named(self, node: _Node, name: str) -> _Node | None:
        """The component written inline that a ``<Child name=...>`` of the node's type declares
        (jLEMS matches the element by its name, which nmlhub's reader does not keep: the child
        whose type is the declared type or extends it, when only one such child and Child exist)."""
        declared = self.declared.of(node.component.type, "Child")
        wanted = next((d.get("type") for d in declared if d.get("name") == name), None)
        if wanted is None:
            return None
        chains = [(child, self.model.type_chain(child.component.type)) for child in node.children]
        fitting = [child for child, chain in chains if wanted in chain]
        rivals = [d for d in declared if fitting and d.get("type") in self.model.type_chain(fitting[0].component.type)]
        return fitting[0] if len(fitting) == 1 and len(rivals) == 1 else None

    def _elements(self, node: _Node) -> list[etree._Element]:
        structure = self.structures[id(node)]
        if structure is None:
            return []
        elements = [e for e in structure.element if isinstance(e.tag, str)]
        for element in elements:
            if local_name(element) not in BUILDING:
                raise self.refuse(node, element, f"<{local_name(element)}> in a <Structure>")
        return elements

    def _instantiate(self, node: _Node, element: etree._Element) -> None:
        kind = local_name(element)
        if element.get("componentType") or len([e for e in element if isinstance(e.tag, str)]):
            # jLEMS gives such instances no parameters ("no value supplied for parameter")
            raise self.refuse(node, element, f"a <{kind}> of a componentType or with <Assign> "
                              "(nmlhub places instances of a component the reference names)")
        if node is self.root:
            raise self.refuse(node, element, f"a <{kind}> in the simulation's target '{node.id}' itself "
                              "(nmlhub reads populations in its descendants)")
        names = []
        holder: _Node | None = node
        while holder is not None and holder is not self.root:
            names.insert(0, holder.id)
            holder = holder.parent
        population_id, path = "_".join(names), "/".join(names)
        if id(node) in self.population_of:
            raise self.refuse(node, element, f"a second <{kind}> in '{node.id}'")
        if population_id in self.built.populations:
            raise self.refuse(node, element, f"the population '{path}', named '{population_id}' like another")
        reference = element.get("component", "")
        component = self._referenced(node, element, reference)
        category = self._category(component)
        if category in ("synapse", "input", "ion_channel", "concentration_model"):
            raise self.refuse(node, element, f"a <{kind}> of '{component}', a component of category {category} "
                              "(nmlhub places cells and spike sources as instances of a network)")
        where = self.structures[id(node)].location(element)
        self.population_of[id(node)] = population_id
        if kind == "ChildInstance":
            names = (component, reference) if component != reference else (component,)
            self.built.singles[population_id] = names
            self.built.populations[population_id] = Population(population_id, component, 1, where, path)
            return
        size = self._number(node, element, element.get("number", ""))
        self.built.populations[population_id] = Population(population_id, component, size, where, path)

    def _number(self, node: _Node, element: etree._Element, name: str) -> int:
        text = node.component.parameters.get(name)
        try:
            value = self.model.units.parse(text).si if text is not None else float("nan")
        except Exception:
            value = float("nan")
        if not value == value or value < 0 or abs(value - round(value)) > 1e-9:
            raise self.wrong(node, element, f"'{node.id}' sets '{name}' to {text!r}, not a whole number of "
                             "instances")
        return int(round(value))

    def _build(self, node: _Node, element: etree._Element, bound: dict[str, Cell]) -> None:
        kind = local_name(element)
        if kind == "With":
            bound[element.get("as", "")] = self._with(node, element)
        elif kind == "ForEach":
            for cell in self._for_each(node, element):
                inner = dict(bound, **{element.get("as", ""): cell})
                for child in (c for c in element if isinstance(c.tag, str)):
                    if local_name(child) not in ("ForEach", "EventConnection", "With"):
                        raise self.refuse(node, child, f"<{local_name(child)}> inside a <ForEach>")
                    self._build(node, child, inner)
        elif kind == "EventConnection":
            self._event_connection(node, element, bound)
        elif kind == "CoInstantiate":
            raise self.refuse(node, element, "<CoInstantiate>: no engine runs it, so no reference exists (jLEMS "
                              "0.14 stops on every form of it, PyLEMS does not read it, the LEMS 0.7.6 schema "
                              "has no such element)")
        else:
            raise self.refuse(node, element, f"<{kind}> (nmlhub reads MultiInstantiate, ChildInstance, "
                              "ForEach, With and EventConnection)")

    # -- paths -----------------------------------------------------------------------------------
    def _in_scope(self, start: _Node, name: str) -> _Node | None:
        """The child named ``name`` of ``start`` or of the nearest ancestor that has one; a link
        (an attribute of ``start`` naming a component) is followed the same way."""
        scope: _Node | None = start
        while scope is not None:
            for child in scope.children:
                if child.id == name:
                    return child
            scope = scope.parent
        linked = start.component.parameters.get(name)
        return self._in_scope(start, linked) if linked and linked != name else None

    def _resolve(self, node: _Node, start: _Node | None, path: str, element: etree._Element) -> _Node | Cell:
        current: _Node | Cell | None = start
        segments = [s for s in path.strip().split("/") if s]
        for k, segment in enumerate(segments):
            if isinstance(current, Cell) or current is None:
                raise self.refuse(node, element, f"the path '{path}' (it reaches inside an instance)")
            if segment == "..":
                current = current.parent
                continue
            match = _SEGMENT.fullmatch(segment)
            single = self.population_of.get(id(current))
            if match and match.group(2) is None and single and match.group(1) in self.built.singles.get(single, ()):
                current = Cell(single, 0)  # the one instance a ChildInstance made, by its component's id
                continue
            found = self._in_scope(current, match.group(1)) if match else None
            if found is None:
                raise self.wrong(node, element, f"the path '{path}' names nothing at '{segment}'")
            current = found
            if match.group(2) is not None:
                current = self._cell(node, element, found, int(match.group(2)), path)
        if current is None:
            raise self.wrong(node, element, f"the path '{path}' leaves the simulation's target")
        return current

    def _cell(self, node: _Node, element: etree._Element, population: _Node, index: int, path: str) -> Cell:
        made = self.built.populations.get(self.population_of.get(id(population), ""))
        if made is None:
            raise self.refuse(node, element, f"the path '{path}': '{population.id}' is not a population "
                              "a <MultiInstantiate> makes")
        if index >= made.size:
            raise self.wrong(node, element, f"the path '{path}': '{population.id}' has {made.size} instances")
        return Cell(made.id, index)

    def _value(self, node: _Node, attribute: str | None) -> str:
        """An attribute of the element as jLEMS reads a path: the component's attribute of that
        name when it has one, else the text itself."""
        text = attribute or ""
        return node.component.parameters.get(text, text)

    def _for_each(self, node: _Node, element: etree._Element) -> list[Cell]:
        path = self._value(node, element.get("instances"))
        found = self._resolve(node, node, path, element)
        if isinstance(found, Cell):
            return [found]
        made = self.built.populations.get(self.population_of.get(id(found), ""))
        if made is None:
            raise self.refuse(node, element, f"<ForEach instances='{path}'> over '{found.id}', which is not a "
                              "population a <MultiInstantiate> makes")
        return [Cell(made.id, k) for k in range(made.size)]

    def _with(self, node: _Node, element: etree._Element) -> Cell:
        path = self._value(node, element.get("instance"))
        if path in ("this", "parent") or path.startswith("this/"):
            start, path = (node, path[5:]) if path.startswith("this/") else (node, "") if path == "this" \
                else (node.parent, "")
        else:
            start = node.parent
        found = self._resolve(node, start, path, element)
        if not isinstance(found, Cell):
            raise self.refuse(node, element, f"<With instance='{element.get('instance')}'> naming '{found.id}', "
                              "not one instance of a population")
        return found

    # -- event connections -----------------------------------------------------------------------
    def _event_connection(self, node: _Node, element: etree._Element, bound: dict[str, Cell]) -> None:
        pre, post = (self._end(node, element, element.get(side, ""), bound) for side in ("from", "to"))
        where = self.structures[id(node)].location(element)
        delay_ms = self._delay_ms(node, element)
        source_port = self._attribute(node, element, "sourcePort")
        if source_port not in (None, "", "spike"):
            raise self.refuse(node, element, f"sourcePort '{source_port}' (nmlhub sends a cell's 'spike' events)")
        target_type = self._type_of(self.built.populations[post.population].component)
        if not element.get("receiver"):
            # jLEMS reads an <Assign> only with a receiver: the connection keeps weight 1
            problem = direct_port_problem(self.declared, target_type, self._attribute(node, element, "targetPort"))
            if problem is not None:
                raise self._problem(node, element, problem, f"(to '{post}') ")
            self.built.connections.append(Connection(pre, post, None, delay_ms, 1.0, where))
            return
        receiver = self._referenced(node, element, element.get("receiver", ""))
        problem = (receiver_port_problem(self.declared, self._type_of(receiver),
                                         self._attribute(node, element, "targetPort"))
                   or container_problem(self.declared, target_type,
                                        self._attribute(node, element, "receiverContainer")))
        if problem is not None:
            raise self._problem(node, element, problem, f"(receiver '{receiver}' on '{post}') ")
        weight = self._weight(node, element)
        if pre == post and self._category(receiver) != "synapse":  # else an autapse
            if weight != 1.0 or delay_ms != 0.0:
                raise self.refuse(node, element, "an input (an <EventConnection> from an instance to itself) "
                                  "with a weight or delay")
            self.built.inputs.append((post, receiver, where))
            return
        self.built.connections.append(Connection(pre, post, receiver, delay_ms, weight, where))

    def _problem(self, node: _Node, element: etree._Element, problem: PortProblem, what: str) -> Exception:
        text = f"{problem.message} {what.strip()}"
        return self.refuse(node, element, text) if problem.unsupported else self.wrong(node, element, text)

    def _end(self, node: _Node, element: etree._Element, name: str, bound: dict[str, Cell]) -> Cell:
        if name in bound:
            return bound[name]
        found = self._resolve(node, node, name, element) if name else None
        if not isinstance(found, Cell):
            raise self.refuse(node, element, f"<EventConnection> end '{name}', which no <ForEach> or <With> "
                              "names as one instance")
        return found

    def _referenced(self, node: _Node, element: etree._Element, path: str) -> str:
        """The id of the component a reference names (``synapse``, ``../component``)."""
        *up, name = [s for s in path.strip().split("/") if s] or [""]
        holder: _Node | None = node
        for segment in up:
            if segment != ".." or holder is None:
                raise self.refuse(node, element, f"the reference '{path}' (nmlhub reads a component reference "
                                  "of the component or of its parents: 'synapse', '../synapse')")
            holder = holder.parent
        inline = self._child_named(holder, name) if holder is not None else None
        if inline is not None and element.get("receiver") == path:
            # jLEMS makes such a child an instance inside its holder too, where a synapse or input
            # cannot start (it reads the v of its parent, which the holder lacks)
            raise self.refuse(node, element, f"the receiver '{path}' written inline (a <Child> of '{holder.id}'): "
                              "no engine runs it, jLEMS also instantiates it inside its holder, where it fails")
        if inline is not None:
            return self._known_inline(node, element, inline, f"{holder.id}_{name}")
        if holder is not None and any(d.get("name") == name for d in self.declared.of(holder.component.type, "Child")):
            raise self.refuse(node, element, f"'{path}', a <Child> of '{holder.id}' that is not one component "
                              "written inline there of a type no other <Child> takes (nmlhub tells them apart "
                              "by type)")
        component = holder.component.parameters.get(name) if holder is not None else None
        if component not in self.model.components:
            inside = next((n.parent.id for n in _walk(self.root) if n.id == component and n.parent), None)
            if inside is not None:
                raise self.wrong(node, element, f"'{path}' names '{component}', a component written inside "
                                 f"'{inside}': jLEMS resolves a reference among the model's top-level components "
                                 "only (No component found); a <Child> of the holder is read inline")
            raise self.wrong(node, element, f"'{path}' names no component of the model ({component!r})")
        return component

    def _known_inline(self, node: _Node, element: etree._Element, inline: _Node, fallback: str) -> str:
        """The id a component written inline is known by in the network (its own, else
        ``holder_name``), kept in the built network."""
        if id(inline) in self.inline_ids:
            return self.inline_ids[id(inline)]
        known = inline.id or fallback
        if known in self.model.components or known in self.built.inline:
            raise self.wrong(node, element, f"the component written inline in '{inline.parent.id}' is named "
                             f"'{known}', like another component of the model")
        self.inline_ids[id(inline)] = known
        self.built.inline[known] = LemsComponent(known, inline.component.type, dict(inline.component.parameters),
                                                 list(inline.component.children))
        return known

    def _type_of(self, component: str) -> str:
        inline = self.built.inline.get(component)
        return inline.type if inline is not None else self.model.components[component].type

    def _category(self, component: str) -> str:
        return self.model.category(self._type_of(component))

    def _attribute(self, node: _Node, element: etree._Element, name: str) -> str | None:
        """The component's attribute an EventConnection attribute names, as jLEMS reads it (None
        when the component has no such attribute)."""
        key = element.get(name)
        return node.component.parameters.get(key) if key else None

    def _delay_ms(self, node: _Node, element: etree._Element) -> float:
        text = self._attribute(node, element, "delay")
        if text is None:
            return 0.0
        try:
            value = self.model.units.parse(text).si * 1e3
        except Exception:
            value = float("nan")
        if not value >= 0 or value == float("inf"):
            raise self.wrong(node, element, f"delay {text!r} of '{node.id}' is not a time >= 0")
        return value

    def _weight(self, node: _Node, element: etree._Element) -> float:
        weight = 1.0
        for assign in (c for c in element if isinstance(c.tag, str)):
            if local_name(assign) != "Assign" or assign.get("property") != "weight":
                raise self.refuse(node, element, f"<{local_name(assign)} property='{assign.get('property')}'> in "
                                  "an <EventConnection> (nmlhub reads an <Assign> of the weight)")
            env = {}
            for name, text in node.component.parameters.items():
                try:
                    env[name] = self.model.units.parse(text).si
                except Exception:
                    continue
            try:
                weight = float(ex.evaluate(ex.parse(assign.get("value", "")), env))
            except Exception as exc:
                raise self.wrong(node, assign, f"<Assign property='weight' value='{assign.get('value')}'> cannot "
                                 f"be computed from the attributes of '{node.id}' ({exc})") from None
        return weight


def read_structure(model: Model, component: LemsComponent) -> BuiltNetwork:
    """The instances and connections the ``<Structure>`` elements of ``component``'s tree build.

    Parameters
    ----------
    model
        The loaded model (its ComponentTypes and components).
    component
        The simulation's target.

    Raises
    ------
    UnsupportedComponentError
        A structure nmlhub cannot read, in one line naming the file, the line and the element.
    ModelError
        A structure that names nothing (a path, a reference, a number that does not resolve).
    """
    return _Reader(model, _tree(component)).read()
