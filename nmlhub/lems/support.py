"""Which LEMS constructs in a model's own ComponentTypes nmlhub's LEMS reader (pylems) and
translator can compute, checked before they are read: one table, used by ``run`` (the
flattener refuses the first) and ``validate`` (which lists them all).

jLEMS accepts some constructs pylems cannot read (a ``DerivedVariable`` inside an
``OnCondition``) or reads into something the translator would ignore (a ``DerivedVariable``
inside a ``Regime``). Such a model is refused with one line naming the file, the line and the
construct, instead of failing deep inside pylems.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from lxml import etree

from ..model.model import Model
from ..model.records import ComponentTypeDef, Problem
from .dimensions import dimension_problems
from .pylems_fallback import TranslationError

_HANDLER = frozenset({"StateAssignment", "EventOut", "Transition"})

#: The elements each LEMS dynamics element may contain, for nmlhub.
ALLOWED_CHILDREN: dict[str, frozenset[str]] = {
    "Dynamics": frozenset({"StateVariable", "DerivedVariable", "ConditionalDerivedVariable",
                           "TimeDerivative", "OnStart", "OnCondition", "OnEvent", "OnEntry",
                           "Regime", "KineticScheme"}),
    "Regime": frozenset({"TimeDerivative", "OnCondition", "OnEvent", "OnEntry", "StateVariable", "DerivedVariable",
                         "OnStart"}),
    "OnStart": _HANDLER,
    "OnCondition": _HANDLER,
    "OnEvent": _HANDLER,
    "OnEntry": _HANDLER,
    "ConditionalDerivedVariable": frozenset({"Case"}),
}

_Check = Callable[[etree._Element, etree._Element, ComponentTypeDef, Model], "str | None"]


def _instance_requirement(element: etree._Element, root: etree._Element, definition: ComponentTypeDef,
                          model: Model) -> str | None:
    """Why an ``InstanceRequirement`` cannot be computed, or None when nmlhub supplies it.

    jLEMS resolves the requirement to the instance the enclosing structure names: for a synapse
    of an electrical or continuous connection, the synapse at the other end (its ``peer``), whose
    membrane potential is the other cell's. nmlhub links that potential (``peer/v``) itself."""
    name = element.get("name", "")
    if not {"baseSynapse", "baseSynapseDL"} & set(model.type_chain(definition.name)):
        return ("nmlhub supplies an instance requirement only to a synapse, as the peer at the other end "
                "of its electrical or continuous connection")
    for other in root.iter(etree.Element):
        select = other.get("select") or ""
        if re.match(rf"\s*{re.escape(name)}\s*(\[|/)", select) and not re.fullmatch(
                rf"\s*{re.escape(name)}/\w+\s*", select):
            return (f"'{select}' reads beyond the peer's own variables; nmlhub links one variable of the "
                    "peer's cell ('peer/v', 'peer/r')")
    return None


def _regime_declaration(element: etree._Element, root: etree._Element, definition: ComponentTypeDef,
                        model: Model) -> str | None:
    """Why a regime's ``StateVariable`` or ``DerivedVariable`` cannot be computed, or None.

    nmlhub moves a regime's ``StateVariable`` into the Dynamics (``nmlhub.lems.regime_events``):
    the same variable wherever the regime reads it; a name several regimes declare is each
    regime's own, as in jLEMS (measured with ``jnml`` 0.14; :func:`_shared_state`). jLEMS refuses
    a name the Dynamics declares too (``Duplicate name``). A regime's ``DerivedVariable`` is the regime's own
    (``nmlhub.lems.translate``); what jLEMS stops on is refused (:func:`_regime_derived`)."""
    regime = element.getparent()
    if regime is None or _local(regime) != "Regime" or regime.getparent() is None:
        return None
    tag, name = _local(element), element.get("name")
    dynamics = regime.getparent()
    if tag == "DerivedVariable":
        return _regime_derived(element, regime, dynamics)
    if any(isinstance(e.tag, str) and _local(e) == tag and e.get("name") == name for e in dynamics):
        return f"the Dynamics declares '{name}' too, which jLEMS refuses ('Duplicate name')"
    if any(isinstance(e.tag, str) and _local(e) == tag and e.get("name") == name for other in dynamics
           if isinstance(other.tag, str) and _local(other) == "Regime" and other is not regime for e in other):
        return _shared_state(name, dynamics)
    return None


def _shared_state(name: str, dynamics: etree._Element) -> str | None:
    """Why a ``StateVariable`` several regimes declare (each regime's own in jLEMS, kept apart;
    nmlhub gives each its own too) cannot run, or None: set by the Dynamics' ``OnStart`` (jLEMS
    refuses it; a regime's OnStart sets the regime's own), read by an OnStart, or read or set
    outside the regimes."""
    for element in dynamics.iter(etree.Element):
        if _local(element) != "OnStart":
            continue
        assignments = [a for a in element.iter(etree.Element) if _local(a) == "StateAssignment"]
        if element.getparent() is dynamics and any(a.get("variable") == name for a in assignments):
            return (f"several regimes declare '{name}' (each its own) and the Dynamics' OnStart sets it, "
                    f"which jLEMS refuses (\"Can't find state variable {name}\")")
        if any(name in _read_names(a) for a in assignments):
            return (f"several regimes declare '{name}' (each its own in jLEMS) and a regime's OnStart reads it, "
                    "which nmlhub cannot yet")
    for other in dynamics:
        if isinstance(other.tag, str) and _local(other) != "Regime" and (
                name in _read_names(other) or any(e.get("variable") == name for e in other.iter(etree.Element))):
            return (f"several regimes declare '{name}' (each its own in jLEMS) and <{_local(other)}> of the "
                    "Dynamics reads or sets it, which no regime's is")
    return None


#: The attributes of dynamics elements that hold an expression.
_EXPRESSIONS = {"DerivedVariable": ("value",), "TimeDerivative": ("value",), "OnCondition": ("test",),
                "StateAssignment": ("value",), "Case": ("condition", "value")}


def _read_names(element: etree._Element) -> set[str]:
    """The names the expressions of ``element`` and of what it holds read (none of one that
    does not parse: the expression check says so)."""
    from . import expr as ex

    found: set[str] = set()
    for inner in element.iter(etree.Element):
        for attribute in _EXPRESSIONS.get(_local(inner), ()):
            try:
                found |= ex.names(ex.parse(inner.get(attribute) or "0"))
            except ex.ExpressionError:
                continue
    return found


def _regime_derived(element: etree._Element, regime: etree._Element, dynamics: etree._Element) -> str | None:
    """Why a regime's ``DerivedVariable`` cannot run as in jLEMS, or None. jLEMS 0.14 computes it in
    the regime only, from the regime's own variables: read by the Dynamics it is ``No such
    variable``, by another regime a NullPointerException, and its value cannot read a derived
    variable of the Dynamics (``No such variable``); a ``select`` there is not computed."""
    name = element.get("name")
    if element.get("select"):
        return "a regime's DerivedVariable with a select, which jLEMS does not compute (only a value)"
    declared = {_local(e): e for e in dynamics if isinstance(e.tag, str) and e.get("name") == name}
    dynamics_derived = {e.get("name") for e in dynamics if isinstance(e.tag, str)
                        and _local(e) in ("DerivedVariable", "ConditionalDerivedVariable")}
    read = sorted(_read_names(element) & dynamics_derived)
    if read:
        return (f"its value reads the Dynamics' derived variable '{read[0]}', which jLEMS does not give a "
                "regime ('No such variable')")
    if "StateVariable" in declared:
        return None  # the regime's variable is the Dynamics' state (jLEMS shares it)
    for other in dynamics:
        if not isinstance(other.tag, str) or other is regime or name not in _read_names(other):
            continue
        if _local(other) != "Regime":
            return (f"<{_local(other)}> of the Dynamics reads '{name}', which only the regime declares: jLEMS "
                    "stops ('No such variable')")
        if not any(isinstance(e.tag, str) and _local(e) == "DerivedVariable" and e.get("name") == name for e in other):
            return (f"regime '{other.get('name')}' reads '{name}', which only regime '{regime.get('name')}' "
                    "declares: jLEMS stops (NullPointerException)")
    return None


def _outer_derivative(element: etree._Element, root: etree._Element, definition: ComponentTypeDef,
                      model: Model) -> str | None:
    """Why a ``TimeDerivative`` of the Dynamics of a type with regimes cannot run, or None. nmlhub
    integrates it in every regime (``nmlhub.lems.flatten`` puts it back where pylems drops it), as jLEMS does; a regime with a
    TimeDerivative of the same variable too would be integrated twice by jLEMS, one after the
    other (the Dynamics', then the regime's from the new value)."""
    dynamics = element.getparent()
    if dynamics is None or _local(dynamics) != "Dynamics":
        return None
    variable = element.get("variable")
    for regime in dynamics:
        if isinstance(regime.tag, str) and _local(regime) == "Regime" and any(
                isinstance(e.tag, str) and _local(e) == "TimeDerivative" and e.get("variable") == variable
                for e in regime):
            return (f"regime '{regime.get('name')}' has a TimeDerivative of '{variable}' too: jLEMS integrates "
                    "both, one after the other, which nmlhub cannot yet")
    return None


#: Elements refused wherever they are in a ComponentType, each with the check that says why.
CHECKED_ELEMENTS: dict[str, _Check] = {
    "TimeDerivative": _outer_derivative,
    "InstanceRequirement": _instance_requirement,
    "StateVariable": _regime_declaration,
    "DerivedVariable": _regime_declaration,
}


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _shown(element: etree._Element) -> str:
    name = element.get("name")
    return f"<{_local(element)}{f' name={name!r}' if name else ''}>"


def _type_problems(definition: ComponentTypeDef, model: Model) -> list[Problem]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(definition.xml.encode(), parser)
    first_line = definition.location.line or 1
    problems = []
    for element in root.iter(etree.Element):
        line = first_line + element.sourceline - 1 if element.sourceline else first_line
        check = CHECKED_ELEMENTS.get(_local(element))
        reason = check(element, root, definition, model) if check else None
        if reason:
            problems.append(Problem(f"ComponentType {definition.name}: {_shown(element)} is not supported "
                                    f"({reason})", definition.location.file, line, _shown(element)))
        allowed = ALLOWED_CHILDREN.get(_local(element))
        for child in element if allowed is not None else ():
            if isinstance(child.tag, str) and _local(child) not in allowed:
                problems.append(Problem(
                    f"ComponentType {definition.name}: <{_local(child)}> inside <{_local(element)}> is not "
                    f"supported (nmlhub reads {', '.join(sorted(allowed))} there)",
                    definition.location.file, first_line + child.sourceline - 1, f"<{_local(child)}>"))
    return problems


def unsupported_constructs(model: Model) -> list[Problem]:
    """Constructs in the model's ComponentTypes that nmlhub cannot compute, one problem each.

    Parameters
    ----------
    model
        A loaded model.

    Returns
    -------
    list of Problem
        Errors naming the file and line of each construct; empty when everything is supported.
    """
    used = used_types(model)
    files: dict[str, etree._Element | None] = {}  # each file the types are written in, read once
    problems = [problem for definition in model.component_types.values()
                if used is None or definition.name in used
                for problem in _type_problems(definition, model) + dimension_problems(definition, model, files)]
    return _reserved_type_names(model, used) + problems + _holder_problems(model)


#: The elements of ``<Lems>`` pylems reads as its own definitions whatever their case.
_PYLEMS_DEFINITIONS = {"unit": "Unit", "dimension": "Dimension", "constant": "Constant", "include": "Include",
                       "target": "Target", "componenttype": "ComponentType", "component": "Component"}


def _reserved_type_names(model: Model, used: set[str] | None) -> list[Problem]:
    """A ComponentType named as a LEMS definition element in another case (``unit``): its
    components, written ``<unit id=...>``, are read by pylems (whose element names are
    case-insensitive) as that element (a ``<Unit>``), and nmlhub could only say that an expression
    cannot be read. jLEMS 0.14 runs such a model (measured on a type ``unit``)."""
    problems = []
    for definition in model.component_types.values():
        element = _PYLEMS_DEFINITIONS.get(definition.name.lower())
        if element is None or element == definition.name or (used is not None and definition.name not in used):
            continue
        problems.append(Problem(
            f"ComponentType {definition.name} is not supported under that name: its components, written "
            f"<{definition.name} ...>, are read by nmlhub's LEMS reader (pylems, whose element names are "
            f"case-insensitive) as LEMS <{element}> elements; jLEMS runs them: give the type another name", definition.location.file,
            definition.location.line, f"ComponentType '{definition.name}'"))
    return problems


_TYPE_USE = re.compile(r"<\s*([A-Za-z_][\w.-]*)|\btype\s*=\s*[\"']([^\"']+)[\"']")
_SCANNED_BYTES = 16 * 2**20


def used_types(model: Model) -> set[str] | None:
    """The ComponentTypes a model can instantiate: those its files name as an element or a
    ``type=`` (components, children, populations of a type), with every type they extend.

    A type no file names (one of many in an included library, like RateBased.xml's) is never
    built, so jLEMS runs the model whatever that type contains; nmlhub checks the used ones only.
    None (every type counts as used) when a file cannot be scanned cheaply (not XML, or large).
    """
    named = {record.type for record in model.components.values() if getattr(record, "type", None)}
    for source in model.files:
        if source.kind == "hdf5":
            continue
        path = Path(source.path)
        if source.kind not in ("neuroml", "lems") or not path.is_file() or path.stat().st_size > _SCANNED_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
        named.update(tag or attribute for tag, attribute in _TYPE_USE.findall(text))
    return {base for name in named for base in model.type_chain(name)}


def _holder_problems(model: Model) -> list[Problem]:
    """The dynamics of the component a LEMS-defined network is written inside (Ex17's tissue),
    where nmlhub cannot run them beside the network."""
    from ..errors import UnsupportedComponentError
    from .lems_network import holder_dynamics

    simulation = model.simulation
    if simulation is None or simulation.holder is None:
        return []
    try:
        holder_dynamics(model, simulation.holder)
    except UnsupportedComponentError as exc:
        return [Problem(exc.message, exc.file, exc.line, exc.element)]
    return []


def refuse_unsupported_constructs(model: Model) -> None:
    """Refuse the first construct :func:`unsupported_constructs` finds.

    Raises
    ------
    TranslationError
        ``... is not supported (...)`` naming the file, the line and the element.
    """
    unsupported = unsupported_constructs(model)
    if unsupported:
        first = unsupported[0]
        raise TranslationError(first.message, file=first.file, line=first.line, element=first.element)
