"""A cell with a membrane dv/dt that reads the sum of its synaptic inputs elsewhere than in dv/dt
(issue 16; docs/osb_outside_corpus.md "Session 15" and "Session 16"): NeuroML/NeuroMLlite's
`intFire1Cell` jumps v by 1 mV per pA in an `OnCondition iSyn .gt. 0`. nmlhub adds the sum to the
membrane through NEURON and gave the mechanism 0 for it (session 15 refused such a cell); now the
cell's mechanism measures the sum from the change of v over each step (nmlhub.lems.nmodl_blocks,
`_input_sum`), and a cell whose conditions change what another's test reads has its conditions
tested in turn at each step, in the file's order, as jLEMS does (nmlhub.lems.nmodl_events,
`_tested_in_turn`). The sum is 0 within the rounding of its terms (jLEMS adds exact zeros: an
`iSyn .gt. 0` test must not fire between inputs). NeuroMLlite's `impulseSynapse`, whose current
`i = PAMPERE * impulse` is derived from a state its own condition sets back to 0 the step after an
event, gives its current before that condition acts, as jLEMS (nmlhub.lems.nmodl_blocks,
`_current_before_levels`). References: jLEMS's outputs, stored by
tests/data/outside_corpus/networks/make_references_s15.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nmlhub.lems import expr as ex
from nmlhub.lems.flatten import TranslationError
from nmlhub.lems.nmodl_scope import Scope, input_sum_uses
from nmlhub.lems.translate import Action, Condition, FlatComponent

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def _run_and_compare(tmp_path: Path, lems: str, output: str, *options: str) -> str:
    """Every column of nmlhub's output equals jLEMS's within jLEMS's printed digits; the run's
    standard output."""
    run = _nmlhub("run", str(DATA / lems), "--outdir", str(tmp_path), *options)
    assert run.returncode == 0, run.stderr
    jlems = np.loadtxt(DATA / "reference" / output)
    ours = np.loadtxt(tmp_path / output)
    assert ours.shape == jlems.shape
    for column in range(1, jlems.shape[1]):
        scale = np.max(np.abs(jlems[:, column]))
        np.testing.assert_allclose(ours[:, column], jlems[:, column], rtol=0, atol=1e-6 * scale,
                                   err_msg=f"{output} column {column}")
    return run.stdout


def test_jlems_reads_the_sum_in_the_condition():
    """The reference: one EPSP makes v jump (reset at 1 mV and jump again), not a smooth rise."""
    jlems = np.loadtxt(DATA / "reference" / "input_sum_condition.dat")
    assert np.max(np.diff(jlems[:, 1])) > 2e-4  # a jump of at least 0.2 mV in one 0.01 ms step


def test_a_condition_reading_the_input_sum_runs_as_jlems(tmp_path):
    """intFire1Cell under one EPSP: v jumps, is reset above 1 mV and jumps again in the same step,
    at every step, as jLEMS's (within 2e-10 V; the jumps are 0.8 to 1 mV)."""
    _run_and_compare(tmp_path, "LEMS_input_sum_condition.xml", "input_sum_condition.dat")


def test_two_synapse_types_and_a_derivative_reading_the_sum_on_two_ranks(tmp_path):
    """intFire1Cell under two expOneSynapse and one expTwoSynapse inputs (its condition reads their
    sum), and a cell integrating the sum into a second state through a derived variable, which it
    also records: v, iSyn, w and the derived variable as jLEMS's, on 2 ranks."""
    _run_and_compare(tmp_path, "LEMS_input_sum_uses.xml", "input_sum_uses.dat", "-n", "2")


def test_an_impulse_synapse_drives_the_cell_for_one_step(tmp_path):
    """Two intFire1Cells under NeuroMLlite's impulseSynapse (three events each): v jumps by
    0.3 and 0.4 mV per event and the synapse's recorded i shows the impulse at the event's sample,
    as jLEMS's; 9 spikes (3 sent, one jump per event and cell), none from rounding between them."""
    out = _run_and_compare(tmp_path, "LEMS_impulse_synapse.xml", "impulse_synapse.dat")
    assert "3 cells on 1 rank(s), 9 spikes" in out, out


def _cell(*externals: str) -> FlatComponent:
    flat = FlatComponent(type="c")
    flat.states = ["v"]
    flat.params = {"C": 1.0}
    flat.external = {name: "current" for name in externals}
    flat.derived = [(name, ex.Num(0.0)) for name in externals]
    flat.time_derivatives = {None: {"v": ex.Name(externals[0])}}
    return flat


def test_forms_still_refused_in_one_line():
    """An OnStart reading the sum (the cell measures it over each step: none at the start) and two
    sums read outside dv/dt (the change of v gives only their total) are refused."""
    flat = _cell("iSyn")
    flat.on_start = [Action("assign", "v", ex.Name("iSyn"))]
    with pytest.raises(TranslationError, match="assignment to v in OnStart reads the sum of the attached inputs"):
        Scope(flat, "cell")
    flat = _cell("iSyn", "iOther")
    flat.conditions = [Condition(test=ex.Name("iOther"), actions=[Action("assign", "v", ex.Num(0.0))])]
    with pytest.raises(TranslationError, match=r"more than one input sum \(iOther, iSyn\) read outside dv/dt"):
        Scope(flat, "cell")
    flat = _cell("iSyn")
    flat.conditions = [Condition(test=ex.Name("iSyn"), actions=[Action("assign", "v", ex.Num(0.0))])]
    assert Scope(flat, "cell").measures_input


def test_only_uses_outside_the_membrane_equation_count():
    """dv/dt reading iSyn (through a derived iMemb) is fine; a condition, an action or another
    state's derivative reading it (directly or through a derived variable) is not."""
    flat = FlatComponent(type="c")
    flat.external = {"iSyn": "current"}
    flat.derived = [("iSyn", ex.Num(0.0)), ("iMemb", ex.Name("iSyn")), ("half", ex.Name("iSyn"))]
    flat.time_derivatives = {None: {"v": ex.Name("iMemb")}}
    assert input_sum_uses(flat) == []
    flat.time_derivatives[None]["w"] = ex.Name("half")
    flat.conditions = [Condition(test=ex.Name("v"), actions=[Action("assign", "v", ex.Name("iMemb"))])]
    assert input_sum_uses(flat) == ["an assignment to v in an OnCondition", "the TimeDerivative of w"]
