"""A StateVariable several regimes declare (each regime's own, session 15) set by an OnStart
(issue 16, session 16; docs/osb_outside_corpus.md "Session 16"). Measured with jLEMS 0.14: a
regime's own OnStart sets that regime's copy only; the Dynamics' OnStart setting the name is
refused ("Can't find state variable x"). nmlhub refused both; now it sets the regime's copy
(nmlhub.lems.regime_events) and refuses the Dynamics' OnStart in one line with jLEMS's reason
(nmlhub.lems.support). Reference: jLEMS's output, by
tests/data/outside_corpus/networks/make_references_s15.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"
LEMS = DATA / "LEMS_regime_onstart.xml"


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def test_a_regimes_onstart_sets_its_own_copy(tmp_path):
    """ya (A's x) is 5 and yb (B's x) 7 as in jLEMS, not the value of the other regime's OnStart.
    Samples next to a change are left out: jLEMS records a Dynamics variable a regime's condition
    sets a step later than nmlhub does (seen without any OnStart too; not this test's subject)."""
    run = _nmlhub("run", str(LEMS), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    jlems = np.loadtxt(DATA / "reference" / "regime_onstart.dat")
    ours = np.loadtxt(tmp_path / "regime_onstart.dat")
    assert ours.shape == jlems.shape
    for column in (1, 2):
        steady = np.ones(len(jlems), dtype=bool)
        changes = np.nonzero(np.diff(jlems[:, column]))[0]
        for k in changes:
            steady[max(k - 1, 0):k + 3] = False
        assert steady.sum() > 80
        np.testing.assert_array_equal(ours[steady, column], jlems[steady, column])
    assert set(jlems[:, 1]) == {0.0, 5.0} and set(jlems[:, 2]) == {0.0, 7.0}


def test_the_dynamics_onstart_setting_a_regimes_own_state_is_refused_as_by_jlems(tmp_path):
    text = LEMS.read_text().replace('<TimeDerivative variable="tt" value="1"/>',
                                    '<TimeDerivative variable="tt" value="1"/>\n'
                                    '<OnStart><StateAssignment variable="x" value="3"/></OnStart>')
    variant = tmp_path / "LEMS_dynamics_onstart.xml"
    variant.write_text(text)
    run = _nmlhub("run", str(variant), "--outdir", str(tmp_path / "out"))
    lines = [line for line in run.stderr.splitlines() if not line.startswith("nmlhub: compil")]
    assert run.returncode == 1 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "the Dynamics' OnStart sets it, which jLEMS refuses (\"Can't find state variable x\")" in lines[0]
