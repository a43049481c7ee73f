"""What jLEMS reads inside a ``<Regime>`` and pylems cannot: ``OnEvent``, ``StateVariable``,
``DerivedVariable``, ``OnStart``.

jLEMS 0.14's ``Regime`` holds its own event handlers: an event arriving at the port runs the
handler of the active regime only (NESTML2LEMS's ``iaf_psc_alpha_nestml`` ignores input while
refractory that way). pylems's parser accepts no ``<OnEvent>`` there, so nmlhub takes them out of
each ComponentType's XML before pylems reads it and puts them back, as pylems handlers, into the
regimes of the resolved types, from where the flattening carries them into every component.

A regime's ``StateVariable`` is the regime's own variable in jLEMS, its ``OnStart`` runs when the
component is built, before the Dynamics' ``OnStart`` (measured with ``jnml`` 0.14). nmlhub moves
them into the Dynamics (the OnStart ahead of the Dynamics' own): the same values wherever the
regime reads them. A name several regimes declare is each regime's own in jLEMS (each integrated,
set and kept apart, from 0): it is declared once for pylems, and the translator gives each of
those regimes its own variable (``nmlhub_own_states`` of the pylems regime); a regime's OnStart
setting it sets that regime's own (jLEMS 0.14; the Dynamics' OnStart setting it jLEMS refuses).

A regime's ``DerivedVariable`` (pylems reads it as a component) is taken out the same way and put
back into its regime of the resolved type, as a pylems ``DerivedVariable``: the translator makes it
a variable of the regime's own, computed at the start of each of the regime's steps
(``nmlhub.lems.translate``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class RegimeEvent:
    """One ``<OnEvent>`` of a regime: its type, regime, port and actions (tag, attributes)."""

    type_name: str
    regime: str
    port: str
    actions: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass(frozen=True)
class RegimeDerived:
    """One ``<DerivedVariable>`` of a regime: its type, regime and attributes."""

    type_name: str
    regime: str
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RegimeState:
    """A ``StateVariable`` several regimes of a type declare, one of them: each its own in jLEMS."""

    type_name: str
    regime: str
    name: str


class RegimeEvents:
    """The ``<OnEvent>`` handlers and ``<DerivedVariable>`` elements taken out of the regimes of a
    model's ComponentTypes."""

    def __init__(self) -> None:
        self.found: list[RegimeEvent] = []
        self.derived: list[RegimeDerived] = []
        self.own_states: list[RegimeState] = []

    def take_from(self, xml: str) -> str:
        """``xml`` (one ComponentType) without the ``<OnEvent>`` elements inside its regimes, which
        are kept here (unchanged when there is none)."""
        if "Regime" not in xml:
            return xml
        root = etree.fromstring(xml.encode(), _PARSER)
        taken = _hoist_declarations(root, self.own_states)
        for regime in [e for e in root.iter(etree.Element) if etree.QName(e).localname == "Regime"]:
            for handler in [e for e in regime if isinstance(e.tag, str) and etree.QName(e).localname == "OnEvent"]:
                actions = tuple((etree.QName(a).localname, tuple(sorted(a.attrib.items())))
                                for a in handler if isinstance(a.tag, str))
                self.found.append(RegimeEvent(root.get("name", ""), regime.get("name", ""),
                                              handler.get("port", ""), actions))
                regime.remove(handler)
                taken = True
            for variable in [e for e in regime if isinstance(e.tag, str)
                             and etree.QName(e).localname == "DerivedVariable"]:
                self.derived.append(RegimeDerived(root.get("name", ""), regime.get("name", ""),
                                                  tuple(sorted(variable.attrib.items()))))
                regime.remove(variable)
                taken = True
        return etree.tostring(root, encoding="unicode") if taken else xml

    def fingerprint(self) -> str:
        """A hash of what was taken (the flattened components depend on it)."""
        return hashlib.sha256(repr((self.found, self.derived, self.own_states)).encode()).hexdigest()[:16]

    def add_to(self, resolved_types: Any) -> None:
        """Put each handler, as a pylems ``OnEvent``, into its regime of the resolved type of its
        name (pylems's map of resolved ComponentTypes)."""
        from lems.model.dynamics import DerivedVariable, EventOut, OnEvent, StateAssignment, Transition

        makers = {"StateAssignment": lambda a: StateAssignment(a["variable"], a["value"]),
                  "EventOut": lambda a: EventOut(a["port"]), "Transition": lambda a: Transition(a["regime"])}
        for event in self.found:
            if event.type_name not in resolved_types:
                continue
            regimes = resolved_types[event.type_name].dynamics.regimes
            if event.regime not in regimes:
                continue
            handler = OnEvent(event.port)
            for tag, attributes in event.actions:
                if tag in makers:  # anything else is refused before (nmlhub.lems.support)
                    handler.add_action(makers[tag](dict(attributes)))
            regimes[event.regime].add_event_handler(handler)
        for state in self.own_states:
            resolved = resolved_types[state.type_name] if state.type_name in resolved_types else None
            regime = resolved.dynamics.regimes.get(state.regime) if resolved is not None else None
            if regime is not None:  # read by nmlhub.lems.translate (pylems copies it with the regime)
                regime.nmlhub_own_states = (*getattr(regime, "nmlhub_own_states", ()), state.name)
        for variable in self.derived:  # in the order of the file: jLEMS computes them so
            resolved = resolved_types[variable.type_name] if variable.type_name in resolved_types else None
            regimes = resolved.dynamics.regimes if resolved is not None else {}
            if variable.regime in regimes:
                attributes = dict(variable.attributes)
                regimes[variable.regime].add_derived_variable(DerivedVariable(attributes.pop("name", ""), **attributes))


def regime_own_name(name: str, regime: str) -> str:
    """The flat name of regime ``regime``'s own variable ``name`` (nmlhub.lems.translate)."""
    return f"{name}_{regime}_regime"


def _hoist_declarations(root: etree._Element, own_states: list[RegimeState]) -> bool:
    """Move each regime's ``StateVariable`` and ``OnStart`` into its Dynamics (a name several
    regimes declare once, noted in ``own_states`` for each of them); whether anything moved."""
    moved = False
    for dynamics in [e for e in root.iter(etree.Element) if etree.QName(e).localname == "Dynamics"]:
        first_start = next((k for k, e in enumerate(dynamics) if isinstance(e.tag, str)
                            and etree.QName(e).localname == "OnStart"), len(dynamics))
        regimes = [e for e in dynamics if isinstance(e.tag, str) and etree.QName(e).localname == "Regime"]
        declared: dict[str, list[str]] = {}
        for regime in regimes:
            for element in regime:
                if isinstance(element.tag, str) and etree.QName(element).localname == "StateVariable":
                    declared.setdefault(element.get("name", ""), []).append(regime.get("name", ""))
        own_states.extend(RegimeState(root.get("name", ""), regime, name)
                          for name, owners in declared.items() if len(owners) > 1 for regime in owners)
        hoisted: set[str] = set()
        for regime in regimes:
            for element in [e for e in regime if isinstance(e.tag, str)]:
                tag = etree.QName(element).localname
                if tag not in ("StateVariable", "OnStart"):
                    continue
                regime.remove(element)
                moved = True
                if tag == "OnStart":
                    # it sets the regime's own copy of a name several regimes declare (as jLEMS)
                    for assignment in element.iter(etree.Element):
                        name = assignment.get("variable")
                        if etree.QName(assignment).localname == "StateAssignment" and len(declared.get(name, ())) > 1:
                            assignment.set("variable", regime_own_name(name, regime.get("name", "")))
                    dynamics.insert(first_start, element)
                    first_start += 1
                elif element.get("name") not in hoisted:
                    hoisted.add(element.get("name"))
                    dynamics.insert(0, element)
    return moved
