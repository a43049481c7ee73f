"""The sample at a spike: every variable the spike's actions set shows the value set, as jLEMS
records it.

jLEMS advances a step, then acts on the conditions the new values meet (``v = reset`` of an
integrate-and-fire cell, ``u = u + d`` of an Izhikevich cell, ``w = w + b`` of an AdEx cell), then
records: the sample of a spike's step shows the values set. NEURON records at the end of the step,
before it delivers the event that carries those actions, so its sample shows the values before
them (the next samples agree again).

- ``v`` of a point cell: the cell's mechanism keeps the v its actions set (``vhold_nml``, which it
  holds when v has no derivative); the probe takes, at each spike's sample, that value as recorded
  at the next sample.
- any other variable the condition that sends the spike assigns (directly, or on entering a
  regime): one callback per spike of a recorded cell reads the variable after the actions, and the
  probe takes that value at the spike's sample.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ..lems import expr as ex
from ..lems.nmodl_names import VHOLD
from ..lems.translate import Action, FlatComponent


def _spike_actions(flat: FlatComponent) -> list[list[Action]]:
    """The actions of each condition that sends a spike, with those of the regimes it enters,
    in the order the mechanism performs them."""
    found = []
    for condition in flat.conditions:
        actions: list[Action] = []
        for action in condition.actions:
            actions.append(action)
            if action.kind == "transition":
                actions += flat.on_entry.get(action.target, [])
        if any(a.kind == "emit" for a in actions):
            found.append(actions)
    return found


def reset_at_spikes(flat: FlatComponent | None) -> set[str]:
    """The variables (flat names) a cell sets in a condition that sends a spike (directly, or on
    entering a regime): jLEMS's sample at the spike shows the values set."""
    if flat is None:
        return set()
    return {a.target for actions in _spike_actions(flat) for a in actions if a.kind == "assign"}


def resets_v_at_spikes(flat: FlatComponent | None) -> bool:
    """Whether a cell sets its ``v`` in a condition that sends a spike (directly, or on entering
    a regime), so that jLEMS's sample at the spike shows the value set."""
    return "v" in reset_at_spikes(flat)


def _actions_after_spike(flat: FlatComponent, variable: str) -> list[Action] | None:
    """The actions a spike's handler performs after sending it, when one of them sets
    ``variable`` (empty when each spike's value is set before it is sent); None when the cell's
    several spike-sending conditions do so differently (which one sent a spike is not known)."""
    found = []
    for actions in _spike_actions(flat):
        emitted = max(k for k, a in enumerate(actions) if a.kind == "emit")
        later = [a for a in actions[emitted:] if a.kind == "assign"]
        found.append(later if any(a.target == variable for a in later) else [])
    return found[0] if all(later == found[0] for later in found) else None


def _value_after(actions: list[Action], variable: str, mechanism: Any,
                 nmodl_names: dict[str, str]) -> Callable[[], float] | None:
    """A function giving, when a spike is sent, the value ``actions`` (performed after it) will
    set ``variable`` to: their expressions evaluated on the mechanism's values at that moment.
    None when an expression reads a value the mechanism does not show."""
    from neuron import h

    # pointers, not the mechanism: a hoc object kept alive outlives its section in the next run
    pointers: dict[str, tuple[Any, float]] = {}
    for action in actions:
        for name in ex.names(action.value) - set(pointers) - {"t"}:
            if name == "v":
                pointers[name] = (mechanism.get_segment()._ref_v, 1e-3)
            elif hasattr(mechanism, f"_ref_{nmodl_names.get(name)}"):
                pointers[name] = (getattr(mechanism, f"_ref_{nmodl_names[name]}"), 1.0)
            else:
                return None

    def value() -> float:
        env = {name: pointer[0] * factor for name, (pointer, factor) in pointers.items()}
        env["t"] = h.t * 1e-3
        for action in actions:
            env[action.target] = ex.evaluate_float(action.value, env)
        return env[variable]

    return value


class SpikeSamples:
    """The spikes of the recorded point cells, and values read at each: one callback per spike
    of a cell, whatever the number of its probes (NEURON keeps one callback per spike source).
    One per run (:func:`nmlhub.neuron.recording.resolve_quantity` takes it)."""

    def __init__(self) -> None:
        self._cells: dict[int, _CellSpikes] = {}

    def of(self, mechanism: Any) -> "_CellSpikes":
        """The spikes of one cell's ``mechanism`` (watched from the first call on)."""
        key = id(mechanism)
        if key not in self._cells:
            self._cells[key] = _CellSpikes(mechanism)
        return self._cells[key]


class _CellSpikes:
    """One cell's spike steps, and the values of its readers at each spike."""

    def __init__(self, mechanism: Any) -> None:
        from neuron import h

        self.steps: list[int] = []
        self._readers: list[tuple[Callable[[], float], list[tuple[int, float]]]] = []
        self.netcon = h.NetCon(mechanism, None)
        # a callback, not a vector: NEURON keeps one spike vector per source, the run's spike recorder's
        self.netcon.record(self._at_spike)

    def read(self, value: Callable[[], float]) -> list[tuple[int, float]]:
        """(step, ``value()`` when the spike is sent) at each spike, filled as the run goes."""
        taken: list[tuple[int, float]] = []
        self._readers.append((value, taken))
        return taken

    def _at_spike(self) -> None:
        from neuron import h

        step = int(round(h.t / h.dt))
        self.steps.append(step)
        for value, taken in self._readers:
            taken.append((step, float(value())))


def with_samples_after_spikes(probe: Any, spikes: _CellSpikes, mechanism: Any) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of a point cell's v) whose sample at
    each spike of the cell's ``mechanism`` (``spikes``: its spikes) is the v the spike's actions set.
    Unchanged when the mechanism does not keep that value."""
    from neuron import h

    reference = getattr(mechanism, f"_ref_{VHOLD}", None)
    if reference is None:
        return probe
    held = h.Vector().record(reference)
    derive = probe.derive

    def at_spikes(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        held_values = np.asarray(held) * probe.to_si
        for index in spikes.steps:
            # sample 0 is the initial state in jLEMS, recorded before any condition acts
            if 0 < index and index + 1 < min(len(values), len(held_values)):
                values[index] = held_values[index + 1]
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=at_spikes)


def with_values_set_at_spikes(probe: Any, spikes: _CellSpikes, mechanism: Any, flat: FlatComponent,
                              variable: str, nmodl_names: dict[str, str]) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of ``variable``, a flat name, held by
    a point cell's ``mechanism``; ``spikes``: its spikes; ``nmodl_names``: the mechanism's
    name of each flat name) whose sample at each spike is the value the spike's actions set:
    read when the spike is sent, or, when actions performed after sending it set the variable,
    computed from them. Unchanged when neither is possible."""
    later = _actions_after_spike(flat, variable)
    reference = probe.reference
    value = (lambda: reference[0]) if later == [] else (
        _value_after(later, variable, mechanism, nmodl_names) if later else None)
    if value is None:
        return probe
    taken = spikes.read(value)
    derive = probe.derive

    def at_spikes(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        _ = spikes  # its callback kept alive for as long as the probe reads its samples
        for index, value in taken:
            # sample 0 is the initial state in jLEMS, recorded before any condition acts
            if 0 < index < len(values):
                values[index] = value * probe.to_si
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=at_spikes)
