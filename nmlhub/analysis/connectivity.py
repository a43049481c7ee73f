"""Connectivity matrices at population and cell level: weight, number of connections, connection
probability, convergence and divergence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import AnalysisError
from .network import NetworkCells, NetworkConnections

MEASURES = ("weight", "count", "probability", "convergence", "divergence")
LEVELS = ("population", "cell")

#: A cell-level matrix is dense; above this many cells use the population level.
MAX_CELL_MATRIX = 5000


@dataclass(frozen=True)
class ConnectivityMatrix:
    """A connectivity matrix: ``values[i, j]`` from row ``i`` (pre-synaptic) to column ``j``
    (post-synaptic).

    Attributes
    ----------
    values
        The matrix.
    rows, columns
        Labels of rows and columns (population ids, or ``pop/id`` at cell level).
    measure, level
        What the values are, and at which level.
    row_population, column_population
        Population (index into ``populations``) of each row and column.
    populations
        Population ids.
    """

    values: np.ndarray
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    measure: str
    level: str
    row_population: np.ndarray
    column_population: np.ndarray
    populations: tuple[str, ...]


def connectivity_matrix(cells: NetworkCells, connections: NetworkConnections, measure: str = "count",
                        level: str = "population") -> ConnectivityMatrix:
    """Connectivity of a network.

    Parameters
    ----------
    measure
        At population level (pre population i, post population j):

        - ``weight``: sum of the weights of the connections from i to j;
        - ``count``: number of connections from i to j;
        - ``probability``: connected (pre cell, post cell) pairs over possible pairs, ``n_i * n_j``
          (``n_i * (n_i - 1)`` within a population: no self-connections);
        - ``convergence``: connections from i per cell of j (mean in-degree);
        - ``divergence``: connections to j per cell of i (mean out-degree).

        At cell level ``weight``, ``count`` and ``probability`` (1 where connected) are
        (cell x cell) matrices; ``convergence`` is (pre population x post cell): the number of
        inputs each cell gets from each population; ``divergence`` is (pre cell x post
        population): the number of targets each cell has in each population.
    level
        ``population`` or ``cell``.
    """
    if measure not in MEASURES:
        raise AnalysisError(f"connectivity measure '{measure}'? use {', '.join(MEASURES)}")
    if level not in LEVELS:
        raise AnalysisError(f"connectivity level '{level}'? use {', '.join(LEVELS)}")
    if level == "population":
        return _population_matrix(cells, connections, measure)
    return _cell_matrix(cells, connections, measure)


def _population_matrix(cells: NetworkCells, connections: NetworkConnections, measure: str) -> ConnectivityMatrix:
    pops = cells.populations
    npop = len(pops)
    sizes = cells.sizes().astype(float)
    pairs = cells.cell_population[connections.pre] * npop + cells.cell_population[connections.post]
    if measure == "weight":
        flat = np.bincount(pairs, weights=connections.weight, minlength=npop * npop)
    elif measure == "probability":
        unique = np.unique(connections.pre * cells.n_cells + connections.post)
        upre, upost = unique // cells.n_cells, unique % cells.n_cells
        pairs_u = cells.cell_population[upre] * npop + cells.cell_population[upost]
        connected = np.bincount(pairs_u, minlength=npop * npop).reshape(npop, npop)
        possible = np.outer(sizes, sizes) - np.diag(sizes)
        with np.errstate(invalid="ignore", divide="ignore"):
            flat = np.where(possible > 0, connected / possible, np.nan).ravel()
    else:
        flat = np.bincount(pairs, minlength=npop * npop).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            if measure == "convergence":
                flat = (flat.reshape(npop, npop) / sizes[None, :]).ravel()
            elif measure == "divergence":
                flat = (flat.reshape(npop, npop) / sizes[:, None]).ravel()
    pop_codes = np.arange(npop)
    return ConnectivityMatrix(flat.reshape(npop, npop), pops, pops, measure, "population", pop_codes,
                              pop_codes, pops)


def _cell_matrix(cells: NetworkCells, connections: NetworkConnections, measure: str) -> ConnectivityMatrix:
    pops = cells.populations
    npop = len(pops)
    pop_codes = np.arange(npop)
    cell_labels = tuple(f"{pops[p]}/{i}" for p, i in zip(cells.cell_population, cells.cell_id))
    n = cells.n_cells
    if measure == "convergence":
        pre_pop = cells.cell_population[connections.pre]
        values = np.bincount(pre_pop * n + connections.post, minlength=npop * n).reshape(npop, n)
        return ConnectivityMatrix(values.astype(float), pops, cell_labels, measure, "cell", pop_codes,
                                  cells.cell_population, pops)
    if measure == "divergence":
        post_pop = cells.cell_population[connections.post]
        values = np.bincount(connections.pre * npop + post_pop, minlength=n * npop).reshape(n, npop)
        return ConnectivityMatrix(values.astype(float), cell_labels, pops, measure, "cell",
                                  cells.cell_population, pop_codes, pops)
    if n > MAX_CELL_MATRIX:
        raise AnalysisError(f"a cell-level {measure} matrix of {n} cells is too large to draw "
                            f"(at most {MAX_CELL_MATRIX}); use the population level")
    pairs = connections.pre * n + connections.post
    if measure == "weight":
        flat = np.bincount(pairs, weights=connections.weight, minlength=n * n)
    else:
        flat = np.bincount(pairs, minlength=n * n).astype(float)
        if measure == "probability":
            flat = (flat > 0).astype(float)
    return ConnectivityMatrix(flat.reshape(n, n), cell_labels, cell_labels, measure, "cell",
                              cells.cell_population, cells.cell_population, pops)


def synapses_per_segment(cells: NetworkCells, connections: NetworkConnections) -> dict[int, np.ndarray]:
    """Number of synapses on each segment of each post-synaptic cell: cell row -> counts indexed by
    segment id (as long as the largest segment id with a synapse, plus one)."""
    out: dict[int, np.ndarray] = {}
    if len(connections) == 0:
        return out
    order = np.lexsort((connections.post_segment, connections.post))
    post = connections.post[order]
    seg = connections.post_segment[order]
    bounds = np.flatnonzero(np.r_[True, post[1:] != post[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        out[int(post[a])] = np.bincount(seg[a:b][seg[a:b] >= 0])
    return out
