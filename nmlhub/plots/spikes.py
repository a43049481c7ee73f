"""Spike plots: raster, spike-time histograms, firing-rate statistics."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from ..analysis.errors import AnalysisError
from ..analysis.spikes import RateStatistics, SpikeHistogram, SpikeTable, cell_order
from .figure import axes_or_new, population_colors

#: Above this many spikes, the raster is rasterised in vector formats (SVG/PDF stay small).
RASTERISE_ABOVE = 20_000


def raster(table: SpikeTable, ax: Axes | None = None, *, order: str = "population",
           depth: np.ndarray | None = None, marker_size: float | None = None) -> Axes:
    """Spike raster: one dot per spike, one row per cell, coloured by population.

    Parameters
    ----------
    table
        The spikes (:func:`~nmlhub.analysis.spikes.spike_table`).
    order
        ``"population"`` (rows grouped by population) or ``"depth"`` (by ``depth``, one value per
        cell, e.g. the y coordinate of :class:`~nmlhub.analysis.network.NetworkCells`).
    marker_size
        Dot size (points); by default smaller as there are more spikes.

    Returns
    -------
    Axes
        One line artist (markers only) per population with spikes, labelled with its name.
    """
    ax = axes_or_new(ax)
    row = cell_order(table, order, depth)
    y = row[table.cell]
    pop = table.spike_population
    size = marker_size if marker_size is not None else (2.0 if table.times_ms.size < 5000 else 0.7)
    many = table.times_ms.size > RASTERISE_ABOVE
    for k, (name, color) in enumerate(zip(table.populations, population_colors(len(table.populations)))):
        mine = pop == k
        if not mine.any():
            continue
        ax.plot(table.times_ms[mine], y[mine], linestyle="none", marker="o", markersize=size,
                markeredgewidth=0, color=color, label=name, rasterized=many)
    ax.set_xlim(table.start_ms, table.stop_ms)
    ax.set_ylim(-0.5, max(table.n_cells, 1) - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("cell (by depth)" if order == "depth" else "cell (by population)")
    if order == "depth":
        ax.invert_yaxis()  # the shallowest cells on top
    ax.set_title(f"{table.times_ms.size} spikes, {table.n_cells} cells")
    if len(table.populations) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=max(1.0, 6.0 / size),
                  fontsize="small", frameon=False)
    return ax


def spike_histogram_plot(hist: SpikeHistogram, ax: Axes | None = None, *, rate: bool = True) -> Axes:
    """Spike-time histogram: one step line per group (all cells, each population or each cell),
    as rate per cell (Hz) or as counts."""
    ax = axes_or_new(ax)
    values = hist.rate_hz if rate else hist.counts
    for label, row, color in zip(hist.labels, values, population_colors(len(hist.labels))):
        ax.stairs(row, hist.edges_ms, label=label, color=color)
    ax.set_xlabel("time (ms)")
    width = hist.edges_ms[1] - hist.edges_ms[0]
    ax.set_ylabel("rate per cell (Hz)" if rate else f"spikes per {width:g} ms bin")
    if len(hist.labels) > 1:
        ax.legend(loc="upper right", fontsize="small")
    return ax


_QUANTITIES = {"rate": ("rate_hz", "firing rate (Hz)"), "cv": ("cv", "ISI CV")}


def _per_population(stats: RateStatistics, quantity: str) -> tuple[list[np.ndarray], str]:
    if quantity not in _QUANTITIES:
        raise AnalysisError(f"rate statistic '{quantity}'? use rate or cv")
    attr, label = _QUANTITIES[quantity]
    groups = [v[np.isfinite(v)] for v in stats.by_population(getattr(stats, attr))]
    return groups, label


def rate_boxplot(stats: RateStatistics, quantity: str = "rate", ax: Axes | None = None) -> Axes:
    """Box plot of each population's per-cell rates or ISI CVs (cells with fewer than 3 spikes
    have no CV and are left out of CV plots); the x labels give Golomb's synchrony chi."""
    ax = axes_or_new(ax)
    groups, label = _per_population(stats, quantity)
    box = ax.boxplot(groups, patch_artist=True, widths=0.6)
    for patch, color in zip(box["boxes"], population_colors(len(groups))):
        patch.set_facecolor(color)
        patch.set_alpha(0.6)
    ax.set_xticks(np.arange(1, len(groups) + 1),
                  [f"{p}\n(chi {s:.2f})" for p, s in zip(stats.populations, stats.synchrony)])
    ax.set_ylabel(label)
    return ax


def rate_histogram(stats: RateStatistics, quantity: str = "rate", ax: Axes | None = None,
                   bins: int = 30) -> Axes:
    """Histogram of per-cell rates or ISI CVs, one per population (shared bins)."""
    ax = axes_or_new(ax)
    groups, label = _per_population(stats, quantity)
    everything = np.concatenate(groups) if groups else np.zeros(0)
    edges = np.histogram_bin_edges(everything if everything.size else [0.0, 1.0], bins)
    for name, values, color in zip(stats.populations, groups, population_colors(len(groups))):
        ax.hist(values, edges, histtype="stepfilled", alpha=0.5, color=color, label=name)
    ax.set_xlabel(label)
    ax.set_ylabel("cells")
    if len(groups) > 1:
        ax.legend(fontsize="small")
    return ax
