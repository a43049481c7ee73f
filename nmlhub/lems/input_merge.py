"""Whether a split input's synapse can be a shared synapse of the same kinetics, and at what weight.

A split input (nmlhub.lems.input_split) drives its own synapse: the input's child (``bkg_syn_A``,
``bkg_syn_B``...) with the input's current ``i = weight * iSyn``. A synapse shared by the cell's
connections (nmlhub.neuron.network) with the same equations and parameters except its conductance
scale (an ``expTwoSynapse`` with the same rise and decay times and reversal potential, another
``gbase``) gives the same current when its events are weighted by ``weight * w * gbase_input /
gbase_shared`` (``w`` the child's own event weight): its states are linear, so the events' effects
add up. This is exact mathematics, not bit for bit (the products are rounded in another order).

:func:`merge_weight` checks it on the equations: the names and equations of the two agree once
the input's child's prefix is taken into account, and, on random values, the shared synapse's
current at scaled states and its event increments at the scaled weight are the input's.
"""

from __future__ import annotations

import numpy as np

from . import expr as ex
from .translate import FlatComponent

#: The parameter that scales a synapse's conductance (NeuroML's baseConductanceBasedSynapse).
SCALE = "gbase"
#: The event weight of a LEMS synapse (its OnEvent's ``weight``).
EVENT_WEIGHT = "weight"
#: Relative agreement the numerical checks ask of the two forms.
TOLERANCE = 1e-12


def merge_weight(synapse: FlatComponent, shared: FlatComponent) -> float | None:
    """The factor (times the input's weight) of the shared synapse's event weight that makes it
    act as the input's synapse, or None when their kinetics differ.

    Parameters
    ----------
    synapse
        A split input's synapse (``split_input(...).synapse``).
    shared
        A shareable synapse's flat equations (its own, not prefixed).
    """
    prefix = _prefix(synapse, shared)
    if prefix is None or SCALE not in shared.params or not shared.params[SCALE]:
        return None
    if not _same_equations(synapse, shared, prefix):
        return None
    if any(synapse.params.get(prefix + n) != v for n, v in shared.params.items() if n != SCALE):
        return None
    if any(synapse.properties.get(prefix + n) != v for n, v in shared.properties.items() if n != EVENT_WEIGHT):
        return None
    ratio = synapse.params[prefix + SCALE] / shared.params[SCALE]
    factor = ratio * synapse.properties.get(prefix + EVENT_WEIGHT, 1.0)
    return factor if _acts_alike(synapse, shared, prefix, ratio, factor) else None


def _prefix(synapse: FlatComponent, shared: FlatComponent) -> str | None:
    """The prefix of the input's child in ``synapse``'s names (``bkg_syn_``), if its states are
    the shared synapse's."""
    if not shared.states or "i" not in dict(shared.derived):
        return None
    first = shared.states[0]
    for state in synapse.states:
        if state.endswith(first):
            prefix = state[:-len(first)]
            if sorted(prefix + s for s in shared.states) == sorted(synapse.states):
                return prefix
    return None


def _renamed(shared: FlatComponent, prefix: str) -> dict[str, ex.Expr]:
    own = set(shared.params) | set(shared.properties) | set(shared.states) | {n for n, _ in shared.derived}
    own |= {n for n, _ in shared.derived_params}
    return {n: ex.Name(prefix + n) for n in own}


def _same_equations(synapse: FlatComponent, shared: FlatComponent, prefix: str) -> bool:
    """The shared synapse's equations, its names prefixed, are the input's child's."""
    table = _renamed(shared, prefix)
    mine = dict(synapse.derived) | dict(synapse.derived_params)
    for name, value in list(shared.derived) + list(shared.derived_params):
        if mine.get(prefix + name) != ex.substitute(value, table):
            return False
    tds, own = shared.time_derivatives.get(None, {}), synapse.time_derivatives.get(None, {})
    if set(shared.time_derivatives) - {None} or len(tds) != len(own):
        return False
    if any(own.get(prefix + s) != ex.substitute(v, table) for s, v in tds.items()):
        return False
    events = [(a.kind, prefix + a.target) for a in shared.on_event]
    return events == [(a.kind, a.target) for a in synapse.on_event] and not shared.conditions


def _acts_alike(synapse: FlatComponent, shared: FlatComponent, prefix: str, ratio: float, factor: float) -> bool:
    """On random states, potentials and input weights: the shared synapse's current at the
    input's states times ``weight * ratio`` (its gbase its own) is the input's current, and its
    event increments at the weight ``weight * factor`` are the input's times ``weight * ratio``."""
    rng = np.random.default_rng(23)
    for _ in range(8):
        weight = float(rng.uniform(0.2, 3.0))
        states = {s: float(rng.uniform(-1.0, 1.0)) for s in shared.states}
        v = float(rng.uniform(-0.09, 0.03))
        theirs = _values(shared, {**{s: x * weight * ratio for s, x in states.items()}, "v": v})
        ours = _values(synapse, {**{prefix + s: x for s, x in states.items()}, "v": v, EVENT_WEIGHT: weight})
        if not _close(theirs["i"], ours["i"]):
            return False
        theirs = _values(shared, {**{s: 0.0 for s in states}, "v": v, EVENT_WEIGHT: weight * factor})
        ours = _values(synapse, {**{prefix + s: 0.0 for s in states}, "v": v, EVENT_WEIGHT: weight})
        for mine, other in zip(synapse.on_event, shared.on_event):
            if mine.value is None or other.value is None:
                return False
            if not _close(ex.evaluate_float(other.value, theirs), weight * ratio * ex.evaluate_float(mine.value, ours)):
                return False
    return True


def _values(flat: FlatComponent, env: dict[str, float]) -> dict[str, float]:
    values = {**flat.params, **flat.properties, **env}
    for name, value in flat.derived_params + flat.derived:
        values[name] = ex.evaluate_float(value, values)
    return values


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1e-300)
