"""Defects found by running Open Source Brain network, rate and input models from outside the
corpus (issue 16, docs/osb_outside_corpus.md "Session 10: network models"), each shown by a small
model of our own under tests/data/outside_corpus/networks/ with its jLEMS reference (made by
make_references.py there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"
REFERENCE = DATA / "reference"
JLEMS = json.loads((REFERENCE / "dimensions.json").read_text())
REFUSED = sorted(form for form, outcome in JLEMS.items() if not outcome["jlems_runs"])
RUN = sorted(form for form, outcome in JLEMS.items() if outcome["jlems_runs"])


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def test_the_reference_both_runs_and_refuses_these_forms():
    """The forms cover both outcomes, each refusal for its dimensions (not another failure)."""
    assert len(RUN) >= 2 and len(REFUSED) >= 4
    for form in REFUSED:
        assert "imension" in JLEMS[form]["message"], form


@pytest.mark.parametrize("form", REFUSED)
def test_an_equation_jlems_refuses_for_its_dimensions_is_refused_in_one_line(form, tmp_path):
    """nmlhub ran `dR/dt = k` (a dimensionless k: JoglekarEtAl18's rateJoglekarCellDL) as k per
    second, where jLEMS refuses the model; now validate and run refuse each equation jLEMS refuses
    for its dimensions, in one line naming the file, the line and the element."""
    lems = DATA / f"LEMS_{form}.xml"
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if not line.startswith("nmlhub: compil")]
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"nmlhub: error: {lems}:")
    assert f"ComponentType {form}: dimension mismatch" in lines[0]
    assert "<TimeDerivative variable='R'>" in lines[0] or "<StateAssignment variable='R'>" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written
    validate = _nmlhub("validate", str(lems))
    assert validate.returncode != 0 and "dimension mismatch" in validate.stdout + validate.stderr


@pytest.mark.parametrize("form", RUN)
def test_an_equation_jlems_runs_runs_as_jlems(form, tmp_path):
    """The forms jLEMS accepts still run, with jLEMS's result: `-R / 0.5` (jLEMS reads -R as
    0 - R, of any dimension, and the number as seconds) and `(k - R) / tau`."""
    run = _nmlhub("run", str(DATA / f"LEMS_{form}.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / f"{form}.dat"), np.loadtxt(REFERENCE / f"{form}.dat")
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours, jlems, rtol=1e-6, atol=1e-6)
    assert abs(ours[-1, 1] - ours[0, 1]) > 1e-3  # R moves


def _steps_to_reach(interval: float, step: float) -> int:
    """How many additions of ``step`` (a float sum, as an engine accumulates a clock) reach ``interval``."""
    total, steps = 0.0, 0
    while total < interval:
        total += step
        steps += 1
    return steps


def _steps_between_counts(output: np.ndarray) -> set[int]:
    rises = np.flatnonzero(np.diff(output[:, 1]) > 0.5)
    return set(np.diff(rises).tolist())


def test_a_clock_of_whole_steps_counts_as_the_float_sum_in_each_engines_unit(tmp_path):
    """A state counting time (dtsince/dt = 1) that is reset when it reaches an interval of a whole
    number of steps (MejiasEtAl2016's and JoglekarEtAl18's noisyCurrentSource, 1 ms at 0.025 ms):
    the rounding of the sum decides. jLEMS sums seconds (40 x 2.5e-5 s < 1e-3 s: 41 steps), nmlhub
    milliseconds (40 x 0.025 ms >= 1 ms: 40 steps); off the grid (1.01 ms) both take 41 steps and
    agree exactly, the sample of each reset too, which shows the values the condition sets as in
    jLEMS (docs/osb_outside_corpus.md, "Session 10"; nmlhub/neuron/reset_samples.py)."""
    ours = _run_clock("interval_on_grid", tmp_path)
    jlems = np.loadtxt(REFERENCE / "interval_on_grid.dat")
    assert _steps_between_counts(ours) == {_steps_to_reach(1.0, 0.025)} == {40}
    assert _steps_between_counts(jlems) == {_steps_to_reach(1e-3, 2.5e-5)} == {41}
    off_grid = _run_clock("interval_off_grid", tmp_path)
    jlems_off_grid = np.loadtxt(REFERENCE / "interval_off_grid.dat")
    assert _steps_between_counts(off_grid) == _steps_between_counts(jlems_off_grid) == {41}
    reset = np.r_[False, np.diff(jlems_off_grid[:, 1]) > 0.5]
    assert reset.sum() == 48
    np.testing.assert_allclose(off_grid, jlems_off_grid, rtol=0, atol=1e-9)


def _run_clock(name: str, outdir: Path) -> np.ndarray:
    run = _nmlhub("run", str(DATA / f"LEMS_{name}.xml"), "--outdir", str(outdir))
    assert run.returncode == 0, run.stderr
    return np.loadtxt(outdir / f"{name}.dat")


# -- Session 11 (docs/osb_outside_corpus.md "Session 11: network models") --------------------------
REFUSED_S11 = json.loads((REFERENCE / "refused_s11.json").read_text())


def test_a_synapse_reading_its_cells_variable_runs_as_jlems(tmp_path):
    """A dimensionless synapse with a Requirement V (the potential of the baseCellMembPotDL cell it
    is on; PsyNeuLinkShowcase's simpleExponentialSynapse) crashed NEURON (a POINTER never set: a
    segmentation fault); now it reads its cell's V, as jLEMS resolves the Requirement."""
    run = _nmlhub("run", str(DATA / "LEMS_dl_synapse.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "dl_synapse.dat"), np.loadtxt(REFERENCE / "dl_synapse.dat")
    assert ours.shape == jlems.shape
    assert jlems[:, 3].max() > 0.5 and jlems[:, 2].max() > 0.3  # the synapse opens and drives its cell
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-6)


def test_a_synapse_reading_a_variable_its_cell_lacks_is_refused_in_one_line(tmp_path):
    assert REFUSED_S11["LEMS_dl_phantom.xml"] == {"jlems_runs": False}
    run = _nmlhub("run", str(DATA / "LEMS_dl_phantom.xml"), "--outdir", str(tmp_path))
    lines = [line for line in run.stderr.splitlines() if not line.startswith("nmlhub: compil")]
    assert run.returncode == 1 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0] == ("nmlhub: error: 'syn' reads 'Q' of the cells of population 'post' (component 'quiet'), "
                        "which have no variable 'Q' nmlhub can link")
    validate = _nmlhub("validate", str(DATA / "LEMS_dl_phantom.xml"))
    assert validate.returncode != 0 and "network net: 'syn' reads 'Q' of the cells of population 'post'" in (
        validate.stdout + validate.stderr)
    assert _nmlhub("validate", str(DATA / "LEMS_dl_synapse.xml")).returncode == 0


def test_a_derived_variable_written_as_its_state_is_that_state(tmp_path):
    """``<DerivedVariable name="x" value="x"/>`` beside the StateVariable x and its TimeDerivative
    (TheVirtualBrainShowcase's TVB_LEMS types): nrnivmodl refused the mechanism ("Multiple
    declaration of x"); now it is the state, with jLEMS's result."""
    run = _nmlhub("run", str(DATA / "LEMS_state_named_derived.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "state_named_derived.dat"), np.loadtxt(REFERENCE / "state_named_derived.dat")
    assert ours.shape == jlems.shape and np.ptp(jlems[:, 1]) > 0.1
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-6)


def test_a_derived_variable_computing_a_states_name_otherwise_is_refused_in_one_line(tmp_path):
    assert REFUSED_S11["LEMS_state_named_twice.xml"] == {"jlems_runs": False}
    lems = DATA / "LEMS_state_named_twice.xml"
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    lines = [line for line in run.stderr.splitlines() if not line.startswith("nmlhub: compil")]
    assert run.returncode == 1 and len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"nmlhub: error: {lems}:")
    assert "'x' is both a StateVariable with a TimeDerivative and a DerivedVariable computed from other" in lines[0]
    assert "nrnivmodl" not in run.stderr


def test_onstart_reads_a_derived_variable_with_the_state_it_has_just_set(tmp_path):
    """OnStart ``V = V0`` then ``W = Winf`` (Winf a derived variable of V; BrianShowcase's
    Morris-Lecar cell sets W = Wss after V = VL): jLEMS evaluates Winf with V = V0; nmlhub used V
    before OnStart (0), silently starting W at Winf(0) = 0.5 (the cell's spikes 0.46 ms late).
    States compared; the recorded Winf is jLEMS's of the previous sample (computed before the
    step's update), compared in the docs."""
    run = _nmlhub("run", str(DATA / "LEMS_onstart_derived.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "onstart_derived.dat"), np.loadtxt(REFERENCE / "onstart_derived.dat")
    assert ours.shape == jlems.shape
    assert jlems[0, 2] == pytest.approx(1 / (1 + np.exp(2)), abs=1e-7)  # Winf at V0 = -2
    np.testing.assert_allclose(ours[:, :3], jlems[:, :3], rtol=0, atol=1e-6)


# -- Session 12 (docs/osb_outside_corpus.md "Session 12: network models") --------------------------


def test_a_derived_parameter_in_place_of_a_base_types_parameter_runs_as_jlems(tmp_path):
    """A type computing the capacitance its base type declares as a Parameter (c302's cellW2D:
    ``<DerivedParameter name="C" value="tau*COND_SCALE"/>`` over baseCellMembPotCap's C) was
    refused ("does not set its parameter 'C'"), where jLEMS runs it; now the derived value
    takes the parameter's place: v rises to 2 mV with tau = C / G = 10 ms, as in jLEMS and as
    the analytic solution of the 2 pA pulse from 5 to 25 ms."""
    lems = DATA / "LEMS_derived_capacitance.xml"
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "derived_capacitance.dat"), np.loadtxt(REFERENCE / "derived_capacitance.dat")
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-8)
    t = ours[:, 0]
    during = (t > 5e-3) & (t <= 25e-3)
    analytic = 2e-3 * (1 - np.exp(-(t[during] - 5e-3) / 10e-3))
    np.testing.assert_allclose(ours[during, 1], analytic, rtol=0, atol=2e-6)  # explicit step: O(dt)
    validate = _nmlhub("validate", str(lems))
    assert validate.returncode == 0 and "does not set its parameter" not in validate.stdout + validate.stderr


def test_a_cells_v_without_onstart_starts_at_zero_as_in_jlems(tmp_path):
    """A LEMS cell type whose StateVariable v has no OnStart starts at 0 in jLEMS (as every LEMS
    state does); nmlhub started it at NEURON's -65 mV, silently (v relaxed from -65 mV). Now 0:
    equal to jLEMS and to the analytic solution of the 2 pA pulse (tau 10 ms, to 2 mV)."""
    run = _nmlhub("run", str(DATA / "LEMS_no_onstart.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "no_onstart.dat"), np.loadtxt(REFERENCE / "no_onstart.dat")
    assert ours.shape == jlems.shape and jlems[0, 1] == 0.0
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-8)
    t = ours[:, 0]
    during = (t > 5e-3) & (t <= 25e-3)
    analytic = 2e-3 * (1 - np.exp(-(t[during] - 5e-3) / 10e-3))
    np.testing.assert_allclose(ours[during, 1], analytic, rtol=0, atol=2e-6)


def test_a_regime_components_unexposed_state_is_recorded_as_it_is_as_in_jlems(tmp_path):
    """jLEMS records the exposed states of a component with regimes a step late (the copy its
    own dynamics make before its regime advances) and a state without an Exposure as it is
    (NESTShowcase's NESTML2LEMS cell: its V and lastSpikeTime). nmlhub recorded every state of
    such a component a step late: the unexposed C one sample behind jLEMS, its regime's entry
    value (-1) one sample late. Now A (exposed) is a step late and C is not, as in jLEMS."""
    run = _nmlhub("run", str(DATA / "LEMS_regime_states.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "regime_states.dat"), np.loadtxt(REFERENCE / "regime_states.dat")
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-12)
    steps = np.arange(len(ours))
    np.testing.assert_allclose(ours[:4, 1], 0.1 * np.maximum(steps[:4] - 1, 0), atol=1e-12)  # A: late
    np.testing.assert_allclose(ours[:4, 2], 0.1 * steps[:4], atol=1e-12)  # C: as it is
    assert ours[4, 2] == -1.0  # entering 'hold' at the step A reaches 0.4


def test_an_on_event_inside_a_regime_runs_as_in_jlems(tmp_path):
    """jLEMS's Regime reads an <OnEvent> (it runs LEMS_regime_on_event.xml: its reference);
    pylems does not, and nmlhub refused the model. Now nmlhub reads it and runs it."""
    run = _nmlhub("run", str(DATA / "LEMS_regime_on_event.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "regime_on_event.dat"), np.loadtxt(REFERENCE / "regime_on_event.dat")
    assert ours.shape == jlems.shape == (11, 2)
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-12)


def _regime_events_against_jlems(ours: np.ndarray) -> None:
    jlems = np.loadtxt(REFERENCE / "regime_events.dat")
    assert ours.shape == jlems.shape == (501, 13)
    # the events: each unit changes regime by them, and receives them in both regimes
    assert jlems[-1, 3] >= 4 and jlems[-1, 4] > 0 and jlems[-1, 8] >= 3 and jlems[-1, 9] > 0
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-9)


def test_on_events_of_two_regimes_run_as_in_jlems(tmp_path):
    """Two regimes each with their own <OnEvent> (regime_events.xml), events arriving in both,
    one regime left by an event's transition and the other by a condition: as in jLEMS, an event
    runs the active regime's handler only, its assignments before its transition (whatever their
    order in the file) and so before the entered regime's OnEntry; the <OnEvent> of the Dynamics
    beside the regimes never runs (jLEMS ignores it; validate says so); the states only events
    set are recorded at the event's sample, not a step late as the integrated ones; y, integrated
    and set both by an event and by the entry a condition makes, shows each at jLEMS's sample."""
    validate = _nmlhub("validate", str(DATA / "LEMS_regime_events.xml"))
    assert "<OnEvent port='in'> of a Dynamics with regimes never runs in jLEMS" in validate.stdout
    # (its events go into the cells themselves, attaching nothing: jLEMS runs it, no Attachments needed)
    assert "declares no <Attachments>" not in validate.stdout + validate.stderr
    run = _nmlhub("run", str(DATA / "LEMS_regime_events.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    _regime_events_against_jlems(np.loadtxt(tmp_path / "regime_events.dat"))


def test_on_events_of_two_regimes_on_two_ranks(tmp_path):
    """The same on 2 MPI ranks (the source and the two units spread over them)."""
    run = _nmlhub("run", str(DATA / "LEMS_regime_events.xml"), "-n", "2", "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    _regime_events_against_jlems(np.loadtxt(tmp_path / "regime_events.dat"))


def test_a_regimes_own_state_variable_and_onstart_run_as_in_jlems(tmp_path):
    """jLEMS's Regime reads a StateVariable and an OnStart (LEMS_regime_variables.xml: y the
    regime's own, integrated there, started by the regime's OnStart, read by its condition; a
    regime's OnStart runs before the Dynamics' one); pylems does not, and nmlhub refused them
    ("<StateVariable> inside <Regime> is not supported"). Now they run, equal to jLEMS."""
    run = _nmlhub("run", str(DATA / "LEMS_regime_variables.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "regime_variables.dat"), np.loadtxt(REFERENCE / "regime_variables.dat")
    assert ours.shape == jlems.shape == (17, 3) and jlems[0, 2] == 3 and jlems[-1, 1] == 13
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-12)


@pytest.mark.parametrize("declaration, reason", [
    ('<StateVariable name="x" dimension="none"/>', "the Dynamics declares 'x' too"),
])
def test_a_regime_declaration_nmlhub_cannot_run_is_refused_in_one_line(tmp_path, declaration, reason):
    """A regime's StateVariable the Dynamics declares too (jLEMS: 'Duplicate name') is refused in
    one line at the element (a regime's DerivedVariable runs: tests/test_regime_derived.py)."""
    text = (DATA / "LEMS_regime_variables.xml").read_text()
    anchor = '<TimeDerivative variable="y" value="rate"/>'
    lems = tmp_path / "LEMS_regime_variables.xml"
    lems.write_text(text.replace(anchor, f"{declaration}\n                {anchor}", 1))
    line = next(k for k, row in enumerate(lems.read_text().splitlines(), 1) if declaration in row)
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path / "out"))
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert f"LEMS_regime_variables.xml:{line}:" in run.stderr and reason in run.stderr, run.stderr


def test_a_lems_model_of_its_own_types_named_as_core_types_gets_no_duplicate_warning(tmp_path):
    """A LEMS file that includes no NeuroML2 core type file and defines its own spikeGenerator,
    OutputFile, OutputColumn and Simulation (NESTShowcase's NESTML2LEMS): jLEMS runs it (its
    reference), yet `validate` warned four times that "jNeuroML refuses the file ('Duplicate name
    for ComponentType')". Now the warning is given only where jNeuroML reads the core type too
    (a core file the LEMS files include, or a NeuroML document); the run equals jLEMS."""
    validate = _nmlhub("validate", str(DATA / "LEMS_own_core_names.xml"))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "has the name of a NeuroML2 core type" not in validate.stdout + validate.stderr
    run = _nmlhub("run", str(DATA / "LEMS_own_core_names.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours, jlems = np.loadtxt(tmp_path / "own_core_names.dat"), np.loadtxt(REFERENCE / "own_core_names.dat")
    np.testing.assert_allclose(ours, jlems, rtol=0, atol=1e-12)


def test_a_connection_naming_another_population_is_refused_saying_what_each_engine_does(tmp_path):
    """NESTShowcase's NESTML2LEMS/simulation3.xml writes a connection to '../p1[0]' in a
    projection onto 'p2'. jLEMS connects the cell the path names (the reference: a[0] moves, b[0]
    stays at rest); jNeuroML's NEURON export connects the projection's population. nmlhub
    refuses such a file, now saying what each engine does instead of only that they differ."""
    jlems = np.loadtxt(REFERENCE / "post_population_mismatch.dat")
    assert np.ptp(jlems[:, 1]) > 0.01 and np.ptp(jlems[:, 2]) == 0.0
    run = _nmlhub("run", str(DATA / "LEMS_post_population_mismatch.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1
    assert ("projection proj connection 0: post cell refers to population 'a', not the projection's 'b': "
            "jLEMS connects the cell the path names, jNeuroML's NEURON export a cell of 'b'; write the "
            "same population in both") in run.stderr
    assert not list(tmp_path.iterdir())
