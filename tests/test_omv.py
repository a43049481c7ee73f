"""``nmlhub omv``: OSB model-validation tests (.omt/.mep) run with nmlhub and checked as omv does.

References: omv's own examples of its spike detectors (osb-model-validation,
``omv/analyzers/utils/timeseries.py::test_detect_spikes``), ``numpy.allclose`` (omv's comparison),
and jLEMS's spike times for the bundled HH cell (tests/conformance/reference, made by
tests/conformance/make_references.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nmlhub.cli import main
from nmlhub.omv import compare_spike_times, detect_spikes, read_omt
from nmlhub.omv.observables import observed_spike_rate
from nmlhub.omv.spec import Observation

from conftest import EXAMPLES

REFERENCE = Path(__file__).resolve().parent / "conformance" / "reference" / "nml_hh_single.npz"
HH = EXAMPLES / "hh_single" / "LEMS_hh_single.xml"


def test_detectors_find_what_omv_documents():
    x = np.array([-1, 0, 1, 0] * 10, float)
    t = np.arange(len(x), dtype=float)
    assert np.array_equal(detect_spikes(t, x, "derivative"), np.arange(2, len(x), 4))
    assert np.array_equal(detect_spikes(t, x, "threshold", 0.1), np.arange(2, len(x), 4))
    assert np.array_equal(detect_spikes(t, -x, "derivative"), np.arange(4, len(x), 4))
    assert np.array_equal(detect_spikes(t, -x, "threshold", 0.1), np.arange(4, len(x), 4))
    with pytest.raises(ValueError, match="'peaks'"):
        detect_spikes(t, x, "peaks")


@given(st.lists(st.floats(1, 1000), min_size=1, max_size=8), st.floats(-2, 2), st.floats(0, 0.01))
def test_comparison_is_numpy_allclose_on_equal_counts(expected, shift, tolerance):
    observed = np.asarray(expected) + shift
    assert compare_spike_times(observed, expected, tolerance).passed == np.allclose(
        observed, expected, rtol=tolerance)


def test_another_count_fails_and_names_the_first_difference():
    result = compare_spike_times(np.array([10.0, 20.0, 35.0]), [10.0, 20.0], 0.1)
    assert not result.passed
    assert "3 spikes, expected 2" in result.detail and "extra from spike 3: 35" in result.detail


def test_rate_of_a_regular_spike_file(tmp_path):
    period_s, ids = 0.05, (0, 1)
    rows = [(i, k * period_s * (i + 1)) for k in range(1, 11) for i in ids]
    (tmp_path / "s.spikes").write_text("".join(f"{i} {t}\n" for i, t in rows))
    one = Observation("spike file", tmp_path / "s.spikes", ids=1)
    every = Observation("spike file", tmp_path / "s.spikes", ids="*")
    assert observed_spike_rate(one) == pytest.approx(1 / (2 * period_s))
    assert observed_spike_rate(every) == pytest.approx((1 / period_s + 1 / (2 * period_s)) / 2)


def _jlems_spike_times_ms() -> list[float]:
    events = np.load(REFERENCE)["events:hh_single.spikes.dat"]
    return [float(t) * 1e3 for t in events[:, 1]]


def _write_test(folder: Path, expected: list[float], engine: str = "jNeuroML_NEURON",
                target: Path = HH) -> Path:
    """An .omt on the bundled HH cell: spike times from its trace (threshold) and from its spike
    file, and its rate; tolerance 0.5 % (nmlhub runs at the file's step, jLEMS at 1/10 of it)."""
    folder.mkdir(parents=True, exist_ok=True)
    rate = (len(expected) - 1) / ((expected[-1] - expected[0]) * 1e-3)
    (folder / ".test.hh.mep").write_text(json.dumps({"system": "hh", "experiments": {
        "v": {"expected": {"spike times": expected}},
        "events": {"expected": {"spike times": expected}},
        "rate": {"expected": {"spike rate": rate}}}}))
    omt = folder / ".test.hh.omt"
    observed = {"path": str(target.parent / "hh_single.v.dat"), "columns": [0, 1], "scaling": [1000, 1000]}
    spikes = {"path": str(target.parent / "hh_single.spikes.dat"), "format": "ID_TIME", "ids": 0}
    omt.write_text(json.dumps({"target": str(target), "engine": engine, "mep": ".test.hh.mep", "experiments": {
        "v": {"observables": {"spike times": {"file": observed, "tolerance": 0.005,
                                              "spike detection": {"method": "threshold", "threshold": 0}}}},
        "events": {"observables": {"spike times": {"spiketimes file": {**spikes, "scaling": 1000},
                                                   "tolerance": 0.005}}},
        "rate": {"observables": {"spike rate": {"spiketimes file": spikes, "tolerance": 0.005}}}}}))
    return omt


def test_omt_and_mep_are_read(tmp_path):
    test = read_omt(_write_test(tmp_path, [1.0, 2.0]))
    assert test.simulates and test.target == HH
    assert [e.name for e in test.experiments] == ["v", "events", "rate"]
    assert [e.observable for e in test.experiments] == ["spike times", "spike times", "spike rate"]
    assert test.experiments[0].observation.method == "threshold"
    assert test.experiments[1].observation.scaling == (1000.0,)


def test_hh_cell_passes_against_jlems_and_a_shifted_spike_fails(tmp_path, capsys):
    expected = _jlems_spike_times_ms()
    assert len(expected) >= 3
    good = _write_test(tmp_path / "good", expected)
    shifted = list(expected)
    shifted[1] += 1.0
    bad = _write_test(tmp_path / "bad", shifted)
    validate = tmp_path / "v" / ".test.validate.omt"
    validate.parent.mkdir()
    validate.write_text(f"target: \"{HH.parent}/*.nml\"\nengine: jNeuroML_validate\n")
    status = main(["omv", str(good), str(validate), "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = json.loads((tmp_path / "r.json").read_text())
    assert {(r["experiment"], r["status"]) for r in rows} == {
        ("v", "pass"), ("events", "pass"), ("rate", "pass"), ("validate", "pass")}
    assert main(["omv", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "spike 2" in out and f"expected {shifted[1]:.6g}" in out
    # the ISI rate is (n - 1) / (last - first): moving a middle spike leaves it as it was
    assert "1 passed, 2 failed" in out


def test_a_target_that_cannot_run_is_reported_in_one_line(tmp_path, capsys):
    broken = tmp_path / "LEMS_broken.xml"
    broken.write_text('<Lems><Target component="nosuch"/></Lems>')
    omt = _write_test(tmp_path / "t", [10.0, 20.0], target=broken)
    assert main(["omv", str(omt)]) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(lines) == 3 and all("LEMS_broken.xml: the model has no <Simulation>" in line for line in lines), out
    assert "Traceback" not in out


def test_other_engines_are_skipped_and_nothing_found_is_a_usage_error(tmp_path, capsys):
    omt = _write_test(tmp_path, [10.0, 20.0], engine="jNeuroML_Brian2")
    assert main(["omv", str(omt), "--show-skipped"]) == 1
    assert "SKIPPED" in capsys.readouterr().out
    assert main(["omv", str(tmp_path / "empty")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["omv", str(tmp_path / "empty")]) == 2
    assert "no .test*.omt" in capsys.readouterr().err


def test_validation_checks_the_named_files_not_their_includes_as_jnml_validate(tmp_path, capsys):
    bad = '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="b"><pulseGenerator id="p" delay="0ms" duration="1ms" amplitude="1nA" nosuch="1"/></neuroml>'
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "bad.nml").write_text(bad)
    (tmp_path / "good.nml").write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="g">'
                                       '<include href="inc/bad.nml"/></neuroml>')
    (tmp_path / ".test.validate.omt").write_text('target: "*.nml"\nengine: jNeuroML_validate\n')
    (tmp_path / "inc" / ".test.validate.omt").write_text('target: "*.nml"\nengine: jNeuroML_validate\n')
    assert main(["omv", str(tmp_path / ".test.validate.omt")]) == 0
    assert main(["omv", str(tmp_path / "inc" / ".test.validate.omt")]) == 1
    out = capsys.readouterr().out
    assert "bad.nml:1: schema:" in out and "nosuch" in out


PULSE = Path(__file__).resolve().parent / "data" / "omv_input_clock" / "LEMS_pulse_spikes.xml"


def _spike_times_ms(clock: str, outdir: Path) -> list[float]:
    """The pulse-driven cell's spike times from ``nmlhub run --input-clock CLOCK``."""
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(PULSE), "--outdir", str(outdir),
                          "--input-clock", clock], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return [float(t) * 1e3 for t in np.loadtxt(outdir / "pulse_spikes.spikes", ndmin=2)[:, 1]]


def _write_spike_test(folder: Path, expected: list[float]) -> Path:
    """An .omt expecting ``expected`` as the pulse-driven cell's spike times, to the sample."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".test.pulse.mep").write_text(json.dumps({"system": "pulse", "experiments": {
        "spikes": {"expected": {"spike times": expected}}}}))
    spikes = {"path": str(PULSE.parent / "pulse_spikes.spikes"), "format": "ID_TIME", "ids": 0, "scaling": 1000}
    omt = folder / ".test.pulse.omt"
    omt.write_text(json.dumps({"target": str(PULSE), "engine": "jNeuroML_NEURON", "mep": ".test.pulse.mep",
                               "experiments": {"spikes": {"observables": {"spike times": {
                                   "spiketimes file": spikes, "tolerance": 0}}}}}))
    return omt


def test_input_clock_is_passed_to_every_run_and_said_on_each_line(tmp_path, capsys):
    """`nmlhub omv --input-clock neuron` runs its targets as `nmlhub run --input-clock neuron`:
    a pulse whose delay lies on the step grid starts a step later, so each spike time of the
    other clock's run fails to the sample (tolerance 0)."""
    on_jlems, on_neuron = _spike_times_ms("jlems", tmp_path / "jlems"), _spike_times_ms("neuron", tmp_path / "neuron")
    assert len(on_jlems) == len(on_neuron) >= 3 and on_jlems != on_neuron
    expects_jlems = _write_spike_test(tmp_path / "expects_jlems", on_jlems)
    expects_neuron = _write_spike_test(tmp_path / "expects_neuron", on_neuron)
    capsys.readouterr()
    assert main(["omv", str(expects_neuron), "--input-clock", "neuron"]) == 0
    assert main(["omv", str(expects_jlems), "--input-clock", "neuron", "--json", str(tmp_path / "r.json")]) == 1
    lines = capsys.readouterr().out.splitlines()
    results = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert [line.split()[0] for line in results] == ["PASS", "FAIL"]
    assert all("spikes (input clock: neuron):" in line for line in results)
    assert json.loads((tmp_path / "r.json").read_text())[0]["input_clock"] == "neuron"
    assert main(["omv", str(expects_jlems)]) == 0  # jLEMS's clock by default
    assert "input clock" not in capsys.readouterr().out
