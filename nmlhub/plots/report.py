"""Several plots of one run or model written to a folder at once: what ``nmlhub plot`` does, for
Python."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.errors import AnalysisError
from .figure import new_figure, save


@dataclass
class PlotRequest:
    """Which plots to draw, and how.

    Attributes
    ----------
    raster, histogram, rates, psd, granger, transfer_entropy, shape, lfp
        Draw these (see ``nmlhub plot --help``); ``lfp``: the recorded LFP's traces, CSD and
        power spectra (:func:`nmlhub.plots.lfp.lfp_figures`).
    order
        Raster rows by ``population`` or ``depth`` (the model's y coordinate).
    traces
        Shell patterns of trace paths to draw (empty: none); ``stacked`` for one panel each.
    connectivity
        Measures (``weight``, ``count``, ``probability``, ``convergence``, ``divergence``), at
        ``level`` ``population`` or ``cell``.
    positions
        Pairs of axes, e.g. ``[("x", "y")]``.
    shape_at_ms
        Colour the shape plot by the recorded ``v`` at this time instead of synapses per segment.
    bin_ms
        Bin width of histograms and population rates.
    start_ms, stop_ms
        Time range of spikes and traces.
    """

    raster: bool = False
    order: str = "population"
    histogram: bool = False
    rates: bool = False
    traces: tuple[str, ...] = ()
    stacked: bool = False
    connectivity: tuple[str, ...] = ()
    level: str = "population"
    positions: tuple[tuple[str, str], ...] = ()
    shape: bool = False
    shape_at_ms: float | None = None
    psd: bool = False
    granger: bool = False
    transfer_entropy: bool = False
    lfp: bool = False
    bin_ms: float = 5.0
    start_ms: float | None = None
    stop_ms: float | None = None

    def needs_results(self) -> bool:
        """Whether any requested plot draws spikes or traces."""
        return bool(self.raster or self.histogram or self.rates or self.traces or self.psd or self.granger
                    or self.transfer_entropy or self.lfp or (self.shape and self.shape_at_ms is not None))

    def needs_model(self) -> bool:
        """Whether any requested plot draws the network."""
        return bool(self.connectivity or self.positions or self.shape or (self.raster and self.order == "depth"))

    def anything(self) -> bool:
        """Whether any plot is requested."""
        return self.needs_results() or self.needs_model()


def write_plots(request: PlotRequest, outdir: str | Path, *, results: Any = None, model: Any = None,
                fmt: str = "png") -> list[Path]:
    """Draw the requested plots and write them to ``outdir`` (one file each, named after the plot).

    Parameters
    ----------
    results
        :class:`~nmlhub.results.Results`, for spike and trace plots.
    model
        :class:`~nmlhub.Model`, for connectivity, positions, shapes and depth order.

    Returns
    -------
    list of Path
        The files written.
    """
    from ..analysis import network as net

    if not request.anything():
        raise AnalysisError("no plot requested")
    if request.needs_results() and results is None:
        raise AnalysisError("these plots need results: give a results file or a LEMS simulation file")
    if request.needs_model() and model is None:
        raise AnalysisError("these plots need the model: give a model or LEMS file (or --model)")
    outdir = Path(outdir)
    written: list[Path] = []
    cells = connections = None
    if model is not None:
        expanded = net.expanded_rules(model)
        cells = net.network_cells(model, expanded=expanded)
        if request.connectivity or request.positions or request.shape:
            connections = net.network_connections(model, cells, expanded=expanded)

    def out(fig: Any, name: str) -> None:
        written.append(save(fig, outdir / name, fmt))

    if results is not None and (request.raster or request.histogram or request.rates or request.psd
                                or request.granger or request.transfer_entropy):
        _spike_plots(request, results, cells, out)
    if request.lfp:
        _lfp_plots(request, results, out)
    if request.traces:
        from ..analysis.traces import select_traces
        from .traces import plot_traces

        chosen = select_traces(results, request.traces, start_ms=request.start_ms, stop_ms=request.stop_ms)
        out(plot_traces(chosen, stacked=request.stacked)[0].figure, "traces")
    for measure in request.connectivity:
        from ..analysis.connectivity import connectivity_matrix
        from .connectivity import matrix_plot

        out(matrix_plot(connectivity_matrix(cells, connections, measure, request.level)).figure,
            f"connectivity_{measure}_{request.level}")
    for a, b in request.positions:
        from .connectivity import positions_plot

        out(positions_plot(cells, connections, axes=(a, b)).figure, f"positions_{a}{b}")
    if request.shape:
        out(_shape_figure(request, model, cells, connections, results), "shape")
    return written


def _spike_plots(request: PlotRequest, results: Any, cells: Any, out: Any) -> None:
    from ..analysis import spikes as sp
    from . import spikes as psp

    table = sp.results_spike_table(results, start_ms=request.start_ms, stop_ms=request.stop_ms)
    if table.n_cells == 0:
        raise AnalysisError("these results hold no spike recordings")
    if request.raster:
        out(psp.raster(table, order=request.order, depth=_raster_depths(request, table, cells)).figure, "raster")
    if request.histogram:
        out(psp.spike_histogram_plot(sp.spike_histogram(table, request.bin_ms, by="population")).figure,
            "histogram")
    if request.rates:
        stats = sp.rate_statistics(table, bin_ms=request.bin_ms)
        fig = new_figure((9.0, 6.5))
        grid = fig.subplots(2, 2)
        psp.rate_boxplot(stats, "rate", grid[0, 0])
        psp.rate_boxplot(stats, "cv", grid[0, 1])
        psp.rate_histogram(stats, "rate", grid[1, 0])
        psp.rate_histogram(stats, "cv", grid[1, 1])
        out(fig, "rates")
    if request.psd or request.granger or request.transfer_entropy:
        _rate_spectra_plots(request, table, out)


def _lfp_plots(request: PlotRequest, results: Any, out: Any) -> None:
    from ..lfp.electrodes import ElectrodeError
    from .lfp import lfp_figures

    if getattr(results, "lfp", None) is None:
        raise AnalysisError("these results hold no LFP: record one (nmlhub run --lfp-probe, or "
                            "nmlhub.simulate(..., lfp=...)) and keep it in .h5, .json, .pkl, .mat or .nwb, "
                            "or plot the run's NAME.lfp.dat with --lfp-probe")
    lfp = results.lfp
    if request.start_ms is not None or request.stop_ms is not None:
        lfp = lfp.between(request.start_ms if request.start_ms is not None else float(lfp.time_ms[0]),
                          request.stop_ms)
    try:
        figures = lfp_figures(lfp)
    except ElectrodeError as exc:
        raise AnalysisError(str(exc)) from None
    for name, fig in figures.items():
        out(fig, name)


def _raster_depths(request: PlotRequest, table: Any, cells: Any) -> np.ndarray | None:
    """Depth (y, um) of each cell of the table when the raster is ordered by depth, else None."""
    if request.order != "depth":
        return None
    from ..analysis.network import positions_of

    depth = positions_of(cells, table.populations, table.cell_population, table.cell_id)[:, 1]
    if np.isnan(depth).all():
        raise AnalysisError("ordering by depth needs cell positions; the model has none")
    return np.nan_to_num(depth, nan=np.nanmax(depth) + 1.0)


def _rate_spectra_plots(request: PlotRequest, table: Any, out: Any) -> None:
    """Power spectra and causality between the population rates."""
    from ..analysis import spikes as sp

    rates = np.vstack([sp.population_rate(table, request.bin_ms, pop)[1] for pop in table.populations])
    if request.psd:
        from ..analysis.spectra import welch_psd
        from .spectra import psd_plot

        four_segments_hz = 4.0 / table.duration_s
        freq, power = welch_psd(rates, request.bin_ms, resolution_hz=max(four_segments_hz, 1.0))
        ax = psd_plot(freq, power, labels=table.populations, unit="Hz")
        ax.set_title(f"population rates ({request.bin_ms:g} ms bins)")
        out(ax.figure, "psd")
    if (request.granger or request.transfer_entropy) and len(table.populations) < 2:
        raise AnalysisError("causality needs at least two populations")
    if request.granger:
        from ..analysis.causality import granger_causality
        from .causality import granger_plot

        pairs = [(i, j) for i in range(len(table.populations)) for j in range(i + 1, len(table.populations))]
        spectra = {(table.populations[i], table.populations[j]):
                   granger_causality(rates[i], rates[j], request.bin_ms) for i, j in pairs[:10]}
        out(granger_plot(spectra).figure, "granger")
    if request.transfer_entropy:
        from ..analysis.causality import transfer_entropy
        from .causality import causality_matrix_plot

        n = len(table.populations)
        values = np.full((n, n), np.nan)
        for i in range(n):
            for j in range(n):
                if i != j:
                    values[i, j] = transfer_entropy(rates[i], rates[j], n_bins=2, n_surrogates=20).nte
        out(causality_matrix_plot(values, table.populations).figure, "transfer_entropy")


def _shape_figure(request: PlotRequest, model: Any, cells: Any, connections: Any, results: Any) -> Any:
    from ..analysis import connectivity as conn
    from ..analysis import morphology as morph
    from .shape import shape_plot

    shapes = morph.network_shapes(model, cells)
    if not len(shapes):
        raise AnalysisError("the network has no cells with a morphology to draw")
    if request.shape_at_ms is not None:
        per_cell = morph.recorded_per_segment(cells, results.traces, results.time_ms, request.shape_at_ms)
        values = morph.values_per_segment(shapes, per_cell, fill=np.nan) * 1e3
        label = f"v at {request.shape_at_ms:g} ms (mV)"
    else:
        values = morph.values_per_segment(shapes, conn.synapses_per_segment(cells, connections))
        label = "synapses per segment"
    return shape_plot(shapes, values, label=label).figure
