"""Recorded quantities against jLEMS: a synapse's conductance and current and an HH cell's gates,
asked for with ``nmlhub run --record``, equal jLEMS's values of the same quantities
(``tests/data/record_jlems``: reference made by its ``make_reference.py``), serially and on 2 ranks.

Tolerances (fractions of each quantity's range over the run), at the reference's step 0.01 ms:
the conductance follows the same forward-Euler steps in both (1e-6); the current reads v (1e-3);
v and the gates carry the first-order difference between the two schemes for conductance-based
cells (docs/conformance.md, "Numerical schemes"): measured 0.9% (v), 1.3% (m), 0.9% (n) at
0.01 ms and ten times less at 0.001 ms, so 2% is asked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nmlhub.neuron import mpi

DATA = Path(__file__).resolve().parent / "data" / "record_jlems"
RECORD = {"v": "post/0/v", "g": "post/0/syn/g", "i": "post/0/hh_cell/synapses:syn:0/i",
          "m": "post/0/soma/Na/m/q", "n": "post/0/K_all/K/n/q"}  # segment by name, channel with or without density
TOLERANCE = {"v": 0.02, "g": 1e-6, "i": 1e-3, "m": 0.02, "n": 0.02}


def _run(tmp_path: Path, ranks: int, every: str | None = None) -> np.ndarray:
    work = tmp_path / "model"
    shutil.copytree(DATA, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    command = [sys.executable, "-m", "nmlhub", "run", str(work / "LEMS_record.xml"), "--no-progress",
               "-n", str(ranks), "--outdir", str(tmp_path / "out")]
    for path in RECORD.values():
        command += ["--record", path]
    if every is not None:
        command += ["--record-every", every]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, env=mpi.environment())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"on {ranks} rank(s)" in proc.stdout
    return np.loadtxt(tmp_path / "out" / "record.recorded.dat", ndmin=2)


def _compare(recorded: np.ndarray, stride: int) -> None:
    reference = np.load(DATA / "reference.npz")
    np.testing.assert_allclose(recorded[:, 0], reference["time_s"][::stride], atol=1e-12)
    for k, name in enumerate(RECORD, start=1):
        expected = reference[name][::stride]
        span = np.ptp(reference[name])
        assert span > 0, name
        error = np.abs(recorded[:, k] - expected).max() / span
        assert error <= TOLERANCE[name], f"{name}: {error:.2e} of its range"


def test_recorded_synapse_and_gates_equal_jlems_serially(tmp_path):
    _compare(_run(tmp_path, 1), 1)


@pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                    reason="no MPI library")
def test_recorded_synapse_and_gates_equal_jlems_on_two_ranks(tmp_path):
    # the spike source and the HH cell live on different ranks; sampled every 5 steps
    _compare(_run(tmp_path, 2, every="0.05"), 5)


@pytest.mark.parametrize("path, words", [
    ("post/0/Na_all/Na/x/q", "channel density 'Na_all' has no variable 'Na/x/q' on segment 0 (variables: "),
    ("post/0/dend/v", "a segment (id, or name: soma)"),
    ("post/0/nmda/g", "an attached synapse (syn)"),
])
def test_a_bad_path_into_a_morphological_cell_names_what_exists(tmp_path, path, words):
    work = tmp_path / "model"
    shutil.copytree(DATA, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(work / "LEMS_record.xml"), "--no-progress",
                           "--duration", "1", "--record", path], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    error = [line for line in proc.stderr.splitlines() if line.startswith("nmlhub: error:")]
    assert len(error) == 1 and words in error[0] and path.replace("post/0", "post[0]") in error[0], proc.stderr
