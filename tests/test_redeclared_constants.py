"""A Constant a ComponentType declares twice (issue 16, session 15, docs/osb_outside_corpus.md
"Session 15"): openworm/NicolettiEtAl2024_MN_IN's `slo1egl19.channel.nml` declares `F` as
`96485.3 C_per_mol` and again as `96485.0`; jLEMS uses the first declaration, nmlhub (through
pylems) used the last. The model here has its jLEMS reference
(tests/data/outside_corpus/networks/make_references_s15.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from lxml import etree

from nmlhub.model.redeclared import keep_first_constants, redeclaration_message, redeclared_constants

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"
LEMS = DATA / "LEMS_constant_twice.xml"


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def test_a_constant_declared_twice_takes_its_first_value_as_in_jlems(tmp_path):
    """x rises at k / tau with k declared 3, then 1: jLEMS's x is 3 after one tau; nmlhub's was 1."""
    run = _nmlhub("run", str(LEMS), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "constant_twice.dat"), np.loadtxt(DATA / "reference" / "constant_twice.dat")
    assert ours.shape == jlems.shape and jlems[-1, 1] == 3.0
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-9)


def test_validate_warns_at_the_second_declaration():
    """validate says where, what each declaration says and which one both engines use."""
    check = _nmlhub("validate", str(LEMS))
    assert check.returncode == 0, check.stdout + check.stderr
    warnings = [line for line in check.stdout.splitlines() if "declared again" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{LEMS}:13: <Constant>: warning: ComponentType 'rampTwice': Constant 'k'")
    assert "first at line 12: '3'" in warnings[0] and "use the first declaration" in warnings[0]


def test_identical_redeclarations_are_dropped_without_a_warning():
    """The same value and dimension twice (as most of that file's repeats): dropped, not reported."""
    element = etree.fromstring('<ComponentType name="t"><Constant name="a" dimension="none" value="2"/>'
                               '<Constant name="b" dimension="none" value="1"/>'
                               '<Constant name="a" dimension="none" value="2 "/></ComponentType>')
    (first, again), = redeclared_constants(element)
    assert redeclaration_message("t", first, again) is None
    keep_first_constants(element)
    assert [c.get("name") for c in element] == ["a", "b"]
