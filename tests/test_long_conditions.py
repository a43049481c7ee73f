"""Event conditions too long for one NMODL line (issue 24, last piece): a WATCH condition cannot
be cut into LOCAL temporaries, so its value is kept in an ASSIGNED variable that a PROCEDURE
brings up to date where NEURON and CoreNEURON test WATCH conditions. It must behave exactly as
the inline condition does: the kept form is forced on models whose conditions fit inline and
their output files compared byte for byte; a long condition and an equivalent short one drive
two cells identically, in NEURON and in CoreNEURON. tests/test_lems_semantics.py compares
semantics/LEMS_long_condition.xml with jLEMS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_ran
from nmlhub.neuron import mpi

TESTS = Path(__file__).resolve().parent
LONG = TESTS / "conformance" / "semantics" / "LEMS_long_condition.xml"
GEQ = TESTS / "conformance" / "semantics" / "LEMS_geq_condition.xml"
HH = TESTS / "data" / "long_condition" / "LEMS_window_currents_hh.xml"

#: ``nmlhub run`` with every watched condition's value kept in a variable, however short.
KEEP_ALL = ("import runpy, sys; import nmlhub.lems.nmodl_events as events; events.WATCH_INLINE_LIMIT = 0; "
            "sys.argv = ['nmlhub', *sys.argv[1:]]; runpy.run_module('nmlhub', run_name='__main__')")


def _run(lems: Path, outdir: Path, *extra: str, keep_all: bool = False) -> dict[str, bytes]:
    launcher = ["-c", KEEP_ALL] if keep_all else ["-m", "nmlhub"]
    command = [sys.executable, *launcher, "run", str(lems), "--outdir", str(outdir), "--no-progress", *extra]
    run = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert_ran(run)
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


def test_long_conditions_are_kept_in_variables():
    from nmlhub.lems.nmodl_names import NMODL_LINE_LIMIT
    from nmlhub.model import load
    from nmlhub.neuron.mechanisms import build_mechanisms

    model = load(LONG)
    mechanisms = build_mechanisms(model, ["steps", "counter"])
    for item in mechanisms.values():
        assert max(len(line) for line in item.mechanism.text.splitlines()) <= NMODL_LINE_LIMIT
    counter = mechanisms["counter"].mechanism.text  # .geq./.leq. with their tolerance: too long
    assert "WATCH (watch0_nml > 0) 2" in counter
    assert "PROCEDURE update_watch0_nml() {" in counter and "BEFORE STEP {" in counter
    # a window on jLEMS's clock is compared exactly (no tolerance terms), so it fits inline (the
    # input sets the current its cell reads: tested before its current, nmlhub.lems.nmodl_lead)
    steps = mechanisms["steps"].mechanism.text
    test = next(line for line in steps.splitlines() if line.startswith("    if (") and "update" in line)
    assert "c0_nml" not in steps and "tinput_nml" in test and "1e-09" not in test


@pytest.mark.parametrize("lems", [GEQ, LONG, "LEMSexamples/LEMS_NML2_Ex0_IaF.xml"],
                         ids=["geq_condition", "long_condition", "Ex0_IaF"])
def test_kept_condition_values_act_as_inline_conditions(lems, core_examples, tmp_path):
    """Thresholds, regimes, .geq./.leq. tolerances, conditions true at the start: the same
    output files whether conditions are inline or kept in variables."""
    lems = core_examples / lems if isinstance(lems, str) else lems
    inline = _run(lems, tmp_path / "inline")
    kept = _run(lems, tmp_path / "kept", keep_all=True)
    assert inline and kept == inline


def test_long_condition_acts_as_its_short_equivalent_in_neuron_and_coreneuron(tmp_path):
    """Two HH cells, one driven through a long condition and one through a short one that gives
    the same current: identical voltages and spikes; CoreNEURON compiles the mechanisms and
    writes NEURON's bytes."""
    from nmlhub.model import load
    from nmlhub.neuron.mechanisms import build_mechanisms

    long_window = build_mechanisms(load(HH), ["longWindow"])["longWindow"].mechanism.text
    assert "if (c0_nml > 0)" in long_window  # the long form (kept in LOCALs: an input that leads) is exercised
    neuron = _run(HH, tmp_path / "neuron")
    columns = np.loadtxt(tmp_path / "neuron" / "window_currents.dat")
    assert np.array_equal(columns[:, 1], columns[:, 2])
    spikes = np.loadtxt(tmp_path / "neuron" / "window_currents.spikes")
    by_cell = [spikes[spikes[:, 1] == k, 0] for k in (0, 1)]
    assert len(by_cell[0]) >= 5 and np.array_equal(by_cell[0], by_cell[1])
    core = _run(HH, tmp_path / "core", "--engine", "coreneuron")
    assert core == neuron


def test_spike_array_of_500_spikes_compiles_and_spikes_as_jlems(tmp_path):
    """A spikeArray of 500 spikes (500 states and conditions: the LOCAL declaration of its
    states procedure alone was 4,908 characters and refused) compiles, and every spike time
    equals jLEMS's (tests/data/long_spike_array/, made by its make_reference.py; many times lie
    exactly on the step grid, where jLEMS's summed clock decides the step)."""
    folder = TESTS / "data" / "long_spike_array"
    _run(folder / "LEMS_spike_array_500.xml", tmp_path)
    ours = np.loadtxt(tmp_path / "spike_array_500.spikes")
    reference = np.loadtxt(folder / "spike_array_500.jlems.spikes")
    assert len(reference) == 500
    np.testing.assert_array_equal(ours, reference)
