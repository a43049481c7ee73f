"""Values set by conditions that send no spike show at jLEMS's sample (issue 16, session 11).

jLEMS advances a step, acts on the conditions the new values meet, then records: the sample of a
step shows the values its conditions set. NEURON records before the handlers of those conditions
run; nmlhub.neuron.reset_samples gives jLEMS's sample (a clock reset, a counter, a value set at
each step while a test holds, a regime entered without a spike, an input that redraws its current),
serially and on 2 ranks. Reference: jLEMS's own output of tests/data/reset_samples (made by
make_references.py there), compared sample by sample.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data" / "reset_samples"
COLUMNS = ["t", "count", "tsince", "late", "x", "flips", "v", "i", "itsince"]


def _run(outdir: Path, *options: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(DATA / "LEMS_reset_samples.xml"),
                          "--outdir", str(outdir), *options], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def _jlems() -> np.ndarray:
    return np.loadtxt(DATA / "reference" / "reset_samples.dat")


def _column(table: np.ndarray, name: str) -> np.ndarray:
    return table[:, COLUMNS.index(name)]


def _assert_as_jlems(ours: np.ndarray, jlems: np.ndarray) -> None:
    """Every column equal to the digits jLEMS writes (8 significant), sample by sample; v of the
    cell the toggling input drives too: jLEMS advances the input before its cell, so the cell's
    step reads the current the input's condition set at the end of that same step (an explicit
    Euler of the iafCell here, fed with jLEMS's recorded current, gives jLEMS's v so, and not a
    step late), and so does nmlhub's (nmlhub.lems.nmodl_lead; tests/test_reset_samples_lead.py)."""
    assert ours.shape == jlems.shape
    for name in COLUMNS:
        rtol, atol = (0, 1e-8) if name == "v" else (1e-7, 1e-15)  # v: jLEMS's last digit near -65 mV
        differ = np.flatnonzero(~np.isclose(_column(ours, name), _column(jlems, name), rtol=rtol, atol=atol))
        assert differ.size == 0, f"{name}: {differ.size} samples differ, first at sample {differ[:1]}"
    current = _column(jlems, "i")
    np.testing.assert_allclose(_column(jlems, "v"), _iaf_euler(current, late=0), rtol=0, atol=1e-8)
    assert np.max(np.abs(_iaf_euler(current, late=0) - _iaf_euler(current, late=1))) > 1e-6


def _iaf_euler(current: np.ndarray, late: int) -> np.ndarray:
    """v of LEMS_reset_samples.xml's passive iafCell (SI) by explicit Euler, the step to sample
    n + 1 reading the current of sample n + 1 - ``late``."""
    dt, conductance, reversal, capacitance = 2.5e-5, 0.01e-6, -65e-3, 0.2e-9
    v = np.empty(len(current))
    v[0] = reversal
    for n in range(len(current) - 1):
        v[n + 1] = v[n] + dt * (conductance * (reversal - v[n]) + current[n + 1 - late]) / capacitance
    return v


def test_the_reference_resets_every_variable_without_a_spike():
    """The model does what the test needs: each variable is set by its condition many times."""
    jlems = _jlems()
    assert np.sum(np.diff(_column(jlems, "count")) == 1) >= 15
    assert np.sum(np.diff(_column(jlems, "late")) == 1) >= 15
    assert np.sum(np.abs(np.diff(_column(jlems, "flips"))) == 1) >= 10
    assert np.sum(np.diff(np.sign(_column(jlems, "i"))) != 0) >= 15
    assert np.sum(_column(jlems, "tsince") == 0) >= 15 and np.sum(_column(jlems, "itsince") == 0) >= 15


def test_values_set_without_a_spike_show_at_jlems_sample(tmp_path):
    run = _run(tmp_path)
    _assert_as_jlems(np.loadtxt(tmp_path / "reset_samples.dat"), _jlems())
    assert "recorded one sample later" not in run.stderr


def test_values_set_without_a_spike_show_at_jlems_sample_on_two_ranks(tmp_path):
    _run(tmp_path, "-n", "2")
    _assert_as_jlems(np.loadtxt(tmp_path / "reset_samples.dat"), _jlems())


def test_with_neuron_event_timing_values_show_as_neuron_records_them(tmp_path):
    """`--event-timing neuron` records as plain NEURON: the values a condition sets appear at the
    next sample, so the samples of the resets differ from jLEMS's (and only those)."""
    _run(tmp_path, "--event-timing", "neuron")
    ours, jlems = np.loadtxt(tmp_path / "reset_samples.dat"), _jlems()
    count = _column(jlems, "count")
    reset = np.r_[False, np.diff(count) == 1]
    np.testing.assert_array_equal(_column(ours, "count")[reset], count[reset] - 1)
    np.testing.assert_array_equal(_column(ours, "count")[~reset], count[~reset])


@pytest.mark.parametrize("form", ["integrated_each_step", "set_by_event"])
def test_a_sample_nmlhub_cannot_give_is_said(form, tmp_path):
    """Where nmlhub cannot show the value a condition sets at jLEMS's sample, the run says so,
    naming the type, the variable and the condition."""
    run = _run_file(DATA / f"LEMS_{form}.xml", tmp_path)
    lines = [line for line in run.stderr.splitlines() if "recorded one sample later" in line]
    assert len(lines) == 1, run.stderr
    assert "'z'" in lines[0] and "warnedReset" in lines[0] and "t > start" in lines[0].replace("(", "").replace(")", "")


def _run_file(lems: Path, outdir: Path) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(outdir)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def test_a_spike_passed_on_inside_an_input_acts_as_an_event(tmp_path):
    """A timedSynapticInput's source passes its spikes to its synapse inside the input (nmlhub
    performs the synapse's event actions in the source's condition): they act as events do, so
    the synapse's g is not moved to another sample, and nothing is said; its first jump is at
    jLEMS's sample. (After the cell's first spike jLEMS's cell fires every two steps, a jLEMS
    behaviour left alone: tests/conformance/event_timing.md, "timed_input".)"""
    run = _run_file(DATA / "LEMS_relayed_spikes.xml", tmp_path)
    assert "recorded one sample later" not in run.stderr
    ours, jlems = np.loadtxt(tmp_path / "relayed_spikes.dat"), np.loadtxt(DATA / "reference" / "relayed_spikes.dat")
    first_jump = int(np.flatnonzero(jlems[:, 2] > 0)[0])
    assert first_jump == int(np.flatnonzero(ours[:, 2] > 0)[0])
    # g at the jump and the step after; v (the synapse reads it a step late in jLEMS: "timed_input") before
    np.testing.assert_allclose(ours[: first_jump + 2, 2], jlems[: first_jump + 2, 2], rtol=1e-7, atol=1e-15)
    np.testing.assert_allclose(ours[: first_jump + 1, 1], jlems[: first_jump + 1, 1], rtol=1e-7, atol=1e-15)
