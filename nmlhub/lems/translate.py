"""Turn a pylems FatComponent (with its child components) into one flat set of equations.

Children are inlined with their name as a prefix (``plasticityMechanism_R``); ``select``/``reduce``
over children become sums or products; requirements are resolved up the chain of parents. The
result, :class:`FlatComponent`, is all the NMODL printer needs and can also be evaluated
numerically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..units import UnitRegistry
from . import expr as ex
from .child_names import bind_children_by_role
from .flatten import TranslationError
from .regime_events import regime_own_name

#: Names that mean something else in NMODL and are renamed when printed.
TIME = "t"


@dataclass
class Action:
    """One action of an event handler: ``assign`` (var, value), ``emit`` (port) or ``transition``."""

    kind: str
    target: str
    value: ex.Expr | None = None


@dataclass
class Condition:
    """An ``OnCondition`` (optionally only in one regime)."""

    test: ex.Expr
    actions: list[Action]
    regime: str | None = None


@dataclass
class FlatComponent:
    """A component and its children as flat equations, all in SI units."""

    type: str
    params: dict[str, float] = field(default_factory=dict)
    properties: dict[str, float] = field(default_factory=dict)
    derived_params: list[tuple[str, ex.Expr]] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    derived: list[tuple[str, ex.Expr]] = field(default_factory=list)
    time_derivatives: dict[str | None, dict[str, ex.Expr]] = field(default_factory=dict)
    on_start: list[Action] = field(default_factory=list)
    on_event: list[Action] = field(default_factory=list)
    #: The ``OnEvent`` actions of each regime, run only while it is active.
    regime_on_event: dict[str, list[Action]] = field(default_factory=dict)
    conditions: list[Condition] = field(default_factory=list)
    regimes: list[str] = field(default_factory=list)
    #: The ``DerivedVariable``s of the regimes, in the order of the file: (regime, the flat name of
    #: the variable it sets, value). Each is computed at the start of each step of its regime,
    #: before its time derivatives, and keeps its value otherwise (a state, in ``states``).
    regime_derived: list[tuple[str, str, ex.Expr]] = field(default_factory=list)
    #: The variables nmlhub adds for those of a regime's own (no state of the Dynamics has their
    #: name): flat name -> (regime, LEMS name). jLEMS cannot record them ("Can't parse").
    regime_own: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Names several regimes declare as their own StateVariable (each has its own, in ``regime_own``).
    shared_names: set[str] = field(default_factory=set)
    initial_regime: str | None = None
    on_entry: dict[str, list[Action]] = field(default_factory=dict)
    exposures: dict[str, str] = field(default_factory=dict)
    exposure_dimensions: dict[str, str] = field(default_factory=dict)
    requirements: dict[str, str] = field(default_factory=dict)
    #: Requirements read from another instance (``peer/r``): requirement name -> its variable there.
    peer_variables: dict[str, str] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)
    #: Input sum name -> the variable it adds up over the attached components (``iSyn``: ``i``).
    external_variables: dict[str, str] = field(default_factory=dict)
    out_ports: list[str] = field(default_factory=list)
    in_ports: list[str] = field(default_factory=list)
    #: KineticScheme transitions: (source state, target state, forward rate, reverse rate) names.
    kinetic: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: The states of each KineticScheme (their occupancies sum to 1).
    kinetic_groups: list[list[str]] = field(default_factory=list)
    #: The scope (prefix of the child component, "" for the component itself) of each state and
    #: derived variable.
    owners: dict[str, str] = field(default_factory=dict)

    def integrated_states(self) -> set[str]:
        """States with a time derivative in some regime, or in a kinetic scheme."""
        found: set[str] = {s for group in self.kinetic_groups for s in group}
        for tds in self.time_derivatives.values():
            found |= set(tds)
        return found

    def event_actions(self) -> list[Action]:
        """Every action an incoming event may run (the Dynamics' OnEvent and each regime's)."""
        return self.on_event + [a for actions in self.regime_on_event.values() for a in actions]


def _in_jlems_order(actions: list[Action]) -> list[Action]:
    """A regime's handler as jLEMS runs it (``ActionBlock.run`` of a regime): its assignments,
    then its events out, then its transition, whatever their order in the file."""
    rank = {"assign": 0, "emit": 1, "transition": 2}
    return sorted(actions, key=lambda action: rank.get(action.kind, 1))


def _without_integrated_names(type_name: str, derived: list[tuple[str, Any]],
                              integrated: set[str]) -> list[tuple[str, Any]]:
    """The derived variables without those that repeat an integrated state's name: written as
    the state itself (``<DerivedVariable name="x" value="x"/>`` beside ``<StateVariable name="x">``
    and its TimeDerivative, as TheVirtualBrainShowcase's types write their exposures), they are
    that state, as in jLEMS; computed from anything else, the name would mean two quantities."""
    for name, value in derived:
        if name in integrated and not (isinstance(value, ex.Name) and value.name == name):
            raise TranslationError(f"ComponentType {type_name}: '{name}' is both a StateVariable with a "
                                   f"TimeDerivative and a DerivedVariable computed from other variables: not supported")
    return [(name, value) for name, value in derived if name not in integrated]


class _Scope:
    def __init__(self, fc: Any, prefix: str, parent: "_Scope | None") -> None:
        self.fc = fc
        self.prefix = prefix
        self.parent = parent
        self.local: set[str] = set()
        self.aliases: set[str] = set()
        self.child_scopes: list[tuple[Any, "_Scope"]] = []
        self.unbound: list[Any] = []

    def resolve(self, name: str) -> str:
        if name == TIME:
            return TIME
        if name in self.local:
            return self.prefix + name
        if self.parent is not None:
            return self.parent.resolve(name)
        return name  # an unresolved requirement, handled by the caller


class _RegimeScope(_Scope):
    """A regime's names: its own derived variables, then its component's (whose place among
    the scopes it takes)."""

    def __init__(self, component: _Scope) -> None:
        super().__init__(component.fc, component.prefix, component.parent)
        self.component = component
        self.local, self.aliases = component.local, component.aliases
        self.child_scopes, self.unbound = component.child_scopes, component.unbound
        self.own: dict[str, str] = {}

    def resolve(self, name: str) -> str:
        return self.own[name] if name in self.own else self.component.resolve(name)


class Translator:
    """Builds a :class:`FlatComponent` from a pylems FatComponent.

    Parameters
    ----------
    units
        Unit registry (the model's) for constants written with units.
    type_chain
        Function giving a type's ``extends`` chain (to match children to collections).
    """

    def __init__(self, units: UnitRegistry, type_chain: Callable[[str], list[str]]) -> None:
        self.units = units
        self.type_chain = type_chain

    def translate(self, fc: Any) -> FlatComponent:
        flat = FlatComponent(type=fc.type)
        flat.out_ports = [p.name for p in fc.event_ports if p.direction == "out"]
        flat.in_ports = [p.name for p in fc.event_ports if p.direction == "in"]
        for req in fc.requirements:
            flat.requirements[req.name] = req.dimension
        root = self._declare(fc, "", None, flat)
        self._define(root, flat)
        # A name declared both as a state and as a derived variable (as Sisat in the Pinsky-Rinzel
        # cell) is computed, not integrated.
        derived_names = {name for name, _ in flat.derived}
        integrated = flat.integrated_states()
        flat.states = [s for s in flat.states if s not in derived_names or s in integrated]
        flat.derived = _without_integrated_names(fc.type, flat.derived, integrated)
        flat.derived = _topological(flat.derived, set(flat.params) | set(flat.properties)
                                    | {n for n, _ in flat.derived_params} | set(flat.states) | {TIME})
        return flat

    # -- one component (recursively with its children) ------------------------------------------
    def _declare(self, fc: Any, prefix: str, parent: _Scope | None, flat: FlatComponent) -> _Scope:
        """Names, parameters and states of a component and (recursively) its children; their
        equations come in :meth:`_define`, once every scope exists (events cross scopes)."""
        scope = _Scope(fc, prefix, parent)
        dyn = fc.dynamics
        names = ([p.name for p in fc.parameters] + [c.name for c in fc.constants]
                 + [d.name for d in fc.derived_parameters] + [s.name for s in dyn.state_variables]
                 + [d.name for d in dyn.derived_variables]
                 + [d.name for d in dyn.conditional_derived_variables]
                 + [p.name for p in fc.properties])
        scope.local.update(names)
        for p in fc.parameters:
            flat.params[prefix + p.name] = float(p.numeric_value)
        for p in fc.properties:
            default = getattr(p, "default_value", None)
            flat.properties[prefix + p.name] = float(default) if default not in (None, "") else 0.0
        declared = {p.name for p in fc.parameters}
        for c in fc.constants:
            # An extending type may turn a base type's constant into a parameter (vShift of
            # channelDensityVShift): the parameter wins.
            if c.name not in declared:
                flat.params[prefix + c.name] = self.units.parse(c.value).si
        for d in fc.derived_parameters:
            flat.derived_params.append((prefix + d.name, self._expr(d.value, scope)))
        for s in dyn.state_variables:
            flat.states.append(prefix + s.name)
            flat.owners[prefix + s.name] = prefix
        # children first: their exposures may be selected by this component's derived variables
        child_scopes: list[tuple[Any, _Scope]] = []
        for child in fc.child_components:
            child_prefix = f"{prefix}{child.id}_"
            child_scopes.append((child, self._declare(child, child_prefix, scope, flat)))
        instantiated = {ci.component for ci in getattr(fc.structure, "child_instances", [])} if fc.structure else set()
        for ref in fc.component_references:
            target = getattr(ref, "referenced_component", None)
            if ref.name in instantiated and target is not None and hasattr(target, "dynamics"):
                # A referenced component the structure instantiates (the synapse of a Poisson
                # input): inlined like a child, named by its id, selectable by the reference name.
                child_scope = self._declare(target, f"{prefix}{target.id}_", scope, flat)
                child_scope.aliases = {ref.name}
                child_scopes.append((target, child_scope))
        scope.child_scopes = child_scopes
        scope.unbound = bind_children_by_role(fc, child_scopes, self.type_chain)
        return scope

    def _define(self, scope: _Scope, flat: FlatComponent) -> None:
        """Derived variables, conditions, events and regimes of a component and its children."""
        fc, prefix, dyn, child_scopes = scope.fc, scope.prefix, scope.fc.dynamics, scope.child_scopes
        for _, child_scope in child_scopes:
            self._define(child_scope, flat)
        for d in dyn.derived_variables:
            if d.select:
                value = self._select(d.select, d.reduce, fc, child_scopes, scope, flat,
                                     d.dimension or "none", prefix + d.name)
            else:
                value = self._expr(d.value, scope)
            flat.derived.append((prefix + d.name, value))
            flat.owners[prefix + d.name] = prefix
        for cdv in dyn.conditional_derived_variables:
            flat.derived.append((prefix + cdv.name, self._cases(cdv, scope)))
            flat.owners[prefix + cdv.name] = prefix
        self._dynamics(dyn, scope, None, flat, child_scopes)
        for scheme in getattr(dyn, "kinetic_schemes", None) or []:
            self._kinetic_scheme(scheme, scope, flat)
        for regime in dyn.regimes:
            if prefix:
                raise TranslationError(f"ComponentType {fc.type}: Regime in a child component ('{fc.id}') "
                                       f"is not supported")
            flat.regimes.append(regime.name)
            if regime.initial:
                flat.initial_regime = regime.name
            self._dynamics(regime, self._regime_scope(regime, scope, flat), regime.name, flat, child_scopes)
        # the one declaration pylems read of a name several regimes declare is none of theirs
        flat.states = [s for s in flat.states if not (s in flat.shared_names and not prefix)]
        if not prefix:
            for e in fc.exposures:
                flat.exposures[e.name] = e.name
                flat.exposure_dimensions[e.name] = e.dimension

    def _regime_scope(self, regime: Any, scope: _Scope, flat: FlatComponent) -> _Scope:
        """The scope of a regime's equations: its ``DerivedVariable``s are its own (jLEMS's
        RegimeStateInstance), each a variable of the component that holds its value between the
        regime's steps (0 before the first), unless the Dynamics has a state of that name, which
        the regime's variable then is (jLEMS shares the parent's variable of that name)."""
        variables = list(regime.derived_variables)
        own_states = getattr(regime, "nmlhub_own_states", ())
        if not variables and not own_states:
            return scope
        regime_scope = _RegimeScope(scope)
        taken = set(flat.states) | set(flat.params) | set(flat.properties) | {n for n, _ in flat.derived}
        def own_variable(name: str, kind: str) -> str:
            """A variable of the component holding the regime's own ``name`` (from 0)."""
            target = regime_own_name(name, regime.name)
            if target in taken:
                raise TranslationError(f"ComponentType {scope.fc.type}: regime '{regime.name}': the name "
                                       f"'{target}' nmlhub gives its {kind} '{name}' is taken")
            flat.states.append(target)
            flat.owners[target] = scope.prefix
            flat.regime_own[target] = (regime.name, name)
            return target

        for name in own_states:  # a state several regimes declare: each regime's own
            regime_scope.own[name] = own_variable(name, "StateVariable")
            flat.shared_names.add(name)
        for variable in variables:
            if variable.select or not variable.value:
                raise TranslationError(f"ComponentType {scope.fc.type}: regime '{regime.name}': DerivedVariable "
                                       f"'{variable.name}' without a value (a select) is not supported")
            regime_scope.own[variable.name] = (variable.name if variable.name in flat.states
                                               else own_variable(variable.name, "DerivedVariable"))
        for variable in variables:  # values read the regime's own variables (a later one: its last value)
            flat.regime_derived.append((regime.name, regime_scope.own[variable.name],
                                        self._expr(variable.value, regime_scope)))
        return regime_scope

    def _dynamics(self, dyn: Any, scope: _Scope, regime: str | None, flat: FlatComponent,
                  child_scopes: list) -> None:
        tds = flat.time_derivatives.setdefault(regime, {})
        for td in dyn.time_derivatives:
            tds[scope.own.get(td.variable, td.variable) if isinstance(scope, _RegimeScope)
                else scope.prefix + td.variable] = self._expr(td.value, scope)
        for handler in dyn.event_handlers:
            kind = type(handler).__name__
            actions = self._actions(handler.actions, scope, child_scopes)
            if regime is not None:
                actions = _in_jlems_order(actions)
            if kind == "OnStart":
                flat.on_start.extend(actions)
            elif kind == "OnEvent" and regime is not None:
                flat.regime_on_event.setdefault(regime, []).extend(actions)
            elif kind == "OnEvent":
                if scope.prefix or dyn.regimes:
                    # a child's events arrive through its parent's relay; jLEMS runs no OnEvent
                    # of the Dynamics of a type with regimes (only the active regime's)
                    continue
                flat.on_event.extend(actions)
            elif kind == "OnCondition":
                if regime is None and dyn.regimes:
                    # jLEMS performs no Transition of a Dynamics-level handler (measured with jnml
                    # 0.14; validate and run warn: nmlhub.model.dynamics_refusals)
                    actions = [a for a in actions if a.kind != "transition"]
                flat.conditions.append(Condition(self._expr(handler.test, scope), actions, regime))
            elif kind == "OnEntry":
                flat.on_entry.setdefault(regime or "", []).extend(actions)
            else:
                raise TranslationError(f"ComponentType {scope.fc.type}: event handler {kind} is not supported")

    def _kinetic_scheme(self, scheme: Any, scope: _Scope, flat: FlatComponent) -> None:
        """A KineticScheme: its nodes' occupancies move along its edges at
        ``forwardRate * occupancy(source) - reverseRate * occupancy(target)``; NEURON integrates
        them implicitly (a KINETIC block), which stays stable for the fast transitions of
        Markov channel models. As in jLEMS, the first node starts with occupancy 1."""
        nodes = self._members(scheme.nodes, scope.fc, scope.child_scopes)
        edges = self._members(scheme.edges, scope.fc, scope.child_scopes)
        if not nodes:
            raise TranslationError(f"ComponentType {scope.fc.type}: KineticScheme '{scheme.name}' has no "
                                   f"'{scheme.nodes}' children")
        occupancy = {child.id: child_scope.prefix + scheme.state_variable for child, child_scope in nodes}
        for child, child_scope in edges:
            links = {link.name: link.value for link in getattr(child, "links", [])}
            source, target = links.get(scheme.edge_source), links.get(scheme.edge_target)
            if source not in occupancy or target not in occupancy:
                raise TranslationError(
                    f"ComponentType {scope.fc.type}: KineticScheme '{scheme.name}': transition "
                    f"'{child.id}' links {source!r} to {target!r}, not two of its states {sorted(occupancy)}")
            flat.kinetic.append((occupancy[source], occupancy[target], child_scope.prefix + scheme.forward_rate,
                                 child_scope.prefix + scheme.reverse_rate))
        flat.kinetic_groups.append(list(occupancy.values()))
        flat.on_start.append(Action("assign", next(iter(occupancy.values())), ex.Num(1.0)))

    def _actions(self, actions: list, scope: _Scope, child_scopes: list) -> list[Action]:
        out: list[Action] = []
        for action in actions:
            kind = type(action).__name__
            if kind == "StateAssignment":
                out.append(Action("assign", scope.resolve(action.variable), self._expr(action.value, scope)))
            elif kind == "EventOut":
                # Events go to the children that listen (a relay to plasticity mechanisms, the
                # spikes of a Poisson input to its synapse), and out of the component: from the
                # top component to NEURON, from a child to its parent's OnEvent (spikeArray).
                out.extend(self._relay(child_scopes))
                if scope.parent is None:
                    out.append(Action("emit", action.port))
                elif _sends_to_parent(scope.fc):
                    out.extend(self._to_parent(scope.parent))
            elif kind == "Transition":
                out.append(Action("transition", action.regime))
            else:
                raise TranslationError(f"ComponentType {scope.fc.type}: action {kind} is not supported")
        return out

    def _to_parent(self, parent: _Scope) -> list[Action]:
        actions: list[Action] = []
        for handler in parent.fc.dynamics.event_handlers:
            if type(handler).__name__ == "OnEvent":
                # The parent's own EventOut relays on to its other children (timedSynapticInput:
                # a spike child -> the input -> its synapse), so its child scopes go along.
                others = [(c, s) for c, s in parent.child_scopes if c.dynamics is not None]
                actions.extend(self._actions(handler.actions, parent, self._listeners(others)))
        return actions

    @staticmethod
    def _listeners(child_scopes: list) -> list:
        """Children with an OnEvent handler (those an EventOut can reach)."""
        return [(c, s) for c, s in child_scopes
                if any(type(h).__name__ == "OnEvent" for h in c.dynamics.event_handlers)]

    def _relay(self, child_scopes: list) -> list[Action]:
        relayed: list[Action] = []
        for child, child_scope in child_scopes:
            for handler in child.dynamics.event_handlers:
                if type(handler).__name__ == "OnEvent":
                    relayed.extend(self._actions(handler.actions, child_scope, []))
        return relayed

    def _select(self, select: str, reduce: str | None, fc: Any, child_scopes: list,
                scope: _Scope, flat: FlatComponent, dimension: str = "none",
                target: str = "") -> ex.Expr:
        if select.count("/") > 1:
            return self._select_path(select, reduce, fc, scope, dimension)
        match = re.fullmatch(r"(\w+)(\[\*\]|\[\s*(\w+)\s*=\s*'([^']*)'\s*\])?/(\w+)", select.strip())
        if not match:
            raise TranslationError(f"ComponentType {fc.type}: select '{select}' is not supported "
                                   f"(a child or children collection, optionally [*] or [attribute='value'], "
                                   f"and a variable are)")
        collection, many, var = match.group(1), match.group(2), match.group(5)
        where_name, where_value = match.group(3), match.group(4)
        identity = ex.Num(1.0 if reduce == "multiply" else 0.0)
        attachments = {a.name for a in fc.attachments}
        if collection in attachments:
            flat.external[target] = dimension  # supplied by NEURON: synapses on the section
            if reduce != "multiply":
                flat.external_variables[target] = var
            return identity
        members = self._members(collection, fc, child_scopes)
        if where_name is not None:
            # children whose text (or parameter) ``where_name`` has the value (ion='ca')
            members = [(child, child_scope) for child, child_scope in members
                       if str(_attribute(child, where_name)) == where_value]
            if not members and collection in {c.name for c in fc.children}:
                return identity
        if not members and collection not in {c.name for c in fc.children}:
            # A path into another instance (a gap junction's peer/v): linked by the driver.
            name = f"{collection}_{var}"
            flat.requirements[name] = dimension
            flat.peer_variables[name] = var
            return ex.Name(name)
        definition = next((c for c in fc.children if c.name == collection), None)
        single = definition is not None and not getattr(definition, "multiple", False)
        if not members and single and scope.unbound:
            raise TranslationError(
                f"ComponentType {fc.type} (component '{fc.id}'): select '{select}' reads the Child "
                f"'{collection}', and nmlhub cannot tell which of the child components "
                f"{', '.join(repr(c.id) for c in scope.unbound)} fills it (each is written with its own "
                f"id); write the child as <{collection} type=...> without an id")
        if not members and single and where_name is None:
            raise _missing_child(fc, select, definition)
        if not members:
            return identity
        terms = [ex.Name(child_scope.prefix + _exposed(child, var)) for child, child_scope in members]
        if not many:
            return terms[0]
        result = terms[0]
        for term in terms[1:]:
            result = ex.BinOp("*" if reduce == "multiply" else "+", result, term)
        return result

    def _select_path(self, select: str, reduce: str | None, fc: Any, scope: _Scope, dimension: str) -> ex.Expr:
        """A select through several levels of children (``a/b[*]/c/x``, ``b[ion='ca']/c/x``)."""
        *steps, var = select.strip().split("/")
        level = [(fc, scope)]
        many = False
        for step in steps:
            match = re.fullmatch(r"(\w+)(\[\*\]|\[\s*(\w+)\s*=\s*'([^']*)'\s*\])?", step)
            if not match or not re.fullmatch(r"\w+", var):
                raise TranslationError(f"ComponentType {fc.type}: select '{select}' is not supported")
            many = many or match.group(2) is not None
            found = []
            for component, component_scope in level:
                members = self._members(match.group(1), component, component_scope.child_scopes)
                definition = next((c for c in component.children if c.name == match.group(1)), None)
                if not members and definition is not None and not getattr(definition, "multiple", False):
                    raise _missing_child(component, select, definition)
                if match.group(3) is not None:
                    members = [(c, s) for c, s in members if str(_attribute(c, match.group(3))) == match.group(4)]
                found += members
            level = found
        identity = ex.Num(1.0 if reduce == "multiply" else 0.0)
        if not level:
            return identity
        terms = [ex.Name(child_scope.prefix + _exposed(child, var)) for child, child_scope in level]
        if len(terms) > 1 and not many:
            raise TranslationError(f"ComponentType {fc.type}: select '{select}' finds {len(terms)} values "
                                   "but has no [*] or reduce")
        result = terms[0]
        for term in terms[1:]:
            result = ex.BinOp("*" if reduce == "multiply" else "+", result, term)
        return result

    def _members(self, collection: str, fc: Any, child_scopes: list) -> list:
        definition = next((c for c in fc.children if c.name == collection), None)
        # a component filling a single <Child> of the type is that child, not a member of a
        # <Children> collection of the same type (jLEMS: tests/data/child_order)
        singles = {c.name for c in fc.children if not getattr(c, "multiple", False)}
        out = []
        for child, child_scope in child_scopes:
            if child.id == collection or collection in child_scope.aliases:
                out.append((child, child_scope))
            elif (definition is not None and getattr(definition, "multiple", False) and child.id not in singles
                  and definition.type in self.type_chain(child.type)):
                out.append((child, child_scope))
        return out

    def _cases(self, cdv: Any, scope: _Scope) -> ex.Expr:
        default: ex.Expr = ex.Num(0.0)
        branches = []
        for case in cdv.cases:
            value = self._expr(case.value, scope)
            if case.condition:
                branches.append((self._expr(case.condition, scope), value))
            else:
                default = value
        result = default
        for test, value in reversed(branches):
            result = ex.IfElse(test, value, result)
        return result

    def _expr(self, text: str, scope: _Scope) -> ex.Expr:
        parsed = ex.parse(text)
        return ex.substitute(parsed, {n: ex.Name(scope.resolve(n)) for n in ex.names(parsed)})


def _exposed(fc: Any, name: str) -> str:
    """The variable of ``fc`` a path's ``name`` reads: the one exposed under that name when no
    variable has it (``<StateVariable name="B" exposure="Bx"/>``: ``Bx`` reads B, as LEMS says;
    jLEMS reads 0, which ``validate`` warns of)."""
    dynamics = getattr(fc, "dynamics", None)
    if dynamics is None:
        return name
    variables = [*dynamics.state_variables, *dynamics.derived_variables, *dynamics.conditional_derived_variables]
    if any(v.name == name for v in variables):
        return name
    return next((v.name for v in variables if getattr(v, "exposure", None) == name), name)


def _missing_child(fc: Any, select: str, definition: Any) -> TranslationError:
    """A select through a single ``Child`` the component does not have: jLEMS stops ("seeking
    child instance ... but there are no children"); reading 0 would run another model."""
    return TranslationError(
        f"component '{fc.id}' ({fc.type}) has no child '{definition.name}' (a <Child> of type "
        f"{definition.type}), which select '{select}' reads: jLEMS refuses it ('seeking child instance "
        f"{definition.name} ... but there are no children') and nmlhub would read 0; add "
        f"<{definition.name} type=...> to the component")


def _attribute(component: Any, name: str) -> Any:
    """A component's text attribute or parameter value (None when it has neither)."""
    texts = getattr(component, "texts", None) or {}
    if name in texts:
        value = texts[name]
        return getattr(value, "value", value)
    for parameter in getattr(component, "parameters", []):
        if parameter.name == name:
            return parameter.value
    return None


def _sends_to_parent(fc: Any) -> bool:
    """True when a component's Structure connects its events to its parent (``spike`` in a
    ``spikeArray`` or a ``timedSynapticInput``)."""
    structure = getattr(fc, "structure", None)
    if structure is None:
        return False
    instance_of = {w.as_: w.instance for w in getattr(structure, "withs", {}).values()}
    return any(instance_of.get(c.from_, c.from_) == "this" and instance_of.get(c.to, c.to) == "parent"
               for c in getattr(structure, "event_connections", []))


def _topological(items: list[tuple[str, ex.Expr]], known: set[str]) -> list[tuple[str, ex.Expr]]:
    pending = dict(items)
    ordered: list[tuple[str, ex.Expr]] = []
    done = set(known)
    while pending:
        ready = [name for name, value in pending.items()
                 if all(n in done or n not in pending for n in ex.names(value) if n != name)]
        if not ready:
            raise TranslationError(f"derived variables depend on each other in a cycle: {', '.join(pending)}")
        for name in ready:
            ordered.append((name, pending.pop(name)))
            done.add(name)
    return ordered
