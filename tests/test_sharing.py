"""Shared synapse instances for linear synapses give the same network activity as one instance
per connection (the LEMS default), with fewer instances."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import nmlhub
from nmlhub.neuron.mechanisms import build_mechanisms
from nmlhub.neuron.simulation import NeuronSimulation

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"


def test_shared_linear_synapses_give_the_same_spikes():
    model = nmlhub.load(EXAMPLES / "izh_network" / "LEMS_izh_network.xml")
    runs = {}
    for share in (False, True):
        sim = NeuronSimulation(model, share_synapses=share)
        results = sim.run()
        runs[share] = (results, len(sim.instance.synapses))
    (alone, n_alone), (shared, n_shared) = runs[False], runs[True]
    assert n_shared < n_alone / 3
    assert alone.spike_count() > 100
    for key in alone.spikes:
        np.testing.assert_allclose(shared.spikes[key], alone.spikes[key], atol=1e-9)


def test_linear_synapses_are_shareable():
    model = nmlhub.load(EXAMPLES / "izh_network" / "LEMS_izh_network.xml")
    mechanisms = build_mechanisms(model, ["syn_exc", "syn_inh"])
    assert mechanisms["syn_exc"].shareable and mechanisms["syn_inh"].shareable
