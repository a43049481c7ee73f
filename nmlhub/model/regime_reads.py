"""A regime's handler reading a variable its regime does not hold, which jLEMS cannot run.

jLEMS 0.14 evaluates the handlers of a ``<Regime>`` (its ``OnCondition`` tests and the values its
``StateAssignment``s set, in ``OnCondition``, ``OnEvent`` and ``OnEntry``) over the regime's own
variables: the parameters and constants, ``t``, the states the regime integrates (its
``TimeDerivative``s) and those its handlers set. A state of the Dynamics that only another regime,
the Dynamics itself or nothing changes, or a ``DerivedVariable`` of the Dynamics, is missing
there: jLEMS stops at the first step with ``RuntimeError: No such variable: z`` (measured,
tests/conformance/event_timing.md "record_timing"), where nmlhub would run on the shared value.
``validate`` reports it as an error at the handler's line (in a regime the component can enter),
and ``run`` refuses it in one line.
"""

from __future__ import annotations

import re

from lxml import etree

from ..xmlsafe import local_name
from .model import Model
from .records import Problem

_OPERATOR = re.compile(r"\.[A-Za-z]+\.")
_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\b(?!\s*\()")


def regime_read_errors(model: Model) -> list[Problem]:
    """An error per handler of a regime that reads a state or derived variable the regime
    neither integrates nor sets, in the ComponentTypes of the model's files.

    Parameters
    ----------
    model
        The loaded model (its own ComponentTypes).

    Returns
    -------
    list of Problem
        Errors naming the file, line, type, regime and variable.
    """
    from .attachments import type_definition
    from .dynamics_refusals import element_line
    from .ignored_attributes import core_definitions

    problems = []
    for name, own in model.component_types.items():
        if "Regime" not in (own.xml or ""):
            continue  # no regime to check: not parsed again (on every rank of every run)
        definition = type_definition(model, name, core_definitions())
        if definition is None:
            continue
        for dynamics in _children(definition, "Dynamics"):
            for element, regime, variable in _unheld_reads(dynamics):
                problems.append(Problem(
                    f"{local_name(element)} of regime '{regime}' reads '{variable}', which the regime neither "
                    f"integrates nor sets: jLEMS stops ('No such variable: {variable}'; in type {name})",
                    own.location.file, element_line(own.location.line, definition, element), f"<{local_name(element)}>"))
    return problems


def _children(element: etree._Element, tag: str) -> list[etree._Element]:
    return [e for e in element if isinstance(e.tag, str) and local_name(e) == tag]


def _read(text: str | None) -> set[str]:
    """The names an expression reads (not its operators ``.gt.``..., functions, numbers)."""
    return set(_NAME.findall(_OPERATOR.sub(" ", text or "")))


def _entered(regimes: list[etree._Element]) -> list[etree._Element]:
    """The regimes a component can be in: the initial one (every one when none is marked) and
    those a Transition of an entered regime leads to (jLEMS performs no Transition of the
    Dynamics itself); jLEMS evaluates no handler of a regime never entered."""
    by_name = {r.get("name", ""): r for r in regimes}
    todo = [r for r in regimes if r.get("initial", "").lower() == "true"] or list(regimes)
    entered: list[etree._Element] = []
    while todo:
        regime = todo.pop()
        if regime in entered:
            continue
        entered.append(regime)
        todo += [by_name[e.get("regime", "")] for e in regime.iter(etree.Element)
                 if local_name(e) == "Transition" and e.get("regime", "") in by_name]
    return [r for r in regimes if r in entered]


def _unheld_reads(dynamics: etree._Element):
    """(handler, regime, variable) for each variable a regime's handler reads and the regime does
    not hold."""
    regimes = _children(dynamics, "Regime")
    if not regimes:
        return
    declared = {e.get("name") for e in dynamics.iter(etree.Element)
                if local_name(e) in ("StateVariable", "DerivedVariable", "ConditionalDerivedVariable")}
    for regime in _entered(regimes):
        held = {e.get("variable") for e in regime.iter(etree.Element)
                if local_name(e) in ("TimeDerivative", "StateAssignment")}
        held |= {e.get("name") for e in regime.iter(etree.Element)
                 if local_name(e) in ("StateVariable", "DerivedVariable")}  # a regime's own (jLEMS)
        for handler in [e for e in regime if isinstance(e.tag, str)
                        and local_name(e) in ("OnCondition", "OnEvent", "OnEntry")]:
            read = _read(handler.get("test"))
            for assignment in handler.iter(etree.Element):
                if local_name(assignment) == "StateAssignment":
                    read |= _read(assignment.get("value"))
            for variable in sorted(read & declared - held):
                yield handler, regime.get("name", ""), variable


__all__ = ["regime_read_errors"]
