"""How spikes travel from a cell to its targets, chosen once per run: a NetCon watching the source
directly (:class:`DirectWiring`), or NEURON's ParallelContext gids (:class:`GidWiring`: on MPI
ranks, and serially when every delay allows it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import numpy as np

from ..model.columns import ConnectionColumns
from .cells import spike_source
from .plan import BuildPlan, NetworkError

#: A spike source: (population, cell, segment, fraction along it).
Source = tuple[str, int, int, float]
Connect = Callable[[Any], Any]


class DirectWiring:
    """Every connection is a NetCon from its source cell's mechanism or membrane potential."""

    def keep(self, population: str) -> Callable[[np.ndarray], np.ndarray] | None:
        """A selector of connections onto this rank's cells: None, every cell is here."""
        return None

    def check_delay(self, delay: float, what: str, netcon_delay: float | None = None) -> None:
        """Any delay works within one process."""

    def register_cells(self, instance: Any) -> None:
        """Nothing to register: sources are watched directly."""

    def reserve_sources(self, pre_populations: list[str], columns: list[ConnectionColumns], instance: Any) -> None:
        """Nothing to reserve: sources are watched directly."""

    def start_run(self) -> None:
        """Nothing to set up before ``finitialize``."""

    def advance(self, h: Any, until_ms: float) -> None:
        """Integrate up to ``until_ms``."""
        h.continuerun(until_ms)

    def connector(self, instance: Any, population: str, index: int, segment: int = 0,
                  fraction: float = 0.5) -> Connect:
        """A function making a NetCon from the spikes of a cell (detected at segment/fraction) to its argument."""
        from neuron import h

        source, section, threshold = spike_source(instance.cell(population, index), segment, fraction)

        def connect(target: Any) -> Any:
            if section is None:
                return h.NetCon(source, target)
            netcon = h.NetCon(source, target, sec=section)
            netcon.threshold = threshold
            return netcon

        return connect


@dataclass
class GidWiring:
    """How cells are spread over MPI ranks (the :class:`~nmlhub.neuron.plan.BuildPlan`); spikes
    travel through NEURON's ParallelContext from gid to target."""

    pc: Any
    plan: BuildPlan
    min_delay: float = 0.0  # ms; spikes between ranks need at least one time step
    extra_sources: dict[Source, int] = field(default_factory=dict)
    # (population, cell, section name, NEURON node index) -> gid of the extra source there
    source_places: dict[tuple[str, int, str, float], int] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return self.plan.rank

    @property
    def nhost(self) -> int:
        return self.plan.nhost

    @property
    def gids(self) -> dict[tuple[str, int], int]:
        return self.plan.gids

    @property
    def owner(self) -> np.ndarray:
        return self.plan.owner

    @property
    def point_populations(self) -> frozenset[str]:
        return self.plan.point_populations

    def owns(self, population: str, index: int) -> bool:
        return self.plan.owns(population, index)

    def local_mask(self, population: str, indices: np.ndarray) -> np.ndarray:
        """Which of a population's cell indices this rank owns (False for unknown cells)."""
        return self.plan.local_mask(population, indices)

    def keep(self, population: str) -> Callable[[np.ndarray], np.ndarray]:
        """A selector of connections onto ``population`` whose target this rank owns."""
        return self.plan.keep(population)

    def check_delay(self, delay: float, what: str, netcon_delay: float | None = None) -> None:
        """Refuse a connection whose NetCon delay (``netcon_delay``, else ``delay``) is under one
        step: spikes between ranks are exchanged once per step at the earliest."""
        applied = delay if netcon_delay is None else netcon_delay
        if applied >= self.min_delay * (1 - 1e-9):
            return
        if applied == delay:
            raise NetworkError(f"{what}: delay {delay:g} ms is shorter than the time step "
                               f"({self.min_delay:g} ms); a parallel run needs every connection "
                               "delay to be at least one step")
        raise NetworkError(f"{what}: delay {delay:g} ms acts within the next step of "
                           f"{self.min_delay:g} ms under jLEMS's event timing, which a parallel run "
                           "cannot do: spikes between ranks need a delay of at least one step")

    def start_run(self) -> None:
        """Ready the ParallelContext before ``finitialize``."""
        self.pc.set_maxstep(10)

    def advance(self, h: Any, until_ms: float) -> None:
        """Integrate up to ``until_ms`` on every rank, exchanging spikes."""
        self.pc.psolve(until_ms)

    def register_cells(self, instance: Any) -> None:
        """Give each of this rank's cells its gid, its spikes announced to every rank."""
        for key, cell in instance.cells.items():
            gid = self.gids[key]
            netcon = cell.netcon_to(None)
            self.pc.set_gid2node(gid, self.rank)
            self.pc.cell(gid, netcon)
            instance.netcons.append(netcon)

    def connector(self, instance: Any, population: str, index: int, segment: int = 0,
                  fraction: float = 0.5) -> Connect:
        """A function connecting the spikes of a cell (detected at segment/fraction) to its argument."""
        return partial(self.pc.gid_connect, self.source_gid(instance, population, index, segment, fraction))

    def source_gid(self, instance: Any, population: str, index: int, segment: int = 0,
                   fraction: float = 0.5) -> int:
        """The gid of a cell's spike source: the cell's own (its mechanism's events, or v at the
        middle of segment 0) or, for detection elsewhere on a morphology, an extra source created
        on the cell's rank (one per NEURON segment: places on the segment that holds the cell's
        own source share its gid)."""
        gid = self.gids.get((population, index))
        if gid is None:
            raise NetworkError(f"no cell {index} in population '{population}'")
        if population in self.point_populations or (int(segment), float(fraction)) == (0, 0.5):
            return gid
        key = (population, index, int(segment), round(float(fraction), 9))
        if key not in self.extra_sources:
            if not instance.is_local(population, index):
                raise NetworkError(f"spike source of {population}[{index}] at segment {segment}, fraction "
                                   f"{fraction:g} was not reserved on every rank")
            self.reserve_source(instance, key, neuron_place(instance, population, index, segment, fraction))
        return self.extra_sources[key]

    def reserve_source(self, instance: Any, key: Source, place: tuple[str, float] | None) -> None:
        """Give the spike source ``key`` the gid of its NEURON place (see :func:`neuron_place`);
        every rank calls this in the same order, so the gids agree, and the cell's rank creates
        the source."""
        population, index, segment, fraction = key
        gid = self.gids[(population, index)]
        if place is None:
            self.extra_sources[key] = gid
            return
        located = (population, index, place[0], place[1])
        if located not in self.source_places:
            extra = len(self.owner) + len(self.source_places)
            self.source_places[located] = extra
            if int(self.owner[gid]) == self.rank:
                netcon = instance.cell(population, index).netcon_to(None, segment, fraction)
                self.pc.set_gid2node(extra, self.rank)
                self.pc.cell(extra, netcon)
                instance.netcons.append(netcon)
        self.extra_sources[key] = self.source_places[located]

    def reserve_sources(self, pre_populations: list[str], columns: list[ConnectionColumns], instance: Any) -> None:
        """Give every spike source away from a cell's default place (segment 0, middle) its gid, the
        same on every rank: each rank sees only the connections onto its own cells, so the sources
        they need are gathered from all ranks and numbered in one sorted order."""
        needed: set[Source] = set()
        for population, cols in zip(pre_populations, columns):
            if population in self.point_populations or not len(cols):
                continue
            pre_fraction, _ = cols.fractions()
            away = (cols.pre_segment != 0) | (np.round(pre_fraction, 9) != 0.5)
            for cell, segment, fraction in zip(cols.pre_cell[away].tolist(), cols.pre_segment[away].tolist(),
                                               pre_fraction[away].tolist()):
                needed.add((population, int(cell), int(segment), round(float(fraction), 9)))
        if self.nhost > 1:
            needed = set().union(*(set(map(tuple, found)) for found in self.pc.py_allgather(sorted(needed))))
        # Where each source lies in NEURON is known on its cell's rank only: shared with every rank.
        places = {source: neuron_place(instance, *source) for source in sorted(needed)
                  if instance.is_local(source[0], source[1])}
        if self.nhost > 1:
            for found in self.pc.py_allgather(places):
                places.update(found)
        for source in sorted(needed):
            self.reserve_source(instance, source, places[source])


def neuron_place(instance: Any, population: str, index: int, segment: int, fraction: float
                 ) -> tuple[str, float] | None:
    """The NEURON segment (section name, node index) where a spike detected at a NeuroML segment and
    fraction of a local cell is detected; None when it is the segment of the cell's own source."""
    cell = instance.cell(population, index)
    section, x = cell.locate(segment, fraction)
    own_section, own_x = cell.locate(0, 0.5)
    place = (section.name(), _node(section, x))
    return None if place == (own_section.name(), _node(own_section, own_x)) else place


def _node(section: Any, x: float) -> float:
    """The NEURON node a place of a section maps to: -1 and nseg for its ends, else its segment."""
    if x <= 0:
        return -1.0
    if x >= 1:
        return float(section.nseg)
    return float(min(int(x * section.nseg), section.nseg - 1))
