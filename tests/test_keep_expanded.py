"""What the rules expanded to is released during the build unless ``keep_expanded`` asks to keep it;
either way the network and its spikes are the same."""

from __future__ import annotations

import neuroml
import numpy as np

import nmlhub
from nmlhub.neuron.simulation import NeuronSimulation


def _network(tmp_path):
    net = nmlhub.NetworkBuilder("kept", size=(300, 300, 300), seed=5)
    net.add(neuroml.Izhikevich2007Cell(id="izh_RS", C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50mV",
                                       d="100pA"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="3nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.ExpTwoSynapse(id="gaba", gbase="3nS", erev="-80mV", tau_rise="0.5ms", tau_decay="10ms"))
    net.add(neuroml.PoissonFiringSynapse(id="bkg", average_rate="150 Hz", synapse="ampa", spike_target="./ampa"))
    net.population("E", cell="izh_RS", count=40)
    net.population("I", cell="izh_RS", count=10)
    net.connect("E", ["E", "I"], "ampa", nmlhub.Probability(0.2), delay="1 + dist_3D/500", id="exc")
    net.connect("I", ["E", "I"], "gaba", nmlhub.Probability(0.3), delay=1.5, id="inh")
    net.stimulate("bkg", targets=["E", "I"], id="background")
    return net.save(tmp_path / "kept.net.nml", simulation=dict(duration_ms=100, dt_ms=0.025, spikes=None))


def _spikes(results):
    return {key: np.asarray(times) for key, times in results.spikes.items() if len(times)}


def test_expanded_tables_are_released_unless_kept(tmp_path):
    lems = _network(tmp_path)
    kept = NeuronSimulation(nmlhub.load(lems), keep_expanded=True)
    kept_spikes = _spikes(kept.run())
    released = NeuronSimulation(nmlhub.load(lems))
    released_spikes = _spikes(released.run())

    assert released.expanded is None
    assert kept.expanded is not None and len(kept.expanded.projections) == 4  # 2 rules x 2 target populations
    assert all(p is not None and len(p) for p in kept.expanded.projections)
    assert sum(len(p) for p in kept.expanded.projections) == kept.expanded.connection_count > 0
    assert kept_spikes and kept_spikes.keys() == released_spikes.keys()
    assert all(np.array_equal(kept_spikes[k], released_spikes[k]) for k in kept_spikes)
