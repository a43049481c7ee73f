"""Network rules: statistics of each rule against theory, selections against brute force,
determinism, partition invariance, placement, annotations round trip and simulation."""

from __future__ import annotations

import math

import neuroml
import numpy as np
import pytest
from scipy import integrate, stats

import nmlhub
from nmlhub.model.validate import is_valid, validate
from nmlhub.rules.connectivity import ConnectivityRule, Placement, expand_rule
from nmlhub.rules.expand import expand
from nmlhub.rules.layout import PopulationRule, expand_populations, place
from nmlhub.rules.placement import segment_table
from nmlhub.rules.placement import place as place_synapses
from nmlhub.rules.selection import CellSelector
from nmlhub.rules.values import RuleError, normal, lognormal, parse_value

SIZE = (500.0, 1000.0, 500.0)


def _cells(n_e=400, n_i=100, seed=5):
    return expand_populations([PopulationRule("E", "pyr", count=n_e), PopulationRule("I", "bask", count=n_i)],
                              SIZE, seed)


def _pairs(projections):
    pre = np.concatenate([p.pre_cell.astype(np.int64) + (0 if p.pre_population == "E" else 10_000) for p in projections])
    post = np.concatenate([p.post_cell.astype(np.int64) + (0 if p.post_population == "E" else 10_000) for p in projections])
    return pre, post


def _rule(kind, parameter=None, **kw):
    return ConnectivityRule("r", CellSelector.make(kw.pop("pre", None)), CellSelector.make(kw.pop("post", None)),
                            ("syn",), kind, parameter, **kw)


def test_probability_count_within_binomial_bounds():
    cells = _cells()
    n = len(cells)
    rule = _rule("probability", 0.05)
    pre, post = _pairs(expand_rule(rule, cells, seed=1))
    trials = n * (n - 1)  # no autapses
    mean, sd = trials * 0.05, math.sqrt(trials * 0.05 * 0.95)
    assert abs(len(pre) - mean) < 4 * sd
    assert not np.any(pre == post)  # no autapses
    assert len(set(zip(pre.tolist(), post.tolist()))) == len(pre)  # no multapses
    # in-degree per post cell follows Binomial(n-1, p): compare its variance too
    indegree = np.bincount(post, minlength=20_000)[np.unique(post)]
    assert abs(indegree.var() - (n - 1) * 0.05 * 0.95) < 0.25 * (n - 1) * 0.05


def test_convergence_and_divergence_are_exact():
    cells = _cells()
    conv = expand_rule(_rule("convergence", 30, pre="E", post="I"), cells, seed=2)
    pre, post = _pairs(conv)
    assert np.all(np.bincount(post - 10_000) == 30)
    assert len(set(zip(pre.tolist(), post.tolist()))) == len(pre)
    div = expand_rule(_rule("divergence", 12, pre="I", post="E"), cells, seed=2)
    pre, post = _pairs(div)
    assert np.all(np.bincount(pre - 10_000) == 12) and len(np.unique(pre)) == 100
    with pytest.raises(RuleError, match="multapses"):
        expand_rule(_rule("convergence", 500, pre="I", post="E"), cells, seed=2)
    multi = expand_rule(_rule("convergence", 150, pre="I", post="E", multapses=True), cells, seed=2)
    assert np.all(np.bincount(_pairs(multi)[1]) == 150)


def test_distance_dependent_probability_follows_its_profile():
    cells = expand_populations([PopulationRule("E", "pyr", count=1500)], (600.0, 600.0, 600.0), 3)
    rule = _rule("probability", "0.6*exp(-dist_3D/80)", max_distance=400)
    pre, post = _pairs(expand_rule(rule, cells, seed=4))
    # every candidate pair, by brute force
    a, b = np.meshgrid(np.arange(1500), np.arange(1500), indexing="ij")
    a, b = a.ravel(), b.ravel()
    keep = a != b
    a, b = a[keep], b[keep]
    d = np.linalg.norm(cells.position[a] - cells.position[b], axis=1)
    is_connected = np.isin(a * 10_000 + b, pre * 10_000 + post)
    for lo, hi in [(0, 50), (50, 100), (100, 150), (150, 250), (250, 400)]:
        in_bin = (d >= lo) & (d < hi)
        expected = 0.6 * np.exp(-d[in_bin] / 80)
        mean, sd = expected.sum(), math.sqrt((expected * (1 - expected)).sum())
        assert abs(is_connected[in_bin].sum() - mean) < 4 * sd + 1, (lo, hi)
    assert not is_connected[d > 400].any()


def test_one_to_one_all_to_all_and_list():
    cells = expand_populations([PopulationRule("A", "x", count=20), PopulationRule("B", "x", count=20)], SIZE, 1)
    one = expand_rule(_rule("one_to_one", pre="A", post="B"), cells, seed=1)[0]
    assert np.array_equal(one.pre_cell, one.post_cell) and len(one) == 20
    full = expand_rule(_rule("all_to_all", pre="A", post="A"), cells, seed=1)[0]
    assert len(full) == 20 * 19 and not np.any(full.pre_cell == full.post_cell)
    pairs = np.array([[3, 4], [0, 19], [3, 4]])
    listed = ConnectivityRule("l", CellSelector.make("A"), CellSelector.make("B"), ("syn",), "from_list",
                              pairs=pairs, list_weights=np.array([0.5, 2.0, 3.0]), multapses=True)
    out = expand_rule(listed, cells, seed=1)[0]
    assert sorted(zip(out.pre_cell.tolist(), out.post_cell.tolist(), out.weight.tolist())) == \
        [(0, 19, 2.0), (3, 4, 0.5), (3, 4, 3.0)]


def test_conditions_select_exactly_the_right_cells():
    cells = _cells()
    selector = CellSelector.make(["E"], ynorm=(0.2, 0.6), x=(100, 300))
    chosen = selector.select(cells)
    brute = [g for g in range(len(cells))
             if cells.populations[cells.population_index[g]] == "E"
             and 0.2 <= cells.position[g, 1] / SIZE[1] <= 0.6 and 100 <= cells.position[g, 0] <= 300]
    assert chosen.tolist() == brute and len(brute) > 10
    typed = CellSelector.make(cell_types="bask").select(cells)
    assert typed.tolist() == cells.gids_of("I").tolist()
    rule = _rule("all_to_all", pre="I", post="E")
    rule.post = selector
    pre, post = _pairs(expand_rule(rule, cells, seed=1))
    assert set(post.tolist()) == set(cells.index[brute].tolist())


def _all_rules():
    return [
        _rule("probability", 0.05, weight=normal(1.0, 0.3, low=0.2), delay="1 + dist_3D/300"),
        _rule("probability", "0.3*exp(-dist_3D/100)", max_distance=350, weight=lognormal(0, 0.5, high=4)),
        _rule("convergence", 20, pre="E", weight="0.5 + post_ynorm"),
        _rule("divergence", 15, pre="I", delay=normal(2.0, 0.5, low=0.5)),
        _rule("convergence", 30, pre="I", post="E", multapses=True, weight=normal(1, 1)),
        _rule("all_to_all", pre="I", post="I"),
    ]


@pytest.mark.parametrize("k", range(6))
def test_same_seed_same_bytes_and_partitions_agree(k):
    cells = _cells()
    rule = _all_rules()[k]

    def columns(projections):
        return b"".join(a.tobytes() for p in projections for a in
                        (p.pre_cell, p.post_cell, p.weight, p.delay, p.post_segment, p.post_fraction))

    full = expand_rule(rule, cells, seed=9)
    assert columns(full) == columns(expand_rule(rule, cells, seed=9))
    if rule.kind != "all_to_all":
        assert columns(full) != columns(expand_rule(rule, cells, seed=10))
    for ranks in (2, 3):
        parts = [expand_rule(rule, cells, seed=9, owned_posts=np.arange(r, len(cells), ranks)) for r in range(ranks)]
        for proj in full:
            rows = []
            for part in parts:
                rows += [np.column_stack([p.pre_cell, p.post_cell, p.weight, p.delay])
                         for p in part if p.id == proj.id]
            merged = np.vstack(rows)
            merged = merged[np.lexsort((merged[:, 3], merged[:, 2], merged[:, 0], merged[:, 1]))]
            mine = np.column_stack([proj.pre_cell, proj.post_cell, proj.weight, proj.delay])
            mine = mine[np.lexsort((mine[:, 3], mine[:, 2], mine[:, 0], mine[:, 1]))]
            assert np.array_equal(merged, mine)


def test_distributions_match_theory():
    u = np.random.default_rng(0).random(200_000)
    values = normal(1.0, 0.5, low=0.5, high=2.0).from_uniform(u)
    assert values.min() >= 0.5 and values.max() <= 2.0
    theory = stats.truncnorm((0.5 - 1.0) / 0.5, (2.0 - 1.0) / 0.5, loc=1.0, scale=0.5)
    assert abs(values.mean() - theory.mean()) < 0.01 and abs(values.std() - theory.std()) < 0.01
    logn = lognormal(0.1, 0.4).from_uniform(u)
    assert abs(np.log(logn).mean() - 0.1) < 0.01 and abs(np.log(logn).std() - 0.4) < 0.01
    assert parse_value("normal(1, 0.2, low=0)").distribution == normal(1, 0.2, low=0)
    with pytest.raises(RuleError, match="unknown name"):
        parse_value("0.1*exp(-distance/3)")
    with pytest.raises(RuleError):
        parse_value("__import__('os')")


def test_density_layout_matches_its_integral():
    rule = PopulationRule("L", "pyr", density="5e4*exp(-2*ynorm)", ranges={"ynorm": (0.1, 0.6)})
    size = (300.0, 1000.0, 300.0)
    pos = place(rule, size, seed=1)
    # cells per mm3 integrated over the slab (um -> mm)
    expected, _ = integrate.quad(lambda y: 5e4 * math.exp(-2 * y / 1000.0), 100, 600)
    expected *= 300 * 300 * 1e-9
    assert abs(len(pos) - expected) <= max(1.0, 0.01 * expected)
    assert pos[:, 1].min() >= 100 and pos[:, 1].max() <= 600
    # depth histogram follows the density (more cells near the top), by a KS test
    ys = np.sort(pos[:, 1])
    cdf = lambda y: (np.exp(-0.2) - np.exp(-2 * y / 1000)) / (np.exp(-0.2) - np.exp(-1.2))  # noqa: E731
    assert stats.kstest(ys, cdf).pvalue > 0.001
    cyl = place(PopulationRule("C", "pyr", count=500, shape="cylinder"), size, seed=2)
    assert np.all((cyl[:, 0] - 150) ** 2 + (cyl[:, 2] - 150) ** 2 <= 150 ** 2 + 1e-9)


def _morphology():
    segs = [neuroml.Segment(id=0, name="soma", proximal=neuroml.Point3DWithDiam(x=0, y=0, z=0, diameter=10),
                            distal=neuroml.Point3DWithDiam(x=0, y=10, z=0, diameter=10))]
    for sid, (length, parent) in enumerate([(100, 0), (200, 1), (300, 1)], start=1):
        top = segs[parent].distal
        segs.append(neuroml.Segment(id=sid, parent=neuroml.SegmentParent(segments=parent),
                                    distal=neuroml.Point3DWithDiam(x=top.x, y=top.y + length, z=0, diameter=1)))
    dend = neuroml.SegmentGroup(id="dend", members=[neuroml.Member(segments=i) for i in (1, 2, 3)])
    return neuroml.Morphology(id="m", segments=segs, segment_groups=[dend])


def test_placement_is_proportional_to_length_and_profile():
    table = segment_table(_morphology(), ("dend",))
    u = np.random.default_rng(3).random((2, 60_000))
    segments, fractions = place_synapses(table, Placement(("dend",)), np.zeros(60_000), 1000.0, u[0], u[1])
    counts = np.array([np.sum(segments == s) for s in (1, 2, 3)])
    expected = 60_000 * np.array([100, 200, 300]) / 600
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected))
    assert 0 <= fractions.min() and fractions.max() < 1
    # a path-distance profile: density 0 below 150 um, 1 above: segment 1 (10-110 um) gets none
    profile = Placement(("dend",), "profile", "path", ((0, 0), (149.9, 0), (150, 1), (1000, 1)))
    segments, _ = place_synapses(table, profile, np.zeros(60_000), 1000.0, u[0], u[1])
    assert not np.any(segments == 1) and abs(np.sum(segments == 3) / np.sum(segments == 2) - 1.5) < 0.1


def test_rules_round_trip_through_neuroml(tmp_path):
    net = _builder()
    path = net.save(tmp_path / "net.net.nml")
    model = nmlhub.load(path)
    again = model.rules["cortex"]
    first = expand(net.rules)
    second = expand(again)
    for a, b in zip(first.projections, second.projections, strict=True):
        assert a.id == b.id
        for name in ("pre_cell", "post_cell", "weight", "delay"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
    assert [p.id for p in model.networks[0].populations] == ["E", "I"]
    assert is_valid(validate(path)), [str(p) for p in validate(path)]


def test_bad_rules_name_the_file_and_line(tmp_path):
    net = _builder()
    path = net.save(tmp_path / "net.net.nml")
    text = path.read_text().replace('parameter="0.1*exp(-dist_3D/300)"', 'parameter="0.1*exp(-distance/300)"')
    bad = tmp_path / "bad.net.nml"
    bad.write_text(text)
    with pytest.raises(nmlhub.ModelError) as info:
        nmlhub.load(bad)
    message = str(info.value)
    assert "bad.net.nml" in message and "distance" in message and "E_to_I" in message


def _builder():
    net = nmlhub.NetworkBuilder("cortex", size=(300, 600, 300), seed=11)
    net.add(neuroml.Izhikevich2007Cell(id="rs", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.ExpTwoSynapse(id="gaba", gbase="2nS", erev="-80mV", tau_rise="0.5ms", tau_decay="10ms"))
    net.add(neuroml.PulseGenerator(id="drive", delay="10ms", duration="150ms", amplitude="150pA"))
    net.population("E", cell="rs", density="4e3*(1 - 0.5*ynorm)")
    net.population("I", cell="rs", count=20, ynorm_range=(0.2, 0.8))
    net.connect("E", "I", "ampa", nmlhub.Probability("0.1*exp(-dist_3D/300)"), weight=nmlhub.normal(1, 0.2, low=0),
                delay="1 + dist_3D/500")
    net.connect("I", "E", "gaba", nmlhub.Convergence(5), weight=0.5, delay=1.0)
    net.connect("E", "E", "ampa", nmlhub.Probability(0.05), delay=nmlhub.uniform(1, 3))
    net.stimulate("drive", targets="E", probability=0.6, weight="0.8 + 0.4*post_ynorm")
    return net


def test_rule_network_simulates_like_its_explicit_expansion(tmp_path):
    """The same network run from its rules and from the saved explicit expansion gives the same
    spikes: the driver's rule path and the NeuroML path agree."""
    net = _builder()
    options = dict(duration_ms=200, dt_ms=0.025)
    rules_lems = net.save(tmp_path / "rules" / "cortex.net.nml", simulation=options)
    explicit_lems = net.save(tmp_path / "explicit" / "cortex.net.nml", expanded=True, simulation=options)
    a = nmlhub.simulate(rules_lems)
    b = nmlhub.simulate(explicit_lems)
    assert a.spike_count() > 20
    assert a.spikes.keys() == b.spikes.keys()
    for key in a.spikes:
        assert np.array_equal(a.spikes[key], b.spikes[key]), key


def test_population_properties_select_cells(tmp_path):
    net = _builder()
    net.rules.populations[1].properties = {"layer": "L5", "kind": "inh"}
    net.connect(None, None, "gaba", nmlhub.AllToAll(), id="by_property",
                pre_conditions={"properties": {"layer": "L5"}}, post_conditions={"properties": {"kind": "inh"}})
    expanded = expand(net.rules)
    chosen = [p for p in expanded.projections if p.rule == "by_property"]
    assert [(p.pre_population, p.post_population) for p in chosen] == [("I", "I")]
    assert len(chosen[0]) == 20 * 19
    path = net.save(tmp_path / "p.net.nml")
    again = nmlhub.load(path)
    assert again.rules["cortex"].populations[1].properties == {"layer": "L5", "kind": "inh"}
    # in a file of rules alone, a population's properties sit in its annotation (jLEMS finds no
    # cell pop[i] in a population of a size with <property> children); expanded, on the population
    from lxml import etree

    ns = {"n": "http://www.neuroml.org/schema/neuroml2"}
    found = etree.parse(str(path)).findall(".//n:population[@id='I']/n:annotation/n:property", ns)
    assert {p.get("tag"): p.get("value") for p in found} == {"layer": "L5", "kind": "inh"}
    assert is_valid(validate(path))
    expanded_path = net.save(tmp_path / "e.net.nml", expanded=True)
    populations = nmlhub.load(expanded_path).networks[0].populations
    assert {p.tag: p.value for p in populations[1].properties} == {"layer": "L5", "kind": "inh"}
