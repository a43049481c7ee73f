"""Connectivity plots: matrices, and cells and connections in any two axes."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

from ..analysis.connectivity import ConnectivityMatrix
from ..analysis.errors import AnalysisError
from ..analysis.network import NetworkCells, NetworkConnections
from .figure import axes_or_new, population_colors

_LABELS = {"weight": "total weight", "count": "connections", "probability": "connection probability",
           "convergence": "convergence (inputs per post cell)",
           "divergence": "divergence (targets per pre cell)"}


def matrix_plot(matrix: ConnectivityMatrix, ax: Axes | None = None, *, cmap: str = "viridis",
                annotate: bool | None = None) -> Axes:
    """Draw a connectivity matrix (pre-synaptic rows, post-synaptic columns) with a colour bar.
    Population matrices are annotated with their values; cell matrices get population
    boundaries and population tick labels."""
    ax = axes_or_new(ax, figsize=(6.0, 5.0))
    values = np.ma.masked_invalid(matrix.values)
    image = ax.imshow(values, cmap=cmap, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=_LABELS[matrix.measure])

    def ticks(labels: tuple[str, ...], pops: np.ndarray, set_ticks, line) -> None:
        if len(labels) <= 30:
            set_ticks(np.arange(len(labels)), labels, fontsize="small")
            return
        bounds = np.flatnonzero(np.r_[True, pops[1:] != pops[:-1], True])
        centres = 0.5 * (bounds[:-1] + bounds[1:]) - 0.5
        set_ticks(centres, [matrix.populations[pops[b]] for b in bounds[:-1]], fontsize="small")
        for b in bounds[1:-1]:
            line(b - 0.5, color="white", linewidth=0.6)

    ticks(matrix.rows, matrix.row_population, ax.set_yticks, ax.axhline)
    ticks(matrix.columns, matrix.column_population, ax.set_xticks, ax.axvline)
    ax.set_ylabel("pre-synaptic")
    ax.set_xlabel("post-synaptic")
    ax.set_title(f"{matrix.measure} ({matrix.level} level)")
    if annotate if annotate is not None else values.size <= 100:
        finite = matrix.values[np.isfinite(matrix.values)]
        middle = 0.5 * (finite.min() + finite.max()) if finite.size else 0.0
        for (i, j), v in np.ndenumerate(matrix.values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize="x-small",
                        color="black" if v > middle else "white")
    return ax


_AXES = {"x": 0, "y": 1, "z": 2}


def positions_plot(cells: NetworkCells, connections: NetworkConnections | None = None,
                   ax: Axes | None = None, *, axes: tuple[str, str] = ("x", "y"),
                   max_connections: int = 5000, seed: int = 0) -> Axes:
    """Cells at their positions in two axes (``("x", "y")``, ``("x", "z")``, ...), coloured by
    population, with connections as lines (a random ``max_connections`` of them when there are
    more), coloured by the pre-synaptic population.

    Returns
    -------
    Axes
        One scatter artist per population; one line collection for the connections.
    """
    try:
        a, b = (_AXES[name] for name in axes)
    except KeyError:
        raise AnalysisError(f"axes {','.join(axes)}? use two of x, y, z") from None
    if np.isnan(cells.position).all():
        raise AnalysisError("the network's cells have no positions")
    ax = axes_or_new(ax, figsize=(6.0, 6.0))
    colors = population_colors(len(cells.populations))
    if connections is not None and len(connections):
        pick = np.arange(len(connections))
        if pick.size > max_connections:
            pick = np.sort(np.random.default_rng(seed).choice(pick, max_connections, replace=False))
        pre, post = connections.pre[pick], connections.post[pick]
        segments = np.stack([cells.position[pre][:, [a, b]], cells.position[post][:, [a, b]]], axis=1)
        line_colors = np.asarray(colors)[cells.cell_population[pre]]
        line_colors[:, 3] = 0.25
        ax.add_collection(LineCollection(segments, colors=line_colors, linewidths=0.5, zorder=1,
                                         label=f"{len(connections)} connections"
                                         + (f" ({pick.size} shown)" if pick.size < len(connections) else "")))
    for k, name in enumerate(cells.populations):
        mine = cells.cell_population == k
        ax.scatter(cells.position[mine, a], cells.position[mine, b], s=14, color=colors[k], label=name,
                   zorder=2, edgecolors="none")
    ax.set_xlabel(f"{axes[0]} (um)")
    ax.set_ylabel(f"{axes[1]} (um)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.legend(fontsize="small", loc="best")
    return ax
