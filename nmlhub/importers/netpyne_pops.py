"""NetPyNE populations split per cell, and VecStim populations as NeuroML spikeArrays: one train
for every cell, or one train per cell. A population is split into one nmlhub population of one cell
per cell, ``<pop>_<i>`` (which the NetPyNE population's conditions select together, in order),
when its cells differ: a spike train per cell, or a cell rule drawing values per cell."""

from __future__ import annotations

import math
import re
from typing import Any

import neuroml

from ..rules.builder import NetworkBuilder
from ..rules.values import RuleError
from .netpyne_expr import NetPyNEError


def clean_id(name: str) -> str:
    """A NetPyNE label as a NeuroML id (other characters as ``_``; ``n_`` before a digit)."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
    return text if re.match(r"[A-Za-z_]", text) else f"n_{text}"


def per_cell_trains(pop: dict) -> bool:
    """Whether a VecStim population gives a spike-time list per cell."""
    times = pop.get("spkTimes")
    return pop.get("cellModel") == "VecStim" and isinstance(times, (list, tuple)) and len(times) > 0 \
        and any(isinstance(t, (list, tuple)) for t in times)


def members(pop_id: str, pop: dict, per_cell_cells: bool = False) -> list[str]:
    """The nmlhub populations of a NetPyNE population: itself, or one per cell (``<pop>_<i>``)
    for a VecStim population with a spike train per cell, or with ``per_cell_cells`` (its cell
    rule draws values per cell: each cell is a variant of its own)."""
    if per_cell_trains(pop):
        count = len(pop["spkTimes"])
    elif per_cell_cells:
        if "numCells" not in pop:
            raise NetPyNEError(f"popParams '{pop_id}': a population whose cells draw their own parameters "
                               "is imported with numCells")
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
    """A VecStim population with one ``spkTimes`` list per cell: cell ``i`` is the population
    ``<pop>_<i>`` of one cell, a spikeArray of its own train (the NetPyNE population's
    conditions select all of them, in order). Returns each population's cell component."""
    what = f"popParams '{pop_id}'"
    trains = pop["spkTimes"]
    if set(pop) & {"pulses", "rate", "interval", "noise", "density", "gridSpacing", "cellsList"}:
        raise NetPyNEError(f"{what}: a VecStim population with spike times per cell is imported with "
                           "numCells and spkTimes (not pulses, rate, interval, noise, density, grid or list)")
    if not all(isinstance(t, (list, tuple)) for t in trains):
        raise NetPyNEError(f"{what}: spkTimes mixes numbers and lists (give one list for every cell, "
                           "or one list per cell)")
    if int(pop.get("numCells", len(trains))) != len(trains):
        raise NetPyNEError(f"{what}: numCells {pop['numCells']} but {len(trains)} spike-time lists (one per cell)")
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
