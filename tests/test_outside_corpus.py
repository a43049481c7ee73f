"""Defects found by running Open Source Brain models from outside the corpus (issue 16,
docs/osb_outside_corpus.md), each shown by a small model of our own under
tests/data/outside_corpus/ with its jLEMS reference (made by make_references.py there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus"
REFERENCE = DATA / "reference"
DT_S, TAU_S, DRIVE_HZ, WEIGHT = 1e-5, 5e-3, 10.0, 2.0


def _run(lems: str, outdir: Path, output: str) -> np.ndarray:
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(DATA / lems), "--outdir", str(outdir)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return np.loadtxt(outdir / output)


def _euler(steps: int, same_step: bool) -> tuple[np.ndarray, np.ndarray]:
    """The two rate units of LEMS_peer_rate.xml by explicit Euler at the file's step: B reads A's
    rate of the step before (``same_step`` False) or the one A has just reached (True)."""
    rate_a, rate_b = np.zeros(steps), np.ones(steps)
    for k in range(steps - 1):
        rate_a[k + 1] = rate_a[k] + DT_S * (DRIVE_HZ - rate_a[k]) / TAU_S
        read = rate_a[k + 1] if same_step else rate_a[k]
        rate_b[k + 1] = rate_b[k] + DT_S * (WEIGHT * read - rate_b[k]) / TAU_S
    return rate_a, rate_b


def test_graded_synapse_reads_the_peer_cells_rate_as_jlems(tmp_path):
    """A continuous connection whose synapse reads `peer/r` (the rate of the cell at the other end,
    as the Wilson-Cowan model's rateSynapse does) was refused; it runs, and matches jLEMS where
    jLEMS updates the reader before the cell it reads (B's population declared first)."""
    ours = _run("LEMS_peer_rate_reordered.xml", tmp_path, "peer_rate_reordered.dat")
    jlems = np.loadtxt(REFERENCE / "peer_rate_reordered.dat")
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours[:, 1:], jlems[:, 1:], rtol=1e-6, atol=1e-6)
    assert ours[-1, 2] > 15.0  # B follows A's rate (x2), far from the 1 Hz it starts from


def test_peer_rate_is_the_explicit_euler_solution_whatever_the_declaration_order(tmp_path):
    """nmlhub reads every connection's source at the start of the step, so declaring A first
    changes nothing; jLEMS updates populations in declaration order, so with A declared first its
    B reads the rate A has just reached (the proof in docs/osb_outside_corpus.md)."""
    ours = _run("LEMS_peer_rate.xml", tmp_path, "peer_rate.dat")
    rate_a, rate_b = _euler(len(ours), same_step=False)
    np.testing.assert_allclose(ours[:, 1], rate_a, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours[:, 2], rate_b, rtol=1e-6, atol=1e-6)
    jlems = np.loadtxt(REFERENCE / "peer_rate.dat")
    _, jlems_order = _euler(len(jlems), same_step=True)
    np.testing.assert_allclose(jlems[:, 2], jlems_order, rtol=1e-6, atol=1e-5)
    assert np.abs(jlems[:, 2] - rate_b).max() > 1e-3  # the two orders do differ, by O(dt)


def test_a_type_the_model_never_uses_does_not_stop_it(tmp_path):
    """An included library defines a type nmlhub cannot run (an InstanceRequirement on a cell);
    the model never uses it, jLEMS runs the model, and so does nmlhub."""
    validate = subprocess.run([sys.executable, "-m", "nmlhub", "validate", str(DATA / "LEMS_unused_requirement.xml")],
                              capture_output=True, text=True, timeout=300)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    ours = _run("LEMS_unused_requirement.xml", tmp_path, "unused_requirement.dat")
    np.testing.assert_allclose(ours, np.loadtxt(REFERENCE / "unused_requirement.dat"), rtol=1e-6, atol=1e-9)


def test_the_same_type_used_by_a_population_is_still_refused_in_one_line():
    library = DATA / "rate_types.xml"
    line = next(k for k, text in enumerate(library.read_text().splitlines(), 1) if 'name="other"' in text)
    validate = subprocess.run([sys.executable, "-m", "nmlhub", "validate", str(DATA / "LEMS_used_probe.xml")],
                              capture_output=True, text=True, timeout=300)
    assert validate.returncode == 1
    assert f"{library}:{line}: <InstanceRequirement name='other'>: ComponentType unusedPeerProbe" in validate.stdout


def test_a_type_named_like_a_core_type_is_run_as_written_and_validate_warns(tmp_path):
    """HindmarshRose1984Cell.xml defines hindmarshRose1984Cell, which jNeuroML 0.14's core types now
    define too: jNeuroML refuses the file, nmlhub runs the file's own definition (here a ramp of
    1 V/s from -70 mV, the analytic answer) and validate says so in a warning at the definition."""
    lems = DATA / "LEMS_core_name.xml"
    line = next(k for k, text in enumerate(lems.read_text().splitlines(), 1) if "<ComponentType" in text)
    validate = subprocess.run([sys.executable, "-m", "nmlhub", "validate", str(lems)],
                              capture_output=True, text=True, timeout=300)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert (f"{lems}:{line}: ComponentType hindmarshRose1984Cell: warning: ComponentType 'hindmarshRose1984Cell' "
            "has the name of a NeuroML2 core type") in validate.stdout
    ours = _run("LEMS_core_name.xml", tmp_path, "core_name.dat")
    np.testing.assert_allclose(ours[:, 1], -0.07 + ours[:, 0], rtol=0, atol=1e-9)
