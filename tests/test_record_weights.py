"""Final weights of plastic connections saved with the results: checked against pair-based STDP
computed independently from the run's own spike times, written to HDF5/CSV/JSON, and gathered
from two MPI ranks."""

from __future__ import annotations

import math
import subprocess
import sys

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.converters import load as load_results
from nmlhub.neuron import mpi
from nmlhub.rules.plasticity import stdp_synapse

DT = 0.025
DELAY = 1.0  # ms: at least one step, so spikes can cross ranks
TAU_PLUS, TAU_MINUS, A_PLUS, A_MINUS = 20.0, 30.0, 0.01, 0.008
PRE, POST, LENGTH = 4, 3, 400.0


def _network(tmp_path):
    """PRE spike sources (fixed random spike times) onto POST Izhikevich cells, all to all, through
    an STDP synapse too weak to change the post cells' firing; the post cells fire from a current."""
    rng = np.random.default_rng(11)
    net = nmlhub.NetworkBuilder("stdpnet", size=(100, 100, 100), seed=3)
    net.add(neuroml.Izhikevich2007Cell(id="rs", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
                                       vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    net.add(stdp_synapse("stdp", gbase="0.001nS", tau_plus=f"{TAU_PLUS}ms", tau_minus=f"{TAU_MINUS}ms",
                         a_plus=A_PLUS, a_minus=A_MINUS, w_max=5.0, w_init=1.0, post_threshold="-20mV"))
    net.add(neuroml.PulseGenerator(id="drive", delay="0ms", duration=f"{LENGTH}ms", amplitude="0.2nA"))
    for k in range(PRE):
        times = np.sort(rng.uniform(5, LENGTH - 5, 12)).round(1)
        net.add(neuroml.SpikeArray(id=f"src{k}", spikes=[neuroml.Spike(id=j, time=f"{t}ms")
                                                         for j, t in enumerate(times)]))
        net.population(f"pre{k}", cell=f"src{k}", count=1)
    net.population("post", cell="rs", count=POST)
    for k in range(PRE):
        net.connect(f"pre{k}", "post", "stdp", nmlhub.AllToAll(), weight=1.0, delay=DELAY, id=f"c{k}")
    net.stimulate("drive", targets="post")
    return net.save(tmp_path / "stdp.net.nml", simulation=dict(
        duration_ms=LENGTH, dt_ms=DT, record_v=[f"post[{i}]" for i in range(POST)]))


def _crossings(time_ms, v, threshold=-0.020):
    k = np.flatnonzero((v[:-1] <= threshold) & (v[1:] > threshold))
    return time_ms[k + 1]


def _pair_stdp(pre_arrivals, post_times):
    """Additive all-pairs STDP: each (pre, post) pair changes the weight by the window."""
    change = 0.0
    for t_post in post_times:
        for t_pre in pre_arrivals:
            dt = t_post - t_pre
            change += A_PLUS * math.exp(-dt / TAU_PLUS) if dt > 0 else -A_MINUS * math.exp(dt / TAU_MINUS)
    return change


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stdp")
    lems = _network(folder)
    return lems, nmlhub.simulate(lems)


def test_final_weights_follow_pair_based_stdp_from_the_spike_times(run):
    _, results = run
    weights = results.weights
    assert weights is not None and len(weights) == PRE * POST
    assert set(weights.synapse) == {"stdp"}
    post_times = {i: _crossings(results.time_ms, results.traces[f"post[{i}]/v"]) for i in range(POST)}
    assert all(len(t) >= 5 for t in post_times.values())
    changes = []
    for row in range(len(weights)):
        pre = weights.pre_population[row]
        assert weights.pre_cell[row] == 0 and weights.post_population[row] == "post"
        arrivals = results.spikes[(pre, 0)] + DELAY  # the spike's time plus the connection's delay
        expected = 1.0 + _pair_stdp(arrivals, post_times[int(weights.post_cell[row])])
        assert weights.weight[row] == pytest.approx(expected, rel=1e-3, abs=2e-5), (pre, weights.post_cell[row])
        changes.append(expected - 1.0)
    assert max(abs(c) for c in changes) > 0.01  # the weights did change, both ways
    assert min(changes) < 0 < max(changes)


def test_weights_are_written_with_the_results_in_every_format(run, tmp_path):
    _, results = run
    for name in ("run.h5", "run.json", "run.pkl", "run.mat", "run.csv"):
        written = nmlhub.save(results, tmp_path / name)
        back = load_results(tmp_path / name).weights
        for column in ("synapse", "pre_population", "pre_cell", "post_population", "post_cell", "weight"):
            np.testing.assert_array_equal(getattr(back, column), getattr(results.weights, column), err_msg=name)
    assert (tmp_path / "run.weights.csv").read_text().splitlines()[6] == "\"synapse\",\"pre\",\"post\",\"weight\""
    assert any(str(p).endswith("run.weights.csv") for p in written)


def test_a_network_without_plastic_synapses_has_no_weight_table(run, tmp_path):
    results = nmlhub.simulate(nmlhub.load(str(nmlhub.__file__).replace("__init__.py", "")
                                          + "../nml_examples/izh_network/LEMS_izh_network.xml"), duration_ms=5)
    assert results.weights is None
    nmlhub.save(results, tmp_path / "r.csv")
    assert not (tmp_path / "r.weights.csv").exists()


@pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                    reason="no MPI library")
def test_weights_gathered_from_two_ranks_equal_the_serial_ones(run, tmp_path):
    lems, serial = run
    out = tmp_path / "two.h5"
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", "2", "--no-progress",
                           "--outdir", str(tmp_path), "--output", str(out)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "on 2 rank(s)" in proc.stdout
    two = load_results(out).weights
    assert (tmp_path / "stdpnet.weights.csv").read_text() == two.to_csv()  # written beside the outputs
    rows = two.to_csv().splitlines()
    assert rows[0] == "synapse,pre,post,weight" and len(rows) == 1 + PRE * POST
    assert rows[1].startswith("stdp,pre0[0],post[0],")
    assert float(rows[1].split(",")[3]) == two.weight[0]
    order = np.lexsort((serial.weights.pre_population, serial.weights.post_cell))
    for column in ("pre_population", "pre_cell", "post_population", "post_cell", "weight"):
        np.testing.assert_array_equal(getattr(two, column), getattr(serial.weights, column)[order], err_msg=column)


@pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                    reason="no MPI library")
def test_weights_of_a_run_without_gathering_survive_the_merge_of_its_parts(run, tmp_path):
    """--gather none: rank 0's part holds every rank's final weights (they are gathered, as the
    LFP's sum is), and merging the parts keeps them: the gathered run's table."""
    lems, serial = run
    out = tmp_path / "parts.h5"
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", "2", "--no-progress",
                           "--gather", "none", "--outdir", str(tmp_path), "--output", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    merged = tmp_path / "merged.h5"
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "convert", str(tmp_path / "parts.rank0.h5"), str(merged)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    weights = load_results(merged).weights
    assert weights is not None and len(weights.weight) == PRE * POST
    order = np.lexsort((serial.weights.pre_population, serial.weights.post_cell))
    for column in ("pre_population", "pre_cell", "post_population", "post_cell", "weight"):
        np.testing.assert_array_equal(getattr(weights, column), getattr(serial.weights, column)[order], err_msg=column)
