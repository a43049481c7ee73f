"""Synapses from the user's own .mod point processes (issue 21): a two-exponential synapse written
from the equations in tests/data/mod_synapses/doubleexp.mod, under its own name, gives the spikes
of NeuroML's expTwoSynapse (nmlhub's generated mechanism, an independent implementation of the
same equations), serially and on 2 ranks; bad inputs give clear errors."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.importers.mod_synapses import component_mod_synapse
from nmlhub.neuron import mpi
from nmlhub.neuron.options import SimulationError
from nmlhub.rules.values import RuleError

HERE = Path(__file__).resolve().parent
MODS = HERE / "data" / "mod_synapses"


def _network(kind: str, mod: Path = MODS / "doubleexp.mod") -> nmlhub.NetworkBuilder:
    """Izhikevich cells driven by a current, E -> I through a two-exponential synapse: the
    user's .mod (weights in uS) or NeuroML's expTwoSynapse (gbase 1 nS, weights x1000)."""
    net = nmlhub.NetworkBuilder("modsyn", seed=3)
    net.add(neuroml.Izhikevich2007Cell(id="rs", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    if kind == "mod":
        net.mod_synapse("exc", mod_file=mod, tau_rise=0.5, tau_decay=5, erev=0)
        weight = 0.002  # uS, the .mod's unit
    else:
        net.add(neuroml.ExpTwoSynapse(id="exc", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
        weight = 2.0
    net.add(neuroml.PulseGenerator(id="drive", delay="10ms", duration="150ms", amplitude="150pA"))
    net.population("E", cell="rs", count=20)
    net.population("I", cell="rs", count=10)
    net.connect("E", "I", "exc", nmlhub.Probability(0.5), weight=weight, delay=nmlhub.uniform(1, 3))
    net.stimulate("drive", targets="E", probability=1.0, weight="0.5 + post_ynorm")
    return net


def _worst_spike_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    worst = 0.0
    for key in a:
        assert len(a[key]) == len(b[key]), key
        if len(a[key]):
            worst = max(worst, float(np.max(np.abs(np.asarray(a[key]) - np.asarray(b[key])))))
    return worst


def test_mod_synapse_spikes_like_exp_two_synapse_and_converges_with_dt(tmp_path):
    """The same spikes (count per cell, times within a time-step-dependent margin) as
    expTwoSynapse; the difference (the generated mechanism integrates its states as jLEMS does,
    the .mod exactly) shrinks with the time step, so both solve the same equations."""
    worst = {}
    for dt in (0.025, 0.005):
        runs = {}
        for kind in ("mod", "nml"):
            lems = _network(kind).save(tmp_path / f"{kind}{dt}" / "modsyn.net.nml",
                                       simulation=dict(duration_ms=200, dt_ms=dt))
            runs[kind] = nmlhub.simulate(lems)
        post = [k for k in runs["mod"].spikes if k[0] == "I"]
        assert sum(len(runs["mod"].spikes[k]) for k in post) > 20  # the synapse makes I fire
        worst[dt] = _worst_spike_difference(runs["mod"].spikes, runs["nml"].spikes)
    assert worst[0.005] < 0.15 and worst[0.005] < worst[0.025] / 2, worst


def test_mod_synapse_is_kept_relative_and_survives_loading(tmp_path):
    lems = _network("mod").save(tmp_path / "net" / "modsyn.net.nml", simulation=dict(duration_ms=10, dt_ms=0.025))
    model = nmlhub.load(lems)
    synapse = component_mod_synapse(model.components["exc"].obj)
    assert model.components["exc"].type == "silentSynapse"  # what other NeuroML tools see
    assert synapse.mechanism == "DoubleExpSyn"
    assert synapse.parameters == {"tau_rise": 0.5, "tau_decay": 5.0, "erev": 0.0}
    assert synapse.path(tmp_path / "net" / "modsyn.net.nml") == (MODS / "doubleexp.mod").resolve()
    assert not Path(synapse.file).is_absolute()


@pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                    reason="no MPI library")
def test_mod_synapse_on_two_ranks_gives_the_serial_spikes(tmp_path):
    lems = _network("mod").save(tmp_path / "modsyn.net.nml", simulation=dict(duration_ms=200, dt_ms=0.025))
    found = {}
    for ranks in (1, 2):
        command = [sys.executable, str(HERE / "parallel_run.py"), str(lems), str(tmp_path / f"{ranks}.pkl")]
        if ranks > 1:
            command = mpi.mpiexec_command(ranks, [])[:3] + command
        proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        found[ranks] = pickle.loads((tmp_path / f"{ranks}.pkl").read_bytes())
    assert found[2]["nhost"] == 2 and found[2]["cells_here"] < 30
    assert sum(len(v) for k, v in found[1]["spikes"].items() if k[0] == "I") > 20
    assert found[2]["spikes"] == found[1]["spikes"]


def test_builder_refuses_bad_mod_synapses(tmp_path):
    net = nmlhub.NetworkBuilder("bad")
    with pytest.raises(RuleError, match=r"synapse 'a'.*not found"):
        net.mod_synapse("a", mod_file=tmp_path / "missing.mod")
    with pytest.raises(RuleError, match=r"synapse 'b'.*notasynapse.mod.*POINT_PROCESS and a NET_RECEIVE"):
        net.mod_synapse("b", mod_file=MODS / "notasynapse.mod")
    with pytest.raises(RuleError, match=r"synapse 'c'.*doubleexp.mod.*tau1 is not a RANGE parameter of DoubleExpSyn"):
        net.mod_synapse("c", mod_file=MODS / "doubleexp.mod", tau1=0.1)


def test_a_file_whose_mod_went_missing_names_the_file_and_synapse(tmp_path):
    mod = tmp_path / "mods" / "doubleexp.mod"
    mod.parent.mkdir()
    mod.write_bytes((MODS / "doubleexp.mod").read_bytes())
    lems = _network("mod", mod).save(tmp_path / "modsyn.net.nml", simulation=dict(duration_ms=10, dt_ms=0.025))
    mod.unlink()
    with pytest.raises(SimulationError) as info:
        nmlhub.simulate(lems)
    message = str(info.value)
    assert "modsyn.net.nml" in message and "synapse 'exc'" in message and "mods/doubleexp.mod not found" in message


def _netpyne_model(folder: Path, synapse: dict) -> Path:
    """A small NetPyNE model: noisy NetStims onto soma-and-dendrite hh cells through ``synapse``."""
    import json

    params = {"cellParams": {"PYR": {"secs": {
        "soma": {"geom": {"diam": 18.8, "L": 18.8, "Ra": 123.0}, "mechs": {"hh": {}}},
        "dend": {"geom": {"diam": 5.0, "L": 150.0, "Ra": 150.0, "nseg": 3},
                 "topol": {"parentSec": "soma", "parentX": 1.0, "childX": 0}, "mechs": {"pas": {"g": 3.57e-5, "e": -70}}}}}},
        "synMechParams": {"exc": synapse},
        "popParams": {"bg": {"cellModel": "NetStim", "numCells": 20, "rate": 40, "noise": 0.8},
                      "P": {"cellType": "PYR", "numCells": 10}},
        "connParams": {"bg->P": {"preConds": {"pop": "bg"}, "postConds": {"pop": "P"}, "probability": 0.5,
                                 "weight": 0.004, "delay": 2, "synMech": "exc", "sec": "dend"}}}
    path = folder / "model.json"
    path.write_text(json.dumps({"netParams": params, "simConfig": {"duration": 1000, "dt": 0.025,
                                                                   "seeds": {"conn": 1, "stim": 2, "loc": 3}}}))
    return path


def test_netpyne_synapse_of_another_mod_runs_at_exp2syns_rates(tmp_path):
    """synMechParams with mod DoubleExpSyn (found in --mod-dir) imports as a .mod synapse and
    gives the rates of the same model with NEURON's Exp2Syn (imported as expTwoSynapse)."""
    from nmlhub.importers.netpyne import import_netpyne

    rates = {}
    for name, synapse, mods in (("own", {"mod": "DoubleExpSyn", "tau_rise": 0.5, "tau_decay": 5.0, "erev": 0}, MODS),
                                ("exp2syn", {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 5.0, "e": 0}, None)):
        (tmp_path / name).mkdir()
        done = import_netpyne(_netpyne_model(tmp_path / name, synapse), tmp_path / name / "m.net.nml", mod_dir=mods)
        model = nmlhub.load(done.lems)
        if name == "own":
            assert component_mod_synapse(model.components["exc"].obj).mechanism == "DoubleExpSyn"
        results = nmlhub.simulate(model)
        rates[name] = sum(len(v) for k, v in results.spikes.items() if k[0] == "P") / 10 / 1.0
    assert rates["exp2syn"] > 5  # Hz: the synapses drive the cells
    assert abs(rates["own"] - rates["exp2syn"]) <= 0.05 * rates["exp2syn"], rates


def test_netpyne_synapse_mod_that_is_not_a_synapse_is_refused(tmp_path):
    from nmlhub.importers.netpyne import NetPyNEError, import_netpyne

    source = _netpyne_model(tmp_path, {"mod": "leakish", "g": 0.001})
    with pytest.raises(NetPyNEError, match=r"synMechParams 'exc'.*POINT_PROCESS and a NET_RECEIVE"):
        import_netpyne(source, tmp_path / "m.net.nml", mod_dir=MODS)
    assert not (tmp_path / "m.net.nml").exists()


def test_validate_says_who_simulates_the_synapse_and_what_changed(tmp_path):
    from nmlhub.model.validate import validate

    mod = tmp_path / "mods" / "doubleexp.mod"
    mod.parent.mkdir()
    mod.write_bytes((MODS / "doubleexp.mod").read_bytes())
    nml = tmp_path / "modsyn.net.nml"
    _network("mod", mod).save(nml)
    found = [p for p in validate(nml) if p.element == "synapse exc"]
    assert [p.severity for p in found] == ["warning"] and "point process DoubleExpSyn" in found[0].message
    mod.write_bytes(mod.read_bytes() + b"\n: edited\n")
    found = [p for p in validate(nml) if p.element == "synapse exc"]
    assert [p.severity for p in found] == ["warning", "warning"] and "sha256 differs" in found[1].message
    mod.write_bytes((MODS / "notasynapse.mod").read_bytes())
    found = [p for p in validate(nml) if p.element == "synapse exc"]
    assert [p.severity for p in found] == ["error"] and "POINT_PROCESS and a NET_RECEIVE" in found[0].message
    assert found[0].file == str(nml)


def test_recorded_conductance_of_a_mod_synapse_is_the_analytic_two_exponential_in_si(tmp_path):
    """``net.record("exc/g", ...)`` of a .mod synapse: its variable in SI (the .mod declares uS),
    equal to the sum of w * factor * (exp(-s/tau_decay) - exp(-s/tau_rise)) over the arrivals."""
    net = nmlhub.NetworkBuilder("one", seed=1)
    net.add(neuroml.Izhikevich2007Cell(id="rs", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    net.mod_synapse("exc", mod_file=MODS / "doubleexp.mod", tau_rise=0.5, tau_decay=5, erev=0)
    net.add(neuroml.PulseGenerator(id="drive", delay="10ms", duration="150ms", amplitude="150pA"))
    net.population("E", cell="rs", count=1)
    net.population("I", cell="rs", count=1)
    net.connect("E", "I", "exc", nmlhub.AllToAll(), weight=0.002, delay=2.0)
    net.stimulate("drive", targets="E")
    net.record("exc/g", "I[0]")
    results = nmlhub.simulate(net.save(tmp_path / "one.net.nml", simulation=dict(duration_ms=200, dt_ms=0.025)))
    (path, trace), = results.traces.items()
    # jLEMS's event timing (README "Event timing", the default) acts on an event at the step after it arrives
    arrivals = np.asarray(results.spikes[("E", 0)]) + 2.0 + 0.025
    assert len(arrivals) >= 3
    t = np.asarray(results.time_ms)
    t_peak = 0.5 * 5 / (5 - 0.5) * np.log(5 / 0.5)
    factor = 1 / (np.exp(-t_peak / 5) - np.exp(-t_peak / 0.5))
    s = np.clip(t[:, None] - arrivals[None, :], 0, None)
    expected = (2e-9 * factor * (np.exp(-s / 5) - np.exp(-s / 0.5))).sum(axis=1)  # S
    assert np.max(np.abs(trace - expected)) < 0.005 * expected.max(), path
