"""Current inputs with a start and a stop act at jLEMS's step (issue 16, Ex25 ``c0_0``).

jLEMS advances an input (a child of its cell) before the cell, with its clock at the end of the
step: an input whose condition ``t .geq. delay`` holds at the step's end drives that whole step.
pyNeuroML's NEURON export evaluates the same condition in its ``BREAKPOINT`` at the middle of the
step (NEURON's fixed step computes currents at t + dt/2), so it starts and stops every input
whose delay lies on the step grid, or more than half a step past it, one step after jLEMS
(tests/conformance/event_timing.md, "Pulse clock: jLEMS and the NEURON export"). nmlhub follows
jLEMS by default; ``input_clock="neuron"`` (``--input-clock neuron``) follows the export.

References: jLEMS's and the export's own traces (``tests/data/pulse_clock/*.npz``, made by
``tests/data/pulse_clock/make_references.py``), and forward/backward Euler steps computed here
from NeuroML's definitions of the Hodgkin-Huxley rates.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, requires_corpus
from nmlhub.errors import NmlhubError
from nmlhub.model import load
from nmlhub.neuron.simulation import NeuronSimulation

DATA = Path(__file__).resolve().parent / "data" / "pulse_clock"
DT_US = 5
#: the inputs of pulse_clock.net.nml, cell by cell: (name, delay in us); each lasts 1000 us
INPUTS = [("on_grid", 1000), ("early", 1002), ("late", 1004), ("sine", 1004), ("ramp", 1004), ("clamp", 1004)]
DURATION_US = 1000
#: inputs whose v rises while they act and only then (the sine also pulls v down)
RISING = ("on_grid", "early", "late", "ramp", "clamp")
#: one unit of the last digit both files keep of v near -65 mV (jLEMS 8 significant digits,
#: the export 7 with an exponent: 1e-8 V)
DIGITS_V = 1e-8


def _stored(name: str) -> np.ndarray:
    return np.load(DATA / f"{name}.npz")["traces"]


def _nmlhub(lems: str, **options) -> np.ndarray:
    """nmlhub's table of the LEMS file's OutputFile: time (s), then v (V) of each cell."""
    results = NeuronSimulation(load(DATA / lems), **options).run()
    columns = [np.asarray(trace) for trace in results.traces.values()]
    return np.column_stack([np.asarray(results.time_ms) * 1e-3] + columns)


def _first_moved(v: np.ndarray) -> int:
    """The first sample at which v has left its initial value: the end of the input's first step."""
    return int(np.flatnonzero(v != v[0])[0])


def _last_rise(v: np.ndarray) -> int:
    """The sample ending the last step in which v rose: the end of the input's last step."""
    return int(np.flatnonzero(np.diff(v) > 0)[-1]) + 1


def _jlems_steps(delay_us: int) -> tuple[int, int]:
    """First and last sample ending a step that jLEMS's input drives: the steps whose end time
    lies in [delay, delay + duration)."""
    return -(-delay_us // DT_US), -(-(delay_us + DURATION_US) // DT_US) - 1


def _export_steps(delay_us: int) -> tuple[int, int]:
    """The same for the export: the steps whose middle lies in [delay, delay + duration)."""
    def first_end(start_us: int) -> int:
        return -(-(2 * start_us - DT_US) // (2 * DT_US)) + 1
    return first_end(delay_us), first_end(delay_us + DURATION_US) - 1


def test_the_engines_clocks_as_stored():
    """The stored traces show each engine's rule: jLEMS's inputs act from the step ending at or
    after the delay, the export's from the step whose middle is at or after it."""
    jlems, export = _stored("jlems_pulse_clock"), _stored("export_pulse_clock")
    for k, (name, delay_us) in enumerate(INPUTS, start=1):
        for table, rule in ((jlems, _jlems_steps), (export, _export_steps)):
            first, last = rule(delay_us)
            assert _first_moved(table[:, k]) == first, name
            if name in RISING:
                assert _last_rise(table[:, k]) == last, name
    assert [_jlems_steps(d)[0] - _export_steps(d)[0] for _, d in INPUTS[:3]] == [-1, 0, -1]


def test_one_compartment_inputs_act_at_jlems_step():
    """nmlhub's one-compartment cells give jLEMS's samples (its digits), every input type."""
    jlems = _stored("jlems_pulse_clock")
    ours = _nmlhub("LEMS_pulse_clock.xml")
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours[:, 0], jlems[:, 0], rtol=0, atol=1e-12)
    for k, (name, delay_us) in enumerate(INPUTS, start=1):
        assert np.abs(ours[:, k] - jlems[:, k]).max() < DIGITS_V, name
        assert _first_moved(ours[:, k]) == _jlems_steps(delay_us)[0], name


def test_two_compartments_act_at_jlems_step_one_step_before_the_export():
    """On a two-compartment cell (jLEMS refuses it) nmlhub keeps jLEMS's clock; its pulses then
    give the export's samples exactly one step earlier when the delay is on the grid or more
    than half a step past it, and at the same samples when it is less than half a step past."""
    export = _stored("export_pulse_clock_2c")
    ours = _nmlhub("LEMS_pulse_clock_2c.xml")
    for k, (name, delay_us) in enumerate(INPUTS, start=1):
        assert _first_moved(ours[:, k]) == _jlems_steps(delay_us)[0], name
        if name in RISING:
            assert _last_rise(ours[:, k]) == _jlems_steps(delay_us)[1], name
    for k, (name, delay_us) in enumerate(INPUTS[:3], start=1):
        shift = _export_steps(delay_us)[0] - _jlems_steps(delay_us)[0]
        assert shift == (0 if name == "early" else 1)
        ahead = ours[: len(ours) - shift, k]
        assert np.abs(ahead - export[shift:, k]).max() < DIGITS_V, name
        assert np.abs(ours[:, k] - export[:, k]).max() > 100 * DIGITS_V or shift == 0, name


def test_input_clock_neuron_gives_the_exports_samples():
    """``input_clock="neuron"``: every input acts at the export's steps; on two compartments the
    pulses, the sine and the ramp give the export's samples (its digits; the sine and the ramp
    are read at the middle of the step too); the voltage clamp acts at the export's steps, its
    current explicit in v where the export's is implicit."""
    export = _stored("export_pulse_clock_2c")
    ours = _nmlhub("LEMS_pulse_clock_2c.xml", input_clock="neuron")
    for k, (name, delay_us) in enumerate(INPUTS, start=1):
        assert _first_moved(ours[:, k]) == _export_steps(delay_us)[0], name
        if name in RISING:
            assert _last_rise(ours[:, k]) == _export_steps(delay_us)[1], name
        if name != "clamp":
            assert np.abs(ours[:, k] - export[:, k]).max() < DIGITS_V, name
    one = _nmlhub("LEMS_pulse_clock.xml", input_clock="neuron")
    assert [_first_moved(one[:, k]) for k in range(1, 7)] == [_export_steps(d)[0] for _, d in INPUTS]


def test_unknown_input_clock_is_refused_in_one_line():
    with pytest.raises(NmlhubError, match="unknown input clock 'export'; clocks: jlems, neuron"):
        NeuronSimulation(load(DATA / "LEMS_pulse_clock.xml"), input_clock="export")


@requires_corpus
@pytest.mark.corpus
def test_ex25_with_the_exports_input_clock_gives_the_mep(tmp_path):
    """NeuroML2-core Ex25 with ``--input-clock neuron``: cell 0's 4 soma and 12 + 12 dendrite
    spikes are the .mep's (made by the export) to the last digit; with jLEMS's clock (the
    default) each is one step earlier (tests/test_implicit_currents.py). About 10 s."""
    from nmlhub.omv.observables import observed_spike_times
    from nmlhub.omv.runner import output_path
    from nmlhub.omv.spec import read_omt

    test = read_omt(CORPUS / "NeuroML2-core/LEMSexamples/test/.test.ex25.jnmlnrn.omt")
    command = [sys.executable, "-m", "nmlhub", "run", str(test.target), "--outdir", str(tmp_path), "--no-progress",
               "--input-clock", "neuron"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    for experiment in test.experiments[:3]:  # c0_0, c0_2, c0_3: cell 0, soma and dendrites
        path = output_path(experiment.observation.path, test.target, tmp_path)
        found = observed_spike_times(replace(experiment.observation, path=path))
        assert len(found) == len(experiment.expected)
        np.testing.assert_allclose(found, experiment.expected, rtol=0, atol=1e-9)


def _hh_rates(v_mv: float) -> dict[str, float]:
    """Steady states of Ex25's gates at v (mV), from NeuroML's rate types (hh_soma_lag.rates)."""
    return {gate: alpha / (alpha + beta) for gate, (alpha, beta) in _hh_soma_lag().rates(v_mv).items()}


#: Ex25's membrane (mS/cm2, mV, uF/cm2)
G_LEAK, E_LEAK, G_NA, E_NA, G_K, E_K, CM = 0.3, -54.3, 120.0, 50.0, 36.0, -77.0, 1.0


def test_export_first_step_is_the_leak_alone():
    """The export's first step from -65 mV (0.016 mV, 100 times jLEMS's) is a backward Euler step
    of the leak alone: its channel files compute the gates' fcond in rates() before INITIAL sets
    the gates, so NEURON's first current sees the sodium and potassium gates closed."""
    dt_ms = DT_US * 1e-3
    v0 = -65.0
    leak_only = dt_ms * G_LEAK * (E_LEAK - v0) / (CM + dt_ms * G_LEAK)
    export = _stored("export_pulse_clock_hh")
    assert abs((export[1, 1] - export[0, 1]) * 1e3 - leak_only) < 1e-5  # mV: the file's digits
    gates = _hh_rates(v0)
    current = (G_LEAK * (E_LEAK - v0) + G_NA * gates["m"] ** 3 * gates["h"] * (E_NA - v0)
               + G_K * gates["n"] ** 4 * (E_K - v0))
    jlems = _stored("jlems_pulse_clock_hh")
    assert abs((jlems[1, 1] - jlems[0, 1]) * 1e3 - dt_ms * current / CM) < 1e-5  # mV: the file's digits
    # once its states() have recomputed fcond the jump does not come back
    assert abs(export[2, 1] - export[1, 1]) < abs(export[1, 1] - export[0, 1]) / 100


def test_hh_soma_pulse_at_jlems_step():
    """Ex25's soma alone: nmlhub's pulse acts from the step ending at 1 ms, as jLEMS's. (Until
    then nmlhub's v is jLEMS's within 1e-7 V; the two part slowly during the pulse, 0.067 mV by
    3 ms: not the input's clock but jLEMS's gates reading v two steps late, see
    test_hh_soma_lag_jlems_gates_read_v_two_steps_late.)"""
    jlems = _stored("jlems_pulse_clock_hh")
    ours = _nmlhub("LEMS_pulse_clock_hh.xml")
    start = _jlems_steps(1000)[0]
    assert ours.shape[0] == jlems.shape[0]
    assert np.abs(ours[: start + 1, 1] - jlems[: start + 1, 1]).max() < 10 * DIGITS_V
    # the pulse's first step: the increment of v jumps at the sample ending the step at 1 ms
    jumps = [int(np.argmax(np.diff(np.diff(table[:, 1])))) + 2 for table in (jlems, ours)]
    assert jumps == [start] * 2


def _crossing(v: np.ndarray, threshold: float = -0.020) -> int:
    """The first sample above the spike threshold (V)."""
    return int(np.flatnonzero(v > threshold)[0])


def test_ex25_zero_delay_the_exports_synapse_current_is_a_step_late():
    """Ex25's connection without delay on its own (ex25_zero_delay.net.nml: Ex25's soma spikes
    once and drives Ex25's AMPA synapse on a passive cell at rest). In every engine the target's
    v first leaves -65 mV a fixed number of samples after the source crosses -20 mV; nmlhub's
    number is jLEMS's, the export's one more. The cause is the export's synapse: its current is
    computed in its rates(), which only its DERIVATIVE block calls (its BREAKPOINT holds only the
    SOLVE), so the current NEURON reads in a step is the one of the step before: jLEMS's and
    nmlhub's cell moves in the sample where the synapse's recorded g first is above 0, the
    export's one sample later (tests/conformance/event_timing.md, "ex25_zero_delay")."""
    tables = {"jlems": _stored("jlems_ex25_zero_delay"), "export": _stored("export_ex25_zero_delay"),
              "nmlhub": _nmlhub("LEMS_ex25_zero_delay.xml")}
    lag = {name: _first_moved(t[:, 2]) - _crossing(t[:, 1]) for name, t in tables.items()}
    assert lag["nmlhub"] == lag["jlems"] and lag["export"] == lag["jlems"] + 1, lag
    after_g = {name: _first_moved(t[:, 2]) - int(np.flatnonzero(t[:, 3] > 0)[0]) for name, t in tables.items()}
    assert after_g == {"jlems": 0, "nmlhub": 0, "export": 1}, after_g


@pytest.mark.parametrize("name", ["jlems_pulse_clock", "export_pulse_clock", "export_pulse_clock_2c",
                                  "jlems_pulse_clock_hh", "export_pulse_clock_hh",
                                  "jlems_ex25_zero_delay", "export_ex25_zero_delay",
                                  "jlems_pulse_clock_hh_rates", "jlems_gate_forms"])
def test_references_record_their_jnml(name):
    assert "jNeuroML v" in str(np.load(DATA / f"{name}.npz")["jnml_version"])


def _hh_soma_lag():
    """tests/data/pulse_clock/hh_soma_lag.py: forward Euler of the HH soma, gates reading v late."""
    spec = importlib.util.spec_from_file_location("hh_soma_lag", DATA / "hh_soma_lag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hh_soma_lag_jlems_gates_read_v_two_steps_late():
    """Ex25's HH soma alone (pulse_clock_hh.net.nml, v and the three gates at every sample): an
    independent forward Euler computation from NeuroML's rate definitions gives nmlhub's samples
    when the gates step from v of the same sample (forward Euler on the whole system), and
    jLEMS's stored samples, to its 8 digits, only when the gate step from sample n reads v of
    sample n - 2; every other order is more than 1e-5 V away (event_timing.md, "hh_soma_lag")."""
    lag = _hh_soma_lag()
    jlems = _stored("jlems_pulse_clock_hh")
    ours = _nmlhub("LEMS_pulse_clock_hh.xml")
    away = {}
    for steps in range(4):
        computed = lag.forward_euler(steps)
        away[steps] = {name: (np.abs(computed[:, 1] - table[:, 1]).max(),
                              np.abs(computed[:, 2:] - table[:, 2:]).max())
                       for name, table in (("jlems", jlems), ("nmlhub", ours))}
    assert away[0]["nmlhub"][0] < 1e-12 and away[0]["nmlhub"][1] < 1e-12, away[0]
    assert away[2]["jlems"][0] < 10 * DIGITS_V and away[2]["jlems"][1] < 1e-7, away[2]
    for steps in (0, 1, 3):
        assert away[steps]["jlems"][0] > 1e-5, away[steps]
    for steps in (1, 2, 3):
        assert away[steps]["nmlhub"][0] > 1e-5, away[steps]


def test_hh_soma_lag_gives_the_two_samples_of_ex25_zero_delays_spike():
    """The source soma of ex25_zero_delay.net.nml crosses -20 mV at jLEMS's sample 319 and
    nmlhub's 317: the same computation gives 319 with jLEMS's two-step lag of v in the gates
    (the whole spike within 1e-8 V of jLEMS's file) and 317 without it."""
    lag = _hh_soma_lag()
    jlems = _stored("jlems_ex25_zero_delay")[:, 1]
    ours = _nmlhub("LEMS_ex25_zero_delay.xml")[:, 1]
    lagged = lag.forward_euler(2, "ex25_zero_delay")[:, 1]
    in_step = lag.forward_euler(0, "ex25_zero_delay")[:, 1]
    assert (_crossing(jlems), _crossing(lagged)) == (319, 319)
    assert (_crossing(ours), _crossing(in_step)) == (317, 317)
    assert np.abs(lagged - jlems).max() < 1e-8
    assert np.abs(in_step - ours).max() < 1e-9


def test_hh_soma_lag_jlems_rates_read_v_two_steps_before_the_current():
    """Where jLEMS's lag sits (LEMS_pulse_clock_hh_rates.xml: the same run with m's two rates and
    the sodium density's current recorded). The values recorded at sample n + 1 are those of the
    step from sample n: the density's current is the one of m, h and v of sample n (no lag), the
    gate steps with the rates recorded at n + 1, and these are NeuroML's rates at v of sample
    n - 2: the rates read v two steps before the current does."""
    lag = _hh_soma_lag()
    probe = _stored("jlems_pulse_clock_hh_rates")
    gates = _stored("jlems_pulse_clock_hh")
    assert np.array_equal(probe[:, :3], gates[:, :3])  # the same run: h comes from the other file
    v_mv, m, h = probe[:, 1] * 1e3, probe[:, 2], gates[:, 3]
    alpha, beta = probe[:, 3] * 1e-3, probe[:, 4] * 1e-3  # per ms
    i_na = probe[:, 5]
    steps = np.arange(4, len(v_mv) - 3)  # from sample n to n + 1, once the lag is past v's start
    neuroml = np.array([lag.rates(v)["m"] for v in v_mv])

    def rates_off(older: int) -> float:
        return np.abs(neuroml[steps - older, 0] / alpha[steps + 1] - 1).max()

    def gate_step_off(shift: int) -> float:
        a, b = alpha[steps + shift], beta[steps + shift]
        return np.abs(m[steps] + lag.DT_MS * (a * (1 - m[steps]) - b * m[steps]) - m[steps + 1]).max()

    def current_off(older: int) -> float:
        n = steps - older
        expected = 1200.0 * m[n] ** 3 * h[n] * (0.05 - probe[n, 1])  # S/m2 and V: A/m2
        return np.abs(expected / i_na[steps + 1] - 1).max()

    assert rates_off(2) < 2e-6 and min(rates_off(k) for k in (0, 1, 3)) > 1e-3
    assert gate_step_off(1) < 5e-8 and min(gate_step_off(k) for k in (0, 2)) > 1e-6
    assert current_off(0) < 2e-6 and min(current_off(k) for k in (-1, 1)) > 1e-3


def _gate_forms_lag():
    """tests/data/pulse_clock/gate_forms_lag.py: the same computation, one cell per gate form."""
    spec = importlib.util.spec_from_file_location("gate_forms_lag", DATA / "gate_forms_lag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_gate_form_reads_v_two_steps_late_in_jlems_and_in_the_step_in_nmlhub():
    """gate_forms.net.nml: one one-compartment cell per form of gate (gateHHrates, gateHHtauInf,
    gateHHratesTauInf, gateHHratesInf, gateHHratesTau, gateHHInstantaneous, gateFractional, gateKS
    with HH-rate, vHalf and tau/inf transitions). An independent computation from NeuroML's
    definitions gives jLEMS's stored samples (its digits) only when the gate reads v two steps
    old (lag 2; every other lag 0..3 is more than 1e-6 V away), and nmlhub's when it reads v of
    the step (lag 0, within 1e-12 V). Kinetic schemes: jLEMS steps the occupancies by the exact
    solution at the step's rates (``exp``), nmlhub by backward Euler (``implicit``, NEURON's
    METHOD sparse; 2.4e-6 to 2.4e-5 V from ``exp`` here) (event_timing.md, "hh_soma_lag")."""
    lag = _gate_forms_lag()
    jlems = _stored("jlems_gate_forms")
    ours = _nmlhub("LEMS_gate_forms.xml")
    assert ours.shape == jlems.shape
    for name in lag.FORMS:
        jlems_scheme, our_scheme = ("exp", "implicit") if name.startswith("ks") else ("euler", "euler")
        dv, dq = lag.distances(jlems, name, 2, jlems_scheme)
        assert dv < 10 * DIGITS_V and dq < 1e-7, (name, dv, dq)
        for steps in (0, 1, 3):
            assert lag.distances(jlems, name, steps, jlems_scheme)[0] > 1e-6, (name, steps)
        dv, dq = lag.distances(ours, name, 0, our_scheme)
        assert dv < 1e-12 and dq < 1e-12, (name, dv, dq)
        for steps in (1, 2):
            assert lag.distances(ours, name, steps, our_scheme)[0] > 1e-6, (name, steps)
        if name.startswith("ks"):
            assert lag.distances(ours, name, 0, "exp")[0] > 1e-6, name
