"""The build plan of a network, decided before NEURON is touched: every cell's gid (populations
in order, cells in order), the rank each gid lives on (computed once, for the rule expansion and
the builder alike), one view of every population (from a NeuroML file, NeuroML HDF5 or rules), and
which connections of each kind land on this rank's cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import NmlhubError
from ..model.columns import projection_columns
from ..model.summary import population_size

Position = tuple[float, float, float]


class NetworkError(NmlhubError):
    """The network cannot be instantiated as written."""


@dataclass(frozen=True)
class BuildSettings:
    """How the builder makes what the plan says: linear synapses shared per place, how connection
    delays act (:mod:`nmlhub.neuron.eventgrid`), the time step (ms), and whether what the rules
    expanded to stays whole (else each projection is released once its NetCons are made)."""

    dt_ms: float
    share_synapses: bool = False
    event_timing: str = "jlems"
    keep_expanded: bool = True
    exchange_steps: int = 1  # the fewest steps a spike takes between ranks (2: CoreNEURON on several ranks)


@dataclass(frozen=True)
class PopulationView:
    """A population as the builder sees it, whichever shape it was read in: its cell ids in
    order and where each cell is (``position(k)`` for the k-th cell; None when unplaced)."""

    id: str
    component: str
    ids: tuple[int, ...]
    locate: Callable[[int], Position | None] = field(compare=False, repr=False)

    def position(self, k: int) -> Position | None:
        return self.locate(k)


def file_population(pop: Any) -> PopulationView:
    """The view of a libNeuroML population (instances in XML, in a NeuroML HDF5 table, or none)."""
    instances = pop.instances
    if instances is None or len(instances) == 0:
        return PopulationView(pop.id, pop.component, tuple(range(population_size(pop))), lambda k: None)
    if hasattr(instances, "array"):  # NeuroML HDF5: columns (id,) x, y, z
        array = np.asarray(instances.array)
        ids = tuple(range(array.shape[0])) if array.shape[1] != 4 else tuple(int(x) for x in array[:, 0])

        def from_table(k: int) -> Position | None:
            row = array[k]
            return tuple(float(v) for v in row[-3:]) if len(row) >= 3 else None

        return PopulationView(pop.id, pop.component, ids, from_table)
    ids = tuple(int(inst.id) if inst.id is not None else k for k, inst in enumerate(instances))

    def from_instances(k: int) -> Position | None:
        loc = instances[k].location
        return (float(loc.x), float(loc.y), float(loc.z)) if loc is not None else None

    return PopulationView(pop.id, pop.component, ids, from_instances)


def rule_population(cells: Any, k: int) -> PopulationView:
    """The view of the k-th population a network's rules expand to (a :class:`nmlhub.rules.layout.CellTable`)."""
    name = cells.populations[k]
    positions = cells.position[cells.gids_of(name)]

    def locate(i: int) -> Position:
        x, y, z = positions[i]
        return float(x), float(y), float(z)

    return PopulationView(name, cells.component[k], tuple(range(len(positions))), locate)


def network_populations(network: Any, rule_cells: Any = None) -> list[PopulationView]:
    """The populations of a network in gid order: the file's, then those its rules expand to
    (``rule_cells``, a :class:`nmlhub.rules.layout.CellTable`), which replace file populations
    of the same id."""
    populations = list(network.populations)
    if rule_cells is None:
        return [file_population(pop) for pop in populations]
    views = [file_population(pop) for pop in populations if pop.id not in rule_cells.populations]
    return views + [rule_population(rule_cells, k) for k in range(len(rule_cells.populations))]


def cell_costs(populations: list[PopulationView], mechanisms: dict[str, Any]) -> np.ndarray:
    """An estimate of each cell's simulation cost (compartments x mechanisms), in gid order."""
    costs = []
    for pop in populations:
        cm = mechanisms[pop.component]
        if cm.biophysics is None:
            cost = 1.0
        else:
            from .morphology import plan_sections

            compartments = sum(plan.nseg for plan in plan_sections(cm.biophysics.morphology))
            cost = float(compartments * (1 + len(cm.biophysics.densities) + len(cm.biophysics.species)))
        costs += [cost] * len(pop.ids)
    return np.asarray(costs)


def assign_ranks(costs: np.ndarray, nhost: int, balance: bool) -> np.ndarray:
    """The rank of each gid: round-robin, or (``balance``) greedily by cost, the most expensive
    cells first, each to the least loaded rank (ties broken by gid, so every rank agrees)."""
    if not balance or nhost == 1:
        return np.arange(len(costs)) % max(1, nhost)
    owner = np.zeros(len(costs), dtype=np.int64)
    load = np.zeros(nhost)
    for gid in np.lexsort((np.arange(len(costs)), -costs)):
        rank = int(np.argmin(load))
        owner[gid] = rank
        load[rank] += costs[gid]
    return owner


def keep_jumping_cells_together(owner: np.ndarray, gids: dict[tuple[str, int], int], network: Any,
                                jumping: set[str]) -> np.ndarray:
    """Ranks of the gids with coupled cells of the populations in ``jumping`` on one rank.

    A cell defined by LEMS dynamics sets its v inside an event (a spike's reset), after NEURON has
    sent this step's potentials to other ranks; a coupled cell elsewhere would see the old v for
    one step. So each group of such cells coupled to one another lives on the rank of its first
    gid (the same choice on every rank), and their coupling never crosses ranks.
    """
    parent = np.arange(len(owner))

    def root(gid: int) -> int:
        while parent[gid] != gid:
            parent[gid] = parent[parent[gid]]
            gid = int(parent[gid])
        return gid

    joined = False
    for proj in list(network.electrical_projections) + list(network.continuous_projections):
        pre_population, post_population = proj.presynaptic_population, proj.postsynaptic_population
        if pre_population not in jumping and post_population not in jumping:
            continue
        cols = projection_columns(proj)
        for pre, post in zip(cols.pre_cell.tolist(), cols.post_cell.tolist()):
            a, b = gids.get((pre_population, pre)), gids.get((post_population, post))
            if a is not None and b is not None:
                a, b = root(a), root(b)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                    joined = True
    if not joined:
        return owner
    roots = np.asarray([root(g) for g in range(len(owner))])
    return owner[roots]


@dataclass(frozen=True)
class BuildPlan:
    """Every cell's gid and rank, and this rank's place among them.

    ``gids`` maps (population, cell id) to the gid; ``owner[gid]`` is its rank;
    ``point_populations`` are the populations of point cells (no morphology).
    """

    populations: tuple[PopulationView, ...]
    gids: dict[tuple[str, int], int]
    owner: np.ndarray
    point_populations: frozenset[str]
    rank: int = 0
    nhost: int = 1
    _ranks_by_population: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False)

    def owns(self, population: str, index: int) -> bool:
        """True when the cell exists and lives on this rank."""
        gid = self.gids.get((population, index))
        return gid is not None and int(self.owner[gid]) == self.rank

    def local_mask(self, population: str, indices: np.ndarray) -> np.ndarray:
        """Which of a population's cell indices this rank owns (False for unknown cells)."""
        if population not in self._ranks_by_population:
            ids = np.asarray(sorted(i for p, i in self.gids if p == population), dtype=np.int64)
            ranks = self.owner[[self.gids[(population, int(i))] for i in ids]] if len(ids) else np.zeros(0, np.int64)
            self._ranks_by_population[population] = (ids, np.asarray(ranks, dtype=np.int64))
        ids, ranks = self._ranks_by_population[population]
        indices = np.asarray(indices, dtype=np.int64)
        if not len(ids):
            return np.zeros(len(indices), dtype=bool)
        where = np.clip(np.searchsorted(ids, indices), 0, len(ids) - 1)
        return (ids[where] == indices) & (ranks[where] == self.rank)

    def keep(self, population: str) -> Callable[[np.ndarray], np.ndarray]:
        """A selector of the rows of connections onto ``population`` whose target cell this rank owns."""
        return lambda cells: self.local_mask(population, cells)

    def owned_tail(self, count: int) -> np.ndarray:
        """Which of the last ``count`` gids (the cells of rule populations) live on this rank, as
        indices among them: the post-synaptic cells whose rules this rank expands."""
        return np.flatnonzero(self.owner[len(self.owner) - count:] == self.rank)


def make_plan(network: Any, mechanisms: dict[str, Any], rule_cells: Any = None, rank: int = 0,
              nhost: int = 1, balance: bool = False) -> BuildPlan:
    """The build plan of ``network`` (and the cells its rules expand to, ``rule_cells``) on
    ``nhost`` ranks, seen from ``rank``: cells round-robin or ``balance``-d by cost, coupled cells
    defined by LEMS dynamics kept on one rank (see :func:`keep_jumping_cells_together`)."""
    populations = network_populations(network, rule_cells)
    gids: dict[tuple[str, int], int] = {}
    for pop in populations:
        for cell_id in pop.ids:
            gids[(pop.id, cell_id)] = len(gids)
    costs = cell_costs(populations, mechanisms) if balance and nhost > 1 else np.ones(len(gids))
    owner = assign_ranks(costs, nhost, balance)
    points = frozenset(pop.id for pop in populations if mechanisms[pop.component].biophysics is None)
    if nhost > 1:
        jumping = {pop.id for pop in network.populations if pop.id in points
                   and mechanisms[pop.component].mechanism.role == "cell"}
        owner = keep_jumping_cells_together(owner, gids, network, jumping)
    return BuildPlan(tuple(populations), gids, owner, points, rank, nhost)
