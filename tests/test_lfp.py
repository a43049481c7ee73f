"""Local field potentials: the forward model against the analytic line-source formula and LFPykit,
the potential recorded during real runs (charge conservation, online = offline, serial = MPI),
the current-source density of known sources, and the plots of a real run."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nmlhub.lfp import Electrodes, ElectrodeError, laminar_probe
from nmlhub.lfp.csd import delta_icsd, standard_csd
from nmlhub.lfp.forward import line_source_matrix, point_source_matrix

EXAMPLES = Path(__file__).resolve().parent.parent / "nml_examples"
SIGMA = 0.3


def holt_koch(y0: float, y1: float, radius: float, electrodes: np.ndarray, current_na: float) -> np.ndarray:
    """Textbook line source (Holt & Koch 1999) of a segment on the y axis from y0 to y1: the
    potential (mV) of ``current_na`` spread evenly along it, the distance from the axis at least
    the radius."""
    r = np.maximum(np.hypot(electrodes[:, 0], electrodes[:, 2]), radius)
    y = electrodes[:, 1]
    length = y1 - y0
    top = (y1 - y) + np.sqrt((y1 - y) ** 2 + r ** 2)
    bottom = (y0 - y) + np.sqrt((y0 - y) ** 2 + r ** 2)
    return current_na / (4 * np.pi * SIGMA * length) * np.log(top / bottom)


# electrodes where the textbook form is well conditioned: beside the segment, near its ends,
# on its axis inside it (the singular case: the distance becomes the radius) and below it
CYLINDER = dict(y0=0.0, y1=100.0, radius=1.0)
POSITIONS = np.array([[10, 50, 0], [0, 50, 50], [200, 50, 0], [30, 0, 0], [0, 120, 30], [5, -40, 5],
                      [0, 50, 0], [0, 99, 0.5], [0, -30, 0], [1000, 400, -700]], dtype=float)


def test_line_source_matches_the_analytic_formula_and_quadrature():
    from scipy.integrate import quad

    starts, ends = np.array([[0.0, 0.0, 0.0]]), np.array([[0.0, 100.0, 0.0]])
    ours = line_source_matrix(starts, ends, [1.0], POSITIONS, SIGMA)[:, 0]
    expected = holt_koch(electrodes=POSITIONS, current_na=1.0, **CYLINDER)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    for x, y, z in POSITIONS[:3]:
        r = np.hypot(x, z)
        value, _ = quad(lambda s: 1.0 / np.sqrt((y - s) ** 2 + r ** 2), 0.0, 100.0, epsabs=0, epsrel=1e-13)
        assert ours[list(POSITIONS[:, 0]).index(x)] == pytest.approx(value / (4 * np.pi * SIGMA * 100.0), rel=1e-10)


def test_line_and_point_sources_match_lfpykit():
    import lfpykit

    rng = np.random.default_rng(3)
    starts = rng.uniform(-200, 200, (40, 3))
    ends = starts + rng.uniform(-60, 60, (40, 3))
    diameters = rng.uniform(0.5, 6.0, 40)
    electrodes = np.vstack([rng.uniform(-300, 300, (25, 3)), (starts[:3] + ends[:3]) / 2, 2 * ends[3:5] - starts[3:5]])
    geometry = lfpykit.CellGeometry(x=np.column_stack([starts[:, 0], ends[:, 0]]),
                                    y=np.column_stack([starts[:, 1], ends[:, 1]]),
                                    z=np.column_stack([starts[:, 2], ends[:, 2]]), d=diameters)
    where = dict(x=electrodes[:, 0], y=electrodes[:, 1], z=electrodes[:, 2], sigma=SIGMA)
    theirs = lfpykit.LineSourcePotential(geometry, **where).get_transformation_matrix()
    np.testing.assert_allclose(line_source_matrix(starts, ends, diameters / 2, electrodes, SIGMA), theirs, rtol=1e-10)
    theirs = lfpykit.PointSourcePotential(geometry, **where).get_transformation_matrix()
    np.testing.assert_allclose(point_source_matrix(starts, ends, diameters / 2, electrodes, SIGMA), theirs, rtol=1e-12)


def test_far_from_a_segment_the_line_source_is_a_point_source():
    starts, ends = np.array([[0.0, 0.0, 0.0]]), np.array([[0.0, 100.0, 0.0]])
    for distance in (1e4, 1e6, 1e9):
        electrodes = np.array([[distance, 50.0, 0.0], [0.0, 50.0 + distance, 0.0]])
        line = line_source_matrix(starts, ends, [1.0], electrodes, SIGMA)[:, 0]
        point = 1.0 / (4 * np.pi * SIGMA * distance)
        # line/point - 1 is (L/d)^2 / 24 across the axis, -(L/2d)^2 ... along it: at most 3e-5 here
        np.testing.assert_allclose(line, point, rtol=max(3e-5 * (1e4 / distance) ** 2, 1e-13))


def test_single_compartment_with_a_known_membrane_current():
    """A passive cylinder held by a constant 0.05 nA electrode current: at steady state its
    membrane current is that current, spread evenly, so the recorded potential is the analytic
    line source (and LFPykit's) times 0.05 nA."""
    import lfpykit
    from neuron import h

    from nmlhub.lfp.recorder import LFPRecorder

    section = h.Section(name="lfp_test_cylinder")
    section.pt3dadd(0, 0, 0, 2.0)
    section.pt3dadd(0, 100, 0, 2.0)
    section.nseg = 1
    section.insert("pas")
    clamp = h.IClamp(section(0.5))
    clamp.delay, clamp.dur, clamp.amp = 0.0, 1e9, 0.05
    try:
        cell = SimpleNamespace(built=SimpleNamespace(sections=[section]))
        recorder = LFPRecorder({("cylinder", 0): cell}, Electrodes(POSITIONS))
        recorder.attach()
        h.dt = 0.025
        h.finitialize(-70)
        recorder.start()
        while h.t < 40.0:
            h.fadvance()
        lfp = recorder.collect(np.arange(1601) * 0.025)
        assert recorder.currents_na() == pytest.approx([0.05], rel=1e-9)
    finally:
        recorder.detach()
        del clamp, section
    assert lfp.potential_mv.shape == (len(POSITIONS), 1601)
    final = lfp.potential_mv[:, -1]
    np.testing.assert_allclose(final, holt_koch(electrodes=POSITIONS, current_na=0.05, **CYLINDER), rtol=1e-9)
    geometry = lfpykit.CellGeometry(x=np.array([[0.0, 0.0]]), y=np.array([[0.0, 100.0]]), z=np.array([[0.0, 0.0]]),
                                    d=np.array([2.0]))
    theirs = lfpykit.LineSourcePotential(geometry, x=POSITIONS[:, 0], y=POSITIONS[:, 1], z=POSITIONS[:, 2],
                                         sigma=SIGMA).get_transformation_matrix()
    np.testing.assert_allclose(final, theirs[:, 0] * 0.05, rtol=1e-9)


def test_electrodes_are_checked():
    with pytest.raises(ElectrodeError, match=r"\(n, 3\)"):
        Electrodes([[0, 1]])
    with pytest.raises(ElectrodeError, match="sigma"):
        Electrodes([[0, 1, 2]], sigma=0)
    with pytest.raises(ElectrodeError, match="method"):
        Electrodes([[0, 1, 2]], method="dipole")
    probe = laminar_probe(10, 20, 0, 300, 4)
    assert probe.positions_um.tolist() == [[10, 0, 20], [10, 100, 20], [10, 200, 20], [10, 300, 20]]


# --- current-source density of known sources --------------------------------------------------

def _sink_and_source(z: np.ndarray) -> np.ndarray:
    """A Gaussian sink at 300 um and an equal source at 600 um (nA/um3)."""
    return 1e-6 * (-np.exp(-(z - 300) ** 2 / (2 * 50 ** 2)) + np.exp(-(z - 600) ** 2 / (2 * 50 ** 2)))


def _potential(depths: np.ndarray, kernel) -> np.ndarray:
    grid = np.linspace(-500, 1500, 8001)
    density = _sink_and_source(grid)
    return np.array([np.trapezoid(kernel(np.abs(d - grid)) * density, grid) for d in depths])


def test_standard_csd_recovers_a_planar_sink_and_source():
    depths = np.arange(0.0, 1001.0, 25.0)
    # infinite planes of current: sigma * phi'' = -CSD
    potential = _potential(depths, lambda distance: -distance / (2 * SIGMA))
    csd, at = standard_csd(potential, depths, SIGMA)
    truth = _sink_and_source(at) * 1e6          # uA/mm3
    assert np.abs(csd - truth).max() < 0.03 * np.abs(truth).max()
    assert at[np.argmin(csd)] == 300 and at[np.argmax(csd)] == 600
    with_ends, at_all = standard_csd(potential[:, None], depths, SIGMA, vaknin=True)
    assert with_ends.shape == (len(depths), 1) and np.array_equal(at_all, depths)
    np.testing.assert_allclose(with_ends[1:-1, 0], csd)


def test_delta_icsd_recovers_a_sink_and_source_of_finite_radius():
    depths = np.arange(0.0, 1001.0, 25.0)
    radius = 100.0
    potential = _potential(depths, lambda d: (np.sqrt(d ** 2 + radius ** 2) - d) / (2 * SIGMA))
    csd, at = delta_icsd(potential, depths, SIGMA, radius_um=radius)
    truth = _sink_and_source(at) * 1e6
    assert np.abs(csd - truth).max() < 0.04 * np.abs(truth).max()
    # the standard CSD, which assumes infinite planes, gets the same discs wrong by half
    standard, inner = standard_csd(potential, depths, SIGMA)
    assert np.abs(standard - _sink_and_source(inner) * 1e6).max() > 0.4 * np.abs(truth).max()
    with pytest.raises(ElectrodeError, match="evenly spaced"):
        delta_icsd(potential[:3], np.array([0.0, 10.0, 30.0]))


# --- real runs -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mc_run():
    """mc_network (multi-compartment cells) with a probe beside the cells, two far electrodes
    above them, and every segment's membrane current recorded offline in the same run."""
    from neuron import h

    import nmlhub
    from nmlhub.neuron.simulation import NeuronSimulation

    probe = laminar_probe(250.0, 20.0, -100.0, 300.0, 9).positions_um
    far = np.array([[250.0, 5e3, 0.0], [250.0, 5e4, 0.0]])
    sim = NeuronSimulation(nmlhub.load(EXAMPLES / "mc_network" / "LEMS_mc_network.xml"),
                           lfp=Electrodes(np.vstack([probe, far])))
    sim.build()
    recorder = sim.lfp_recorder
    vectors = [h.Vector().record(seg._ref_i_membrane_) for seg in recorder.geometry.segments]
    results = sim.run()
    # the run takes one step past its end (to act on that step's events); its samples are not the run's
    currents = np.array([np.asarray(v) for v in vectors])[:, :len(results.time_ms)]
    return SimpleNamespace(results=results, recorder=recorder, currents=currents)


def test_a_run_records_every_segment_of_every_cell(mc_run):
    geometry, lfp = mc_run.recorder.geometry, mc_run.results.lfp
    assert len(geometry.cell_keys) == 9 and len(geometry) == 6 * 8 + 3 * 7  # pyr: soma + 3 + 2 + 2 pieces; bask: 7
    assert lfp.potential_mv.shape == (11, len(mc_run.results.time_ms))
    np.testing.assert_array_equal(lfp.time_ms, mc_run.results.time_ms)
    # pyr 1 stands at (100, 16, 0): its soma from y = 6 to 26, apical dendrite up to y = 256
    first = geometry.cells == geometry.cell_keys.index(("pyr", 1))
    assert geometry.starts_um[first][0].tolist() == [100.0, 6.0, 0.0]
    assert geometry.ends_um[first][:, 1].max() == 256.0


def test_membrane_currents_of_each_cell_sum_to_zero(mc_run):
    # nmlhub's inputs are membrane currents (NONSPECIFIC_CURRENT), so charge is conserved per cell
    currents, owners = mc_run.currents, mc_run.recorder.geometry.cells
    scale = np.abs(currents).max()
    assert scale > 0.1  # nA: the cells fire
    for k in range(len(mc_run.recorder.geometry.cell_keys)):
        assert np.abs(currents[owners == k].sum(axis=0)).max() < 1e-9 * scale


def test_the_online_lfp_is_the_transfer_matrix_times_the_recorded_currents(mc_run):
    online = mc_run.results.lfp.potential_mv
    offline = mc_run.recorder.matrix @ mc_run.currents
    np.testing.assert_allclose(online, offline, rtol=1e-9, atol=1e-12 * np.abs(offline).max())
    assert np.abs(online[:9]).max() > 1e-3  # mV next to the cells


def test_far_away_the_lfp_falls_as_a_dipole(mc_run):
    # no net current, so no monopole: 10 times further, about 100 times weaker (a monopole: 10)
    near, far = np.sqrt(np.mean(mc_run.results.lfp.potential_mv[9:] ** 2, axis=1))
    assert 0.005 < far / near < 0.02
    assert near < 1e-3 * np.abs(mc_run.results.lfp.potential_mv[:9]).max()


def test_lfp_options_are_checked():
    import nmlhub
    from nmlhub.neuron.simulation import NeuronSimulation, SimulationError

    model = nmlhub.load(EXAMPLES / "mc_network" / "LEMS_mc_network.xml")
    with pytest.raises(SimulationError, match="multiple of the time step"):
        NeuronSimulation(model, lfp=laminar_probe(0, 0, 0, 100, 3), lfp_every_ms=0.03)
    with pytest.raises(SimulationError, match="CoreNEURON"):
        NeuronSimulation(model, lfp=laminar_probe(0, 0, 0, 100, 3), engine="coreneuron")


@pytest.fixture(scope="module")
def cortex_lfp():
    """The layered cortex (300 ms) with a 16-contact probe through the column, sampled every 0.1 ms."""
    import nmlhub

    results = nmlhub.simulate(EXAMPLES / "layered_cortex" / "LEMS_layered_cortex.xml",
                              lfp=laminar_probe(150.0, 150.0, 0.0, 1000.0, 16), lfp_every_ms=0.1)
    return results.lfp


def _rendered(ax) -> bytes:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=50)
    return buffer.getvalue()


def test_cortex_lfp_is_sampled_as_asked(cortex_lfp):
    assert cortex_lfp.potential_mv.shape == (16, 3001)
    assert cortex_lfp.dt_ms == pytest.approx(0.1)
    assert np.abs(cortex_lfp.potential_mv).max() > 1e-3


def test_plot_lfp_traces(cortex_lfp):
    from nmlhub.plots.lfp import lfp_traces

    ax = lfp_traces(cortex_lfp.between(20.0))
    assert len(ax.lines) == 16
    assert ax.get_xlabel() == "time (ms)" and "depth" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "0" and labels[-1] == "1000"   # shallowest at the top
    assert ax.get_yticks()[0] > ax.get_yticks()[-1]
    assert _rendered(ax).startswith(b"\x89PNG")


def test_plot_lfp_psd(cortex_lfp):
    from nmlhub.plots.lfp import lfp_psd

    ax = lfp_psd(cortex_lfp.between(20.0), electrodes=[0, 5, 10, 15])
    assert len(ax.lines) == 4 and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "frequency (Hz)" and "mV" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0 um", "333.3 um", "666.7 um", "1000 um"]
    assert all(np.all(line.get_ydata() > 0) for line in ax.lines)
    assert _rendered(ax).startswith(b"\x89PNG")


def test_plot_lfp_spectrogram(cortex_lfp):
    from matplotlib.collections import QuadMesh

    from nmlhub.plots.lfp import lfp_spectrogram

    ax = lfp_spectrogram(cortex_lfp, electrode=8)
    assert [type(c) for c in ax.collections] == [QuadMesh]
    assert len(ax.figure.axes) == 2 and "dB" in ax.figure.axes[1].get_ylabel()
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "frequency (Hz)"
    assert "533.3" in ax.get_title()
    assert _rendered(ax).startswith(b"\x89PNG")


@pytest.mark.parametrize("method", ["standard", "delta"])
def test_plot_csd_image(cortex_lfp, method):
    from matplotlib.collections import QuadMesh

    from nmlhub.plots.lfp import csd_image

    ax = csd_image(cortex_lfp.between(20.0), method=method)
    mesh = ax.collections[0]
    assert isinstance(mesh, QuadMesh) and mesh.get_array().shape == (16, 2801)
    assert len(ax.lines) == 16                   # the LFP over the image
    bottom, top = ax.get_ylim()
    assert bottom > top                          # depth grows downwards
    assert "CSD" in ax.figure.axes[1].get_ylabel()
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "depth (um)"
    assert _rendered(ax).startswith(b"\x89PNG")


def test_cli_lfp_on_two_ranks_equals_serial(tmp_path):
    from nmlhub.neuron import mpi

    if mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment():
        pytest.skip("no MPI library")
    lems = EXAMPLES / "layered_cortex" / "LEMS_layered_cortex.xml"
    files = {}
    for ranks in ("1", "2"):
        out = tmp_path / ranks
        proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", ranks, "--no-progress",
                               "--duration", "100", "--outdir", str(out), "--lfp-probe", "150,150,0,1000,6",
                               "--lfp-every", "0.05"], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"wrote {out / 'layered_cortex.lfp.dat'}" in proc.stdout
        files[ranks] = np.loadtxt(out / "layered_cortex.lfp.dat")
    assert files["1"].shape == (2001, 7)
    np.testing.assert_allclose(files["1"][:, 0], np.arange(2001) * 5e-5, atol=1e-12)   # s
    assert np.abs(files["1"][:, 1:]).max() > 1e-6                                      # V
    np.testing.assert_allclose(files["2"], files["1"], rtol=1e-8, atol=1e-15)


@pytest.mark.parametrize("fmt", ["hdf5", "json", "pickle", "matlab"])
def test_results_with_an_lfp_round_trip(mc_run, tmp_path, fmt):
    from nmlhub.converters.results_io import load_results, save_results

    extension = {"hdf5": ".h5", "json": ".json", "pickle": ".pkl", "matlab": ".mat"}[fmt]
    original = mc_run.results
    back = load_results(save_results(original, tmp_path / f"run{extension}")[0])
    for field in ("time_ms", "positions_um", "potential_mv"):
        np.testing.assert_array_equal(getattr(back.lfp, field), getattr(original.lfp, field))
    assert (back.lfp.sigma, back.lfp.method) == (0.3, "linesource")
    np.testing.assert_array_equal(back.traces["pyr/0/pyr_cell/0/v"], original.traces["pyr/0/pyr_cell/0/v"])
    # one electrode keeps its shape in every format
    from nmlhub.lfp import LFP
    from nmlhub.results import Results

    single = Results(np.arange(3.0), lfp=LFP(np.arange(3.0), np.array([[1.0, 2.0, 3.0]]), np.ones((1, 3))))
    again = load_results(save_results(single, tmp_path / f"one{extension}")[0])
    assert again.lfp.positions_um.shape == (1, 3) and again.lfp.potential_mv.shape == (1, 3)
    assert load_results(save_results(Results(np.arange(3.0)), tmp_path / f"none{extension}")[0]).lfp is None


def test_a_later_run_leaves_an_earlier_runs_times_alone(mc_run, cortex_lfp):
    # both fixtures have run: mc_network's times must not be arrays over NEURON's t Vector,
    # which the layered cortex's run reused
    expected = np.arange(8001) * 0.025
    np.testing.assert_allclose(mc_run.results.time_ms, expected, atol=1e-9)
    np.testing.assert_allclose(mc_run.results.lfp.time_ms, expected, atol=1e-9)


def test_a_dropped_simulation_frees_its_lfp_recorder_at_once():
    """No reference cycle keeps a recorder (and the sections its segments hold) for the garbage
    collector to free later, possibly in the middle of another run (seen as an abort in
    NEURON's vec2numpy while a later run sampled its LFP)."""
    import gc
    import weakref

    import nmlhub
    from nmlhub.neuron.simulation import NeuronSimulation

    sim = NeuronSimulation(nmlhub.load(EXAMPLES / "mc_network" / "LEMS_mc_network.xml"), duration_ms=1.0,
                           lfp=Electrodes(np.array([[250.0, 5e3, 0.0]])))
    sim.run()
    recorder = weakref.ref(sim.lfp_recorder)
    gc.disable()
    try:
        del sim
        assert recorder() is None, "the LFP recorder outlived its simulation (a reference cycle)"
    finally:
        gc.enable()
