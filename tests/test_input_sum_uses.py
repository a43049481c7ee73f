"""A cell with a membrane dv/dt that reads the sum of its synaptic inputs elsewhere than in dv/dt
(issue 16, session 15, docs/osb_outside_corpus.md "Session 15"): NeuroML/NeuroMLlite's
`intFire1Cell` jumps v by 1 mV per pA in an `OnCondition iSyn .gt. 0`. nmlhub adds the sum to
the membrane through NEURON and gave the mechanism 0 for it, so the condition never fired and the
cell ran silently as a plain leaky integrator; now such a cell is refused in one line. The jLEMS
output of the model (tests/data/outside_corpus/networks/make_references_s15.py) shows the jumps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from nmlhub.lems import expr as ex
from nmlhub.lems.nmodl_scope import input_sum_uses
from nmlhub.lems.translate import Action, Condition, FlatComponent

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"
LEMS = DATA / "LEMS_input_sum_condition.xml"


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def test_jlems_reads_the_sum_in_the_condition():
    """The reference: one EPSP makes v jump (reset at 1 mV and jump again), not a smooth rise."""
    jlems = np.loadtxt(DATA / "reference" / "input_sum_condition.dat")
    assert np.max(np.diff(jlems[:, 1])) > 2e-4  # a jump of at least 0.2 mV in one 0.01 ms step


def test_a_cell_reading_its_input_sum_in_a_condition_is_refused_in_one_line(tmp_path):
    run = _nmlhub("run", str(LEMS), "--outdir", str(tmp_path))
    lines = [line for line in run.stderr.splitlines() if not line.startswith("nmlhub: compil")]
    assert run.returncode == 1 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"nmlhub: error: {LEMS}:")
    assert "ComponentType intFire1Cell: an OnCondition test reads the sum of the attached inputs (iSyn)" in lines[0]
    assert not list(tmp_path.iterdir())
    check = _nmlhub("validate", str(LEMS))
    assert "nmlhub run cannot run this model" in check.stdout and "reads the sum of the attached inputs" in check.stdout


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
