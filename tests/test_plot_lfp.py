"""``nmlhub plot --lfp``: the numbers each LFP figure shows against independent computations (the
CSD as minus sigma times the second spatial difference, the spectra as scipy.signal.welch of each
contact's trace), and the command on a real run's results file and NAME.lfp.dat."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from scipy import signal

import nmlhub
from nmlhub.lfp import LFP, laminar_probe
from nmlhub.lfp.files import write_lfp_file
from nmlhub.plots.lfp import lfp_figures

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"
SIGMA, DT_MS = 0.3, 0.1


@pytest.fixture(scope="module")
def synthetic():
    """Seven contacts 100 um apart (given out of depth order), 2000 samples of two rhythms
    whose amplitude varies with depth, plus noise."""
    rng = np.random.default_rng(5)
    depths = np.array([300.0, 0.0, 100.0, 600.0, 200.0, 500.0, 400.0])
    time = np.arange(2000) * DT_MS
    alpha = np.sin(2 * np.pi * 10 * time / 1000)[None, :] * np.cos(depths / 200.0)[:, None]
    gamma = np.sin(2 * np.pi * 40 * time / 1000)[None, :] * (depths / 600.0)[:, None] ** 2
    potential = 0.2 * alpha + 0.05 * gamma + 0.01 * rng.standard_normal((7, 2000)) - 0.3
    positions = np.column_stack([np.full(7, 50.0), depths, np.zeros(7)])
    return LFP(time, positions, potential, SIGMA)


def test_csd_figure_shows_minus_sigma_times_the_second_spatial_difference(synthetic):
    csd_ax = lfp_figures(synthetic)["lfp_csd"].axes[0]
    mesh = next(c for c in csd_ax.collections if isinstance(c, QuadMesh))
    order = np.argsort(synthetic.depths_um)
    phi = synthetic.potential_mv[order]
    padded = np.vstack([phi[:1], phi, phi[-1:]])  # Vaknin: the end contacts repeated beyond the ends
    h_mm = 0.1
    expected_ua_per_mm3 = -SIGMA * (padded[:-2] - 2 * padded[1:-1] + padded[2:]) / h_mm ** 2  # S/m mV/mm2 = uA/mm3
    shown = np.asarray(mesh.get_array()).reshape(7, -1)
    np.testing.assert_allclose(shown, expected_ua_per_mm3, rtol=1e-10, atol=1e-12)


def test_psd_figure_shows_welch_spectra_of_each_contact(synthetic):
    psd_ax = lfp_figures(synthetic)["lfp_psd"].axes[0]
    lines = psd_ax.get_lines()
    assert len(lines) == 7
    fs = 1000.0 / DT_MS
    for line, row in zip(lines, np.argsort(synthetic.depths_um)):  # shallowest first
        freq, power = signal.welch(synthetic.potential_mv[row], fs=fs, nperseg=1000, noverlap=500)
        keep = (freq > 0) & (freq <= 500.0)
        np.testing.assert_allclose(line.get_xdata(), freq[keep])
        np.testing.assert_allclose(line.get_ydata(), power[keep], rtol=1e-10)
    peak = lines[0].get_xdata()[np.argmax(lines[0].get_ydata())]
    assert peak == 10.0  # the shallowest contact: the 10 Hz rhythm dominates


def test_trace_figure_shows_each_contact_by_depth_mean_removed(synthetic):
    ax = lfp_figures(synthetic)["lfp_traces"].axes[0]
    lines = ax.get_lines()
    order = np.argsort(synthetic.depths_um)
    centred = synthetic.potential_mv[order] - synthetic.potential_mv[order].mean(axis=1, keepdims=True)
    spacing = np.ptp(centred, axis=1).max()
    for k, line in enumerate(lines):
        np.testing.assert_allclose(line.get_ydata(), centred[k] - k * spacing, atol=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "100", "200", "300", "400", "500", "600"]


@pytest.fixture(scope="module")
def mc_run(tmp_path_factory):
    """mc_network for 60 ms with a 9-contact probe beside its cells: results (.h5) and the run's
    NAME.lfp.dat."""
    folder = tmp_path_factory.mktemp("lfp_run")
    results = nmlhub.simulate(EXAMPLES / "mc_network" / "LEMS_mc_network.xml", duration_ms=60.0,
                              lfp=laminar_probe(250.0, 20.0, -100.0, 300.0, 9))
    nmlhub.save(results, folder / "run.h5")
    write_lfp_file(results.lfp, folder / "mc_network.lfp.dat")
    return folder, results


def _plot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", "plot", *args], capture_output=True, text=True)


def test_cli_plots_the_lfp_of_a_results_file_and_of_a_runs_lfp_file(mc_run, tmp_path):
    folder, results = mc_run
    assert np.ptp(results.lfp.potential_mv) > 0
    done = _plot("--lfp", str(folder / "run.h5"), "-o", str(tmp_path / "h5"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "h5").iterdir()) == ["lfp_csd.png", "lfp_psd.png", "lfp_traces.png"]
    done = _plot("--lfp", str(folder / "mc_network.lfp.dat"), "--lfp-probe", "250,20,-100,300,9", "--time", "10:50",
                 "-o", str(tmp_path / "dat"))
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "dat").glob("lfp_*.png"))) == 3


def test_the_lfp_file_reads_back_the_runs_potential(mc_run):
    from nmlhub.lfp.files import read_lfp_file

    folder, results = mc_run
    again = read_lfp_file(folder / "mc_network.lfp.dat", results.lfp.positions_um)
    np.testing.assert_allclose(again.potential_mv, results.lfp.potential_mv, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(again.time_ms, results.lfp.time_ms, rtol=1e-9)


def test_cli_says_what_an_lfp_plot_is_missing(mc_run, tmp_path):
    folder, _ = mc_run
    no_probe = _plot("--lfp", str(folder / "mc_network.lfp.dat"), "-o", str(tmp_path))
    assert no_probe.returncode != 0 and "holds no contact positions: give the run's --lfp-probe" in no_probe.stderr
    wrong_probe = _plot("--lfp", str(folder / "mc_network.lfp.dat"), "--lfp-probe", "0,0,0,100,4", "-o", str(tmp_path))
    assert wrong_probe.returncode != 0 and "9 potential column(s) for a probe of 4 contacts" in wrong_probe.stderr
    spikes_only = tmp_path / "spikes.json"
    nmlhub.save(nmlhub.results.Results(time_ms=np.arange(10) * 0.1, spikes={("p", 0): np.array([0.5])}), spikes_only)
    no_lfp = _plot("--lfp", str(spikes_only), "-o", str(tmp_path))
    assert no_lfp.returncode != 0 and "these results hold no LFP" in no_lfp.stderr
    assert not list(tmp_path.glob("*.png"))
