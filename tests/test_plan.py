"""The build plan (nmlhub.neuron.plan): one gid numbering and one rank per gid, seen alike from
every rank and by the rule expansion; one view of a population whatever file shape it came in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nmlhub
from nmlhub.neuron.mechanisms import build_mechanisms
from nmlhub.neuron.network import needed_components
from nmlhub.neuron.plan import make_plan, network_populations
from nmlhub.rules.layout import expand_populations

EXAMPLES = Path(__file__).resolve().parent.parent / "nml_examples"


def _plans(lems: Path, nhost: int, balance: bool):
    model = nmlhub.load(lems)
    network = model.network(model.simulation.target)
    rules = model.rules.get(network.id)
    mechanisms = build_mechanisms(model, needed_components(network, model.network_extras.get(network.id), rules))
    cells = expand_populations(rules.populations, rules.size, rules.seed) if rules is not None else None
    return cells, [make_plan(network, mechanisms, cells, rank, nhost, balance) for rank in range(nhost)]


@pytest.mark.parametrize("lems, balance", [("layered_cortex/LEMS_layered_cortex.xml", False),
                                           ("layered_cortex/LEMS_layered_cortex.xml", True),
                                           ("mc_network/LEMS_mc_network.xml", True)])
def test_every_cell_lives_on_exactly_one_rank_and_every_rank_agrees(lems, balance):
    cells, plans = _plans(EXAMPLES / lems, 3, balance)
    first = plans[0]
    assert all(p.gids == first.gids and np.array_equal(p.owner, first.owner) for p in plans)
    assert sorted(first.gids.values()) == list(range(sum(len(v.ids) for v in first.populations)))
    owners = {key: [p.rank for p in plans if p.owns(*key)] for key in first.gids}
    assert all(len(ranks) == 1 for ranks in owners.values())
    assert len({r[0] for r in owners.values()}) == min(3, len(owners))  # every rank gets cells
    for plan in plans:
        for view in plan.populations:
            mask = plan.local_mask(view.id, np.asarray(view.ids + (10**6,)))
            assert mask.tolist() == [plan.owns(view.id, i) for i in view.ids] + [False]
        if cells is not None:  # the rule cells this rank expands are the ones it builds
            rule_gids = sorted(g for (pop, _), g in plan.gids.items() if pop in cells.populations)
            built = [k for k, g in enumerate(rule_gids) if plan.owns(*_key(plan, g))]
            assert plan.owned_tail(len(cells)).tolist() == built


def _key(plan, gid):
    return next(key for key, g in plan.gids.items() if g == gid)


def test_a_population_read_from_neuroml_hdf5_is_seen_as_from_xml(tmp_path):
    source = EXAMPLES / "izh_network" / "izh_network.net.nml"
    nmlhub.save(source, tmp_path / "net.h5")
    from_xml = network_populations(nmlhub.load(source).networks[0])
    from_hdf5 = network_populations(nmlhub.load(tmp_path / "net.h5").networks[0])
    assert [(v.id, v.component, v.ids) for v in from_xml] == [(v.id, v.component, v.ids) for v in from_hdf5]
    for a, b in zip(from_xml, from_hdf5):
        assert [a.position(k) for k in range(len(a.ids))] == [b.position(k) for k in range(len(b.ids))]
        assert all(a.position(k) is not None for k in range(len(a.ids)))
