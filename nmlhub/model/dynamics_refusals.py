"""Dynamics jLEMS refuses to read, which nmlhub runs: ports, assignments and comparisons.

In a ComponentType of the model's files, jLEMS stops on (``tests/test_validate_jlems.py`` asks it):

- an ``<OnEvent port>`` that names no ``EventPort`` of the type (with those it inherits) or one
  whose direction is ``out`` (``NullPointerException ... this.eventPort is null``); nmlhub runs
  the handler on every event the cell receives, whatever the port;
- an ``<EventOut port>`` naming no ``EventPort`` or one whose direction is ``in``
  (``this.r_eventPort is null``, or ``Error checking equations``); nmlhub sends the event out all
  the same;
- a ``<StateAssignment>`` to a variable the Dynamics does not declare as a ``StateVariable``
  (``Can't find state variable``); nmlhub assigns it until it is computed again;
- a condition written with ``>``, ``<``, ``==``... rather than ``.gt.``, ``.lt.``, ``.eq.``
  (``ParseError: too many children left in container``); nmlhub reads both.

and silently ignores an ``<OnEvent>`` of a Dynamics that has regimes (only the active regime's
handlers run), and the ``<Transition>`` of an ``<OnCondition>`` of such a Dynamics (its
assignments run), as nmlhub does.

``validate`` and ``run`` warn of each at its line.
"""

from __future__ import annotations

import re

from lxml import etree

from ..xmlsafe import local_name
from .model import Model
from .records import Problem

_SYMBOLS = re.compile(r"<=|>=|==|!=|&&|\|\||[<>]")
_WORDS = {"<=": ".le.", ">=": ".ge.", "==": ".eq.", "!=": ".neq.", "&&": ".and.", "||": ".or.", "<": ".lt.",
          ">": ".gt."}


def dynamics_refusal_warnings(model: Model) -> list[Problem]:
    """A warning per event port, state assignment or comparison jLEMS refuses in the
    ComponentTypes of the model's files.

    Parameters
    ----------
    model
        The loaded model (its own ComponentTypes; the core types give inherited EventPorts).

    Returns
    -------
    list of Problem
        Warnings naming the file, line, type and what jLEMS says.
    """
    from .attachments import type_definition
    from .ignored_attributes import core_definitions

    problems = []
    for name, own in model.component_types.items():
        definition = type_definition(model, name, core_definitions())
        if definition is None:
            continue
        ports: dict[str, str] = {}
        for type_name in reversed(model.type_chain(name)):
            base = type_definition(model, type_name, core_definitions())
            for port in _children(base, "EventPort") if base is not None else []:
                ports[port.get("name", "")] = port.get("direction", "")
        for dynamics in _children(definition, "Dynamics"):
            found = [*_port_problems(dynamics, ports), *_assignment_problems(dynamics, definition),
                     *_comparison_problems(dynamics)]
            problems += [Problem(f"jLEMS refuses this file: {message} (in type {name})", own.location.file,
                                 element_line(own.location.line, definition, element), f"<{local_name(element)}>", "warning")
                         for element, message in found]
            problems += [Problem(f"{message} (in type {name})", own.location.file,
                                 element_line(own.location.line, definition, element), f"<{local_name(element)}>", "warning")
                         for element, message in _ignored_event_handlers(dynamics)]
    return problems


def element_line(first: int | None, definition: etree._Element, element: etree._Element) -> int | None:
    """The element's line in its file (the definition's XML is kept from the line it starts on)."""
    if first is None or element.sourceline is None or definition.sourceline is None:
        return first
    return first + element.sourceline - definition.sourceline


def _children(element: etree._Element, tag: str) -> list[etree._Element]:
    return [e for e in element if isinstance(e.tag, str) and local_name(e) == tag]


def _port_problems(dynamics: etree._Element, ports: dict[str, str]):
    for element in dynamics.iter(etree.Element):
        tag = local_name(element)
        if tag not in ("OnEvent", "EventOut"):
            continue
        port, wanted = element.get("port", ""), "in" if tag == "OnEvent" else "out"
        if ports.get(port) == wanted:
            continue
        what = f"<{tag} port='{port}'> names " + (f"an EventPort of direction '{ports[port]}'" if port in ports
                                                  else "no EventPort of the type")
        done = ("nmlhub runs it on every event the cell receives" if tag == "OnEvent"
                else "nmlhub sends the event out all the same")
        yield element, f"{what} (jLEMS needs direction '{wanted}'); {done}"


def _ignored_event_handlers(dynamics: etree._Element):
    """An ``<OnEvent>`` of the Dynamics itself beside regimes: jLEMS runs only the active
    regime's handlers (measured with ``jnml`` 0.14, tests/test_outside_networks.py); a
    ``<Transition>`` of an ``<OnCondition>`` of the Dynamics itself: jLEMS never performs it
    (tests/test_record_timing.py)."""
    if not _children(dynamics, "Regime"):
        return
    for element in _children(dynamics, "OnEvent"):
        yield element, (f"<OnEvent port='{element.get('port', '')}'> of a Dynamics with regimes never runs in jLEMS "
                        "(it runs the active regime's OnEvent only); nmlhub does as jLEMS (write it inside each "
                        "<Regime> to run it)")
    for condition in _children(dynamics, "OnCondition"):
        for element in _children(condition, "Transition"):
            yield element, (f"<Transition regime='{element.get('regime', '')}'> in an <OnCondition> of a Dynamics "
                            "with regimes is never performed by jLEMS (its assignments are); nmlhub does as jLEMS "
                            "(write the OnCondition inside each <Regime> to change regime)")


def _assignment_problems(dynamics: etree._Element, definition: etree._Element):
    states = {e.get("name") for e in dynamics.iter(etree.Element) if local_name(e) == "StateVariable"}
    declared = {e.get("name") for e in definition.iter(etree.Element)
                if local_name(e) in ("DerivedVariable", "ConditionalDerivedVariable", "Parameter", "Constant",
                                     "DerivedParameter")}
    for element in dynamics.iter(etree.Element):
        variable = element.get("variable")
        if local_name(element) == "StateAssignment" and variable not in states and variable in declared:
            yield element, (f"<StateAssignment variable='{variable}'> assigns a variable that is not a StateVariable "
                            f"('Can't find state variable {variable}'); nmlhub assigns it until it is computed again")


def _comparison_problems(dynamics: etree._Element):
    for element in dynamics.iter(etree.Element):
        tag = local_name(element)
        text = element.get("test") if tag == "OnCondition" else element.get("condition") if tag == "Case" else None
        symbol = _SYMBOLS.search(text or "")
        if symbol:
            yield element, (f"condition '{text}' compares with '{symbol.group()}', which jLEMS cannot parse (write "
                            f"'{_WORDS[symbol.group()]}'); nmlhub reads it")


__all__ = ["dynamics_refusal_warnings", "element_line"]
