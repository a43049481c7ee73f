"""The samples at which recorded quantities show, and what a type with regimes runs (issue 16
item 5, session 15; tests/conformance/event_timing.md, "record_timing").

- An input on jLEMS's clock (pulse, sine and ramp generators, their dimensionless forms, voltage
  clamps) tests its conditions in its BREAKPOINT with the time at the end of the step it drives,
  so NEURON's sample of that step already shows the current, as jLEMS's does; nmlhub took it from
  the next sample (as for values set by handlers after the step) and showed every change a sample
  early while the cell's v was identical; its sample 0 showed the first step's current where
  jLEMS's shows the initial state.
- A parent's DerivedVariable selecting a state its child's condition sets: jLEMS advances the
  child first, so the parent's sample shows the value set in the step; nmlhub showed it a sample
  late.
- The Dynamics of a type with regimes: its own TimeDerivative was dropped (pylems's flattening
  clears it), and the Transition of its OnCondition was performed, which jLEMS never does.
- A regime's handler reading a variable the regime does not hold: jLEMS stops; validate and run
  refuse it.

Reference: jLEMS's own output of tests/data/record_timing/LEMS_record_timing.xml (made by
make_references.py there), compared sample by sample, serially and on 2 ranks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data" / "record_timing"
COLUMNS = ["t", "v0", "i0", "v1", "i1", "v2", "i2", "v3", "i3", "v4", "i4", "v5", "i5",
           "U0", "I0", "U1", "I1", "U2", "I2",
           "cx", "xs", "s", "ss", "d", "ds", "y", "mix", "wtsince", "wx", "n"]
#: columns nmlhub does not give at jLEMS's samples, said in event_timing.md "record_timing": the
#: child's derived d (jLEMS: of the step's start) and what reads it or the parent's y (which
#: jLEMS integrates from the child's level as its condition left it in the step: the x it also
#: reads is jLEMS's since session 16, tests/test_child_order.py); 'mix' and y are warned of
LEFT = {"d", "ds", "y", "mix"}
WARNED = "'mix' is recorded one sample later"
Y_WARNED = "LEMS_record_timing.xml:91: <TimeDerivative>: warning: 'y' is one step behind jLEMS"
TRANSITION = ("LEMS_record_timing.xml:112: <Transition>: warning: <Transition regime='down'> in an "
              "<OnCondition> of a Dynamics with regimes is never performed by jLEMS")


def _run(lems: Path, outdir: Path, *options: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(outdir), *options],
                         capture_output=True, text=True, timeout=600)
    return run


def _jlems() -> np.ndarray:
    return np.loadtxt(DATA / "reference" / "record_timing.dat")


def _differ(ours: np.ndarray, jlems: np.ndarray, name: str) -> np.ndarray:
    """Samples differing beyond the digits jLEMS writes (v: 1e-8 V, as tests/test_reset_samples.py)."""
    if name.startswith("v"):
        return np.flatnonzero(np.abs(ours - jlems) > 1e-8)
    scale = np.max(np.abs(jlems)) or 1.0
    return np.flatnonzero(np.abs(ours - jlems) > 1e-7 * scale)


def test_the_reference_changes_the_recorded_values_at_known_samples():
    """The model does what the tests need: each current starts at its delay's sample (0.1 ms:
    sample 4; 0.1125 ms: sample 5, the end of the step it first drives) where its cell's membrane
    leaves rest; the child's level turns every 0.1 ms; the switcher resets its clock five times
    and its x (a regime's state, recorded a step late by jLEMS) never falls."""
    jlems = _jlems()
    column = lambda name: jlems[:, COLUMNS.index(name)]  # noqa: E731
    for current, membrane, first in [("i0", "v0", 4), ("i1", "v1", 5), ("I0", "U0", 4)]:
        assert np.flatnonzero(column(current))[0] == first
        assert np.flatnonzero(np.diff(column(membrane)))[0] + 1 == first
    assert list(np.flatnonzero(np.diff(column("s"))) + 1) == [4, 8, 12, 16, 20]
    assert column("n")[-1] == 5 and list(np.flatnonzero(column("wtsince")[1:] == 0) + 1) == [4, 8, 12, 16, 20]
    assert np.all(np.diff(column("wx")[1:]) > 0)


@pytest.mark.parametrize("ranks", [1, 2])
def test_every_column_shows_at_jlems_sample(tmp_path, ranks):
    run = _run(DATA / "LEMS_record_timing.xml", tmp_path, *(["-n", "2"] if ranks > 1 else []))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "record_timing.dat"), _jlems()
    assert ours.shape == jlems.shape
    for k, name in enumerate(COLUMNS):
        if name in LEFT:
            continue
        # (i5's sample 0: jLEMS's initial 0, where NEURON's initialisation evaluates the triple
        # clamp's current of the first step: reset_samples.with_initial_sample)
        differ = _differ(ours[:, k], jlems[:, k], name)
        assert differ.size == 0, f"{name}: {differ.size} samples differ, first at sample {differ[:1]}"
    assert WARNED in run.stderr and "'ss' is recorded" not in run.stderr and "'tick_d'" not in run.stderr
    assert Y_WARNED in run.stderr
    assert TRANSITION in run.stderr


def test_validate_warns_of_the_transition_it_does_not_perform():
    from nmlhub.model.validate import validate

    found = [str(p) for p in validate(DATA / "LEMS_record_timing.xml")]
    assert any(TRANSITION in line for line in found)
    assert not [line for line in found if ": error:" in line or "regime neither" in line]


def test_a_regime_reading_a_variable_it_does_not_hold_is_refused(tmp_path):
    """LEMS_regime_reads.xml: jLEMS evaluates a regime's handlers over the regime's own variables
    and stops ("No such variable: z"); validate gives an error at each such handler of a regime
    the component can enter, run refuses in one line. Once "up" reads x alone and no longer enters
    "down", "down"'s handler is never evaluated (jLEMS runs such a file) and the model is valid."""
    from nmlhub.model.validate import validate

    lems = DATA / "LEMS_regime_reads.xml"
    errors = [str(p) for p in validate(lems) if p.severity == "error"]
    assert errors == [
        f"{lems}:21: <OnCondition>: OnCondition of regime 'up' reads 'z', which the regime neither integrates nor "
        "sets: jLEMS stops ('No such variable: z'; in type flipper)",
        f"{lems}:27: <OnCondition>: OnCondition of regime 'down' reads 'x', which the regime neither integrates nor "
        "sets: jLEMS stops ('No such variable: x'; in type flipper)"]
    run = _run(lems, tmp_path)
    assert run.returncode != 0 and run.stderr.strip().splitlines() == [f"nmlhub: error: {errors[0]} (and 1 more; "
                                                                       "nmlhub validate lists them)"]
    unreached = tmp_path / "LEMS_unreached.xml"
    unreached.write_text(lems.read_text().replace("x .gt. z + 0.0001", "x .gt. 0.0001")
                         .replace('<Transition regime="down"/>', ""))
    assert not [p for p in validate(unreached) if p.severity == "error"]
