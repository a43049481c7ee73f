"""NetworkBuilder.record: what a rule-built network records, written into its LEMS simulation and
run by nmlhub.simulate(builder)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import neuroml
import numpy as np
import pytest
from lxml import etree

import nmlhub
from nmlhub.rules.plasticity import stdp_synapse
from nmlhub.rules.values import RuleError

DT = 0.025


def _builder():
    net = nmlhub.NetworkBuilder("recnet", size=(100, 100, 100), seed=2)
    net.add(neuroml.Izhikevich2007Cell(id="rs", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
                                       vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    net.add(stdp_synapse("stdp", gbase="0.5nS", a_plus=0.05, a_minus=0.04, w_init=1.0))
    net.add(neuroml.PulseGenerator(id="drive", delay="10ms", duration="80ms", amplitude="0.25nA"))
    net.add(neuroml.SpikeArray(id="src", spikes=[neuroml.Spike(id=j, time=f"{t}ms") for j, t in
                                                 enumerate((20, 35, 50, 65, 80))]))
    net.population("S", cell="src", count=1)
    net.population("E", cell="rs", count=3)
    net.connect("S", "E", "stdp", nmlhub.AllToAll(), weight=1.0, delay=1.0)
    net.stimulate("drive", targets="E")
    return net


def test_recordings_are_written_into_the_lems_simulation(tmp_path):
    net = _builder()
    net.record("v", "E[0-1]", every_ms=0.1)
    net.record("stdp/w", "E")
    net.record("spikes", ["E[2]", "S"])
    lems = net.save(tmp_path / "recnet.net.nml", simulation=dict(duration_ms=100, dt_ms=DT))
    sim = etree.parse(str(lems)).getroot().find("Simulation")
    outputs = {o.get("fileName"): [c.get("quantity") for c in o] for o in sim.iter("OutputFile")}
    assert outputs == {"recnet.v.dat": ["E[0]/v", "E[1]/v"],
                       "recnet.stdp_w.dat": [f"E[{i}]/synapses:stdp:0/w" for i in range(3)]}  # jLEMS's form
    events = [o for o in sim.iter("EventOutputFile") if o.get("fileName") == "recnet.spikes.dat"]
    assert [(e.get("id"), e.get("select")) for e in events[0]] == [("3", "E[2]"), ("0", "S[0]")]  # ids: gids
    assert sim.find("Meta").attrib == {"for": "nmlhub", "recordEvery": "0.1"}
    # the expanded file names cells as jLEMS wants them in a populationList
    (tmp_path / "x").mkdir()
    lems = net.save(tmp_path / "x" / "recnet.net.nml", expanded=True, simulation=dict(duration_ms=100, dt_ms=DT))
    sim = etree.parse(str(lems)).getroot().find("Simulation")
    assert [c.get("quantity") for c in sim.find("OutputFile[@id='record0']")] == ["E/0/rs/v", "E/1/rs/v"]


def test_simulate_builder_records_what_it_was_asked(tmp_path):
    net = _builder()
    net.record("v", "E", every_ms=0.1)
    net.record("stdp/w", "E[0]")
    results = nmlhub.simulate(net, duration_ms=100, dt_ms=DT)
    np.testing.assert_allclose(results.time_ms, np.arange(1001) * 0.1, atol=1e-9)
    assert set(results.traces) == {"E[0]/v", "E[1]/v", "E[2]/v", "E[0]/synapses:stdp:0/w"}
    w = results.traces["E[0]/synapses:stdp:0/w"]
    assert w[0] == 1.0 and abs(w[-1] - 1.0) > 0.01  # it learned
    final = results.weights.weight[(results.weights.post_population == "E") & (results.weights.post_cell == 0)]
    assert w[-1] == pytest.approx(float(final[0]), abs=1e-12)  # the trace ends at the saved final weight
    spikes = results.spikes[("E", 0)]
    assert len(spikes) > 0
    v = results.traces["E[0]/v"]
    assert v.max() > 0.0  # sampled up to the spike peaks


@pytest.mark.parametrize("call, words", [
    (lambda n: n.record("v", "X"), "no population 'X' in the network (populations: S, E)"),
    (lambda n: n.record("v", "E[5]"), "no cell 5 in population of 3 cells"),
])
def test_a_bad_recording_is_one_line_naming_it(tmp_path, call, words):
    net = _builder()
    call(net)
    with pytest.raises(RuleError, match=words.replace("(", r"\(").replace(")", r"\)")) as error:
        net.save(tmp_path / "n.net.nml", simulation=dict(duration_ms=10, dt_ms=DT))
    assert "\n" not in str(error.value)


def test_two_sampling_intervals_are_refused():
    net = _builder()
    net.record("v", "E", every_ms=0.1)
    with pytest.raises(RuleError, match="one interval per simulation"):
        net.record("stdp/w", "E", every_ms=0.2)


@pytest.mark.skipif(shutil.which("jnml") is None, reason="no jnml")
def test_jlems_runs_the_saved_recordings_and_agrees(tmp_path):
    # the expanded file holds the connections, so jLEMS attaches the synapses and records them too
    net = _builder()
    net.record("stdp/g", "E")
    net.record("v", "E[0]")
    lems = net.save(tmp_path / "recnet.net.nml", expanded=True, simulation=dict(duration_ms=100, dt_ms=DT))
    subprocess.run(["jnml", lems.name, "-nogui"], cwd=tmp_path, check=True, capture_output=True, timeout=600)
    ours = tmp_path / "nmlhub"
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--no-progress", "--outdir", str(ours)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    jlems, mine = np.loadtxt(tmp_path / "recnet.stdp_g.dat"), np.loadtxt(ours / "recnet.stdp_g.dat")
    assert jlems.shape == mine.shape == (4001, 4)
    assert np.ptp(jlems[:, 1:]) > 0
    error = np.abs(mine[:, 1:] - jlems[:, 1:]).max() / np.ptp(jlems[:, 1:])
    # measured 4.2e-4: the STDP rule reads the post cell's v, which a jLEMS synapse sees one step
    # late (docs/conformance.md, "Numerical schemes"); a static synapse's g agrees to 1e-7
    # (tests/test_record_jlems.py)
    assert error < 1e-3, error
