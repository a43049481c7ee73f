"""Recorded variables of a point cell that add up its attached inputs (``iSyn``, ``iMemb``).

A point cell whose ``v`` has a time derivative receives the currents of its synapses and inputs
through NEURON's membrane, so its mechanism holds the LEMS input sum (``synapses[*]/i``) as 0.
jLEMS records the sum itself, and every derived variable that reads it (``iMemb``) with it. A
probe of such a variable adds, to what the cell's mechanism recorded, the attached components'
own variable (their ``i``, recorded beside it) times the coefficient of the sum in the variable.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ..lems import expr as ex
from ..lems.translate import FlatComponent
from ..model.paths import QuantityPathError

#: Each name the expressions read takes random values in this range when the coefficients are measured.
_PROBE_RANGE = (0.5, 1.5)
_PROBE_SAMPLES = 8


def input_coefficients(flat: FlatComponent, variable: str) -> dict[str, float] | None:
    """The coefficient of each input sum in a derived variable of a flat component.

    Parameters
    ----------
    flat
        The cell's flat equations.
    variable
        A derived variable (flat name), e.g. ``iMemb``.

    Returns
    -------
    dict or None
        Input sum name -> its constant coefficient (``{"iSyn": 1.0}`` for ``iMemb`` of an
        ``iafCell``); empty when the variable reads no input sum; None when it reads one other
        than through a constant coefficient (the sum cannot be added afterwards).
    """
    derived = dict(flat.derived)
    if variable in flat.external:
        return {variable: 1.0}
    if variable not in derived:
        return {}
    read = _inputs_read(flat, variable)
    if not read:
        return {}
    rng = np.random.default_rng(0)
    constants = _constants(flat)
    base = {name: rng.uniform(*_PROBE_RANGE, _PROBE_SAMPLES) for name in sorted(_free_names(flat) - set(constants))}
    base.update(constants)
    coefficients = {}
    for name in read:
        values = [_evaluate(flat, variable, {**base, name: base[name] + shift}) for shift in (0.0, 1.0, 2.0)]
        first, second = values[1] - values[0], values[2] - values[1]
        scale = max(1.0, float(np.max(np.abs(values[0]))))
        if not (np.allclose(first, second, rtol=1e-6, atol=1e-9 * scale)
                and np.allclose(first, first[0], rtol=1e-6, atol=1e-9 * scale)):
            return None
        coefficients[name] = float(first[0])
    return coefficients


def _constants(flat: FlatComponent) -> dict[str, float]:
    """The values of a component's parameters, properties and derived parameters (a coefficient
    may be a product of them: ``HZ * iSyn / NA / tau``)."""
    values = {**flat.params, **flat.properties}
    for name, value in flat.derived_params:
        try:
            values[name] = ex.evaluate_float(value, values)
        except ex.ExpressionError:
            pass  # reads something else (a random draw, a requirement): left to vary with it
    return values


def _inputs_read(flat: FlatComponent, variable: str) -> set[str]:
    """The input sums a derived variable reads, directly or through other derived variables."""
    derived = dict(flat.derived)
    seen: set[str] = set()
    pending = [variable]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in derived and name not in flat.external:
            pending += list(ex.names(derived[name]))
    return seen & set(flat.external)


def _free_names(flat: FlatComponent) -> set[str]:
    """Every name the derived variables read that is not itself derived (and the input sums)."""
    derived = {name for name, _ in flat.derived}
    used: set[str] = set(flat.external)
    for _, value in flat.derived:
        used |= ex.names(value)
    return (used - derived) | set(flat.external)


def _evaluate(flat: FlatComponent, variable: str, env: dict[str, Any]) -> np.ndarray:
    values = dict(env)
    for name, value in flat.derived:
        if name not in flat.external:
            values[name] = ex.evaluate(value, values, np.random.default_rng(0))
        if name == variable:
            break
    return np.broadcast_to(np.asarray(values[variable], dtype=float), (_PROBE_SAMPLES,))


def receives_inputs_through_membrane(flat: FlatComponent | None) -> bool:
    """Whether a cell's input sums are 0 in its mechanism (its v has a time derivative, so its
    inputs act through NEURON's membrane; a cell without one measures the sum itself)."""
    return flat is not None and bool(flat.external) and any(
        "v" in derivatives for derivatives in flat.time_derivatives.values())


def with_input_sums(probe: Any, flat: FlatComponent, variable: str,
                    attached_probes: Callable[[str], list[Any]]) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of a cell's ``variable``) with the
    input sums it reads added from the attached components' recorded variables.

    Parameters
    ----------
    attached_probes
        Probes of one variable (``i``) on every component attached to the cell.

    Raises
    ------
    QuantityPathError
        The variable reads an input sum other than through a constant coefficient.
    """
    coefficients = input_coefficients(flat, variable)
    if coefficients is None:
        raise QuantityPathError(f"'{probe.path}': '{variable}' reads the sum of the attached inputs "
                                f"({', '.join(sorted(flat.external))}) other than as a term added with a constant "
                                "factor; nmlhub can record it only in that form")
    terms = _terms(flat, coefficients, attached_probes)
    if not terms:
        return probe
    derive = probe.derive

    def plus_inputs(values: np.ndarray) -> np.ndarray:
        total = np.array(values, dtype=float)
        for vector, factor in terms:
            total += factor * np.asarray(vector)[:len(total)]
        return derive(total) if derive is not None else total

    return dataclasses.replace(probe, derive=plus_inputs)


def measures_inputs_itself(flat: FlatComponent | None) -> bool:
    """Whether a cell's mechanism measures its input sums itself (its v has no time derivative:
    it takes the sum from the change of v over each step, so it has none before the first step)."""
    return flat is not None and bool(flat.external) and not receives_inputs_through_membrane(flat)


def with_initial_input_sums(probe: Any, flat: FlatComponent, variable: str,
                            attached_probes: Callable[[str], list[Any]]) -> Any:
    """``probe`` (of ``variable`` of a cell that :func:`measures_inputs_itself`) whose t = 0
    sample adds the input sums the variable reads, from the attached components' variables at
    t = 0 (a graded synapse's current from the states the run starts with), as jLEMS records
    them; its mechanism has measured no sum yet there (0), and from the first step on it has.
    Unchanged when the variable reads no sum, or one other than through a constant coefficient
    (such a variable's t = 0 sample keeps the mechanism's value)."""
    coefficients = input_coefficients(flat, variable)
    terms = _terms(flat, coefficients, attached_probes) if coefficients else []
    if not terms:
        return probe
    derive = probe.derive

    def plus_initial_inputs(values: np.ndarray) -> np.ndarray:
        total = np.array(values, dtype=float)
        if len(total):
            total[0] += sum(factor * float(np.asarray(vector)[0]) for vector, factor in terms if len(vector))
        return derive(total) if derive is not None else total

    return dataclasses.replace(probe, derive=plus_initial_inputs)


def _terms(flat: FlatComponent, coefficients: dict[str, float],
           attached_probes: Callable[[str], list[Any]]) -> list[tuple[Any, float]]:
    """(a vector recording an attached component's variable, its factor to SI times its coefficient)
    for each input sum with a non-zero coefficient."""
    from neuron import h

    terms = []
    for name, coefficient in coefficients.items():
        if coefficient == 0.0:
            continue
        for attached in attached_probes(flat.external_variables.get(name, "i")):
            terms.append((h.Vector().record(attached.reference), coefficient * attached.to_si))
    return terms


#: The variable of NeuroML's morphological ``cell`` (and ``cell2CaPools``) that adds up the
#: currents of everything attached to it (Cells.xml: ``synapses[*]/i``, reduce add).
MORPHOLOGICAL_INPUT_SUM = "iSyn"


def sum_of_attached(attached: list[Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The ``derive`` of a probe (:class:`nmlhub.neuron.recording.Probe`, of any reference recorded
    at every step) giving the sum of the attached components' variable (``attached``: their
    probes) at each sample; 0 when nothing is attached."""
    from neuron import h

    vectors = [(h.Vector().record(probe.reference), probe.to_si) for probe in attached]

    def total(values: np.ndarray) -> np.ndarray:
        result = np.zeros(len(values))
        for vector, factor in vectors:
            result += factor * np.asarray(vector)[:len(result)]
        return result

    return total
