"""Attributes jLEMS ignores: neither declared by the component's type nor defined by LEMS.

A component's attribute sets a ``Parameter``, ``Text``, ``Path``, ``Property``,
``ComponentReference``, ``Link`` or ``IndexParameter`` its ComponentType (or a type it extends)
declares; any other (a misspelt ``condutance="10pS"``) is dropped by jLEMS, and the model run is
not the one the file says. The elements of a ``ComponentType`` definition (``Dynamics``,
``DerivedVariable``, ``Case``...) take the attributes LEMS defines for them (:data:`LEMS_ATTRIBUTES`).
:func:`ignored_attribute_problems` reports every other attribute with file, line and element, and
the declared name it is closest to. The NeuroML schema already checks the core NeuroML elements of
NeuroML files: those are left to it.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any, Iterator

from lxml import etree

from ..coretypes import core_component_types, read_jar_file
from ..xmlsafe import local_name, parse_xml_bytes, parse_xml_file
from .include_attributes import include_problem
from .model import Model
from .records import Problem
from .schema_attributes import SCHEMA_NAME, schema_attributes

#: What each element of LEMS's own language takes (the LEMS 0.7 schema, and ``standalone``,
#: ``simultaneous`` that jLEMS 0.14 reads too), by element name.
LEMS_ATTRIBUTES: dict[str, frozenset[str]] = {name: frozenset(attrs.split()) for name, attrs in {
    "Lems": "", "Include": "file href url", "Target": "component reportFile timesFile",
    "Dimension": "name m l t i k n j", "Unit": "symbol name dimension power scale offset",
    "Constant": "name symbol dimension value description", "Assertion": "dimension matches",
    "ComponentType": "name extends description eXtends standalone",
    "Parameter": "name dimension description", "DerivedParameter": "name dimension value select description",
    "Fixed": "parameter value description", "IndexParameter": "name description",
    "Exposure": "name dimension description", "Requirement": "name dimension description",
    "ComponentRequirement": "name description", "InstanceRequirement": "name type description",
    "Text": "name description", "Path": "name description",
    "Property": "name dimension defaultValue description",
    "Child": "name type description", "Children": "name type min max description",
    "Link": "name type description", "ComponentReference": "name type local description",
    "Attachments": "name type description", "EventPort": "name direction description",
    "Collection": "name type description", "PairCollection": "name type description",
    "Dynamics": "simultaneous", "Regime": "name initial", "OnEntry": "", "Transition": "regime",
    "StateVariable": "name dimension exposure description",
    "DerivedVariable": "name dimension exposure value select reduce required description",
    "ConditionalDerivedVariable": "name dimension exposure description",
    "Case": "condition value", "TimeDerivative": "variable value", "OnStart": "",
    "OnCondition": "test", "OnEvent": "port", "StateAssignment": "variable value",
    "EventOut": "port",
    "KineticScheme": "name nodes stateVariable edges edgeSource edgeTarget forwardRate reverseRate "
                     "dependency step",
    "Structure": "", "ChildInstance": "component", "MultiInstantiate": "component number componentType",
    "ForEach": "instances as", "With": "instance list index as",
    "EventConnection": "from to sourcePort targetPort receiver receiverContainer delay",
    "Tunnel": "name endA endB componentA componentB", "Assign": "property value",
    "CoInstantiate": "at component", "Apply": "", "Gather": "pathParameter",
    "Simulation": "", "Record": "quantity timeScale scale color", "EventRecord": "quantity eventPort",
    "DataDisplay": "title dataRegion", "DataWriter": "path fileName", "EventWriter": "path fileName format",
    "Run": "component variable increment total", "Show": "src scale",
}.items()}

#: Attributes every component may carry without its type declaring them.
STANDARD_ATTRIBUTES = frozenset({"id", "type", "name", "metaid", "neuroLexId", "description"})

#: How a ComponentType declares a name a component sets as an attribute.
_DECLARING = frozenset({"Parameter", "Text", "Path", "Property", "ComponentReference", "Link",
                        "IndexParameter", "DerivedParameter", "Fixed"})
_TOP_LEVEL = frozenset({"Target", "Dimension", "Unit", "Constant", "Assertion"})  # Include: include_problem
_NOT_COMPONENTS = frozenset({"notes", "annotation", "Meta"})  # Meta: settings of the tool it is for
_NAMESPACES = frozenset({"", "http://www.neuroml.org/schema/neuroml2", "http://www.neuroml.org/lems/0.7.3",
                         "http://www.neuroml.org/lems/0.7.4", "http://www.neuroml.org/lems/0.7.6"})


@functools.lru_cache(maxsize=1)
def core_definitions() -> dict[str, etree._Element]:
    """Each core ComponentType's definition element (from the jNeuroML jar), by name."""
    definitions = {}
    for file in sorted({info.file for info in core_component_types().values()}):
        root = parse_xml_bytes(read_jar_file(file), source=file).getroot()
        for element in root:
            if isinstance(element.tag, str) and local_name(element) == "ComponentType":
                definitions[element.get("name", "")] = element
    return definitions


class _Types:
    """The names each type of a model declares for its components, and its Child types."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._declared: dict[str, set[str] | None] = {}
        self._children: dict[str, dict[str, str]] = {}

    def _definition(self, name: str) -> etree._Element | None:
        user = self.model.component_types.get(name)
        if user is None:
            return core_definitions().get(name)
        try:
            return parse_xml_bytes(user.xml.encode(), source=name).getroot()
        except Exception:  # a definition the loader kept but cannot be re-read: not checked
            return None

    def _chain(self, name: str) -> list[etree._Element] | None:
        """The definitions of the type and of those it extends; None when one is unknown."""
        found = [self._definition(t) for t in self.model.type_chain(name)]
        if not found or any(d is None for d in found) or found[-1].get("extends"):
            return None
        return found

    def declared(self, name: str) -> set[str] | None:
        """The attribute names a component of type ``name`` may set (None: the type is unknown)."""
        if name not in self._declared:
            chain = self._chain(name)
            self._declared[name] = None if chain is None else {
                (d.get("name") or d.get("parameter") or "") for definition in chain for d in definition
                if isinstance(d.tag, str) and local_name(d) in _DECLARING}
            self._children[name] = {} if chain is None else {
                d.get("name", ""): d.get("type", "") for definition in reversed(chain) for d in definition
                if isinstance(d.tag, str) and local_name(d) in ("Child", "Children")}
        return self._declared[name]

    def child_type(self, parent: str | None, tag: str) -> str | None:
        """The type of ``<tag>`` written inside a component of type ``parent`` under a Child name."""
        if parent is None or self.declared(parent) is None:
            return None
        return self._children[parent].get(tag)


def ignored_attribute_problems(model: Model) -> list[Problem]:
    """Warnings for the attributes jLEMS ignores, in every file of ``model`` (loaded with
    ``keep_trees=True``).

    Parameters
    ----------
    model
        A model loaded with its files' trees.

    Returns
    -------
    list of Problem
        One warning per attribute that a component's type does not declare (with the closest
        declared name, if one is close) or that LEMS does not define on a definition element.
    """
    return _problems(model, [(s.path, s.kind, s.tree) for s in model.files if s.tree is not None])


def reread_trees(model: Model) -> list[tuple[Any, str, etree._ElementTree]]:
    """The trees of a model loaded without them (as ``nmlhub run`` loads it) that the run's checks
    read, parsed again once: the LEMS files and the NeuroML files that hold components of the
    model's own types, as (path, kind, tree)."""
    user_files = {str(r.location.file) for r in model.components.values()
                  if r.type in model.component_types and r.location is not None}
    trees = []
    for source in model.files:
        if source.kind == "lems" or (source.kind == "neuroml" and str(source.path) in user_files):
            try:
                trees.append((source.path, source.kind, parse_xml_file(source.path)))
            except Exception:  # read once already; a file changed since is the run's problem
                continue
    return trees


def ignored_attribute_warnings(model: Model, trees: list[tuple[Any, str, etree._ElementTree]] | None = None
                               ) -> list[Problem]:
    """What :func:`ignored_attribute_problems` finds, for a model loaded without its trees (as
    ``nmlhub run`` loads it), in ``trees`` (:func:`reread_trees`, read here when not given; the
    schema, which ``run`` does not apply, would report the other files' attributes only as unknown
    to NeuroML)."""
    return _problems(model, reread_trees(model) if trees is None else trees)


def _problems(model: Model, trees: list[tuple[Any, str, etree._ElementTree]]) -> list[Problem]:
    types = _Types(model)
    problems = []
    for path, kind, tree in trees:
        schema_checked = kind == "neuroml"  # the schema checks the core elements of such files
        for element, declared, what in _checked_elements(tree.getroot(), types, schema_checked):
            problems.extend(_undeclared(element, declared, what, str(path)))
        if not schema_checked:
            problems.extend(include_problem(e, str(path)) for e in tree.getroot()
                            if _ours(e) and local_name(e) == "Include" and len(e.attrib) > 1)
    return problems


def _checked_elements(root: etree._Element, types: _Types, schema_checked: bool
                      ) -> Iterator[tuple[etree._Element, set[str] | frozenset[str], str]]:
    """Each element to check, with the attributes it may carry and what declares them."""
    for element in root:
        if not _ours(element):
            continue
        tag = local_name(element)
        if tag == "ComponentType":
            yield from _definition_elements(element)
        elif tag in _TOP_LEVEL:
            yield element, LEMS_ATTRIBUTES[tag], "LEMS"
        elif not schema_checked or types.model.component_types:  # else the schema saw every element
            yield from _component_elements(element, None, types, schema_checked)


def _definition_elements(element: etree._Element) -> Iterator[tuple[etree._Element, frozenset[str], str]]:
    for inner in element.iter(etree.Element):
        if _ours(inner) and local_name(inner) in LEMS_ATTRIBUTES:
            yield inner, LEMS_ATTRIBUTES[local_name(inner)], "LEMS"


def _component_elements(element: etree._Element, parent_type: str | None, types: _Types, schema_checked: bool
                        ) -> Iterator[tuple[etree._Element, set[str], str]]:
    tag = local_name(element)
    if not _ours(element) or tag in _NOT_COMPONENTS:
        return
    type_name = element.get("type") or types.child_type(parent_type, tag) or tag
    user_typed = type_name in types.model.component_types
    declared = types.declared(type_name)
    if declared is not None and (user_typed or not schema_checked):
        yield element, declared | (set() if user_typed else schema_attributes().get(tag, set())), type_name
    for child in element:
        yield from _component_elements(child, type_name if declared is not None else None, types,
                                       schema_checked and not user_typed)


def _ours(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).namespace in _NAMESPACES | {None}


def _undeclared(element: etree._Element, declared: set[str] | frozenset[str], what: str, file: str
                ) -> list[Problem]:
    tag = local_name(element)
    label = f"<{tag} id='{element.get('id')}'>" if element.get("id") else (
        f"<{tag} name='{element.get('name')}'>" if element.get("name") else f"<{tag}>")
    allowed = declared if what == "LEMS" else declared | STANDARD_ATTRIBUTES
    problems = []
    for attribute in element.attrib:
        if attribute.startswith("{") or attribute in allowed:
            continue
        problems.append(Problem(_message(attribute, element, declared, what), file, element.sourceline,
                                label, "warning"))
    return problems


def _message(attribute: str, element: etree._Element, declared: set[str] | frozenset[str], what: str) -> str:
    close = difflib.get_close_matches(attribute, sorted(declared), n=1, cutoff=0.6)
    hint = ""
    if close:
        unset = "" if element.get(close[0]) is not None else ", which is not set"
        hint = f" (did you mean '{close[0]}'{unset}?)"
    if what == "LEMS":
        owner = f"LEMS defines no attribute '{attribute}' on <{local_name(element)}>"
    else:
        owner = f"attribute '{attribute}' is not a parameter of ComponentType {what} (nor of the types it extends)"
    return f"{owner}{hint}; jLEMS ignores it"


__all__ = ["ignored_attribute_problems", "ignored_attribute_warnings", "reread_trees", "schema_attributes", "core_definitions", "SCHEMA_NAME", "LEMS_ATTRIBUTES", "STANDARD_ATTRIBUTES"]
