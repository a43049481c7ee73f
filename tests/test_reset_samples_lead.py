"""Inputs whose own dynamics set the current their cell reads act at jLEMS's step (issue 16, session 12).

jLEMS advances an input before its cell: the cell's step reads the current as the input's own
dynamics of that step (its time derivatives, then its conditions on the new values) left it. A
NEURON point process would integrate after the cell and act on its conditions after the step, a
step late; nmlhub.lems.nmodl_lead makes such an input perform its own dynamics in its BREAKPOINT
before handing its current to NEURON. Models (tests/data/reset_samples/lead.xml in LEMS_lead.xml):
a current relaxing towards a target a condition turns (the condition sets a variable the
current's TimeDerivative reads), a current a condition tested at each step on the input's
integrated clock sets, and a derived current reading a level a condition turns (jLEMS computes
derived variables before the step's conditions, so it does not lead); each on a passive iafCell.
Reference: jLEMS's output (reference/lead.dat, made by make_references.py there).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data" / "reset_samples"
#: one unit of the last digit jLEMS writes of v near -65 mV (V)
V_DIGITS = 1e-8
COLUMNS = ["t", "v_relax", "i_relax", "target", "tsince_relax", "v_half", "i_half", "tsince_half",
           "v_step", "i_step", "level"]


def _run(lems: Path, outdir: Path, *options: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(outdir), *options],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def _jlems() -> np.ndarray:
    return np.loadtxt(DATA / "reference" / "lead.dat")


def _iaf_euler(current: np.ndarray, late: int) -> np.ndarray:
    """v of LEMS_lead.xml's passive iafCell (SI) by explicit Euler, the step to sample n + 1
    reading the current of sample n + 1 - ``late``."""
    dt, conductance, reversal, capacitance = 2.5e-5, 0.01e-6, -65e-3, 0.2e-9
    v = np.empty(len(current))
    v[0] = reversal
    for n in range(len(current) - 1):
        v[n + 1] = v[n] + dt * (conductance * (reversal - v[n]) + current[n + 1 - late]) / capacitance
    return v


def test_the_reference_reads_the_current_of_the_step():
    """What the model shows in jLEMS: each cell's step reads the current its input recorded at the
    end of the same step (an explicit Euler fed with jLEMS's recorded current gives jLEMS's v
    reading it so, not a step late), and each input changes its current many times."""
    jlems = _jlems()
    for cell in ("relax", "half", "step"):
        current = jlems[:, COLUMNS.index(f"i_{cell}")]
        v = jlems[:, COLUMNS.index(f"v_{cell}")]
        assert np.sum(np.abs(np.diff(current)) > 1e-12) >= 15
        np.testing.assert_allclose(v, _iaf_euler(current, late=0), rtol=0, atol=1e-8)
        assert np.max(np.abs(v - _iaf_euler(current, late=1))) > 1e-6


def _assert_as_jlems(ours: np.ndarray, jlems: np.ndarray, columns: list[str]) -> None:
    """The columns equal to the digits jLEMS writes (8 significant), sample by sample; v to 1e-8 V
    (jLEMS's last digit near -65 mV; one step of the inputs' changes moves v by more than 1e-7 V)."""
    assert ours.shape == jlems.shape
    for name in columns:
        k = COLUMNS.index(name)
        rtol, atol = (0, V_DIGITS) if name.startswith("v_") else (1e-7, 1e-15)
        differ = np.flatnonzero(~np.isclose(ours[:, k], jlems[:, k], rtol=rtol, atol=atol))
        assert differ.size == 0, f"{name}: {differ.size} samples differ, first at sample {differ[:1]}"


@pytest.mark.parametrize("options", [(), ("-n", "2"), ("--event-timing", "neuron"), ("--input-clock", "neuron"),
                                     ("-n", "2", "--input-clock", "neuron")],
                         ids=["serial", "two_ranks", "neuron_event_timing", "neuron_input_clock",
                              "neuron_input_clock_two_ranks"])
def test_the_cell_reads_the_current_its_input_set_in_the_same_step(options, tmp_path):
    """Every sample of every column as jLEMS's; with NEURON's event timing (recorded as plain
    NEURON) all but the stepped input's level, which its watched condition sets (a sample late
    there: tests/test_reset_samples.py), as the leading inputs need no correction of their samples."""
    run = _run(DATA / "LEMS_lead.xml", tmp_path, *options)
    columns = [c for c in COLUMNS if not (c == "level" and "neuron" in options)]
    _assert_as_jlems(np.loadtxt(tmp_path / "lead.dat"), _jlems(), columns)
    assert "later than jLEMS" not in run.stderr and "one sample later" not in run.stderr


def test_an_input_that_cannot_lead_is_said(tmp_path):
    """An input whose own dynamics set its current but which nmlhub cannot advance before its
    cell (here: its type has regimes) runs as before, with one line naming the type, the current
    and the condition."""
    run = _run(DATA / "LEMS_lead_warned.xml", tmp_path)
    lines = [line for line in run.stderr.splitlines() if "one step later than jLEMS" in line]
    assert len(lines) == 1, run.stderr
    line = lines[0].replace("(", "").replace(")", "")
    assert "regimeToggle" in line and "'i'" in line and "tsince >= period" in line and "regimes" in line


#: LEMS_lead_compound.xml's columns: compoundInputs summing children of lead.xml's types
COMPOUND_COLUMNS = ["t", "v_pair", "i_pair", "i_relaxing", "i_half", "v_nested", "i_nested", "i_inner", "i_stepped"]


def test_the_reference_sums_the_childrens_currents_of_the_step():
    """What jLEMS does with a compoundInput (a derived current, the sum of its children's): it
    advances the children first, so the sum is that of the currents the children's own dynamics
    set in the step (the recorded sums equal the children's recorded currents of the same
    sample), and its cell reads that sum in the same step (an explicit Euler of the iafCell fed
    with the recorded sum gives jLEMS's v reading it so, not a step late)."""
    jlems = np.loadtxt(DATA / "reference" / "lead_compound.dat")
    col = COMPOUND_COLUMNS.index
    np.testing.assert_allclose(jlems[:, col("i_pair")], jlems[:, col("i_relaxing")] + jlems[:, col("i_half")],
                               rtol=0, atol=1e-16)
    np.testing.assert_allclose(jlems[:, col("i_nested")], jlems[:, col("i_inner")] + jlems[:, col("i_stepped")],
                               rtol=0, atol=1e-16)
    for cell in ("pair", "nested"):
        current, v = jlems[:, col(f"i_{cell}")], jlems[:, col(f"v_{cell}")]
        assert np.sum(np.abs(np.diff(current)) > 1e-12) >= 15
        np.testing.assert_allclose(v, _iaf_euler(current, late=0), rtol=0, atol=1e-8)
        assert np.max(np.abs(v - _iaf_euler(current, late=1))) > 1e-6


@pytest.mark.parametrize("options", [(), ("-n", "2")], ids=["serial", "two_ranks"])
def test_a_compound_input_hands_its_cell_the_sum_of_the_step(options, tmp_path):
    """A compoundInput whose children set their currents by their own time derivative or
    conditions (a relaxing current and a half-period current; nested: a compoundInput holding
    one, beside a derived current, which jLEMS reads from the start of the step) leads: every
    column equals jLEMS's to its digits at every sample (v to 1e-8 V; before, each cell read the
    sum a step late: 9.3e-6 V and 5.0e-6 V off, and the sums a sample late)."""
    run = _run(DATA / "LEMS_lead_compound.xml", tmp_path, *options)
    ours, jlems = np.loadtxt(tmp_path / "lead_compound.dat"), np.loadtxt(DATA / "reference" / "lead_compound.dat")
    assert ours.shape == jlems.shape
    for k, name in enumerate(COMPOUND_COLUMNS):
        rtol, atol = (0, V_DIGITS) if name.startswith("v_") else (1e-7, 1e-15)
        differ = np.flatnonzero(~np.isclose(ours[:, k], jlems[:, k], rtol=rtol, atol=atol))
        assert differ.size == 0, f"{name}: {differ.size} samples differ, first at sample {differ[:1]}"
    assert "later than jLEMS" not in run.stderr


def test_the_exports_cells_read_every_such_input_a_step_late():
    """What pyNeuroML's NEURON export does with these inputs (reference/lead_export.dat, the cells
    of LEMS_lead.xml: the export stops on a path to an input's variable): its BREAKPOINT tests the
    conditions on the states of the previous step's end and integrates them after NEURON took the
    current (a derived current is computed in the DERIVATIVE block's rates()), so each cell reads
    the current jLEMS's input had a step before. A backward Euler of the passive membrane (the
    export's) fed with jLEMS's recorded current of sample n gives the export's v of sample n + 1
    to its digits; fed with the current of the same step, 6e-6 to 1.2e-5 V off. ``--input-clock
    neuron`` moves only the clock of inputs with a start and a stop, so nmlhub's cells keep
    jLEMS's samples under it (test above; event_timing.md, "Leading inputs and the export's clock")."""
    export = np.loadtxt(DATA / "reference" / "lead_export.dat")
    jlems = _jlems()
    dt, conductance, reversal, capacitance = 2.5e-5, 0.01e-6, -65e-3, 0.2e-9
    for k, cell in enumerate(("relax", "half", "step"), start=1):
        current = jlems[:, COLUMNS.index(f"i_{cell}")]
        for late, within in ((1, True), (0, False)):
            v = np.empty(len(current))
            v[0] = reversal
            for n in range(len(current) - 1):
                drive = current[n + 1 - late]
                v[n + 1] = (v[n] * capacitance / dt + conductance * reversal + drive) / (capacitance / dt + conductance)
            off = np.abs(v - export[:, k]).max()
            assert (off < V_DIGITS) if within else (off > 5e-6), (cell, late, off)


def test_a_compound_input_reading_its_own_state_too_is_said(tmp_path):
    """A derived current summing a child's current that the child's condition sets and a state of
    its own (jLEMS: the child's of the step's end, its own of the step's start) does not lead:
    one line names the type, the current, the condition and the state."""
    run = _run(DATA / "LEMS_lead_compound_warned.xml", tmp_path)
    lines = [line for line in run.stderr.splitlines() if "one step later than jLEMS" in line]
    assert len(lines) == 1, run.stderr
    assert all(word in lines[0] for word in ("decayingOffsetSum", "'i'", "halfOn_tsince > halfOn_half", "'offset'"))
