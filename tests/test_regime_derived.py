"""A regime's ``<DerivedVariable>`` runs as in jLEMS 0.14 (issue 16; docs/osb_outside_corpus.md,
"Session 15"): the regime's own variable, computed in the order of the file at the start of each
of its steps, before its time derivatives, read by its conditions and handlers, kept between its
steps. What jLEMS stops on is refused in one line. A ``StateVariable`` several regimes declare is
each regime's own, as in jLEMS. References by
``tests/data/outside_corpus/networks/make_references_s15.py`` (jLEMS's own output)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"
REFERENCE = DATA / "reference" / "regime_derived.dat"


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def _errors(run: subprocess.CompletedProcess) -> int:
    """How many error lines a run printed (a first run also says what it compiles)."""
    return sum(line.startswith("nmlhub: error:") for line in run.stderr.splitlines())


def _against_jlems(ours: np.ndarray) -> None:
    jlems = np.loadtxt(REFERENCE)
    # what the model exercises happens in jLEMS's output: up's OnEntry reads the d of up's last
    # step (5.5, then 6), the shared state s keeps 5.5 in 'down', the Dynamics' e is 7
    # k and m, integrated by the Dynamics of regimeOuterDerivative in both regimes (k reset to 0)
    assert np.ptp(jlems[:, 12]) > 0.7 and jlems[-1, 13] == 20
    assert jlems.shape == (41, 14) and set(jlems[:, 4]) == {0, 5.5, 6} and 5.5 in jlems[:, 7]
    assert set(jlems[:, 8]) == {7}
    # y of 'b' goes down from 0 to -6, then on from -6 to -12; y of 'a' up to 2.25, then 4.25
    assert set(jlems[:, 10]) == {0, 2.25, -6, 4.25, -12} and set(jlems[:, 11]) == {0, 2.25, 4.25}
    np.testing.assert_allclose(ours, jlems, rtol=1e-7, atol=1e-12)  # jLEMS writes 8 digits


def test_regime_derived_variables_run_as_in_jlems(tmp_path):
    """LEMS_regime_derived.xml (regime_derived.xml: the same name in two regimes, one read before
    it is computed, read by an OnEntry, one setting a state of the Dynamics, one named as the
    Dynamics' derived variable; regimeOwnStates: a StateVariable both regimes declare), equal to
    jLEMS at every sample; refused before. (On 2 ranks too, checked by hand: ``nmlhub run ... -n 2``;
    not here, as it costs more than the rest of the module.)"""
    run = _nmlhub("run", str(DATA / "LEMS_regime_derived.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    _against_jlems(np.loadtxt(tmp_path / "regime_derived.dat"))


def test_a_time_derivative_of_zero_over_zero_is_jlems_finite_value(tmp_path):
    """NESTML2LEMS's (e / tau * t * exp(-t / tau)) / t in the Dynamics of a type with a regime
    (LEMS_regime_nan.xml): pylems's flattening dropped the TimeDerivative and nmlhub recorded 0
    throughout. Now it is integrated. jLEMS's equations read the clock of the step's end, so its
    first step reads t = dt: finite values (its stored output). nmlhub's read the start, t = 0,
    0/0 (run stopped on the trace that was not a finite number) until session 16, where every
    component's equations read the step's end (tests/conformance/event_timing.md, "child_order"):
    the run equals jLEMS's."""
    jlems = np.loadtxt(DATA / "reference" / "regime_nan.dat")
    assert np.isfinite(jlems).all() and abs(jlems[1, 1] - 0.12928548) < 1e-8
    run = _nmlhub("run", str(DATA / "LEMS_regime_nan.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "regime_nan.dat")
    assert ours.shape == jlems.shape
    assert np.allclose(ours, jlems, rtol=1e-7, atol=1e-7 * np.abs(jlems).max())


#: Changes to regime_derived.xml jLEMS 0.14 stops on (measured on such variants), each with the
#: reason nmlhub gives: the Dynamics reading a regime's derived variable ('No such variable: d'),
#: another regime reading it (a NullPointerException), a regime's derived variable reading the
#: Dynamics' ('No such variable: w').
STOPPED = [
    ('<StateVariable name="w" dimension="none" exposure="w"/>', '<DerivedVariable name="k" dimension="none" value="3 * d"/>',
     "<DerivedVariable> of the Dynamics reads 'd', which only the regime declares: jLEMS stops ('No such variable')"),
    ('<TimeDerivative variable="x" value="-rate"/>', '<TimeDerivative variable="z" value="q * rate"/>',
     "regime 'down' reads 'q', which only regime 'up' declares: jLEMS stops (NullPointerException)"),
    ('<StateVariable name="s" dimension="none" exposure="s"/>', '<DerivedVariable name="k" dimension="none" value="2 * x"/>',
     "its value reads the Dynamics' derived variable 'k', which jLEMS does not give a regime ('No such variable')"),
]
#: (A regime's OnStart setting its own y, refused until session 16, now runs: tests/test_regime_onstart.py.)


def test_what_jlems_stops_on_or_nmlhub_cannot_run_is_refused_at_its_line(tmp_path):
    """Each form is an error of validate at the regime's DerivedVariable, saying why (run refuses
    the first in one line, from the same table: nmlhub.lems.support). A regime's derived variable
    reading one declared after it is not warned of (it was: "jLEMS refuses this file")."""
    shutil.copy(DATA / "LEMS_regime_derived.xml", tmp_path)
    types = (DATA / "regime_derived.xml").read_text().replace('value="3 * x"/>', 'value="k"/>', 1)
    for anchor, added, _ in STOPPED:
        assert anchor in types
        types = types.replace(anchor, f"{anchor}\n{added}", 1)
    (tmp_path / "regime_derived.xml").write_text(types)
    validate = _nmlhub("validate", str(tmp_path / "LEMS_regime_derived.xml"))
    assert validate.returncode == 1, validate.stdout + validate.stderr
    # up's d reads q, declared after it: jLEMS runs that in a regime (q's last value), no warning
    assert "defined after it" not in validate.stdout, validate.stdout
    errors = [line for line in validate.stdout.splitlines() if "regime_derived.xml:" in line and "warning:" not in line]
    # the Dynamics reads 'd', which each regime declares: both are named
    for (_, _, reason), count in zip(STOPPED, (2, 1, 1)):
        assert sum(reason in line and "<DerivedVariable name=" in line for line in errors) == count, validate.stdout


def test_recording_a_regimes_own_derived_variable_is_refused_in_one_line(tmp_path):
    """jLEMS cannot record a regime's own variable ("Can't parse pop/[0]/q"): run says so in one
    line, without the name nmlhub gives it (before, the model was refused for the variable)."""
    shutil.copy(DATA / "regime_derived.xml", tmp_path)
    lems = (DATA / "LEMS_regime_derived.xml").read_text().replace("pop[0]/w", "pop[0]/q")
    (tmp_path / "LEMS_regime_derived.xml").write_text(lems)
    run = _nmlhub("run", str(tmp_path / "LEMS_regime_derived.xml"), "--outdir", str(tmp_path / "out"))
    assert run.returncode == 1 and _errors(run) == 1, run.stderr
    assert ("'q' is a DerivedVariable of regime 'up' of regimeDerived, its own, which jLEMS cannot record "
            "either ('Can't parse')") in run.stderr, run.stderr


def test_a_type_named_unit_is_refused_saying_why(tmp_path):
    """A ComponentType named ``unit`` (jLEMS runs it: its stored output) was refused with "cannot
    read an expression"; pylems reads its components as LEMS <Unit> elements, and run says so."""
    assert np.loadtxt(DATA / "reference" / "unit_type.dat")[-1, 1] == 1.0
    run = _nmlhub("run", str(DATA / "LEMS_unit_type.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 1 and _errors(run) == 1, run.stderr
    assert "LEMS_unit_type.xml:8:" in run.stderr and "as LEMS <Unit> elements; jLEMS runs them" in run.stderr, run.stderr


def test_a_path_parameter_left_unset_and_unread_runs_as_in_jlems(tmp_path):
    """A component leaving its type's <Path> unset, which nothing reads (LEMS_path_unset.xml):
    jLEMS 0.14 runs it; nmlhub refused it ("does not set its path parameter"), validate warned."""
    run = _nmlhub("run", str(DATA / "LEMS_path_unset.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    jlems = np.loadtxt(DATA / "reference" / "path_unset.dat")
    np.testing.assert_allclose(np.loadtxt(tmp_path / "path_unset.dat"), jlems, rtol=0, atol=1e-12)
