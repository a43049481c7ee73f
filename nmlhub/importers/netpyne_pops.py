"""NetPyNE populations split per cell, and VecStim populations as NeuroML spikeArrays: one train
for every cell, or one train per cell. A population is split into one nmlhub population of one cell
per cell, ``<pop>_<i>`` (which the NetPyNE population's conditions select together, in order),
when its cells differ: a spike train per cell, or a cell rule drawing values per cell."""

from __future__ import annotations

import math
import re
from typing import Any

import neuroml
import numpy as np

from ..rules.builder import NetworkBuilder
from ..rules.cell_values import population_rng
from ..rules.values import RuleError
from .netpyne_expr import NetPyNEError


def clean_id(name: str) -> str:
    """A NetPyNE label as a NeuroML id (other characters as ``_``; ``n_`` before a digit)."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
    return text if re.match(r"[A-Za-z_]", text) else f"n_{text}"


def per_cell_trains(pop: dict) -> bool:
    """Whether a VecStim population's cells fire trains of their own: a spike-time list per cell,
    or ``pulses`` (drawn per cell)."""
    times = pop.get("spkTimes")
    if pop.get("cellModel") != "VecStim":
        return False
    return bool(pop.get("pulses")) or (isinstance(times, (list, tuple)) and len(times) > 0
                                       and any(isinstance(t, (list, tuple)) for t in times))


def pulse_train(pulses: Any, rng: np.random.Generator, what: str) -> np.ndarray:
    """One cell's spikes (ms) of NetPyNE's VecStim ``pulses`` (each ``start``, ``end``, ``rate``
    (Hz, or [low, high] drawn per cell) or ``interval`` (ms), ``noise``), as NetPyNE lays them
    out: in each pulse, intervals of ``(1 - noise) * interval`` plus an exponential of mean
    ``noise * interval``, the first at ``start`` plus one such exponential, up to ``end``;
    ``(1 + 1.5 noise) (end - start) / interval`` intervals are drawn, the rest dropped."""
    times: list[np.ndarray] = []
    for k, pulse in enumerate(pulses if isinstance(pulses, (list, tuple)) else []):
        where = f"{what} pulse {k}"
        pulse = dict(pulse or {})
        if set(pulse) - {"start", "end", "rate", "interval", "noise"} or not {"start", "end"} <= set(pulse):
            raise NetPyNEError(f"{where}: give start, end and rate or interval (and noise), not {sorted(pulse)}")
        rate = pulse.get("rate")
        if isinstance(rate, (list, tuple)) and len(rate) == 2:
            rate = rng.uniform(float(rate[0]), float(rate[1]))
        interval = float(pulse["interval"]) if "interval" in pulse else 1000.0 / float(rate) if rate else math.nan
        start, end, noise = float(pulse["start"]), float(pulse["end"]), float(pulse.get("noise", 0.0))
        if not (interval > 0 and math.isfinite(interval) and 0.0 <= noise <= 1.0 and 0.0 <= start <= end):
            raise NetPyNEError(f"{where}: needs a positive rate or interval, noise in [0, 1] and 0 <= start <= end")
        count = int((1 + 1.5 * noise) * (end - start) / interval)
        gaps = np.full(count, (1.0 - noise) * interval)
        if noise > 0:
            gaps += rng.exponential(noise * interval, count)
        spikes = np.maximum(np.cumsum(gaps) + start - (1.0 - noise) * interval, start)
        times.append(spikes[spikes <= end])
    if not isinstance(pulses, (list, tuple)) or not pulses:
        raise NetPyNEError(f"{what}: pulses is a list of pulses")
    return np.concatenate(times)


def members(pop_id: str, pop: dict, per_cell_cells: bool = False) -> list[str]:
    """The nmlhub populations of a NetPyNE population: itself, or one per cell (``<pop>_<i>``)
    for a VecStim population with a spike train per cell, or with ``per_cell_cells`` (its cell
    rule draws values per cell: each cell is a variant of its own)."""
    if per_cell_trains(pop) and not pop.get("pulses"):
        count = len(pop["spkTimes"])
    elif per_cell_cells or per_cell_trains(pop):
        if "numCells" not in pop:
            raise NetPyNEError(f"popParams '{pop_id}': a population whose cells draw their own parameters "
                               "or pulses is imported with numCells")
        count = int(pop["numCells"])
    else:
        return [pop_id]
    return [clean_id(f"{pop_id}_{i}") for i in range(count)]


def spike_array(cell_id: str, times: Any, what: str) -> Any:
    """A NeuroML spikeArray firing at ``times`` (ms, in any order)."""
    try:
        values = sorted(float(t) for t in times)
    except (TypeError, ValueError):
        raise NetPyNEError(f"{what}: spike times must be numbers (ms)") from None
    if any(not math.isfinite(t) or t < 0 for t in values):
        raise NetPyNEError(f"{what}: spike times must be finite and >= 0 ms")
    return neuroml.SpikeArray(id=cell_id, spikes=[neuroml.Spike(id=k, time=f"{t!r}ms") for k, t in enumerate(values)])


def add_vecstim_per_cell(builder: NetworkBuilder, pop_id: str, pop: dict[str, Any],
                         ranges: dict[str, tuple[float, float]]) -> dict[str, str]:
    """A VecStim population whose cells fire their own trains (one ``spkTimes`` list per cell,
    and/or ``pulses`` drawn per cell by :func:`pulse_train`, seeded by the network's seed and the
    population): cell ``i`` is the population ``<pop>_<i>`` of one cell, a spikeArray of its own
    train (the NetPyNE population's conditions select all of them, in order). Returns each
    population's cell component."""
    what = f"popParams '{pop_id}'"
    if set(pop) & {"rate", "interval", "noise", "density", "gridSpacing", "cellsList"}:
        raise NetPyNEError(f"{what}: a VecStim population whose cells fire their own trains is imported with "
                           "numCells, spkTimes and pulses (not rate, interval, noise, density, grid or list)")
    times = list(pop.get("spkTimes") or [])
    per_cell = bool(times) and isinstance(times[0], (list, tuple))
    if len({isinstance(t, (list, tuple)) for t in times}) > 1:
        raise NetPyNEError(f"{what}: spkTimes mixes numbers and lists (give one list for every cell, "
                           "or one list per cell)")
    if per_cell and int(pop.get("numCells", len(times))) != len(times):
        raise NetPyNEError(f"{what}: numCells {pop['numCells']} but {len(times)} spike-time lists (one per cell)")
    if not per_cell and "numCells" not in pop:
        raise NetPyNEError(f"{what}: a VecStim population with pulses is imported with numCells")
    trains = times if per_cell else [times] * int(pop["numCells"])
    if pop.get("pulses"):
        rng = population_rng(builder.rules.seed, pop_id)
        trains = [list(train) + pulse_train(pop["pulses"], rng, what).tolist() for train in trains]
    cells: dict[str, str] = {}
    for member, train in zip(members(pop_id, pop), trains):
        cell_id = clean_id(f"{member}_vecstim")
        builder.add(spike_array(cell_id, train, f"{what} spkTimes of {member}"))
        cells[member] = cell_id
        try:
            builder.population(member, cell=cell_id, count=1, **ranges)
        except RuleError as exc:
            raise NetPyNEError(f"{what}: {exc.message}") from None
    return cells
