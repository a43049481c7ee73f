"""Recording spikes during a run, as the wiring delivers them: one vector per cell when NetCons
watch sources directly, or every spike of this rank's gids through the ParallelContext."""

from __future__ import annotations

from typing import Any

import numpy as np

from .wiring import GidWiring

CellKey = tuple[str, int]


class CellSpikes:
    """Spikes of a run wired directly: a NetCon from each cell records into its own vector."""

    def __init__(self, h: Any, instance: Any) -> None:
        self.vectors: dict[CellKey, Any] = {}
        self.recorders: list[Any] = []
        for key, cell in instance.cells.items():
            vec = h.Vector()
            netcon = cell.netcon_to(None)
            netcon.record(vec)
            self.recorders.append(netcon)
            self.vectors[key] = vec
        self._done: dict[CellKey, int] = {}

    def cells(self, instance: Any) -> list[CellKey]:
        """Every cell whose spikes may be recorded, in order."""
        return list(instance.cells)

    def new(self, end_ms: float) -> list[tuple[float, CellKey]]:
        """The spikes (up to ``end_ms``) recorded since the last call."""
        found = []
        for key, vec in self.vectors.items():
            done = self._done.get(key, 0)
            found += [(t, key) for t in list(vec)[done:] if t <= end_ms]
            self._done[key] = len(vec)
        return found

    def by_cell(self, end_ms: float) -> dict[CellKey, np.ndarray]:
        """Every cell's spike times up to ``end_ms``."""
        out = {}
        for key, vec in self.vectors.items():
            times = np.array(vec)
            out[key] = times[times <= end_ms]
        return out


class GidSpikes:
    """Spikes of a run wired by gid: every spike of this rank's gids, as (time, gid) vectors."""

    def __init__(self, h: Any, wiring: GidWiring) -> None:
        self.times, self.gids = h.Vector(), h.Vector()
        wiring.pc.spike_record(-1, self.times, self.gids)
        self.keys = {gid: key for key, gid in wiring.gids.items()}  # extra spike sources are no cells
        self._sent = 0

    def cells(self, instance: Any) -> list[CellKey]:
        """Every cell of the network, in gid order."""
        return list(self.keys.values())

    def new(self, end_ms: float) -> list[tuple[float, CellKey]]:
        """The spikes of cells (up to ``end_ms``) recorded since the last call."""
        start = self._sent
        found = [(t, self.keys[int(g)]) for t, g in zip(list(self.times)[start:], list(self.gids)[start:])
                 if int(g) in self.keys and t <= end_ms]
        self._sent = len(self.times)
        return found

    def by_cell(self, end_ms: float, local: list[CellKey]) -> dict[CellKey, list[float]]:
        """This rank's spike times up to ``end_ms`` of each of its cells (``local``)."""
        times = np.asarray(self.times)
        kept = times <= end_ms
        out: dict[CellKey, list[float]] = {key: [] for key in local}
        for t, gid in zip(times[kept].tolist(), np.asarray(self.gids)[kept].astype(np.int64).tolist()):
            if gid in self.keys:
                out.setdefault(self.keys[gid], []).append(t)
        return out


def spike_recorder(h: Any, instance: Any) -> CellSpikes | GidSpikes:
    """The recorder of every spike of this rank's cells for the instance's wiring."""
    wiring = instance.parallel
    return CellSpikes(h, instance) if wiring is None else GidSpikes(h, wiring)
