"""The sample at a spike: the membrane potential after the spike's reset, as jLEMS records it.

jLEMS advances a step, then acts on the conditions the new values meet (``v = reset`` of an
integrate-and-fire cell), then records: the sample of a spike's step shows the reset value.
NEURON records at the end of the step, before it delivers the event that carries those actions,
so its sample shows the value before them (the next samples agree again). The cell's mechanism
keeps the v its actions set (``vhold_nml``, which it holds when v has no derivative): a probe of a
point cell's v takes, at each spike's sample, that value as recorded at the next sample.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..lems.nmodl_names import VHOLD
from ..lems.translate import FlatComponent


def resets_v_at_spikes(flat: FlatComponent | None) -> bool:
    """Whether a cell sets its ``v`` in a condition that sends a spike (directly, or on entering
    a regime), so that jLEMS's sample at the spike shows the value set."""
    if flat is None:
        return False
    for condition in flat.conditions:
        actions = list(condition.actions)
        for action in condition.actions:
            if action.kind == "transition":
                actions += flat.on_entry.get(action.target, [])
        if any(a.kind == "emit" for a in actions) and any(a.kind == "assign" and a.target == "v" for a in actions):
            return True
    return False


def with_samples_after_spikes(probe: Any, mechanism: Any) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of a point cell's v) whose sample at
    each spike of the cell's ``mechanism`` is the v the spike's actions set.
    Unchanged when the mechanism does not keep that value."""
    from neuron import h

    reference = getattr(mechanism, f"_ref_{VHOLD}", None)
    if reference is None:
        return probe
    spike_steps: list[int] = []
    netcon = h.NetCon(mechanism, None)
    # a callback, not a vector: NEURON keeps one spike vector per source, the run's spike recorder's
    netcon.record(lambda: spike_steps.append(int(round(h.t / h.dt))))
    held = h.Vector().record(reference)
    derive = probe.derive

    def at_spikes(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        held_values = np.asarray(held) * probe.to_si
        _ = netcon  # kept alive for as long as the probe reads its samples
        for index in spike_steps:
            # sample 0 is the initial state in jLEMS, recorded before any condition acts
            if 0 < index and index + 1 < min(len(values), len(held_values)):
                values[index] = held_values[index + 1]
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=at_spikes)
