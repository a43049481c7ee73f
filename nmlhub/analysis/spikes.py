"""Spike trains as one columnar table, and what is computed from it: rates, ISI CV, synchrony,
spike-time histograms. Everything is vectorised over spikes (no per-spike Python loop)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .errors import AnalysisError


@dataclass(frozen=True)
class SpikeTable:
    """Every spike of a run as columns, and every cell (also cells that never fired).

    Cells are rows ``0..n_cells-1`` ordered by population (in :attr:`populations` order) then by
    cell id. Spikes are sorted by cell, then by time.

    Attributes
    ----------
    times_ms
        Time of each spike (ms).
    cell
        Row of the cell that fired each spike.
    populations
        Population names; ``cell_population`` indexes into it.
    cell_population
        Population (index into ``populations``) of each cell.
    cell_id
        Id of each cell within its population.
    start_ms, stop_ms
        The time window the spikes were taken from (rates divide by its length).
    """

    times_ms: np.ndarray
    cell: np.ndarray
    populations: tuple[str, ...]
    cell_population: np.ndarray
    cell_id: np.ndarray
    start_ms: float
    stop_ms: float

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.cell_id.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the time window (s)."""
        return (self.stop_ms - self.start_ms) / 1000.0

    @property
    def spike_population(self) -> np.ndarray:
        """Population (index into :attr:`populations`) of each spike."""
        return self.cell_population[self.cell]

    def counts(self) -> np.ndarray:
        """Number of spikes of each cell."""
        return np.bincount(self.cell, minlength=self.n_cells)

    def population_sizes(self) -> np.ndarray:
        """Number of cells of each population."""
        return np.bincount(self.cell_population, minlength=len(self.populations))

    def population_code(self, population: str) -> int:
        """Index of a population in :attr:`populations`."""
        try:
            return self.populations.index(population)
        except ValueError:
            raise AnalysisError(f"no population '{population}' in the spikes "
                                f"(populations: {', '.join(self.populations) or 'none'})") from None

    def cell_row(self, population: str, cell_id: int) -> int:
        """Row of cell ``cell_id`` of ``population``."""
        code = self.population_code(population)
        rows = np.flatnonzero((self.cell_population == code) & (self.cell_id == cell_id))
        if rows.size == 0:
            raise AnalysisError(f"no cell {population}/{cell_id} in the spikes")
        return int(rows[0])

    def window(self, start_ms: float | None = None, stop_ms: float | None = None) -> "SpikeTable":
        """The spikes within ``[start_ms, stop_ms)``, every cell kept."""
        start = self.start_ms if start_ms is None else float(start_ms)
        stop = self.stop_ms if stop_ms is None else float(stop_ms)
        if not stop > start:
            raise AnalysisError(f"empty time window {start:g}:{stop:g} ms")
        keep = (self.times_ms >= start) & (self.times_ms < stop)
        if keep.all():
            return SpikeTable(self.times_ms, self.cell, self.populations, self.cell_population,
                              self.cell_id, start, stop)
        return SpikeTable(self.times_ms[keep], self.cell[keep], self.populations, self.cell_population,
                          self.cell_id, start, stop)

    def select(self, populations: Sequence[str]) -> "SpikeTable":
        """The cells (and their spikes) of some populations, in the order given."""
        codes = [self.population_code(p) for p in populations]
        order = np.concatenate([np.flatnonzero(self.cell_population == c) for c in codes]) if codes \
            else np.zeros(0, np.int64)
        new_row = np.full(self.n_cells, -1, dtype=np.int64)
        new_row[order] = np.arange(order.size)
        remap = np.full(len(self.populations), -1, dtype=np.int64)
        remap[codes] = np.arange(len(codes))
        rows = new_row[self.cell]
        keep = rows >= 0
        rows, times = rows[keep], self.times_ms[keep]
        if np.any(rows[1:] < rows[:-1]):   # populations reordered: regroup spikes by new row
            sort = np.argsort(rows, kind="stable")
            rows, times = rows[sort], times[sort]
        return SpikeTable(times, rows, tuple(populations),
                          remap[self.cell_population[order]], self.cell_id[order], self.start_ms,
                          self.stop_ms)


def spike_table(spikes: Mapping[tuple[str, int], np.ndarray], *, start_ms: float = 0.0,
                stop_ms: float | None = None, populations: Sequence[str] | None = None) -> SpikeTable:
    """Build a :class:`SpikeTable` from ``(population, cell id) -> spike times (ms)``.

    Parameters
    ----------
    spikes
        As :attr:`nmlhub.results.Results.spikes`.
    start_ms, stop_ms
        The time window; ``stop_ms`` defaults to just after the last spike.
    populations
        Population order (default: order of first appearance); others are left out.
    """
    keys = list(spikes.keys())
    order_of = {p: k for k, p in enumerate(populations)} if populations is not None else {}
    if populations is None:
        for pop, _ in keys:
            order_of.setdefault(pop, len(order_of))
    keys = [key for key in keys if key[0] in order_of]
    pops = tuple(sorted(order_of, key=order_of.get))
    cell_population = np.fromiter((order_of[p] for p, _ in keys), dtype=np.int64, count=len(keys))
    cell_id = np.fromiter((int(i) for _, i in keys), dtype=np.int64, count=len(keys))
    rows = np.lexsort((cell_id, cell_population))
    arrays = [np.asarray(spikes[keys[r]], dtype=float).ravel() for r in rows]
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    times = np.concatenate(arrays) if arrays else np.zeros(0)
    cell = np.repeat(np.arange(len(arrays), dtype=np.int64), lengths)
    if times.size and np.any((np.diff(times) < 0) & (cell[1:] == cell[:-1])):
        sort = np.lexsort((times, cell))   # some cell's spikes are out of order
        times, cell = times[sort], cell[sort]
    if stop_ms is None:
        stop_ms = float(times.max()) + 1e-9 if times.size else start_ms + 1.0
    table = SpikeTable(times, cell, pops, cell_population[rows], cell_id[rows], float(start_ms),
                       float(stop_ms))
    return table.window(start_ms, stop_ms)


def results_spike_table(results: object, *, start_ms: float | None = None, stop_ms: float | None = None,
                        populations: Sequence[str] | None = None) -> SpikeTable:
    """The :class:`SpikeTable` of a :class:`~nmlhub.results.Results`, over the run's duration
    (or ``[start_ms, stop_ms)``)."""
    duration = float(getattr(results, "duration_ms", 0.0) or 0.0)
    spikes = getattr(results, "spikes", None)
    if spikes is None:
        raise AnalysisError("these results hold no spikes")
    start = 0.0 if start_ms is None else float(start_ms)
    stop = stop_ms if stop_ms is not None else (duration if duration > start else None)
    return spike_table(spikes, start_ms=start, stop_ms=stop, populations=populations)


def firing_rates(table: SpikeTable) -> np.ndarray:
    """Mean firing rate of each cell over the table's window (Hz)."""
    return table.counts() / table.duration_s


def isi_cv(table: SpikeTable, *, min_spikes: int = 3) -> np.ndarray:
    """Coefficient of variation (std / mean, population std) of each cell's inter-spike intervals.

    Cells with fewer than ``min_spikes`` spikes (default 3, i.e. fewer than two intervals) get NaN.
    A Poisson train has CV 1, a regular one 0.
    """
    isi = np.diff(table.times_ms)
    same = table.cell[1:] == table.cell[:-1]
    owner = table.cell[1:][same]
    isi = isi[same]
    n = np.bincount(owner, minlength=table.n_cells).astype(float)
    total = np.bincount(owner, weights=isi, minlength=table.n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        centred = isi - mean[owner]
        var = np.bincount(owner, weights=centred * centred, minlength=table.n_cells) / n
        cv = np.sqrt(var) / mean
    cv[table.counts() < max(int(min_spikes), 2)] = np.nan
    return cv


def _bins(table: SpikeTable, bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges over the window and each spike's bin."""
    if not bin_ms > 0:
        raise AnalysisError(f"the bin width must be positive, not {bin_ms} ms")
    n_bins = max(1, int(np.ceil((table.stop_ms - table.start_ms) / bin_ms - 1e-9)))
    edges = table.start_ms + bin_ms * np.arange(n_bins + 1)
    which = np.minimum(((table.times_ms - table.start_ms) // bin_ms).astype(np.int64), n_bins - 1)
    return edges, which


@dataclass(frozen=True)
class SpikeHistogram:
    """Spike counts per time bin, for one or more groups of cells.

    ``rate_hz`` is the count divided by the bin width and the group's number of cells.
    """

    edges_ms: np.ndarray
    counts: np.ndarray        # (n_groups, n_bins)
    rate_hz: np.ndarray       # (n_groups, n_bins)
    labels: tuple[str, ...]

    @property
    def centres_ms(self) -> np.ndarray:
        """Centre of each bin (ms)."""
        return 0.5 * (self.edges_ms[1:] + self.edges_ms[:-1])


def spike_histogram(table: SpikeTable, bin_ms: float = 5.0, *, by: str = "all",
                    cells: Sequence[tuple[str, int]] | None = None) -> SpikeHistogram:
    """Spike-time histogram of all cells, of each population, or of single cells.

    Parameters
    ----------
    by
        ``"all"`` (one histogram), ``"population"`` (one per population) or ``"cell"`` (one per
        cell in ``cells``).
    cells
        ``(population, cell id)`` of the cells for ``by="cell"``.
    """
    edges, which = _bins(table, bin_ms)
    n_bins = edges.size - 1
    if by == "all":
        group, sizes, labels = np.zeros(which.size, np.int64), np.array([table.n_cells]), ("all",)
    elif by == "population":
        group, sizes, labels = table.spike_population, table.population_sizes(), table.populations
    elif by == "cell":
        if not cells:
            raise AnalysisError("a histogram by cell needs the cells")
        rows = np.array([table.cell_row(p, i) for p, i in cells])
        lookup = np.full(table.n_cells, -1, dtype=np.int64)
        lookup[rows] = np.arange(rows.size)
        group = lookup[table.cell]
        keep = group >= 0
        group, which = group[keep], which[keep]
        sizes, labels = np.ones(rows.size), tuple(f"{p}/{i}" for p, i in cells)
    else:
        raise AnalysisError(f"histogram by '{by}'? use all, population or cell")
    counts = np.bincount(group * n_bins + which, minlength=len(labels) * n_bins).reshape(len(labels), n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = counts / (np.asarray(sizes, float)[:, None] * bin_ms / 1000.0)
    return SpikeHistogram(edges, counts, rate, tuple(labels))


def population_rate(table: SpikeTable, bin_ms: float = 1.0,
                    population: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean rate per cell (Hz) of a population (or of all cells) in bins of ``bin_ms``: a sampled
    signal at step ``bin_ms`` for :func:`~nmlhub.analysis.spectra.welch_psd` or causality.

    Returns
    -------
    time_ms, rate_hz
        Bin centres and rates.
    """
    hist = spike_histogram(table, bin_ms, by="population" if population else "all")
    row = table.population_code(population) if population else 0
    return hist.centres_ms, hist.rate_hz[row]


def binned_counts(table: SpikeTable, bin_ms: float, rows: np.ndarray | None = None) -> np.ndarray:
    """Spike counts of cells (rows, default all) in bins of ``bin_ms``: an (n_cells, n_bins) array."""
    edges, which = _bins(table, bin_ms)
    n_bins = edges.size - 1
    rows = np.arange(table.n_cells) if rows is None else np.asarray(rows, dtype=np.int64)
    lookup = np.full(table.n_cells, -1, dtype=np.int64)
    lookup[rows] = np.arange(rows.size)
    group = lookup[table.cell]
    keep = group >= 0
    flat = np.bincount(group[keep] * n_bins + which[keep], minlength=rows.size * n_bins)
    return flat.reshape(rows.size, n_bins)


def golomb_synchrony(table: SpikeTable, bin_ms: float = 5.0) -> float:
    """Golomb's synchrony measure chi of binned spike counts.

    ``chi**2 = var_t(mean_i x_i(t)) / mean_i var_t(x_i(t))``, where ``x_i`` is cell i's count per bin
    (Golomb & Rinzel 1993; Golomb 2007, Scholarpedia "Neuronal synchrony measures"). chi is 1 when
    all cells fire together and about ``1/sqrt(N)`` for N independent cells. Cells that never fire
    count (with zero variance). NaN when no cell varies.

    Computed without the (cells x bins) matrix: spikes are sorted by cell and time, so each
    (cell, bin) pair is a run of equal keys.
    """
    edges, which = _bins(table, bin_ms)
    n_bins = edges.size - 1
    n = table.n_cells
    if n == 0:
        return float("nan")
    key = table.cell * n_bins + which
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    run_counts = np.diff(np.r_[starts, key.size])
    run_cell = table.cell[starts]
    counts = np.bincount(table.cell, minlength=n).astype(float)
    squares = np.bincount(run_cell, weights=run_counts.astype(float) ** 2, minlength=n)
    cell_var = squares / n_bins - (counts / n_bins) ** 2
    pop = np.bincount(which, minlength=n_bins) / n
    mean_var = cell_var.mean()
    if not mean_var > 0:
        return float("nan")
    return float(np.sqrt(pop.var() / mean_var))


def count_correlation(table: SpikeTable, bin_ms: float = 5.0, *, max_cells: int = 500,
                      seed: int = 0) -> float:
    """Mean pairwise Pearson correlation of binned spike counts over pairs of cells that fired.

    At most ``max_cells`` cells (chosen at random with ``seed``) enter, to bound the
    ``max_cells**2`` pairs. NaN with fewer than two cells that fired.
    """
    rows = np.flatnonzero(table.counts() > 0)
    if rows.size > max_cells:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_cells, replace=False))
    if rows.size < 2:
        return float("nan")
    counts = binned_counts(table, bin_ms, rows).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(counts)
    upper = corr[np.triu_indices(rows.size, 1)]
    return float(np.nanmean(upper)) if np.isfinite(upper).any() else float("nan")


@dataclass(frozen=True)
class RateStatistics:
    """Per-cell firing statistics, with per-population summaries.

    Attributes
    ----------
    rate_hz, cv
        Each cell's rate (Hz) and ISI CV (NaN for cells with fewer than 3 spikes).
    cell_population
        Population (index into ``populations``) of each cell.
    populations
        Population names.
    synchrony
        Golomb's chi of each population's cells (see :func:`golomb_synchrony`).
    correlation
        Mean spike-count correlation of each population (see :func:`count_correlation`).
    bin_ms
        Bin width used for ``synchrony`` and ``correlation``.
    """

    rate_hz: np.ndarray
    cv: np.ndarray
    cell_population: np.ndarray
    populations: tuple[str, ...]
    synchrony: np.ndarray
    correlation: np.ndarray
    bin_ms: float

    def mean_rate(self) -> np.ndarray:
        """Mean rate of each population (Hz)."""
        sizes = np.bincount(self.cell_population, minlength=len(self.populations))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.bincount(self.cell_population, weights=self.rate_hz,
                               minlength=len(self.populations)) / sizes

    def by_population(self, values: np.ndarray) -> list[np.ndarray]:
        """Split a per-cell array into one array per population."""
        return [values[self.cell_population == k] for k in range(len(self.populations))]


def rate_statistics(table: SpikeTable, *, bin_ms: float = 5.0, max_cells: int = 500) -> RateStatistics:
    """Rates, ISI CVs and synchrony (Golomb's chi and spike-count correlation) per population."""
    sync, corr = [], []
    for name in table.populations:
        sub = table.select([name])
        sync.append(golomb_synchrony(sub, bin_ms))
        corr.append(count_correlation(sub, bin_ms, max_cells=max_cells))
    return RateStatistics(firing_rates(table), isi_cv(table), table.cell_population, table.populations,
                          np.asarray(sync), np.asarray(corr), float(bin_ms))


def cell_order(table: SpikeTable, by: str = "population",
               depth: np.ndarray | None = None) -> np.ndarray:
    """The raster row of each cell.

    Parameters
    ----------
    by
        ``"population"`` (rows as in the table: by population, then id) or ``"depth"`` (by
        ``depth``, one value per cell, deepest last).
    depth
        Depth of each cell (same order as the table's cells), for ``by="depth"``.
    """
    if by == "population":
        return np.arange(table.n_cells)
    if by == "depth":
        if depth is None or np.shape(depth) != (table.n_cells,):
            raise AnalysisError("ordering by depth needs one depth per cell (the model's positions)")
        rank = np.empty(table.n_cells, dtype=np.int64)
        rank[np.lexsort((np.arange(table.n_cells), np.asarray(depth, float)))] = np.arange(table.n_cells)
        return rank
    raise AnalysisError(f"order cells by '{by}'? use population or depth")
