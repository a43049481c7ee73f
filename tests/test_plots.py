"""Plots drawn from real nmlhub runs of the bundled examples, checked for content: axes, labels,
number of artists and points, and the data they show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.image import AxesImage

import nmlhub
from nmlhub.analysis import connectivity, morphology, network, spectra, spikes, traces
from nmlhub.analysis.causality import granger_causality
from nmlhub.analysis.errors import AnalysisError
from nmlhub.cli import main
from nmlhub.plots import causality as pcaus
from nmlhub.plots import connectivity as pconn
from nmlhub.plots import figure, shape, spectra as pspec, spikes as pspikes, traces as ptraces

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"


@pytest.fixture(scope="module")
def izh():
    model = nmlhub.load(EXAMPLES / "izh_network" / "LEMS_izh_network.xml")
    return model, nmlhub.simulate(model)


@pytest.fixture(scope="module")
def mc():
    model = nmlhub.load(EXAMPLES / "mc_network" / "LEMS_mc_network.xml")
    return model, nmlhub.simulate(model)


@pytest.fixture(scope="module")
def cortex():
    model = nmlhub.load(EXAMPLES / "layered_cortex" / "LEMS_layered_cortex.xml")
    return model, nmlhub.simulate(model, duration_ms=100.0)


def marker_lines(ax):
    return [line for line in ax.get_lines() if line.get_linestyle() == "None"]


def test_raster_of_izh_network(izh):
    _, results = izh
    table = spikes.results_spike_table(results)
    ax = pspikes.raster(table)
    lines = marker_lines(ax)
    assert [line.get_label() for line in lines] == ["Exc", "Inh"]
    assert sum(len(line.get_xdata()) for line in lines) == results.spike_count() > 0
    assert ax.get_xlabel() == "time (ms)" and ax.get_xlim() == (0.0, 500.0)
    exc_spikes = np.sort(np.concatenate([t for (p, _), t in results.spikes.items() if p == "Exc"]))
    assert np.array_equal(np.sort(lines[0].get_xdata()), exc_spikes)
    assert lines[1].get_ydata().min() >= 40          # Inh rows come after the 40 Exc cells
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Exc", "Inh"]


def test_raster_by_depth_of_layered_cortex(cortex):
    model, results = cortex
    table = spikes.results_spike_table(results)
    cells = network.network_cells(model)
    depth = network.positions_of(cells, table.populations, table.cell_population, table.cell_id)[:, 1]
    assert not np.isnan(depth).any()
    ax = pspikes.raster(table, order="depth", depth=depth)
    assert sum(len(line.get_ydata()) for line in marker_lines(ax)) == table.times_ms.size
    # a spike's row is its cell's rank by depth: rows sorted give depths sorted
    order = spikes.cell_order(table, "depth", depth)
    by_row = np.empty(table.n_cells)
    by_row[order] = depth
    assert np.all(np.diff(by_row) >= 0)
    assert ax.yaxis_inverted() and ax.get_ylabel() == "cell (by depth)"
    assert len(marker_lines(ax)) == len({table.populations[p] for p in table.spike_population})


def test_histogram_and_rate_statistics_plots(izh):
    _, results = izh
    table = spikes.results_spike_table(results)
    hist = spikes.spike_histogram(table, 10.0, by="population")
    ax = pspikes.spike_histogram_plot(hist)
    steps = ax.patches
    assert len(steps) == 2 and ax.get_ylabel() == "rate per cell (Hz)"
    sizes = table.population_sizes()
    total = sum(float(np.sum(p.get_data().values)) * 0.010 * n for p, n in zip(steps, sizes))
    assert total == pytest.approx(results.spike_count())
    stats = spikes.rate_statistics(table)
    box = pspikes.rate_boxplot(stats, "rate")
    labels = [t.get_text() for t in box.get_xticklabels()]
    assert len(labels) == 2 and labels[0].startswith("Exc") and "chi" in labels[1]
    assert box.get_ylabel() == "firing rate (Hz)"
    cvh = pspikes.rate_histogram(stats, "cv")
    counted = sum(int(np.isfinite(v).sum()) for v in stats.by_population(stats.cv))
    heights = sum(p.get_path().vertices[:, 1].max() > 0 for p in cvh.patches)
    assert cvh.get_xlabel() == "ISI CV" and heights == 2 and counted > 0


def test_trace_plots_overlaid_and_stacked(izh, mc):
    _, results = izh
    chosen = traces.select_traces(results, "Exc/*/v", start_ms=100.0, stop_ms=200.0)
    [ax] = ptraces.plot_traces(chosen)
    assert len(ax.get_lines()) == len(chosen.names) == 3
    assert ax.get_ylabel() == "voltage (mV)" and ax.get_xlabel() == "time (ms)"
    first = ax.get_lines()[0]
    assert np.allclose(first.get_ydata(), results.traces[chosen.names[0]][(results.time_ms >= 100)
                                                                          & (results.time_ms <= 200)] * 1e3)
    _, mc_results = mc
    panels = ptraces.plot_traces(traces.select_traces(mc_results, "pyr/*"), stacked=True)
    assert len(panels) == 4 and all(len(p.get_lines()) == 1 for p in panels)
    assert panels[0].get_title(loc="left") == "pyr/0/pyr_cell/0/v"


def test_connectivity_matrix_plots(izh, cortex):
    model, _ = izh
    cells = network.network_cells(model)
    conns = network.network_connections(model, cells)
    matrix = connectivity.connectivity_matrix(cells, conns, "count")
    ax = pconn.matrix_plot(matrix)
    [image] = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert np.array_equal(image.get_array(), [[213, 94], [97, 11]])      # nml_examples/README.md
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Exc", "Inh"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["213", "94", "97", "11"])
    assert ax.figure.axes[1].get_ylabel() == "connections"                # colour bar
    cmodel, _ = cortex
    ccells = network.network_cells(cmodel)
    cell_matrix = connectivity.connectivity_matrix(ccells, network.network_connections(cmodel, ccells),
                                                   "probability", "cell")
    ax = pconn.matrix_plot(cell_matrix)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(ccells.populations)
    assert len(ax.lines) == 2 * (len(ccells.populations) - 1)            # population boundaries


def test_positions_plot(izh):
    model, _ = izh
    cells = network.network_cells(model)
    conns = network.network_connections(model, cells)
    ax = pconn.positions_plot(cells, conns, axes=("x", "z"))
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [s.get_label() for s in scatters] == ["Exc", "Inh"]
    assert [len(s.get_offsets()) for s in scatters] == [40, 10]
    assert np.allclose(scatters[0].get_offsets(), cells.position[cells.cell_population == 0][:, [0, 2]])
    [lines] = [c for c in ax.collections if type(c) is LineCollection]
    assert len(lines.get_segments()) == len(conns) == 415
    assert ax.get_xlabel() == "x (um)" and ax.get_ylabel() == "z (um)"
    with pytest.raises(AnalysisError, match="two of x, y, z"):
        pconn.positions_plot(cells, conns, axes=("x", "w"))


def test_shape_plots_of_mc_network(mc):
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    model, results = mc
    cells = network.network_cells(model)
    conns = network.network_connections(model, cells)
    shapes = morphology.network_shapes(model, cells)
    values = morphology.values_per_segment(shapes, connectivity.synapses_per_segment(cells, conns))
    ax = shape.shape_plot(shapes, values, label="synapses per segment")
    ax.figure.canvas.draw()                    # 3D segments are projected when drawn
    [lines] = [c for c in ax.collections if isinstance(c, Line3DCollection)]
    assert len(lines.get_segments()) == len(shapes) == 6 * 6 + 3 * 4    # pyr: 6 segments, bask: 4
    assert lines.get_array().sum() == len(conns)
    assert ax.name == "3d" and ax.figure.axes[1].get_ylabel() == "synapses per segment"
    recorded = morphology.recorded_per_segment(cells, results.traces, results.time_ms, 60.0)
    v = morphology.values_per_segment(shapes, recorded, fill=np.nan)
    assert np.isfinite(v).sum() == len(results.traces)                     # one per recorded segment
    k = int(np.argmin(np.abs(results.time_ms - 60.0)))
    row = cells.rows("pyr", np.array([3]))[0]
    at = np.flatnonzero((shapes.cell == row) & (shapes.segment == 2))[0]
    assert v[at] == results.traces["pyr/3/pyr_cell/2/v"][k]


def test_spectrum_and_causality_plots(izh):
    _, results = izh
    table = spikes.results_spike_table(results)
    rates = np.vstack([spikes.population_rate(table, 2.0, p)[1] for p in table.populations])
    freq, power = spectra.welch_psd(rates, 2.0, resolution_hz=4.0)
    ax = pspec.psd_plot(freq, power, labels=table.populations, unit="Hz")
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log" and ax.get_xlabel() == "frequency (Hz)"
    assert np.allclose(ax.get_lines()[1].get_ydata(), power[1])
    f, t, p = spectra.spectrogram(rates[0], 2.0, resolution_hz=10.0)
    ax = pspec.spectrogram_plot(f, t, p)
    assert ax.get_ylabel() == "frequency (Hz)" and len(ax.collections) == 1
    g = granger_causality(rates[0], rates[1], 2.0)
    ax = pcaus.granger_plot({("Exc", "Inh"): g})
    assert [line.get_label().split(" (")[0] for line in ax.get_lines()] == ["Exc → Inh", "Inh → Exc"]
    ax = pcaus.causality_matrix_plot(np.array([[np.nan, 0.2], [0.05, np.nan]]), ["Exc", "Inh"])
    assert len(ax.texts) == 2


def test_cli_plots_a_results_file_and_a_model(izh, tmp_path, capsys):
    model, results = izh
    run = tmp_path / "run.h5"
    nmlhub.save(results, run)
    out = tmp_path / "figures"
    lems = str(EXAMPLES / "izh_network" / "LEMS_izh_network.xml")
    assert main(["plot", str(run), "--raster", "--histogram", "--rates", "--psd", "--granger",
                 "--traces", "Exc/*/v", "--time", "100:400", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["granger.png", "histogram.png", "psd.png", "raster.png", "rates.png", "traces.png"]
    assert (out / "raster.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(run), "--raster", "--order", "depth", "--model", lems, "--connectivity", "weight",
                 "--positions", "x,y", "--format", "svg", "-o", str(out)]) == 0
    assert (out / "connectivity_weight_population.svg").read_text().lstrip().startswith("<?xml")
    assert main(["plot", lems.replace("LEMS_izh_network.xml", "izh_network.net.nml"), "--connectivity", "count",
                 "--level", "cell", "--format", "pdf", "-o", str(out)]) == 0
    assert (out / "connectivity_count_cell.pdf").read_bytes()[:4] == b"%PDF"
    capsys.readouterr()
    assert main(["plot", str(run), "--shape", "-o", str(out)]) == 1
    assert "need the model" in capsys.readouterr().err
    assert main(["plot", str(run), "-o", str(out)]) == 2
    assert main(["plot", str(run), "--raster", "--time", "abc", "-o", str(out)]) == 2
    assert main(["plot", str(tmp_path / "missing.h5"), "--raster"]) == 2
    assert main(["plot", str(run), "--traces", "Nope/*", "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("nmlhub: error: no recorded trace matches Nope/*")


def test_save_refuses_unknown_formats(tmp_path):
    fig = figure.new_figure()
    with pytest.raises(AnalysisError, match="formats: png, svg, pdf"):
        figure.save(fig, tmp_path / "x.gif")
    assert figure.save(fig, tmp_path / "x", "svg").name == "x.svg"
