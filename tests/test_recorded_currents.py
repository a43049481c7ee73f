"""What a point cell records equals jLEMS's values of the same quantities
(``tests/data/recorded_currents``: reference made by its ``make_reference.py``, jnml v0.14.0).

- ``iSyn`` (the LEMS sum ``synapses[*]/i``) and ``iMemb`` (which adds it) of an ``iafCell`` with two
  synapses and a current input, and of an ``izhikevich2007Cell``: nmlhub's cells take their inputs'
  currents through NEURON's membrane, so their mechanisms hold the sum as 0; the recorded values
  add the attached components' currents (nmlhub.neuron.input_sums). Without that, iSyn is 0.
- ``v`` at a spike's sample is the reset value, as jLEMS records it after the step's conditions
  acted (nmlhub.neuron.reset_samples). Without that, the sample shows v above threshold.
- every other variable a spike sets shows the value set at the spike's sample (``LEMS_resets.xml``:
  Izhikevich ``u``, AdEx ``w``, and a type of the model's own that sends its spike before its
  assignments, ``emitFirstCell``). Without that, the sample shows the value before the reset.

- the t = 0 sample of a rate unit's ``iSyn`` (and of ``drift`` and ``gain``, which read it, linearly
  and not) fed by a graded synapse is the synapse's current at the initial states
  (``LEMS_graded_t0.xml``), as jLEMS records it: that cell's mechanism measures its inputs over each
  step, so it has none before the first (nmlhub.neuron.input_sums). Without that, the sample is 0
  (drift -200 Hz/s for 1800, gain 0 for 0.39 Hz).

- a morphological cell's current of one ion (``iCa``, ``iCa2``: the sum of that ion's channel
  densities and populations, inward positive, as Cells.xml defines it) equals jLEMS's
  (``tests/data/ion_currents``), and on a cell of two compartments the sum of each compartment's
  current computed from its recorded v. Without it, nmlhub refused the path.

Both cells integrate by explicit Euler in both engines and the connections' delays are whole
steps, so the traces agree to jLEMS's printed precision: 1e-6 of each quantity's range is asked.
Not the AdEx cell's: from the pulse's onset its v and w drift from jLEMS's (3e-4 of v's range
before the first spike, one of its 5 spikes two steps apart): jLEMS advances the derivatives of a
regime one after the other (w reads the new v), proven by an independent Euler below; its spike
samples are compared on their own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nmlhub.lems import expr as ex
from nmlhub.lems.translate import FlatComponent
from nmlhub.neuron.input_sums import input_coefficients

DATA = Path(__file__).resolve().parent / "data" / "recorded_currents"
COLUMNS = ["iaf_v", "iaf_iSyn", "iaf_iMemb", "izh_v", "izh_iSyn", "izh_iMemb"]
TOLERANCE = 1e-6


RESET_COLUMNS = ["izh_v", "izh_u", "adex_v", "adex_w", "first_v", "first_w", "first_count"]


def _run(tmp_path: Path, lems: str) -> Path:
    work = tmp_path / "model"
    shutil.copytree(DATA, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(work / lems), "--no-progress",
                           "--outdir", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp_path / "out"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> np.ndarray:
    out = _run(tmp_path_factory.mktemp("currents"), "LEMS_currents.xml")
    return np.loadtxt(out / "currents.reference.dat", ndmin=2)


@pytest.fixture(scope="module")
def resets(tmp_path_factory) -> tuple[np.ndarray, np.ndarray]:
    out = _run(tmp_path_factory.mktemp("resets"), "LEMS_resets.xml")
    return np.loadtxt(out / "resets.reference.dat", ndmin=2), np.loadtxt(out / "resets.spikes", ndmin=2)


@pytest.mark.parametrize("column", COLUMNS)
def test_recorded_quantity_equals_jlems(recorded, column):
    _assert_column_matches(recorded, DATA / "reference.npz", COLUMNS, column, TOLERANCE)


def _assert_column_matches(table: np.ndarray, reference_file: Path, columns: list[str], column: str,
                           tolerance: float) -> None:
    """``table``'s column (after time) equals the stored jLEMS reference within ``tolerance`` of
    the reference's range, at the same sample times."""
    reference = np.load(reference_file)
    np.testing.assert_allclose(table[:, 0], reference["time_s"], atol=1e-12)
    expected = reference[column]
    span = np.ptp(expected)
    assert span > 0, column
    error = np.abs(table[:, 1 + columns.index(column)] - expected)
    worst = int(error.argmax())
    assert error[worst] <= tolerance * span, (
        f"{column}: {error[worst] / span:.2e} of its range at {reference['time_s'][worst] * 1e3:.2f} ms")


def test_the_synaptic_current_is_not_zero_and_spike_samples_show_the_reset(recorded):
    # the failures this module guards against, said directly
    iaf_v, iaf_isyn = recorded[:, 1], recorded[:, 2]
    assert np.abs(iaf_isyn).max() > 1e-9
    reset, threshold = -0.065, -0.050
    assert iaf_v.max() <= threshold
    assert np.count_nonzero(np.isclose(iaf_v, reset, atol=1e-12)) > 1


@pytest.mark.parametrize("column", ["izh_v", "izh_u", "first_v", "first_w", "first_count"])
def test_values_set_by_spikes_equal_jlems(resets, column):
    # u = u + d (set before the spike is sent), w = w + b and count = count + 1 (set after it)
    traces, _ = resets
    reference = np.load(DATA / "reference_resets.npz")
    np.testing.assert_allclose(traces[:, 0], reference["time_s"], atol=1e-12)
    expected = reference[column]
    span = np.ptp(expected)
    error = np.abs(traces[:, 1 + RESET_COLUMNS.index(column)] - expected)
    worst = int(error.argmax())
    assert error[worst] <= TOLERANCE * span, (
        f"{column}: {error[worst] / span:.2e} of its range at {reference['time_s'][worst] * 1e3:.2f} ms")


def test_spike_samples_show_what_the_spike_set(resets):
    # the failure this guards against, said directly: at each spike's sample jLEMS shows the
    # value set (u + d, count + 1), where NEURON's own sample shows the value before
    traces, spikes = resets
    reference = np.load(DATA / "reference_resets.npz")
    np.testing.assert_allclose(spikes[:, 0], reference["spike_times_s"], atol=2.5e-5)  # one step: 0.0591 vs 0.05908
    np.testing.assert_array_equal(spikes[:, 1].astype(int), reference["spike_ids"])
    count = traces[:, 1 + RESET_COLUMNS.index("first_count")]
    first = reference["spike_times_s"][reference["spike_ids"] == 2]
    steps = np.rint(first / 1e-5).astype(int)
    assert np.array_equal(count[steps], np.arange(1, len(steps) + 1))
    u = traces[:, 1 + RESET_COLUMNS.index("izh_u")]
    for step in np.rint(reference["spike_times_s"][reference["spike_ids"] == 0] / 1e-5).astype(int):
        assert u[step] - u[step - 1] > 0.9 * 100e-12  # d = 100 pA


def test_adex_w_shows_its_reset_at_jlems_sample(resets):
    # AdEx (regimes: recorded a step late, the spike's w = w + b set on entering 'refractory'):
    # the jump of w is at jLEMS's sample. Its traces differ from jLEMS's by up to 0.27 of v's range
    # around spikes (the order of a regime's derivatives in jLEMS: see below), so only the spike samples are compared,
    # within 1e-3 of w's range (the sample before the spike's, 0.8 of it without the reset).
    traces, _ = resets
    reference = np.load(DATA / "reference_resets.npz")
    expected = reference["adex_w"]
    at_reset = np.nonzero(np.isclose(reference["adex_v"], -0.0485, atol=1e-12)
                          & (np.diff(expected, prepend=expected[0]) > 0.5 * 0.08e-9))[0]
    assert len(at_reset) >= 4
    w = traces[:, 1 + RESET_COLUMNS.index("adex_w")]
    assert np.abs(w[at_reset] - expected[at_reset]).max() <= 1e-3 * np.ptp(expected)


GRADED_COLUMNS = ["rA", "rB", "iSynB", "driftB", "gainB", "iFromPeer"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> np.ndarray:
    return np.loadtxt(_run(tmp_path_factory.mktemp("graded"), "LEMS_graded_t0.xml") / "graded_t0.dat", ndmin=2)


@pytest.mark.parametrize("column", GRADED_COLUMNS)
def test_graded_inputs_are_recorded_from_t0_as_jlems_records_them(graded, column):
    traces = graded
    reference = np.load(DATA / "reference_graded_t0.npz")
    np.testing.assert_allclose(traces[:, 0], reference["time_s"], atol=1e-12)
    expected = reference[column]
    recorded = traces[:, 1 + GRADED_COLUMNS.index(column)]
    assert abs(recorded[0] - expected[0]) <= 1e-7 * abs(expected[0])  # t = 0 (1e-8 A, 1800 Hz/s, 0.39 Hz)
    error = np.abs(recorded - expected)
    assert error.max() <= TOLERANCE * max(np.abs(expected).max(), np.ptp(expected)), column


def _flat(derived: list[tuple[str, str]]) -> FlatComponent:
    flat = FlatComponent(type="testCell", external={"iSyn": "current"}, external_variables={"iSyn": "i"})
    flat.derived = [("iSyn", ex.Num(0.0))] + [(name, ex.parse(text)) for name, text in derived]
    return flat


@pytest.mark.parametrize("derived, variable, expected", [
    ([("iMemb", "gL * (EL - v) + iSyn")], "iMemb", {"iSyn": 1.0}),
    ([("iTot", "2 * iSyn - u"), ("iMemb", "3 * iTot + exp(v)")], "iMemb", {"iSyn": 6.0}),
    ([("iMemb", "gL * (EL - v)")], "iMemb", {}),
    ([("iMemb", "iSyn * iSyn")], "iMemb", None),
    ([("iMemb", "v * iSyn")], "iMemb", None),
    ([], "iSyn", {"iSyn": 1.0}),
])
def test_input_coefficients(derived, variable, expected):
    assert input_coefficients(_flat(derived), variable) == (
        expected if expected is None else pytest.approx(expected))


def test_a_morphological_cells_isyn_is_its_synapses_current(tmp_path):
    # tests/data/record_jlems: an HH cell with one synapse attached; jLEMS's current of that
    # synapse (its reference "i") is then the cell's iSyn (Cells.xml: synapses[*]/i, reduce add)
    data = Path(__file__).resolve().parent / "data" / "record_jlems"
    work = tmp_path / "model"
    shutil.copytree(data, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(work / "LEMS_record.xml"), "--no-progress",
                           "--outdir", str(tmp_path / "out"), "--record", "post/0/hh_cell/iSyn"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    recorded = np.loadtxt(tmp_path / "out" / "record.recorded.dat", ndmin=2)
    expected = np.load(data / "reference.npz")["i"]
    span = np.ptp(expected)
    assert span > 0
    assert np.abs(recorded[:, 1] - expected).max() <= 1e-3 * span  # the current reads v (test_record_jlems)


# -- jLEMS's synapses on a cell with regimes read its v a step late (tests/conformance/osb_causes.md,
# "Synapses on a cell with regimes read v a step late (LEMS_regime_lag.xml)") ----------------------

LAG_COLUMNS = ["ref_v", "ref_iSyn", "ref_g", "plain_v", "plain_iSyn", "plain_g"]
LAG_CELL = dict(C=1e-9, gL=10e-9, EL=-0.065, erev=0.0, dt=1e-5, tau=3e-3)  # regime_lag.net.nml, SI


def _euler_with_synapse_reading_v(g_recorded: np.ndarray, late_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """An independent forward Euler of a leaky cell with one exponential synapse: the step ending
    at sample k uses the synapse's g before its own decay in that step (its recorded g divided by
    1 - dt/tau) and the cell's v of ``late_steps`` steps before that step. Returns v and iSyn."""
    p = LAG_CELL
    g_used = g_recorded / (1 - p["dt"] / p["tau"])
    v, isyn = np.full(len(g_recorded), p["EL"]), np.zeros(len(g_recorded))
    for k in range(1, len(g_recorded)):
        isyn[k] = g_used[k] * (p["erev"] - v[max(0, k - 1 - late_steps)])
        v[k] = v[k - 1] + p["dt"] * (p["gL"] * (p["EL"] - v[k - 1]) + isyn[k]) / p["C"]
    return v, isyn


def _euler_errors(columns: dict[str, np.ndarray], cell: str, late_steps: int) -> tuple[float, float]:
    """Largest differences (of each quantity's range) of v and iSyn from the Euler solution; a
    cell with regimes has its v recorded a step late (as jLEMS and nmlhub record it)."""
    v, isyn = _euler_with_synapse_reading_v(columns[f"{cell}_g"], late_steps)
    if cell == "ref":
        v = np.concatenate([v[:1], v[:-1]])
    relative = lambda ours, theirs: float(np.abs(ours - theirs).max() / np.ptp(theirs))  # noqa: E731
    return relative(v, columns[f"{cell}_v"]), relative(isyn, columns[f"{cell}_iSyn"])


@pytest.fixture(scope="module")
def regime_lag(tmp_path_factory) -> dict[str, np.ndarray]:
    table = np.loadtxt(_run(tmp_path_factory.mktemp("lag"), "LEMS_regime_lag.xml") / "regime_lag.dat", ndmin=2)
    return {column: table[:, 1 + k] for k, column in enumerate(LAG_COLUMNS)}


def test_jlems_synapses_read_the_v_of_a_cell_with_regimes_a_step_late(regime_lag):
    jlems = np.load(DATA / "reference_regime_lag.npz")
    # jLEMS: Euler reproduces the iafCell reading v in its step, the iafRefCell only a step late
    assert max(_euler_errors(jlems, "plain", 0)) < 1e-6 < min(_euler_errors(jlems, "plain", 1))
    assert max(_euler_errors(jlems, "ref", 1)) < 1e-6 < min(_euler_errors(jlems, "ref", 0))
    # nmlhub: both cells read v in their step (the explicit Euler of both engines elsewhere)
    assert max(_euler_errors(regime_lag, "plain", 0)) < 1e-6
    assert max(_euler_errors(regime_lag, "ref", 0)) < 1e-6


def test_the_difference_it_makes_is_pinned(regime_lag):
    # the known difference, said directly: iSyn of the iafRefCell 5.5e-4 of its range from jLEMS's,
    # v 2.3e-4; the iafCell and both g within jLEMS's printed precision
    jlems = np.load(DATA / "reference_regime_lag.npz")
    error = {c: float(np.abs(regime_lag[c] - jlems[c]).max() / np.ptp(jlems[c])) for c in LAG_COLUMNS}
    assert 1e-4 < error["ref_iSyn"] < 1e-3 and 1e-4 < error["ref_v"] < 1e-3, error
    assert max(error["plain_v"], error["plain_iSyn"], error["ref_g"], error["plain_g"]) < 1e-6, error


# -- jLEMS advances the time derivatives of a regime one after the other (tests/conformance/
# osb_causes.md, "Values a spike sets, at its sample (LEMS_resets.xml)": the AdEx cell) --------------

ADEX = dict(C=281e-12, gL=30e-9, EL=-70.6e-3, VT=-50.4e-3, delT=2e-3, tauw=40e-3, a=4e-9, dt=1e-5,
            amplitude=0.8e-9, delay=10e-3)  # resets.net.nml's adex and pulseAdex, SI
BEFORE_FIRST_SPIKE = 2790  # samples (27.9 ms; the first spike is at 28.01 ms)


def _adex_euler(sequential: bool) -> tuple[np.ndarray, np.ndarray]:
    """AdEx by forward Euler, as recorded (a step late: a cell with regimes), the pulse acting from
    the step after its onset; ``sequential``: w's derivative reads the v already advanced in the step
    (jLEMS's ComponentRegime applies a regime's rates one after the other), else the v of the step."""
    p = ADEX
    v, w = np.full(BEFORE_FIRST_SPIKE, p["EL"]), np.zeros(BEFORE_FIRST_SPIKE)
    for k in range(1, BEFORE_FIRST_SPIKE):
        current = p["amplitude"] if (k - 1) * p["dt"] >= p["delay"] - 1e-12 else 0.0
        membrane = -p["gL"] * (v[k - 1] - p["EL"]) + p["gL"] * p["delT"] * np.exp((v[k - 1] - p["VT"]) / p["delT"])
        v[k] = v[k - 1] + p["dt"] * (membrane - w[k - 1] + current) / p["C"]
        read = v[k] if sequential else v[k - 1]
        w[k] = w[k - 1] + p["dt"] * (p["a"] * (read - p["EL"]) - w[k - 1]) / p["tauw"]
    late = lambda x: np.concatenate([x[:1], x[:-1]])  # noqa: E731
    return late(v), late(w)


def test_jlems_advances_a_regimes_derivatives_one_after_the_other(resets):
    traces, _ = resets
    jlems = np.load(DATA / "reference_resets.npz")
    ours = {c: traces[:BEFORE_FIRST_SPIKE, 1 + RESET_COLUMNS.index(c)] for c in ("adex_v", "adex_w")}
    theirs = {c: jlems[c][:BEFORE_FIRST_SPIKE] for c in ("adex_v", "adex_w")}

    def errors(columns, sequential):
        v, w = _adex_euler(sequential)
        return (float(np.abs(v - columns["adex_v"]).max() / np.ptp(columns["adex_v"])),
                float(np.abs(w - columns["adex_w"]).max() / np.ptp(columns["adex_w"])))

    assert max(errors(theirs, sequential=True)) < 1e-6 < min(errors(theirs, sequential=False))
    assert max(errors(ours, sequential=False)) < 1e-6 < min(errors(ours, sequential=True))


# -- a cell's current of one ion (the core types' iCa, iCa2): tests/data/ion_currents ------------

ION_DATA = Path(__file__).resolve().parent / "data" / "ion_currents"
ION_COLUMNS = ["one_v", "one_iCa", "two_v", "two_iCa", "two_iCa2"]
#: 'one' (passive channels: explicit Euler of a linear v in both tools) to jLEMS's printed precision
#: (8 digits of values 6 times iCa's range: measured 7.7e-7); 'two' (gated channels) carries the
#: first-order difference of the two schemes for conductance-based cells (docs/conformance.md,
#: "Numerical schemes"): measured 2.2% (v), 4.4% (iCa), 2.9% (iCa2) of the range at 0.01 ms, ten
#: times less at 0.001 ms (0.23%, 0.46%, 0.30%). Adding iCa2 to iCa, the potassium current to
#: iCa or the wrong sign are each more than 25% of the range.
ION_TOLERANCE = {"one_v": 2e-6, "one_iCa": 2e-6, "two_v": 0.05, "two_iCa": 0.05, "two_iCa2": 0.05}


@pytest.fixture(scope="module")
def ion_currents(tmp_path_factory) -> np.ndarray:
    tmp_path = tmp_path_factory.mktemp("ions")
    work = tmp_path / "model"
    shutil.copytree(ION_DATA, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(work / "LEMS_ion_currents.xml"), "--no-progress",
                           "--outdir", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return np.loadtxt(tmp_path / "out" / "ion_currents.dat", ndmin=2)


def test_the_core_types_define_the_cells_calcium_currents():
    from nmlhub.neuron.ion_currents import cell_ion_currents

    currents = cell_ion_currents()
    assert currents["iCa"] == "ca" and currents["iCa2"] == "ca2"
    assert "iChannels" not in currents and "totChanCurrent" not in currents  # every ion's: not one ion's


@pytest.mark.parametrize("column", ION_COLUMNS)
def test_a_cells_ion_current_equals_jlems(ion_currents, column):
    _assert_column_matches(ion_currents, ION_DATA / "reference.npz", ION_COLUMNS, column, ION_TOLERANCE[column])


def test_a_cells_calcium_current_at_rest_is_its_calcium_channels_inward_current(ion_currents):
    # ion_currents.nml, analytically at t = 0 (v = -65 mV): the population, 50 channels of 10 pS to
    # 100 mV, and the density, 0.05 mS/cm2 to 120 mV on the soma cylinder's 17.841241^2 pi um2;
    # positive (inward), in A; the potassium channel (0.5 mS/cm2 to -77 mV) not in it
    area_m2 = np.pi * 17.841241e-6 ** 2
    expected = 50 * 10e-12 * (0.100 + 0.065) + 0.5 * area_m2 * (0.120 + 0.065)
    assert ion_currents[0, 2] == pytest.approx(expected, rel=1e-6)


def test_a_multicompartmental_cells_calcium_current_sums_its_compartments(tmp_path):
    # two_compartments.nml: soma (10 x 10 um, 0.05 mS/cm2) and dendrite (2 x 20 um, 0.2 mS/cm2) in
    # sections of their own, calcium to 120 mV; the current of each compartment at the v it had
    # at the start of the step (NEURON computes the currents there), areas from the geometry
    work = tmp_path / "model"
    shutil.copytree(ION_DATA, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(work / "LEMS_two_compartments.xml"),
                           "--no-progress", "--outdir", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = np.loadtxt(tmp_path / "out" / "two_compartments.dat", ndmin=2)
    i_ca, v_soma, v_dend = table[:, 1], table[:, 2], table[:, 3]
    assert np.abs(v_soma - v_dend).max() > 1e-3  # the compartments differ
    at_start = lambda v: np.concatenate([v[:1], v[:-1]])  # noqa: E731
    conductance = {"soma": 0.5 * np.pi * 10e-6 * 10e-6, "dend": 2.0 * np.pi * 2e-6 * 20e-6}  # S/m2 times m2
    expected = conductance["soma"] * (0.120 - at_start(v_soma)) + conductance["dend"] * (0.120 - at_start(v_dend))
    assert np.abs(i_ca - expected).max() <= 1e-6 * np.ptp(expected)


def test_a_cells_ion_current_is_refused_on_one_segment(tmp_path):
    # the core types define iCa on the cell only: a segment's would silently be the cell's
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(ION_DATA / "LEMS_two_compartments.xml"),
                           "--no-progress", "--outdir", str(tmp_path), "--record", "pop[0]/dend/iCa"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "iCa is the current of the whole cell (all its segments), recorded without a segment: 'pop[0]/iCa'" \
        in proc.stderr, proc.stderr


def test_a_cells_ion_current_is_the_same_on_two_ranks(ion_currents, tmp_path):
    # the two cells on different ranks, the traces gathered on rank 0: the serial run's values
    from nmlhub.neuron import mpi

    if mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment():
        pytest.skip("no MPI library")
    work = tmp_path / "model"
    shutil.copytree(ION_DATA, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(work / "LEMS_ion_currents.xml"), "--no-progress",
                           "-n", "2", "--outdir", str(tmp_path / "out")], capture_output=True, text=True, timeout=600,
                          env=mpi.environment())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "on 2 rank(s)" in proc.stdout
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "out" / "ion_currents.dat", ndmin=2), ion_currents)
