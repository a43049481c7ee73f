"""Stimulation rules (delay, lists of cells, segment groups, NetStim) and synapse placement (loc,
synapses per connection, 2D density maps), each checked against an independent computation:
input onsets against start + delay in a NEURON run, segment frequencies against lengths and map
densities within binomial bounds, exact positions against the geometry; every option kept by the
rules annotation and expanded alike on one rank and on two."""

from __future__ import annotations

import math
from pathlib import Path

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.rules.connectivity import ConnectivityRule, Placement
from nmlhub.rules.expand import NetworkRules, expand
from nmlhub.rules.layout import PopulationRule
from nmlhub.rules.selection import CellSelector
from nmlhub.rules.values import RuleError

DT = 0.025


def _chain_morphology() -> neuroml.Morphology:
    """A soma (segment 0, 10 um along y) and a dendrite ``dend`` of three segments of 100, 200
    and 300 um going up from it, and ``apic`` of one 50 um segment."""
    segs = [neuroml.Segment(id=0, proximal=neuroml.Point3DWithDiam(x=0, y=0, z=0, diameter=10),
                            distal=neuroml.Point3DWithDiam(x=0, y=10, z=0, diameter=10))]
    for sid, length in ((1, 100), (2, 200), (3, 300)):
        top = segs[-1].distal
        segs.append(neuroml.Segment(id=sid, parent=neuroml.SegmentParent(segments=sid - 1),
                                    distal=neuroml.Point3DWithDiam(x=0, y=top.y + length, z=0, diameter=1)))
    segs.append(neuroml.Segment(id=4, parent=neuroml.SegmentParent(segments=0),
                                proximal=neuroml.Point3DWithDiam(x=0, y=0, z=0, diameter=1),
                                distal=neuroml.Point3DWithDiam(x=0, y=-50, z=0, diameter=1)))
    groups = [neuroml.SegmentGroup(id="dend", members=[neuroml.Member(segments=i) for i in (1, 2, 3)]),
              neuroml.SegmentGroup(id="apic", members=[neuroml.Member(segments=4)])]
    return neuroml.Morphology(id="m", segments=segs, segment_groups=groups)


def _binomial_ok(counts: np.ndarray, p: np.ndarray, n: int) -> bool:
    expected = n * p
    return bool(np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected * (1 - p)) + 1))


def _rules(n_post: int = 2000) -> NetworkRules:
    rules = NetworkRules("net", (100.0, 1000.0, 100.0), 13)
    rules.populations += [PopulationRule("S", "src", count=50), PopulationRule("P", "pyr", count=n_post)]
    return rules


# -- stimulation ----------------------------------------------------------------------------------

def test_stimulation_on_a_segment_group_is_spread_by_length_or_at_loc():
    rules = _rules(30_000)
    net = nmlhub.NetworkBuilder("net")
    net.rules = rules
    spread = net.stimulate("drive", targets="P", segment_groups="dend", id="spread")
    net.stimulate("drive", targets="P", segment_groups="dend", loc=0.25, id="at_quarter")
    net.stimulate("drive", targets="P", segment_groups=["dend", "apic"], loc=1.0, id="two_groups")
    inputs = {i.rule: i for i in expand(rules, {"pyr": _chain_morphology()}).inputs}
    counts = np.array([np.sum(inputs["spread"].segment == s) for s in (1, 2, 3)])
    assert _binomial_ok(counts, np.array([100, 200, 300]) / 600, 30_000)
    assert counts.sum() == 30_000 and np.all(inputs["spread"].fraction < 1)
    # a quarter of 600 um is 150 um from the dendrite's start: 50 um into the 200 um segment 2
    assert set(inputs["at_quarter"].segment) == {2} and np.allclose(inputs["at_quarter"].fraction, 0.25)
    # loc 1 of either group, each group half of the time
    ends = inputs["two_groups"].segment
    assert set(ends) == {3, 4} and np.all(inputs["two_groups"].fraction == 1.0)
    assert _binomial_ok(np.array([np.sum(ends == 3)]), np.array([0.5]), 30_000)
    assert spread.segment_groups == ("dend",)


def test_stimulation_of_listed_cells_only():
    rules = _rules(40)
    net = nmlhub.NetworkBuilder("net")
    net.rules = rules
    net.stimulate("drive", targets=["S", "P"], cells=[0, 7, 39], id="listed")
    (s, p) = expand(rules).inputs
    assert s.population == "S" and list(s.cell) == [0, 7, 39]
    assert p.population == "P" and list(p.cell) == [0, 7, 39]


@pytest.mark.parametrize("change, message", [
    (dict(delay=-1.0), "delay -1 ms is not a finite number >= 0"),
    (dict(loc=0.5), "give segment_groups too"),
    (dict(segment_groups="dend", loc=1.5), "loc 1.5 is not in [0, 1]"),
    (dict(dealy=2.0), "unknown cell condition 'dealy'"),
    (dict(delay="1 mV"), "delay '1 mV' has dimension voltage, expected time"),
    (dict(delay="soon"), "delay 'soon' is not a quantity"),
])
def test_bad_stimulation_options_are_refused_clearly(change, message):
    net = nmlhub.NetworkBuilder("net")
    net.add(neuroml.PulseGenerator(id="drive", delay="1ms", duration="1ms", amplitude="1nA"))
    net.population("P", cell="pyr", count=3)
    with pytest.raises(RuleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        net.stimulate("drive", targets="P", **change)


def test_a_delay_may_be_a_time_with_its_unit():
    net = nmlhub.NetworkBuilder("net")
    net.add(neuroml.PulseGenerator(id="drive", delay="1ms", duration="1ms", amplitude="1nA"))
    net.population("P", cell="pyr", count=3)
    net.stimulate("drive", targets="P", delay="0.5 s", id="late")
    net.stimulate("drive", targets="P", delay=2, id="soon")
    assert [rule.delay for rule in net.rules.stimulations] == [500.0, 2.0]


def _izh(id: str) -> neuroml.Izhikevich2007Cell:
    return neuroml.Izhikevich2007Cell(id=id, v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
                                      vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA")


def _onset(trace: np.ndarray, time_ms: np.ndarray) -> float:
    """The first time a trace leaves its initial value (the cell rests until its input starts)."""
    moved = np.flatnonzero(np.abs(trace - trace[0]) > 1e-9)
    return float(time_ms[moved[0]]) if len(moved) else math.inf


def test_delayed_inputs_start_at_start_plus_delay_in_neuron(tmp_path):
    """A pulse (delay 10 ms) and a regular NetStim (start 5 ms, noise 0) given with delays: each
    resting cell's voltage first moves within a step of start + delay (the NetStim's exactly the
    delay after the undelayed NetStim's); the cell not listed never moves. The saved rules, read back, keep every option."""
    net = nmlhub.NetworkBuilder("delays", seed=3)
    net.add(_izh("rs"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.PulseGenerator(id="pulse", delay="10ms", duration="5ms", amplitude="50pA"))
    net.netstim("kick", synapse="ampa", interval=100.0, noise=0.0, start=5.0, number=1)
    net.population("A", cell="rs", count=3)
    net.population("B", cell="rs", count=2)
    net.stimulate("pulse", targets="A", cells=[0, 2], delay=7.0, id="late_pulse")
    net.stimulate("kick", targets="B", delay=3.5, id="late_kick")
    net.population("C", cell="rs", count=1)
    net.stimulate("kick", targets="C", id="kick")
    cells = ["A[0]", "A[1]", "A[2]", "B[0]", "B[1]", "C[0]"]
    lems = net.save(tmp_path / "delays.net.nml", simulation=dict(duration_ms=40, dt_ms=DT, record_v=cells))
    results = nmlhub.simulate(lems)
    onsets = {cell: _onset(trace, results.time_ms) for cell in cells
              for path, trace in results.traces.items() if path.startswith(cell.replace("[", "/").replace("]", "/"))
              or path.startswith(cell)}
    assert len(onsets) == 6, results.traces.keys()
    # each input acts within one step of start + delay (the sample at 17 ms is the first after it)
    assert 10 + 7.0 - DT < onsets["A[0]"] <= 10 + 7.0 + DT and onsets["A[2]"] == onsets["A[0]"]
    assert onsets["A[1]"] == math.inf
    # the NetStim acts a few steps after its event (spike, synapse, voltage): exactly 3.5 ms
    # later than the same NetStim given without a delay
    assert 5 <= onsets["C[0]"] <= 5 + 4 * DT
    assert onsets["B[0]"] - onsets["C[0]"] == pytest.approx(3.5, abs=1e-6) and onsets["B[1]"] == onsets["B[0]"]
    back = nmlhub.load(lems).rules["delays"]
    assert [(s.id, s.delay, s.cells, s.component) for s in back.stimulations] == \
        [(s.id, s.delay, s.cells, s.component) for s in net.rules.stimulations]


def test_an_input_without_a_start_time_cannot_be_delayed():
    net = nmlhub.NetworkBuilder("net")
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.population("P", cell="pyr", count=3)
    with pytest.raises(RuleError, match="no start time"):
        net.stimulate("ampa", targets="P", delay=2.0)
    with pytest.raises(RuleError, match="'nothing' is not a component"):
        net.stimulate("nothing", targets="P", delay=2.0)


def test_netstim_noise_gives_netstims_interval_statistics(tmp_path):
    """noise 0.5, interval 10 ms: intervals are 5 ms plus an exponential of mean 5 ms (NEURON's
    NetStim); a Kolmogorov-Smirnov test on a NetStim cell's intervals."""
    from scipy import stats

    net = nmlhub.NetworkBuilder("noisy", seed=2)
    net.netstim("gen", rate=100.0, noise=0.5, start=0.0)
    net.population("G", cell="gen", count=4)
    lems = net.save(tmp_path / "noisy.net.nml", simulation=dict(duration_ms=2000, dt_ms=DT, seed=4))
    results = nmlhub.simulate(lems)
    intervals = np.concatenate([np.diff(t) for t in results.spikes.values()])
    assert len(intervals) > 500
    assert intervals.min() >= 5.0 - DT
    assert stats.kstest(intervals - 5.0, stats.expon(scale=5.0).cdf).pvalue > 1e-3


# -- synapse placement ----------------------------------------------------------------------------

def _connect(rules: NetworkRules, placement: Placement, n: int = 5, rule_id: str = "r") -> None:
    rules.connections.append(ConnectivityRule(rule_id, CellSelector.make("S"), CellSelector.make("P"), ("syn",),
                                              "convergence", n, weight=2.5, delay=1.5, placement=placement))


def test_loc_puts_every_synapse_at_its_exact_place():
    rules = _rules(200)
    _connect(rules, Placement(("dend",), loc=0.9))
    (proj,) = expand(rules, {"pyr": _chain_morphology()}).projections
    # 0.9 of 600 um is 540 um: 240 um into the 300 um segment 3
    assert len(proj) == 1000 and set(proj.post_segment) == {3}
    assert np.allclose(proj.post_fraction, 240 / 300)


def test_synapses_per_connection_are_spread_evenly_with_the_connections_weight():
    rules = _rules(100)
    _connect(rules, Placement(("dend",), syns_per_conn=4), n=3)
    (proj,) = expand(rules, {"pyr": _chain_morphology()}).projections
    assert len(proj) == 100 * 3 * 4
    # four synapses at 75, 225, 375 and 525 um of the 600 um dendrite
    where = [(1, 0.75), (2, 0.625), (3, 0.25), (3, 0.75)]
    pairs = list(zip(proj.post_segment.tolist(), np.round(proj.post_fraction, 6).tolist()))
    assert pairs == where * 300
    assert np.all(proj.weight == 2.5) and np.all(proj.delay == 1.5)
    # each connection's pre and post repeated for its four synapses
    assert np.all(proj.pre_cell.reshape(-1, 4) == proj.pre_cell[::4, None])


def test_loc_lists_place_each_synapse_of_a_connection():
    """syns_per_conn 2 at loc (0.25, 1.0) along dend and apic: 150 um along the dendrite
    (segment 2 at 0.25) and apic's far end; loc (0.25, 1.0) alone pairs them, one per connection."""
    rules = _rules(200)
    _connect(rules, Placement(("dend", "apic"), loc=(0.25, 1.0), syns_per_conn=2), rule_id="both")
    _connect(rules, Placement(("dend", "apic"), loc=(0.25, 1.0)), rule_id="either")
    both, either = expand(rules, {"pyr": _chain_morphology()}).projections
    assert list(zip(both.post_segment.tolist(), both.post_fraction.tolist())) == [(2, 0.25), (4, 1.0)] * 1000
    spots = list(zip(either.post_segment.tolist(), either.post_fraction.tolist()))
    assert set(spots) == {(2, 0.25), (4, 1.0)} and _binomial_ok(np.array([spots.count((4, 1.0))]),
                                                                 np.array([0.5]), 1000)


def _fan_morphology() -> neuroml.Morphology:
    """A soma at the origin and 24 straight dendrites of 4 segments of 40 um each, fanning out
    in the x-y plane, each segment its own piece of a 2D map."""
    segs = [neuroml.Segment(id=0, proximal=neuroml.Point3DWithDiam(x=0, y=-5, z=0, diameter=10),
                            distal=neuroml.Point3DWithDiam(x=0, y=5, z=0, diameter=10))]
    for branch in range(24):
        angle = 2 * math.pi * branch / 24
        for k in range(4):
            parent = 0 if k == 0 else len(segs) - 1
            r0, r1 = 40 * k, 40 * (k + 1)
            segs.append(neuroml.Segment(
                id=len(segs), parent=neuroml.SegmentParent(segments=parent),
                proximal=neuroml.Point3DWithDiam(x=r0 * math.cos(angle), y=r0 * math.sin(angle), z=0, diameter=1),
                distal=neuroml.Point3DWithDiam(x=r1 * math.cos(angle), y=r1 * math.sin(angle), z=0, diameter=1)))
    dend = neuroml.SegmentGroup(id="dend", members=[neuroml.Member(segments=i) for i in range(1, len(segs))])
    return neuroml.Morphology(id="fan", segments=segs, segment_groups=[dend])


def _bilinear(gx, gy, values, x, y):
    """Bilinear interpolation written out (the edge value beyond the grid)."""
    x, y = min(max(x, gx[0]), gx[-1]), min(max(y, gy[0]), gy[-1])
    i = min(np.searchsorted(gx, x, side="right") - 1, len(gx) - 2)
    j = min(np.searchsorted(gy, y, side="right") - 1, len(gy) - 2)
    tx, ty = (x - gx[i]) / (gx[i + 1] - gx[i]), (y - gy[j]) / (gy[j + 1] - gy[j])
    return ((1 - tx) * (1 - ty) * values[i][j] + tx * (1 - ty) * values[i + 1][j]
            + (1 - tx) * ty * values[i][j + 1] + tx * ty * values[i + 1][j + 1])


def test_a_2d_map_places_synapses_by_length_times_density():
    """Synapse counts per segment against length x the map's density at the segment's middle
    (x from the soma, depth fixed_soma_y + height above the soma), within binomial bounds."""
    gx, gy = (-200.0, 0.0, 200.0), (-1000.0, -800.0, -600.0)
    values = ((0.0, 1.0, 4.0), (1.0, 2.0, 0.0), (3.0, 0.5, 0.0))
    rules = _rules(2000)
    _connect(rules, Placement(("dend",), "map2d", grid_x=gx, grid_y=gy, grid_values=values, fixed_soma_y=-800.0),
             n=20)
    morphology = _fan_morphology()
    (proj,) = expand(rules, {"pyr": morphology}).projections
    segs = {int(s.id): s for s in morphology.segments}
    ids = range(1, len(segs))
    expected = np.array([40 * _bilinear(gx, gy, values, (segs[i].proximal.x + segs[i].distal.x) / 2,
                                        -800 + (segs[i].proximal.y + segs[i].distal.y) / 2) for i in ids])
    counts = np.array([np.sum(proj.post_segment == i) for i in ids])
    assert counts.sum() == 40_000
    assert np.all(counts[expected == 0] == 0)
    assert _binomial_ok(counts, expected / expected.sum(), 40_000)


def test_a_2d_map_follows_each_cells_depth_without_a_fixed_soma():
    """Without fixed_soma_y, the map's depth is the cell's y plus the height above its soma: a map
    that is dense only above y = 500 um gives the cells lower in the network synapses only on
    their upward dendrites, and those higher up synapses on every dendrite."""
    rules = NetworkRules("net", (100.0, 1000.0, 100.0), 13)
    rules.populations += [PopulationRule("S", "src", count=50),
                          PopulationRule("P", "pyr", count=400, ranges={"y": (380.0, 1000.0)})]
    _connect(rules, Placement(("dend",), "map2d", grid_x=(-500, 500), grid_y=(0, 499, 500, 1000),
                              grid_values=((0, 0, 1, 1), (0, 0, 1, 1))), n=10)
    morphology = _fan_morphology()
    (proj,) = expand(rules, {"pyr": morphology}).projections
    mid_y = {int(s.id): (float(s.proximal.y) + float(s.distal.y)) / 2 for s in morphology.segments[1:]}
    cells = nmlhub.rules.layout.expand_populations(rules.populations, rules.size, rules.seed)
    post_y = cells.position[cells.gids_of("P")[proj.post_cell], 1]
    depth = post_y + np.array([mid_y[int(s)] for s in proj.post_segment])
    assert np.all(depth > 499)  # no synapse where the map is 0
    low, high = post_y < 450, post_y > 660  # 160 um dendrites: all of a high cell's are above 500 um
    assert low.any() and high.any()
    assert np.mean(depth[low] < post_y[low]) == 0 and np.mean(depth[high] < post_y[high]) > 0.3


def test_synapses_per_connection_count_against_the_connection_budget():
    rules = _rules(100)
    _connect(rules, Placement(("dend",), syns_per_conn=4), n=3)
    expand(rules, {"pyr": _chain_morphology()}, max_connections=1200)
    with pytest.raises(RuleError, match="rule 'r' would make"):
        expand(rules, {"pyr": _chain_morphology()}, max_connections=1199)


def test_bad_placements_are_refused():
    with pytest.raises(RuleError, match="takes a list of 2 loc values"):
        Placement(("dend",), loc=0.5, syns_per_conn=2)
    with pytest.raises(RuleError, match="3 loc values for 2 segment groups"):
        Placement(("dend", "apic"), loc=(0.1, 0.2, 0.3))
    with pytest.raises(RuleError, match="whole number"):
        Placement(("dend",), syns_per_conn=0)
    rules = _rules(10)
    _connect(rules, Placement(("dend",), "map2d", grid_x=(0, 1), grid_y=(0, 1), grid_values=((1, 2, 3),)))
    with pytest.raises(RuleError, match="grid_values of shape"):
        expand(rules, {"pyr": _fan_morphology()})


# -- kept in files, alike on any number of ranks ----------------------------------------------------

def _every_option() -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("options", size=(100, 1000, 100), seed=21)
    net.add(neuroml.PulseGenerator(id="pulse", delay="10ms", duration="5ms", amplitude="50pA"))
    net.population("S", cell="src", count=30)
    net.population("P", cell="pyr", count=60)
    placements = [Placement(("dend",), loc=0.3), Placement(("dend", "apic"), syns_per_conn=3),
                  Placement(("dend", "apic"), loc=(0.2, 0.9), syns_per_conn=2),
                  Placement(("dend", "apic"), loc=(0.6, 0.1)),
                  Placement(("dend",), "map2d", grid_x=(-100, 100), grid_y=(0, 1000),
                            grid_values=((1, 2), (3, 4))),
                  Placement(("dend",), "map2d", grid_x=(-100, 100), grid_y=(0, 1000),
                            grid_values=((1, 2), (3, 4)), fixed_soma_y=300)]
    for k, placement in enumerate(placements):
        net.connect("S", "P", "syn", nmlhub.Probability(0.2), id=f"c{k}", placement=placement,
                    weight=nmlhub.normal(1, 0.1))
    net.stimulate("pulse", targets="P", cells=[1, 5, 8], delay=2.5, segment_groups="dend", loc=0.7, id="s0")
    net.stimulate("pulse", targets=["S", "P"], probability=0.5, segment_groups=["dend", "apic"], id="s1")
    return net


def _rows(expanded) -> dict[str, list[tuple]]:
    """Each projection's and input list's rows (sorted), by id, with the input's component."""
    out: dict[str, list[tuple]] = {}
    for p in expanded.projections:
        out.setdefault(p.id, []).extend(zip(p.pre_cell.tolist(), p.post_cell.tolist(), p.post_segment.tolist(),
                                            p.post_fraction.tolist(), p.weight.tolist(), p.delay.tolist()))
    for i in expanded.inputs:
        out.setdefault(i.id, []).extend((i.source, *row) for row in zip(
            i.cell.tolist(), i.segment.tolist(), i.fraction.tolist(), i.weight.tolist()))
    return {key: sorted(rows) for key, rows in out.items()}


def test_every_new_option_survives_saving_and_expands_alike_on_two_ranks(tmp_path):
    net = _every_option()
    morphologies = {"pyr": _chain_morphology(), "src": None}
    whole = _rows(expand(net.rules, morphologies))
    assert len(whole) == 9 and all(whole.values())
    assert {row[0] for row in whole["s0_P"]} == {"pulse_delayed_s0"}
    path = net.save(tmp_path / "options.net.nml")
    back = nmlhub.load(path, strict=False).rules["options"]
    assert back.connections[1].placement == net.rules.connections[1].placement
    for k in range(1, 6):
        assert back.connections[k].placement == net.rules.connections[k].placement
    assert _rows(expand(back, morphologies)) == whole
    n = sum(p.count for p in net.rules.populations)
    merged: dict[str, list[tuple]] = {}
    for rank in range(2):
        for key, rows in _rows(expand(net.rules, morphologies, np.arange(rank, n, 2))).items():
            merged.setdefault(key, []).extend(rows)
    assert {key: sorted(rows) for key, rows in merged.items()} == whole


def test_the_new_options_run_alike_on_one_and_two_mpi_ranks(tmp_path):
    """A network of a morphological cell using every new option (delayed NetStim inputs to listed
    cells on a segment group, synapses at a loc, three per connection, on a 2D map) gives the
    same spikes, to the step, serially and on two ranks under real mpiexec."""
    from nmlhub.neuron import mpi
    from test_parallel import EXAMPLES, _run

    if mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment():
        pytest.skip("no MPI library")
    net = nmlhub.NetworkBuilder("opts", size=(300, 1000, 300), seed=5)
    net.include(EXAMPLES / "mc_network" / "pyr_cell.cell.nml")
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="2nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.netstim("bkg", synapse="ampa", rate=80, noise=1.0, start=0)
    net.population("E", cell="pyr_cell", count=10)
    net.stimulate("bkg", targets="E", weight=15.0, delay=5)
    net.stimulate("bkg", targets="E", cells=[0, 2, 4, 6, 8], weight=15.0, segment_groups="dendrite_group",
                  id="dend_kick")
    net.connect("E", "E", "ampa", nmlhub.Convergence(3), id="at_loc", weight=3.0, delay=2.0,
                placement=Placement(("apical", "basal_left"), loc=1.0))
    net.connect("E", "E", "ampa", nmlhub.Convergence(2), id="three", weight=2.0, delay=2.0,
                placement=Placement(("dendrite_group",), syns_per_conn=3))
    net.connect("E", "E", "ampa", nmlhub.Convergence(2), id="mapped", weight=2.0, delay=3.0,
                placement=Placement(("dendrite_group",), "map2d", grid_x=(-300, 300), grid_y=(0, 1200),
                                    grid_values=((1, 3), (2, 1))))
    lems = net.save(tmp_path / "opts.net.nml", simulation=dict(duration_ms=150, dt_ms=0.025, seed=2))
    serial = _run(lems, tmp_path / "serial.pkl", 1)
    assert sum(len(v) for v in serial["spikes"].values()) > 10
    parallel = _run(lems, tmp_path / "p2.pkl", 2)
    assert parallel["nhost"] == 2 and parallel["cells_here"] < 10
    assert parallel["spikes"] == serial["spikes"]


def test_jlems_runs_the_delayed_inputs_with_the_same_onsets(tmp_path):
    """The expanded file (delayed copies as ordinary components) in jNeuroML/jLEMS: each cell's
    voltage leaves rest when nmlhub's does, within a step."""
    import os
    import subprocess
    import sys

    net = nmlhub.NetworkBuilder("jdelays", seed=3)
    net.add(_izh("rs"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.PulseGenerator(id="pulse", delay="10ms", duration="5ms", amplitude="50pA"))
    net.netstim("kick", synapse="ampa", interval=100.0, noise=0.0, start=5.0, number=1)
    net.population("A", cell="rs", count=2)
    net.stimulate("pulse", targets="A", cells=[1], delay=7.0)
    net.stimulate("kick", targets="A", cells=[0], delay=3.5)
    lems = net.save(tmp_path / "jdelays.net.nml", expanded=True,
                    simulation=dict(duration_ms=30, dt_ms=DT, record_v=["A[0]", "A[1]"]))
    ours = nmlhub.simulate(lems)
    jnml = Path(sys.executable).parent / "jnml"
    done = subprocess.run([str(jnml), lems.name, "-nogui"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, JAVA_OPTS="-Xmx400M"))
    assert done.returncode == 0 and "Exception" not in done.stdout + done.stderr, done.stdout[-2000:]
    table = np.loadtxt(tmp_path / "jdelays.v.dat")
    theirs = {k: _onset(table[:, k + 1], table[:, 0] * 1000) for k in range(2)}
    mine = [_onset(trace, ours.time_ms) for trace in ours.traces.values()]
    assert 17 - DT < mine[1] <= 17 + DT
    for k in range(2):
        assert abs(theirs[k] - mine[k]) <= DT + 1e-9, (k, theirs, mine)


def test_each_kind_of_input_is_delayed_by_its_own_start(tmp_path):
    """The delayed copy of each kind of input: the start time it has, shifted (units converted),
    a Poisson input made transient from the delay; found among added components or in an
    included file."""
    from nmlhub.rules.delayed_inputs import delayed_copy

    sine = delayed_copy(neuroml.SineGenerator(id="s", delay="0.01s", phase="0", duration="1s", amplitude="1nA",
                                              period="10ms"), 2.5, "s2")
    assert sine.id == "s2" and sine.delay == "12.5ms"
    spikes = delayed_copy(neuroml.SpikeArray(id="a", spikes=[neuroml.Spike(id=0, time="1ms"),
                                                             neuroml.Spike(id=1, time="4ms")]), 3.0, "a2")
    assert [s.time for s in spikes.spikes] == ["4.0ms", "7.0ms"]
    poisson = delayed_copy(neuroml.PoissonFiringSynapse(id="p", average_rate="20Hz", synapse="ampa",
                                                        spike_target="./ampa"), 4.0, "p2")
    assert isinstance(poisson, neuroml.TransientPoissonFiringSynapse)
    assert (poisson.delay, poisson.average_rate, poisson.synapse) == ("4.0ms", "20Hz", "ampa")
    net = nmlhub.NetworkBuilder("net")
    kick = net.netstim("kick", synapse="ampa", rate=10, start=1.0)
    assert delayed_copy(kick, 0.5, "k2").attributes["start"] == "1.5ms"
    included = tmp_path / "inputs.nml"
    document = neuroml.NeuroMLDocument(id="inputs")
    document.pulse_generators.append(neuroml.PulseGenerator(id="pulse", delay="10ms", duration="5ms",
                                                            amplitude="50pA"))
    from neuroml.writers import NeuroMLWriter

    NeuroMLWriter.write(document, str(included))
    net.include(included)
    net.population("P", cell="pyr", count=2)
    rule = net.stimulate("pulse", targets="P", delay=1.0, id="late")
    made = next(c for c in net.components if c.id == rule.component)
    assert made.delay == "11.0ms" and rule.component == "pulse_delayed_late"
