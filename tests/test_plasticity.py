"""nmlhub's plastic synapses (STDP and reward-modulated STDP) against their analytic rules."""

from __future__ import annotations

import math

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.neuron.simulation import NeuronSimulation
from nmlhub.rules.plasticity import reward_stdp_synapse, stdp_synapse

DT = 0.025
TAU_PLUS, TAU_MINUS, A_PLUS, A_MINUS, W_INIT = 20.0, 30.0, 0.05, 0.04, 1.0


def _izh(cell_id: str):
    return neuroml.Izhikevich2007Cell(id=cell_id, v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV",
                                      vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV",
                                      d="100pA")


def _pairing_network(synapse, offsets_ms, post_kick_ms=100.0):
    """One pre spike source and one post cell per offset; the pre spike arrives offset ms before
    the post cell is kicked into firing (negative: after)."""
    net = nmlhub.NetworkBuilder("pairing", size=(100, 100, 100), seed=1)  # not the synapse's id: ids are unique
    net.add(_izh("post_cell"))
    net.add(synapse)
    net.add(neuroml.PulseGenerator(id="kick", delay=f"{post_kick_ms}ms", duration="2ms", amplitude="2nA"))
    for k, offset in enumerate(offsets_ms):
        net.add(neuroml.SpikeArray(id=f"src{k}", spikes=[neuroml.Spike(id=0, time=f"{post_kick_ms - offset}ms")]))
        net.population(f"pre{k}", cell=f"src{k}", count=1)
        net.population(f"post{k}", cell="post_cell", count=1)
        net.connect(f"pre{k}", f"post{k}", synapse.id, nmlhub.OneToOne(), weight=1.0, delay=DT, id=f"pair{k}")
        net.stimulate("kick", targets=f"post{k}", id=f"kick{k}")
    return net


def _crossing_ms(time_ms, v, threshold_v):
    k = int(np.flatnonzero((v[:-1] <= threshold_v) & (v[1:] > threshold_v))[0])
    return time_ms[k + 1]


def test_stdp_window_matches_the_pair_rule(tmp_path):
    offsets = [-40.0, -15.0, -5.0, 5.0, 15.0, 40.0]
    synapse = stdp_synapse("stdp", gbase="0.001nS", tau_plus=f"{TAU_PLUS}ms", tau_minus=f"{TAU_MINUS}ms",
                           a_plus=A_PLUS, a_minus=A_MINUS, w_max=2.0, w_init=W_INIT, post_threshold="-20mV")
    net = _pairing_network(synapse, offsets)
    record = [f"post{k}[0]" for k in range(len(offsets))]
    lems = net.save(tmp_path / "stdp.net.nml", simulation=dict(duration_ms=200, dt_ms=DT, record_v=record))
    model = nmlhub.load(lems)
    sim = NeuronSimulation(model)
    sim.build()
    from neuron import h

    assert not sim.mechanisms["stdp"].shareable  # a plastic synapse keeps one instance per connection
    name = sim.mechanisms["stdp"].mechanism.variables["w"]
    w = [h.Vector().record(getattr(sim.instance.cell(f"post{k}", 0).attached["stdp"][0], f"_ref_{name}"))
         for k in range(len(offsets))]
    results = sim.run()
    for k, offset in enumerate(offsets):
        v = results.traces[f"post{k}[0]/v"]
        t_post = _crossing_ms(results.time_ms, v, -0.020)
        t_pre = 100.0 - offset + DT  # spike time + connection delay: when the event arrives
        dt = t_post - t_pre
        expected = A_PLUS * math.exp(-dt / TAU_PLUS) if dt > 0 else -A_MINUS * math.exp(dt / TAU_MINUS)
        change = np.asarray(w[k])[-1] - W_INIT
        assert change == pytest.approx(expected, rel=0.01, abs=1e-6), (offset, dt)


def test_weight_bounds_hold(tmp_path):
    synapse = stdp_synapse("stdp", gbase="0.001nS", a_plus=5.0, a_minus=5.0, w_max=1.5, w_init=1.0)
    net = _pairing_network(synapse, [5.0, -5.0])
    lems = net.save(tmp_path / "b.net.nml", simulation=dict(duration_ms=150, dt_ms=DT))
    sim = NeuronSimulation(nmlhub.load(lems))
    sim.run()
    name = sim.mechanisms["stdp"].mechanism.variables["w"]
    final = [getattr(sim.instance.cell(f"post{k}", 0).attached["stdp"][0], name) for k in range(2)]
    assert final == [pytest.approx(1.5), pytest.approx(0.0)]


def test_reward_turns_eligibility_into_weight(tmp_path):
    tau_c, rate = 400.0, 2.0  # ms, per second
    synapse = reward_stdp_synapse("rstdp", gbase="0.001nS", tau_plus=f"{TAU_PLUS}ms", tau_minus=f"{TAU_MINUS}ms",
                                  tau_c=f"{tau_c}ms", a_plus=1.0, a_minus=1.0, learning_rate=f"{rate}per_s",
                                  reward=0.0, w_max=10.0, w_init=W_INIT)
    net = _pairing_network(synapse, [10.0])
    lems = net.save(tmp_path / "r.net.nml", simulation=dict(duration_ms=600, dt_ms=DT, record_v=["post0[0]"]))
    sim = NeuronSimulation(nmlhub.load(lems))
    sim.build()
    from neuron import h

    point = sim.instance.cell("post0", 0).attached["rstdp"][0]
    w = h.Vector().record(getattr(point, "_ref_" + sim.mechanisms["rstdp"].mechanism.variables["w"]))
    reward_at = 300.0
    sim.at(reward_at, lambda: sim.set_parameter("rstdp", "reward", 1.0))
    results = sim.run()
    w = np.asarray(w)
    t_post = _crossing_ms(results.time_ms, results.traces["post0[0]/v"], -0.020)
    c0 = math.exp(-(t_post - (90.0 + DT)) / TAU_PLUS)  # eligibility right after the post spike
    before = w[np.searchsorted(results.time_ms, reward_at) - 2]
    assert before == pytest.approx(W_INIT, abs=1e-12)  # no reward, no change
    c_at_reward = c0 * math.exp(-(reward_at - t_post) / tau_c)
    expected = rate * 1e-3 * c_at_reward * tau_c * (1 - math.exp(-(600.0 - reward_at) / tau_c))
    assert w[-1] - W_INIT == pytest.approx(expected, rel=0.01)
    with pytest.raises(nmlhub.NmlhubError, match="no parameter"):
        sim.set_parameter("rstdp", "nonsense", 1.0)


def test_both_stdp_kinds_take_the_shared_parameters_from_one_base():
    """The conductance, windows, weight bounds and threshold are defined once
    (PairStdpParameters); each kind adds its own, and each writes every one as a LEMS attribute."""
    from dataclasses import fields

    from nmlhub.rules.plasticity import PairStdpParameters, RewardStdpParameters, StdpParameters

    shared = {f.name: f.default for f in fields(PairStdpParameters)}
    for kind, own in ((StdpParameters, {"a_plus", "a_minus"}),
                      (RewardStdpParameters, {"tau_c", "a_plus", "a_minus", "learning_rate", "reward"})):
        assert {f.name: f.default for f in fields(kind) if f.name in shared} == shared
        assert {f.name for f in fields(kind)} - set(shared) == own
    plain, reward = stdp_synapse("s", tau_plus="10ms"), reward_stdp_synapse("r", tau_plus="10ms")
    for made, kind in ((plain, StdpParameters), (reward, RewardStdpParameters)):
        assert made.attributes["tauPlus"] == "10ms" and made.attributes["postThreshold"] == "-20mV"
        assert len(made.attributes) == len(fields(kind))
