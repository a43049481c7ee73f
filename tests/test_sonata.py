"""SONATA circuits and spike files: every bundled network to SONATA and back, checked with
libsonata (the reference reader); a circuit built with BMTK's builder, checked with BMTK's own
reader, imported and simulated; SONATA spike files read by libsonata."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import nmlhub
from nmlhub import converters
from nmlhub.analysis.network import network_cells, network_connections
from nmlhub.converters.plain import ConversionError

libsonata = pytest.importorskip("libsonata")

REPO = Path(__file__).resolve().parents[1]
NETWORKS = [REPO / "nml_examples" / name for name in (
    "hh_single/hh_single.net.nml", "izh_network/izh_network.net.nml", "mc_network/mc_network.net.nml",
    "channel_kinds/channel_kinds.nml", "layered_cortex/layered_cortex.net.nml")]


def model_network(path: Path):
    model = nmlhub.load(path)
    cells = network_cells(model)
    return model, cells, network_connections(model, cells)


@pytest.fixture(scope="module", params=NETWORKS, ids=lambda p: p.parent.name)
def exported(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sonata") / "circuit.sonata"
    assert nmlhub.save(request.param, folder) == [folder / "circuit_config.json"]
    return request.param, folder


def test_libsonata_reads_every_cell_position_and_connection(exported):
    source, folder = exported
    model, cells, conns = model_network(source)
    config = libsonata.CircuitConfig.from_file(str(folder / "circuit_config.json"))
    assert config.node_populations == set(cells.populations)
    for k, name in enumerate(cells.populations):
        nodes = config.node_population(name)
        mine = cells.cell_population == k
        assert nodes.size == int(mine.sum())
        if not np.isnan(cells.position[mine]).any():
            for j, axis in enumerate("xyz"):
                np.testing.assert_array_equal(nodes.get_attribute(axis, nodes.select_all()), cells.position[mine, j])
    assert config.edge_populations == set(conns.projection_ids)
    for k, name in enumerate(conns.projection_ids):
        edges = config.edge_population(name)
        mine = conns.projection == k
        assert edges.size == int(mine.sum())
        everything = edges.select_all()
        first_pre = np.flatnonzero(cells.cell_population == cells.cell_population[conns.pre[mine][0]])[0] \
            if mine.any() else 0
        first_post = np.flatnonzero(cells.cell_population == cells.cell_population[conns.post[mine][0]])[0] \
            if mine.any() else 0
        np.testing.assert_array_equal(edges.source_nodes(everything), conns.pre[mine] - first_pre)
        np.testing.assert_array_equal(edges.target_nodes(everything), conns.post[mine] - first_post)
        if mine.any() and "syn_weight" not in edges.attribute_names:  # plain connections: the edge type says
            row = next(r for r in _csv(folder / "network" / "edge_types.csv") if r["nml_synapse"] and
                       int(r["edge_type_id"]) == int(edges.get_attribute("edge_type_id", everything)[0])) \
                if "edge_type_id" in edges.attribute_names else None
            assert np.all(conns.weight[mine] == 1.0) and np.all(conns.delay_ms[mine] == 0.0)
            _ = row
        elif mine.any():
            np.testing.assert_array_equal(edges.get_attribute("syn_weight", everything), conns.weight[mine])
            np.testing.assert_array_equal(edges.get_attribute("delay", everything), conns.delay_ms[mine])
            # libsonata's own node -> edge index agrees with the connections
            target = int(conns.post[mine][0] - first_post)
            assert edges.afferent_edges([target]).flat_size == int(np.sum(conns.post[mine] - first_post == target))


def test_round_trip_keeps_every_cell_position_and_connection(exported, tmp_path):
    source, folder = exported
    _, cells, conns = model_network(source)
    back = tmp_path / "back.net.nml"
    nmlhub.save(converters.load(folder), back)
    _, cells2, conns2 = model_network(back)
    assert cells2.populations == cells.populations and cells2.components == cells.components
    for field in ("cell_population", "cell_id", "position"):
        np.testing.assert_array_equal(getattr(cells2, field), getattr(cells, field))
    assert conns2.projection_ids == conns.projection_ids
    for field in ("pre", "post", "weight", "delay_ms", "post_segment", "post_fraction", "projection"):
        np.testing.assert_array_equal(getattr(conns2, field), getattr(conns, field))


def test_cells_with_a_morphology_get_an_swc_file(exported):
    source, folder = exported
    model, cells, _ = model_network(source)
    types = _csv(folder / "network" / "node_types.csv")
    for row in types:
        cell = model.components[row["nml_component"]].obj
        morphology = getattr(cell, "morphology", None)
        if morphology is None:
            assert (row["model_type"], row["morphology"]) == ("point_neuron", "NULL")
            continue
        assert row["model_type"] == "biophysical"
        lines = [l.split() for l in (folder / "components" / "morphologies" / row["morphology"]).read_text().splitlines()
                 if l and not l.startswith("#")]
        distal = {(float(s.distal.x), float(s.distal.y), float(s.distal.z)) for s in morphology.segments}
        points = {(float(p[2]), float(p[3]), float(p[4])) for p in lines}
        assert distal <= points  # every segment ends at an SWC point
        assert all(int(p[6]) == -1 or int(p[6]) < int(p[0]) for p in lines)  # parents come first
        assert sum(int(p[6]) == -1 for p in lines) == 1


def _csv(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as stream:
        return list(csv.DictReader(stream, delimiter=" "))


def test_reimported_network_simulates_to_the_same_spikes(tmp_path):
    lems = REPO / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"
    nmlhub.save(REPO / "nml_examples" / "izh_network" / "izh_network.net.nml", tmp_path / "c.sonata")
    nmlhub.save(converters.load(tmp_path / "c.sonata"), tmp_path / "izh_network.net.nml")
    (tmp_path / lems.name).write_text(lems.read_text())
    original = nmlhub.simulate(lems, duration_ms=200.0)
    again = nmlhub.simulate(tmp_path / lems.name, duration_ms=200.0)
    assert original.spike_count() > 50
    assert list(again.spikes) == list(original.spikes)
    for key, times in original.spikes.items():
        np.testing.assert_array_equal(again.spikes[key], times)


# ---------------------------------------------------------------- a circuit from BMTK's builder

IZH_CELLS = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="izh_cells">
  <izhikevich2007Cell id="RS" C="100pF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" vpeak="35mV"
                      a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>
  <izhikevich2007Cell id="FS" C="20pF" v0="-55mV" k="1nS_per_mV" vr="-55mV" vt="-40mV" vpeak="25mV"
                      a="0.2per_ms" b="0.025nS" c="-45mV" d="0pA"/>
</neuroml>
"""


@pytest.fixture(scope="module")
def bmtk_circuit(tmp_path_factory):
    """A small E/I circuit built and saved by BMTK's NetworkBuilder, with the config BMTK reads."""
    builder = pytest.importorskip("bmtk.builder")
    folder = tmp_path_factory.mktemp("bmtk")
    rng = np.random.default_rng(7)
    net = builder.NetworkBuilder("V1")
    for name, n, template in (("Exc", 12, "nml:RS"), ("Inh", 4, "nml:FS")):
        net.add_nodes(N=n, pop_name=name, model_type="point_neuron", model_template=template,
                      dynamics_params="izh_cells.nml", x=rng.uniform(0, 100, n), y=rng.uniform(0, 500, n),
                      z=rng.uniform(0, 100, n))
    net.add_edges(source={"pop_name": "Exc"}, target={"pop_name": "Inh"},
                  connection_rule=lambda s, t: int((s.node_id + t.node_id) % 3 == 0) * 2, syn_weight=0.004,
                  delay=2.0, model_template="exp2syn", dynamics_params="AMPA.json")
    net.add_edges(source={"pop_name": "Inh"}, target={"pop_name": "Exc"}, connection_rule=1, syn_weight=0.002,
                  delay=1.0, model_template="exp2syn", dynamics_params="GABA.json")
    net.build()
    net.save(output_dir=str(folder / "network"))
    # BMTK's own environment: its circuit_config.json (with ${configdir}) and components folders
    from bmtk.utils.sim_setup import build_env_pointnet

    build_env_pointnet(base_dir=str(folder), network_dir=str(folder / "network"),
                       components_dir=str(folder / "components"), tstop=100.0, dt=0.025)
    (folder / "components" / "point_neuron_models" / "izh_cells.nml").write_text(IZH_CELLS)
    synapses = folder / "components" / "synaptic_models"
    (synapses / "AMPA.json").write_text(json.dumps({"tau1": 0.5, "tau2": 5.0, "erev": 0.0}))
    (synapses / "GABA.json").write_text(json.dumps({"tau1": 1.0, "tau2": 10.0, "erev": -80.0}))
    assert "${configdir}" in (folder / "circuit_config.json").read_text()
    return folder


def _bmtk_view(folder: Path):
    """Cells and connections as BMTK's own SONATA reader sees them (an edge of nsyns synapses counted nsyns times)."""
    from bmtk.utils.sonata import File

    net = folder / "network"
    f = File(data_files=[str(net / "V1_nodes.h5"), str(net / "V1_V1_edges.h5")],
             data_type_files=[str(net / "V1_node_types.csv"), str(net / "V1_V1_edge_types.csv")])
    where: dict[int, tuple[str, int]] = {}
    counts: dict[str, int] = {}
    positions: dict[tuple[str, int], tuple[float, float, float]] = {}
    for node in f.nodes["V1"]:
        pop = node["pop_name"]
        where[node.node_id] = (pop, counts.get(pop, 0))
        positions[where[node.node_id]] = (node["x"], node["y"], node["z"])
        counts[pop] = counts.get(pop, 0) + 1
    conns = []
    for edge in f.edges["V1_to_V1"]:
        row = where[edge.source_node_id] + where[edge.target_node_id] + (edge["syn_weight"], edge["delay"])
        conns += [row] * int(edge["nsyns"])
    return positions, sorted(conns)


def test_bmtk_circuit_imports_with_every_cell_position_and_connection(bmtk_circuit, tmp_path):
    positions, conns = _bmtk_view(bmtk_circuit)
    back = tmp_path / "v1.net.nml"
    nmlhub.save(converters.load(bmtk_circuit), back)
    _, cells, mine = model_network(back)
    assert {(cells.populations[p], int(i)): tuple(x) for p, i, x in
            zip(cells.cell_population, cells.cell_id, cells.position)} == positions
    rows = [(cells.populations[cells.cell_population[a]], int(cells.cell_id[a]),
             cells.populations[cells.cell_population[b]], int(cells.cell_id[b]), w, d)
            for a, b, w, d in zip(mine.pre, mine.post, mine.weight, mine.delay_ms)]
    assert sorted(rows) == conns
    assert len(conns) > 20
    # and through SONATA once more: BMTK -> NeuroML -> SONATA -> NeuroML keeps them all
    nmlhub.save(back, tmp_path / "again.sonata")
    nmlhub.save(converters.load(tmp_path / "again.sonata"), tmp_path / "again.net.nml")
    _, cells2, mine2 = model_network(tmp_path / "again.net.nml")
    np.testing.assert_array_equal(cells2.position, cells.position)
    for field in ("pre", "post", "weight", "delay_ms"):
        np.testing.assert_array_equal(getattr(mine2, field), getattr(mine, field))


def test_bmtk_circuit_simulates(bmtk_circuit, tmp_path):
    tree = converters.load(bmtk_circuit)
    tree["root"]["children"].insert(1, {"tag": "pulseGenerator", "attrs": {
        "id": "drive", "delay": "10ms", "duration": "200ms", "amplitude": "300pA"}, "children": []})
    network = next(c for c in tree["root"]["children"] if c.get("tag") == "network")
    network["children"].append({"tag": "inputList", "attrs": {"id": "drive_E", "population": "Exc", "component": "drive"},
                                "children": [{"tag": "input", "attrs": {"id": str(i), "target": f"../Exc/{i}/RS",
                                                                        "destination": "synapses"}, "children": []}
                                             for i in range(12)]})
    nmlhub.save(tree, tmp_path / "v1.net.nml")
    lems = tmp_path / "LEMS_v1.xml"
    lems.write_text(f"""<Lems>
  <Target component="sim"/>
  <Include file="Cells.xml"/><Include file="Networks.xml"/><Include file="Simulation.xml"/>
  <Include file="v1.net.nml"/>
  <Simulation id="sim" length="150ms" step="0.025ms" target="{network['attrs']['id']}">
    <OutputFile id="v" fileName="v.dat"><OutputColumn id="i0" quantity="Inh/0/FS/v"/></OutputFile>
  </Simulation>
</Lems>
""")
    results = nmlhub.simulate(lems)
    exc = sum(len(t) for (pop, _), t in results.spikes.items() if pop == "Exc")
    assert exc >= 12  # every driven cell fires
    v = results.traces["Inh/0/FS/v"]
    before = results.time_ms < 10
    assert np.ptp(v[before]) < 1e-12  # at rest until the excitatory cells fire...
    assert v.max() > -0.050  # ...then their synapses depolarise the (undriven) inhibitory cell


def test_models_with_no_neuroml_counterpart_are_refused_with_the_type_named(bmtk_circuit, tmp_path):
    import shutil

    folder = tmp_path / "nest"
    shutil.copytree(bmtk_circuit, folder)
    types = folder / "network" / "V1_node_types.csv"
    types.write_text(types.read_text().replace("nml:FS", "nest:iaf_psc_alpha"))
    with pytest.raises(ConversionError, match=r"circuit_config.json.*node population 'V1' type 10\d.*nest:iaf_psc_alpha"):
        converters.load(folder)
    edge_types = bmtk_circuit / "network" / "V1_V1_edge_types.csv"
    shutil.copy(bmtk_circuit / "network" / "V1_node_types.csv", types)
    (folder / "network" / "V1_V1_edge_types.csv").write_text(edge_types.read_text().replace("exp2syn", "static_synapse"))
    with pytest.raises(ConversionError, match="edge population 'V1_to_V1' type 10\\d.*static_synapse"):
        converters.load(folder)
    (folder / "network" / "V1_V1_edge_types.csv").write_text(
        edge_types.read_text().replace("model_template", "model_template weight_function", 1)
        .replace("exp2syn", "exp2syn wmax"))
    with pytest.raises(ConversionError, match="edge population 'V1_to_V1' type 10\\d.*weight_function 'wmax'"):
        converters.load(folder)
    with pytest.raises(ConversionError, match="no circuit_config.json"):
        converters.load(tmp_path)


def test_nmlhub_load_reads_a_circuit_as_a_model(exported):
    source, folder = exported
    _, cells, conns = model_network(source)
    for path in (folder, folder / "circuit_config.json"):
        model = nmlhub.load(path)
        assert network_cells(model).n_cells == cells.n_cells
        assert len(network_connections(model)) == len(conns)
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())  # its temporary XML removed


def test_a_lems_file_exports_its_target_network(tmp_path):
    lems = REPO / "nml_examples" / "layered_cortex" / "LEMS_layered_cortex.xml"
    nmlhub.save(lems, tmp_path / "c.sonata")
    config = libsonata.CircuitConfig.from_file(str(tmp_path / "c.sonata" / "circuit_config.json"))
    _, cells, conns = model_network(lems)
    assert sum(config.node_population(p).size for p in config.node_populations) == cells.n_cells
    assert sum(config.edge_population(p).size for p in config.edge_populations) == len(conns)


def test_cli_converts_to_and_from_sonata(tmp_path):
    source = REPO / "nml_examples" / "mc_network" / "mc_network.net.nml"
    run = subprocess.run([sys.executable, "-m", "nmlhub", "convert", str(source), str(tmp_path / "mc"), "--to", "sonata"],
                         capture_output=True, text=True, check=True)
    assert "circuit_config.json" in run.stdout
    subprocess.run([sys.executable, "-m", "nmlhub", "convert", str(tmp_path / "mc" / "circuit_config.json"),
                    str(tmp_path / "mc.nml.h5")], capture_output=True, text=True, check=True)
    _, cells, conns = model_network(source)
    _, cells2, conns2 = model_network(tmp_path / "mc.nml.h5")
    np.testing.assert_array_equal(cells2.position, cells.position)
    np.testing.assert_array_equal(conns2.post_segment, conns.post_segment)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary folder left


# ---------------------------------------------------------------- spikes

def test_spike_files_are_read_by_libsonata_and_back_equal(tmp_path):
    results = nmlhub.simulate(REPO / "nml_examples" / "izh_network" / "LEMS_izh_network.xml", duration_ms=200.0)
    path = nmlhub.save(results, tmp_path / "run.spikes.h5")[0]
    reader = libsonata.SpikeReader(str(path))
    assert set(reader.get_population_names()) == {p for p, _ in results.spikes}
    for pop in reader.get_population_names():
        spikes = reader[pop]
        assert (spikes.sorting, spikes.time_units) == ("by_time", "ms")
        node_ids, times = np.asarray(spikes.get()).T if spikes.get() else (np.zeros(0), np.zeros(0))
        expected = sorted((t, i) for (p, i), ts in results.spikes.items() if p == pop for t in ts)
        assert sorted(zip(times.tolist(), node_ids.astype(int).tolist())) == expected
    back = converters.load(path)
    assert list(back.spikes) == list(results.spikes)  # cells without spikes kept
    for key, times in results.spikes.items():
        np.testing.assert_array_equal(back.spikes[key], times)


def test_a_foreign_spike_file_reads_as_the_cells_that_spiked(tmp_path):
    path = tmp_path / "spikes.h5"  # BMTK's default name
    with h5py.File(path, "w") as f:
        group = f.create_group("spikes/V1")
        stamps = group.create_dataset("timestamps", data=np.array([0.5, 0.2, 0.9]))
        stamps.attrs["units"] = "s"
        group.create_dataset("node_ids", data=np.array([3, 1, 3], np.uint64))
    assert converters.kind_of(path) == "results"
    back = converters.load(path)
    assert list(back.spikes) == [("V1", 1), ("V1", 3)]
    np.testing.assert_array_equal(back.spikes[("V1", 3)], [500.0, 900.0])


def test_what_sonata_cannot_hold_is_refused_with_the_element_named(tmp_path):
    two = tmp_path / "two.net.nml"
    two.write_text("""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="two">
  <network id="a"><population id="p" component="c" size="1"/></network>
  <network id="b"><population id="q" component="c" size="1"/></network>
</neuroml>
""")
    with pytest.raises(ConversionError, match="one network; the document has 2"):
        nmlhub.save(converters.load(two), tmp_path / "two.sonata")
    grid = tmp_path / "grid.net.nml"
    grid.write_text("""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="grid">
  <network id="n"><population id="p" component="c" size="2" type="populationList">
    <instance id="0" i="0"><location x="0" y="0" z="0"/></instance>
    <instance id="1" i="1"><location x="1" y="0" z="0"/></instance>
  </population></network>
</neuroml>
""")
    with pytest.raises(ConversionError, match=r"population 'p': instance attributes \['i'\]"):
        nmlhub.save(converters.load(grid), tmp_path / "grid.sonata")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.net.nml", "two.net.nml"]  # nothing half-written


def test_a_damaged_circuit_names_the_file(exported, tmp_path):
    import shutil

    _, folder = exported
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "network" / "nodes.h5").write_bytes(b"truncated")
    with pytest.raises(ConversionError, match=r"circuit_config.json.*cannot read nodes file .*nodes.h5"):
        converters.load(broken)


def test_population_properties_travel_with_their_node_population(tmp_path):
    net = tmp_path / "props.net.nml"
    net.write_text("""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="props">
  <izhikevich2007Cell id="c" C="100pF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" vpeak="35mV"
                      a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>
  <network id="n"><population id="p" component="c" size="2" type="populationList">
    <property tag="color" value="0 0 1"/>
    <property tag="region" value="L4"/>
    <instance id="0"><location x="0" y="0" z="0"/></instance>
    <instance id="1"><location x="1" y="0" z="0"/></instance>
  </population></network>
</neuroml>
""")
    nmlhub.save(net, tmp_path / "p.sonata")
    nmlhub.save(converters.load(tmp_path / "p.sonata"), tmp_path / "back.net.nml")
    population = nmlhub.load(tmp_path / "back.net.nml").network().populations[0]
    assert [(p.tag, p.value) for p in population.properties] == [("color", "0 0 1"), ("region", "L4")]
