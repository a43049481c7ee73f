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
from ..lems.nmodl_scope import measures_input_sum
from ..lems.translate import FlatComponent
from ..model.paths import QuantityPathError

#: Each name the expressions read takes random values in this range when the coefficients are measured.
_PROBE_RANGE = (0.5, 1.5)
_PROBE_SAMPLES = 8
#: ... and the input sum, at each of these scales (SI: pA to A), steps of the same size: a term
#: linear at one scale only (a rate saturating with its input current) is not a constant factor.
_PROBE_SIZES = (1e-12, 1e-9, 1e-6, 1e-3, 1.0)


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
        slopes = [_slope(flat, variable, {**base, name: base[name] * size}, name, size) for size in _PROBE_SIZES]
        if any(slope is None for slope in slopes):
            return None
        best, margin = min(slopes, key=lambda slope: slope[1])  # type: ignore[arg-type, return-value]
        if any(abs(value - best) > 1e-5 * abs(best) + error + margin for value, error in slopes):  # type: ignore[misc]
            return None
        coefficients[name] = best
    return coefficients


def _slope(flat: FlatComponent, variable: str, env: dict[str, Any], name: str,
           size: float) -> tuple[float, float] | None:
    """The change of ``variable`` per unit of ``name`` over steps of ``size``, if the same for
    every step and every sample of ``env``, and its rounding error; None otherwise."""
    values = [_evaluate(flat, variable, {**env, name: env[name] + shift}) for shift in (0.0, size, 2 * size)]
    first, second = (values[1] - values[0]) / size, (values[2] - values[1]) / size
    scale = max(1.0, float(np.max(np.abs(values[0])))) / size
    if not (np.allclose(first, second, rtol=1e-6, atol=1e-9 * scale)
            and np.allclose(first, first[0], rtol=1e-6, atol=1e-9 * scale)):
        return None
    return float(first[0]), 1e-9 * scale


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
    return _reads(flat, variable) & set(flat.external)


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
    inputs act through NEURON's membrane, and nothing else reads them; otherwise the cell
    measures the sum itself: :func:`measures_inputs_itself`)."""
    return flat is not None and bool(flat.external) and not measures_input_sum(flat)


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
    or it reads the sum elsewhere than in dv/dt: it takes the sum from the change of v over each
    step, so it has none before the first step)."""
    return measures_input_sum(flat)


def with_initial_input_sums(probe: Any, flat: FlatComponent, variable: str,
                            attached_probes: Callable[[str], list[Any]],
                            own_probe: Callable[[str], Any | None]) -> Any:
    """``probe`` (of ``variable`` of a cell that :func:`measures_inputs_itself`) whose t = 0
    sample is the value with the input sums it reads, from the attached components' variables at
    t = 0 (a graded synapse's current from the states the run starts with), as jLEMS records it;
    the cell's mechanism has measured no sum yet there (0), and from the first step on it has.

    A variable adding a sum with a constant factor gets that sum added; any other is computed from
    its derived variables, on the cell's values at t = 0 (``own_probe``: a probe of one of the
    cell's variables, by flat name, or None). Unchanged when the variable reads no sum, or reads
    a random draw or a value the cell does not show.
    """
    coefficients = input_coefficients(flat, variable)
    if coefficients is None:
        return _initial_by_evaluation(probe, flat, variable, attached_probes, own_probe)
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


def _initial_by_evaluation(probe: Any, flat: FlatComponent, variable: str,
                           attached_probes: Callable[[str], list[Any]],
                           own_probe: Callable[[str], Any | None]) -> Any:
    """``probe`` whose t = 0 sample is ``variable`` computed from the cell's derived variables,
    its other values at t = 0 and its input sums (see :func:`with_initial_input_sums`)."""
    from neuron import h

    chain = _derived_chain(flat, variable)
    if chain is None:
        return probe
    read = set().union(*(ex.names(value) for _, value in chain)) - {name for name, _ in chain} - {"t"}
    at_start = h.Vector([0.0])
    sums = {name: [(h.Vector().record(p.reference, at_start), p.to_si)
                   for p in attached_probes(flat.external_variables.get(name, "i"))]
            for name in read & set(flat.external)}
    own = {}
    for name in read - set(flat.external):
        found = own_probe(name)
        if found is None:
            return probe
        own[name] = (h.Vector().record(found.reference, at_start), found.to_si)
    derive = probe.derive

    def initial_evaluated(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        first = lambda vector: float(np.asarray(vector)[0]) if len(vector) else np.nan  # noqa: E731
        env = {name: first(vector) * factor for name, (vector, factor) in own.items()}
        env.update({name: sum(first(vector) * factor for vector, factor in terms) for name, terms in sums.items()})
        env["t"] = 0.0
        for name, value in chain:
            env[name] = ex.evaluate_float(value, env)
        _ = at_start  # the sampling times, kept as long as the vectors
        if len(values) and np.isfinite(env[variable]):
            values[0] = env[variable]
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=initial_evaluated)


def _derived_chain(flat: FlatComponent, variable: str) -> list[tuple[str, ex.Expr]] | None:
    """The derived variables ``variable`` reads (itself last), in the order of computation; None
    when one draws a random number (its value at t = 0 is the mechanism's own draw)."""
    needed = _reads(flat, variable)
    chain = [(name, value) for name, value in flat.derived if name in needed and name not in flat.external]
    if any(_draws(value) for _, value in chain):
        return None
    return chain


def _reads(flat: FlatComponent, variable: str) -> set[str]:
    """``variable`` and every derived variable it reads, directly or through others."""
    derived = dict(flat.derived)
    seen: set[str] = set()
    pending = [variable]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            if name in derived and name not in flat.external:
                pending += list(ex.names(derived[name]))
    return seen


def _draws(expr: ex.Expr) -> bool:
    """Whether an expression calls ``random``."""
    if isinstance(expr, ex.Call):
        return expr.func == "random" or _draws(expr.arg)
    children = [getattr(expr, part) for part in ("left", "right", "operand", "test", "then", "other")
                if hasattr(expr, part)]
    return any(_draws(child) for child in children)


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
