"""A model's network as plain columns: every cell (population, id, position) and every connection
(explicit in the file or expanded from its rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.columns import connection_weights_delays, projection_columns
from ..model.coupled import coupled_rows
from ..model.summary import population_size
from .errors import AnalysisError


@dataclass(frozen=True)
class NetworkCells:
    """Every cell of a network, one row per cell, ordered by population then as listed.

    Attributes
    ----------
    populations
        Population ids; ``cell_population`` indexes into it.
    components
        Cell component of each population.
    cell_population
        Population of each cell.
    cell_id
        Id of each cell within its population.
    position
        ``(n_cells, 3)`` positions (um); NaN where the model gives none.
    """

    populations: tuple[str, ...]
    components: tuple[str, ...]
    cell_population: np.ndarray
    cell_id: np.ndarray
    position: np.ndarray

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.cell_id.shape[0])

    def sizes(self) -> np.ndarray:
        """Number of cells of each population."""
        return np.bincount(self.cell_population, minlength=len(self.populations))

    def rows(self, population: str, cell_ids: np.ndarray) -> np.ndarray:
        """Rows of cells given by population and id (-1 for ids the population lacks)."""
        if population not in self.populations:
            raise AnalysisError(f"no population '{population}' in the network")
        members = np.flatnonzero(self.cell_population == self.populations.index(population))
        ids = self.cell_id[members]
        cell_ids = np.asarray(cell_ids, dtype=np.int64)
        if ids.size == 0:
            return np.full(cell_ids.shape, -1, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        at = np.clip(np.searchsorted(ids[order], cell_ids), 0, ids.size - 1)
        return np.where(ids[order][at] == cell_ids, members[order][at], -1)


@dataclass(frozen=True)
class NetworkConnections:
    """Every connection of a network as columns (rows of :class:`NetworkCells`).

    ``post_segment``/``post_fraction`` locate synapses on post-synaptic cells; ``projection``
    indexes ``projection_ids``.
    """

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay_ms: np.ndarray
    post_segment: np.ndarray
    post_fraction: np.ndarray
    projection: np.ndarray
    projection_ids: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.pre.shape[0])


def _instance_table(pop: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cell ids and positions (NaN if none) of a NeuroML population."""
    instances = pop.instances
    if instances is not None and len(instances) > 0:
        if hasattr(instances, "array"):
            array = np.asarray(instances.array, dtype=float)
            if array.ndim == 2 and array.shape[1] == 4:
                return array[:, 0].astype(np.int64), array[:, 1:4]
            if array.ndim == 2 and array.shape[1] == 3:
                return np.arange(array.shape[0]), array
            return np.arange(array.shape[0]), np.full((array.shape[0], 3), np.nan)
        ids = np.array([int(i.id) if i.id is not None else k for k, i in enumerate(instances)], np.int64)
        pos = np.array([(float(i.location.x), float(i.location.y), float(i.location.z))
                        if i.location is not None else (np.nan,) * 3 for i in instances], float)
        return ids, pos.reshape(-1, 3)
    n = population_size(pop)
    return np.arange(n, dtype=np.int64), np.full((n, 3), np.nan)


def _rules_of(model: Any, network: Any) -> Any:
    rules = getattr(model, "rules", {}).get(network.id)
    if rules is None or getattr(rules, "expanded_in_file", False):
        return None
    return rules


def expanded_rules(model: Any, network: Any | None = None) -> Any:
    """The network's rules expanded (:class:`nmlhub.rules.expand.ExpandedNetwork`), or None when it
    has no rules (or its file holds their expansion)."""
    from ..model.cells import cell_morphology
    from ..rules.expand import expand

    network = network if network is not None else model.network()
    rules = _rules_of(model, network)
    if rules is None:
        return None
    morphologies = {}
    for pop in rules.populations:
        record = model.components.get(pop.cell)
        if record is not None:
            morphologies[pop.cell] = cell_morphology(record.obj, model.components)
    return expand(rules, morphologies)


def network_cells(model: Any, network: Any | None = None, expanded: Any = None) -> NetworkCells:
    """Every cell of a model's network (the simulation's target, or the only one), with the
    cells its rules expand to (pass ``expanded`` to reuse an expansion)."""
    network = network if network is not None else model.network()
    if expanded is None:
        expanded = expanded_rules(model, network)
    rule_pops = set(expanded.cells.populations) if expanded is not None else set()
    names, components, pops, ids, positions = [], [], [], [], []
    for pop in network.populations:
        if pop.id in rule_pops:
            continue
        cell_ids, pos = _instance_table(pop)
        pops.append(np.full(cell_ids.size, len(names), np.int64))
        names.append(pop.id)
        components.append(pop.component)
        ids.append(cell_ids)
        positions.append(pos)
    if expanded is not None:
        cells = expanded.cells
        for k, name in enumerate(cells.populations):
            gids = cells.gids_of(name)
            pops.append(np.full(gids.size, len(names), np.int64))
            names.append(name)
            components.append(cells.component[k])
            ids.append(cells.index[gids].astype(np.int64))
            positions.append(cells.position[gids].astype(float))
    if not names:
        raise AnalysisError(f"network '{network.id}' has no populations")
    return NetworkCells(tuple(names), tuple(components), np.concatenate(pops), np.concatenate(ids),
                        np.vstack(positions))


def network_connections(model: Any, cells: NetworkCells | None = None, network: Any | None = None,
                        expanded: Any = None) -> NetworkConnections:
    """Every connection of a model's network: chemical, electrical and continuous projections of
    the file, and the projections its rules expand to. Connections to cells the network lacks are
    left out."""
    network = network if network is not None else model.network()
    if expanded is None:
        expanded = expanded_rules(model, network)
    cells = cells if cells is not None else network_cells(model, network, expanded)
    parts: list[tuple] = []
    ids: list[str] = []

    def add(proj_id: str, pre_pop: str, post_pop: str, columns: tuple) -> None:
        """Connections of one projection: ``columns`` = (pre ids, post ids, weight, delay,
        post segment, post fraction)."""
        pre_ids, post_ids, weight, delay, seg, frac = columns
        pre = cells.rows(pre_pop, pre_ids)
        post = cells.rows(post_pop, post_ids)
        keep = (pre >= 0) & (post >= 0)
        code = np.full(int(keep.sum()), len(ids), np.int64)
        parts.append((pre[keep], post[keep], np.asarray(weight, float)[keep], np.asarray(delay, float)[keep],
                      np.asarray(seg, np.int64)[keep], np.asarray(frac, float)[keep], code))
        ids.append(proj_id)

    for proj in network.projections:
        cols = projection_columns(proj)
        weights, delays = connection_weights_delays(proj, model.units)
        if weights.size != len(cols):
            weights, delays = np.ones(len(cols)), np.zeros(len(cols))
        add(proj.id, proj.presynaptic_population, proj.postsynaptic_population,
            (cols.pre_cell, cols.post_cell, weights, delays, cols.post_segment, cols.fractions()[1]))
    for electrical, coupled in ((True, network.electrical_projections), (False, network.continuous_projections)):
        for proj in coupled:
            rows = coupled_rows(proj, electrical)
            cols = rows.columns
            add(proj.id, proj.presynaptic_population, proj.postsynaptic_population,
                (cols.pre_cell, cols.post_cell, rows.weights_or_one(), np.zeros(len(cols)), cols.post_segment,
                 cols.fractions()[1]))
    if expanded is not None:
        for proj in expanded.projections:
            add(proj.id, proj.pre_population, proj.post_population,
                (proj.pre_cell, proj.post_cell, proj.weight, proj.delay, proj.post_segment, proj.post_fraction))
    if not parts:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
        return NetworkConnections(empty_i, empty_i, empty_f, empty_f, empty_i, empty_f, empty_i, ())
    columns = [np.concatenate(c) for c in zip(*parts)]
    return NetworkConnections(*columns, tuple(ids))


def positions_of(cells: NetworkCells, populations: tuple[str, ...] | list[str], cell_population: np.ndarray,
                 cell_id: np.ndarray) -> np.ndarray:
    """Positions (um) of cells given by population code (into ``populations``) and id, e.g. the
    cells of a :class:`~nmlhub.analysis.spikes.SpikeTable`; NaN for cells the network lacks."""
    out = np.full((len(cell_id), 3), np.nan)
    for code, name in enumerate(populations):
        mine = np.flatnonzero(np.asarray(cell_population) == code)
        if name not in cells.populations or mine.size == 0:
            continue
        rows = cells.rows(name, np.asarray(cell_id)[mine])
        found = rows >= 0
        out[mine[found]] = cells.position[rows[found]]
    return out
