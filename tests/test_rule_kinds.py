"""The registry of connectivity rule kinds: every kind is one class, found by the builder, the
annotations and batch parameter paths; the builder's and plastic synapses' options are checked by
name with the valid names listed."""

from __future__ import annotations

import numpy as np
import pytest
from lxml import etree

import nmlhub
from nmlhub.batch.params import _RULE_PARAMETER_NAMES
from nmlhub.rules.annotations import rules_from_element, rules_to_element
from nmlhub.rules.connectivity import ConnectivityRule
from nmlhub.rules.connectors import CONNECTORS, KINDS, Connector
from nmlhub.rules.expand import expand
from nmlhub.rules.plasticity import reward_stdp_synapse, stdp_synapse
from nmlhub.rules.selection import CellSelector
from nmlhub.rules.values import RuleError
from nmlhub.rules.writer import simulation_xml

EXAMPLES = {"all_to_all": nmlhub.AllToAll(), "probability": nmlhub.Probability(0.5, max_distance=300.0),
            "convergence": nmlhub.Convergence(2), "divergence": nmlhub.Divergence(3),
            "one_to_one": nmlhub.OneToOne(), "from_list": nmlhub.FromList([[0, 1], [2, 3]], weights=[1.5, 2.5])}


def test_every_connector_class_is_registered_by_its_kind():
    assert set(KINDS) == {c.kind for c in Connector.__subclasses__()} == set(EXAMPLES)
    assert all(CONNECTORS[kind] is type(rule) for kind, rule in EXAMPLES.items())
    assert _RULE_PARAMETER_NAMES == {"probability", "convergence", "divergence", "parameter"}


def _network() -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("kinds", size=(100, 100, 100), seed=3)
    net.population("A", cell="c", count=4)
    net.population("B", cell="c", count=4)
    for kind, rule in EXAMPLES.items():
        net.connect("A", "B", "syn", rule, id=kind, weight=nmlhub.normal(1, 0.1), delay="1 + dist_3D/100")
    return net


def test_each_kind_survives_its_annotation_with_the_same_connections():
    net = _network()
    again = rules_from_element(etree.fromstring(etree.tostring(rules_to_element(net.rules))), "kinds")
    assert [r.kind for r in again.connections] == list(EXAMPLES)
    first, second = expand(net.rules), expand(again)
    assert [p.id for p in first.projections] == [p.id for p in second.projections]
    for a, b in zip(first.projections, second.projections):
        for column in ("pre_cell", "post_cell", "weight", "delay"):
            assert np.array_equal(getattr(a, column), getattr(b, column)), (a.id, column)
    listed = next(p for p in first.projections if p.rule == "from_list")
    assert sorted(zip(listed.pre_cell.tolist(), listed.post_cell.tolist(), listed.weight.tolist())) == \
        [(0, 1, 1.5), (2, 3, 2.5)]
    one = next(p for p in first.projections if p.rule == "one_to_one")
    assert one.pre_cell.tolist() == one.post_cell.tolist() == [0, 1, 2, 3]


def test_an_unknown_kind_or_rule_is_refused_naming_the_kinds():
    with pytest.raises(RuleError, match="kind 'ring' is not one of all_to_all, probability"):
        ConnectivityRule("r", CellSelector(), CellSelector(), ("syn",), "ring")
    with pytest.raises(RuleError, match="unknown connectivity rule"):
        _network().connect("A", "B", "syn", "probability")
    with pytest.raises(RuleError, match="a convergence rule needs its convergence"):
        ConnectivityRule("r", CellSelector(), CellSelector(), ("syn",), "convergence")
    with pytest.raises(RuleError, match="'pre_x' is not|pre_x"):
        nmlhub.NetworkBuilder("n").connect("A", "B", "syn", nmlhub.Convergence("2 + pre_x"))


def test_connect_options_are_checked_by_name():
    with pytest.raises(RuleError) as caught:
        _network().connect("A", "B", "syn", nmlhub.AllToAll(), wieght=2.0)
    message = str(caught.value)
    assert "wieght" in message and "weight, delay, id, autapses, multapses, placement" in message
    made = _network().connect("A", "A", "syn", nmlhub.AllToAll(), weight=2.0, autapses=True, id="self")
    assert made.id == "self" and made.autapses and made.weight.constant == 2.0


def test_plastic_synapse_parameters_are_checked_by_name():
    with pytest.raises(RuleError, match=r"tau_pluss.*\(parameters: gbase, erev, tau_rise"):
        stdp_synapse("s", tau_pluss="10ms")
    with pytest.raises(RuleError, match="reward_stdp_synapse 'r': unknown parameter"):
        reward_stdp_synapse("r", rewards=1.0)
    text = reward_stdp_synapse("r", tau_c="200ms", reward=2).xml()
    assert 'tauC="200ms"' in text and 'reward="2.0"' in text and 'gbase="1nS"' in text


def test_simulation_options_are_checked_by_name():
    net = _network()
    with pytest.raises(RuleError, match="missing parameter.*dt_ms"):
        simulation_xml(net, "kinds.net.nml", duration_ms=10)
    with pytest.raises(RuleError, match="unknown parameter.*record"):
        simulation_xml(net, "kinds.net.nml", duration_ms=10, dt_ms=0.1, record=["A[0]"])
    root = etree.fromstring(simulation_xml(net, "kinds.net.nml", duration_ms=10, dt_ms=0.1, seed=4,
                                           record_v=["A[0]"]))
    sim = root.find("Simulation")
    assert (sim.get("length"), sim.get("step"), sim.get("seed")) == ("10ms", "0.1ms", "4")
    assert root.find(".//OutputColumn").get("quantity") == "A[0]/v"
