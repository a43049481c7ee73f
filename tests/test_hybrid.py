"""Hybrid networks: a population switched between a detailed cell and a point cell keeps its
cells and its connections (the same pre/post pairs); each version simulates."""

from __future__ import annotations

from pathlib import Path

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.cli import main
from nmlhub.neuron.simulation import NeuronSimulation
from nmlhub.rules.hybrid import parse_switches, switch_cells
from nmlhub.rules.values import RuleError

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"


def _builder() -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("hybrid", size=(200, 400, 200), seed=11)
    net.include(EXAMPLES / "mc_network" / "pyr_cell.cell.nml")
    net.add(neuroml.Izhikevich2007Cell(id="izh_RS", C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50mV",
                                       d="100pA"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="2nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.PulseGenerator(id="drive", delay="5ms", duration="40ms", amplitude="0.5nA"))
    net.population("E", cell="pyr_cell", count=12)
    net.population("I", cell="izh_RS", count=4)
    net.connect("E", "E", "ampa", nmlhub.Probability(0.4), weight=nmlhub.normal(1.0, 0.2, low=0),
                delay="1 + dist_3D/300", placement=nmlhub.Placement(("dendrite_group",)))
    net.connect("E", "I", "ampa", nmlhub.Convergence(3), delay=2.0,
                placement=nmlhub.Placement(("dendrite_group",)))
    net.connect("I", "E", "ampa", nmlhub.Probability(0.5), delay=1.5,
                placement=nmlhub.Placement(("soma_group",)))
    net.stimulate("drive", targets="E", probability=0.5)
    return net


def _run(lems: Path, switches: dict[str, str] | None = None):
    model = nmlhub.load(lems)
    if switches:
        switch_cells(model, switches)
    sim = NeuronSimulation(model, duration_ms=50.0, keep_expanded=True)
    results = sim.run()
    pairs = {(p.pre_population, p.post_population, p.synapse): np.stack([p.pre_cell, p.post_cell])
             for p in sim.expanded.projections}
    segments = {key: np.asarray(p.post_segment).copy() for key, p in
                zip(pairs, sim.expanded.projections)}
    return sim, results, pairs, segments


def test_switching_a_population_keeps_every_connection(tmp_path):
    net = _builder()
    detailed = net.save(tmp_path / "detailed" / "hybrid.net.nml", simulation=dict(duration_ms=50, dt_ms=0.025))
    net.switch_cell("E", "izh_RS")
    point = net.save(tmp_path / "point" / "hybrid.net.nml", simulation=dict(duration_ms=50, dt_ms=0.025))
    net.switch_cell("E", "pyr_cell")
    back = net.save(tmp_path / "back" / "hybrid.net.nml", simulation=dict(duration_ms=50, dt_ms=0.025))

    runs = [_run(lems) for lems in (detailed, point, back)]
    first = runs[0][2]
    assert sum(v.shape[1] for v in first.values()) > 20
    for _sim, results, pairs, _segments in runs:
        assert pairs.keys() == first.keys()
        for key in first:
            assert np.array_equal(pairs[key], first[key]), key
        assert len(results.spikes) == 16 and results.spike_count() > 0
    (sim_d, _, _, seg_d), (sim_p, _, _, seg_p), (_, _, _, seg_b) = runs
    onto_e = ("E", "E", "ampa")
    assert np.any(seg_d[onto_e] != 0)  # spread over the dendrites of the detailed cell ...
    assert np.all(seg_p[onto_e] == 0)  # ... and on the point cell itself
    for key in seg_d:
        assert np.array_equal(seg_d[key], seg_b[key])  # back to detailed: the same placements
    assert sim_d.instance.cell("E", 0).built is not None
    assert sim_p.instance.cell("E", 0).built is None


def test_switching_a_loaded_model_in_memory_and_from_the_cli(tmp_path):
    lems = _builder().save(tmp_path / "hybrid.net.nml",
                           simulation=dict(duration_ms=50, dt_ms=0.025, record_v=["E[0]"]))
    _, _, detailed, _ = _run(lems)
    sim, results, switched, segments = _run(lems, {"E": "izh_RS", "I": "pyr_cell"})
    for key in detailed:
        assert np.array_equal(detailed[key], switched[key]), key
    assert sim.instance.cell("E", 0).built is None and sim.instance.cell("I", 0).built is not None
    assert np.all(segments[("E", "E", "ampa")] == 0)
    assert main(["run", str(lems), "--no-progress", "--switch-cell", "E=izh_RS", "--duration", "20"]) == 0
    assert (tmp_path / "hybrid.v.dat").exists()


def test_bad_switches(tmp_path):
    lems = _builder().save(tmp_path / "hybrid.net.nml", simulation=dict(duration_ms=10, dt_ms=0.025))
    model = nmlhub.load(lems)
    with pytest.raises(RuleError, match="no population 'X'"):
        switch_cells(model, {"X": "izh_RS"})
    with pytest.raises(RuleError, match="'ampa' is not a cell"):
        switch_cells(model, {"E": "ampa"})
    with pytest.raises(RuleError, match="POPULATION=CELL_ID"):
        parse_switches(["E:izh"])
    with pytest.raises(RuleError, match="no population"):
        _builder().switch_cell("nope", "izh_RS")
