"""Parallel runs with real MPI (the mpich wheel, mpiexec -n 2 and 3): the same spikes and traces
as the serial run, gathered once each, and a failing rank ends the whole run."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from nmlhub.neuron import mpi

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "nml_examples"

pytestmark = pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                                reason="no MPI library")


def _run(lems: Path, out: Path, ranks: int, *extra: str) -> dict:
    command = [sys.executable, str(HERE / "parallel_run.py"), str(lems), str(out), *extra]
    if ranks > 1:
        command = mpi.mpiexec_command(ranks, [])[:3] + command
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, "rb") as handle:
        return pickle.load(handle)


@pytest.mark.parametrize("example", ["izh_network/LEMS_izh_network.xml", "layered_cortex/LEMS_layered_cortex.xml"])
def test_same_spikes_and_traces_on_one_two_and_three_ranks(example, tmp_path):
    serial = _run(EXAMPLES / example, tmp_path / "serial.pkl", 1)
    assert sum(len(v) for v in serial["spikes"].values()) > 100
    for ranks, extra in ((2, ()), (3, ("--balance",))):
        parallel = _run(EXAMPLES / example, tmp_path / f"p{ranks}.pkl", ranks, *extra)
        assert parallel["nhost"] == ranks and parallel["cells_here"] < len(serial["spikes"])
        # every cell's spikes exactly once, in the serial order, to the time step
        assert list(parallel["spikes"]) == list(serial["spikes"])
        assert parallel["spikes"] == serial["spikes"]
        assert list(parallel["traces"]) == list(serial["traces"])
        assert parallel["traces"] == serial["traces"]


def test_cli_runs_on_two_ranks_and_writes_the_same_files(tmp_path):
    lems = EXAMPLES / "izh_network" / "LEMS_izh_network.xml"
    for name, ranks in (("serial", "1"), ("parallel", "2")):
        proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", ranks, "--no-progress",
                               "--outdir", str(tmp_path / name)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"on {ranks} rank(s)" in proc.stdout
    for written in (tmp_path / "serial").iterdir():
        assert written.read_bytes() == (tmp_path / "parallel" / written.name).read_bytes(), written.name


def test_an_error_on_a_rank_ends_the_run_with_its_message(tmp_path):
    # mc_network has connections with delay 0, which cannot cross ranks
    lems = EXAMPLES / "mc_network" / "LEMS_mc_network.xml"
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"), str(lems),
                                               str(tmp_path / "x.pkl")]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "nmlhub: rank" in proc.stderr and "delay 0 ms is shorter than the time step" in proc.stderr


def test_a_model_refused_on_every_rank_is_said_once_as_serially(tmp_path):
    # a TimeDerivative that is not its variable's dimension per time: every rank refuses it
    lems = HERE / "data" / "outside_corpus" / "networks" / "LEMS_rateWithoutTime.xml"
    said = {}
    for ranks in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", ranks, "--no-progress",
                               "--outdir", str(tmp_path / ranks)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1
        said[ranks] = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(said["1"]) == 1 and said["1"][0].startswith("nmlhub: error: ") and "LEMS_rateWithoutTime.xml:" in said["1"][0]
    assert said["2"] == said["1"]  # no line per rank, no launcher abort lines
    assert not (tmp_path / "2").exists() or not any((tmp_path / "2").iterdir())  # nothing written


def test_interval_file_holds_the_run_and_survives_a_kill(tmp_path):
    import h5py
    import numpy as np
    import signal
    import time

    lems = EXAMPLES / "izh_network" / "LEMS_izh_network.xml"
    whole = tmp_path / "whole.h5"
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", "2", "--no-progress",
                           "--outdir", str(tmp_path / "out"), "--write-every", "100", "--intervals", str(whole)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    spike_file = np.loadtxt(tmp_path / "out" / "izh_network.spikes.dat")
    with h5py.File(whole, "r") as f:
        assert f["written_to_ms"][0] == 500.0 and len(f["time_ms"]) == 20001
        assert len(f["spikes/time_ms"]) == len(spike_file)  # every spike once
        np.testing.assert_allclose(np.sort(f["spikes/time_ms"][:]), np.sort(spike_file[:, 1] * 1000), atol=1e-6)
    # a long run killed part-way keeps a readable file up to its last interval
    killed = tmp_path / "killed.h5"
    run = subprocess.Popen([sys.executable, "-m", "nmlhub", "run", str(lems), "--duration", "200000", "--no-progress",
                            "--outdir", str(tmp_path / "k"), "--write-every", "50", "--intervals", str(killed)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(1.0)
        try:
            with h5py.File(killed, "r", swmr=True) as f:
                if f["written_to_ms"][0] >= 200:
                    break
        except (OSError, KeyError):
            continue
    run.send_signal(signal.SIGKILL)
    run.wait()
    with h5py.File(killed, "r", swmr=True) as f:
        done = f["written_to_ms"][0]
        assert 200 <= done < 200000
        n = len(f["time_ms"])
        assert n >= int(done / 0.025) and all(len(f["traces"][k]) == n for k in f["traces"])
        assert np.all(f["spikes/time_ms"][:] <= f["time_ms"][n - 1] + 1e-9)
