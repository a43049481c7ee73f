"""A NeuroML network as a SONATA circuit (the network format of BMTK, NEST, libsonata).

The circuit is a folder::

    circuit_config.json          manifest, components folders, the nodes and edges files; an
                                 ``nmlhub`` entry naming the NeuroML file below and the network
    network/nodes.h5             one node population per NeuroML population (same name): node_type_id,
                                 node_group_id, node_group_index and group 0 with x, y, z (um) when
                                 the population has positions; ``nmlhub_cell_id`` when its ids are
                                 not 0..n-1 (node ids are always 0..n-1); the population's other
                                 children (properties...) as XML in ``nmlhub_population_children``
    network/node_types.csv       one node type per population: model_type (``biophysical`` for a
                                 cell with a morphology, else ``point_neuron``), model_template
                                 ``nml:CELL`` (the NeuroML component), morphology (an SWC file or
                                 NULL), pop_name, nml_component
    network/edges.h5             one edge population per projection (same name): source/target node
                                 ids (with node_population), edge_type_id, edge_group_id,
                                 edge_group_index, group 0 with syn_weight and delay (ms) for
                                 connectionWD, and nml_pre/post_segment_id, nml_pre/post_fraction_along
                                 where the NeuroML file gives them; libsonata's node->edge indices
    network/edge_types.csv       one edge type per projection: model_template ``nml:SYNAPSE``,
                                 nml_synapse, nml_connection (connection or connectionWD), and
                                 syn_weight 1, delay 0 for plain connections (NULL otherwise)
    components/morphologies/     CELL.swc for each cell with a morphology
    components/neuroml/NAME.nml  the rest of the NeuroML document: cells, channels, synapses, inputs
                                 and the network element without its populations and projections,
                                 so that nothing SONATA cannot hold is lost (includes point to the
                                 original files)

A network built from rules is written expanded (its cells, connections and inputs; the rules stay,
marked ``expanded="true"``). Written into a temporary folder and renamed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

from .model_tree import write_xml, xml_from_tree
from .plain import ConversionError
from .sonata_network import (PopulationColumns, ProjectionColumns, network_nodes, population_columns,
                             projection_columns, split_network, with_includes)

CONFIG = "circuit_config.json"
NODES, NODE_TYPES = "network/nodes.h5", "network/node_types.csv"
EDGES, EDGE_TYPES = "network/edges.h5", "network/edge_types.csv"
MORPHOLOGIES, NEUROML = "components/morphologies", "components/neuroml"
RULES_NS = "https://nmlhub.org/schema/rules/1"
NEUROML_NS = "http://www.neuroml.org/schema/neuroml2"
NODE_TYPE_BASE, EDGE_TYPE_BASE = 100, 1000


def write(obj: Any, directory: Path, tree_of: Callable[[Any], dict]) -> list[Path]:
    """Write a model (a file path, an :class:`nmlhub.Model` or a plain tree) as a SONATA circuit;
    a LEMS file's network is its simulation's target. ``tree_of`` makes the plain tree of a model
    or a model file (:func:`converters.formats.model_tree`).

    Returns
    -------
    list of Path
        ``[directory / "circuit_config.json"]``.

    Raises
    ------
    ConversionError
        The document has no network or several, or a network element SONATA cannot hold (named).
    """
    directory = Path(directory)
    if directory.suffix == ".json":
        directory = directory.parent
    model = _model(obj)
    tree = tree_of(obj)
    source = Path(model.path).parent if model is not None else None
    networks = network_nodes(tree)
    if not networks and model is not None and model.networks:  # a LEMS file: its target network's file
        network_file = model.file_of(model.network().id)
        tree, source = tree_of(network_file), network_file.parent
        networks = network_nodes(tree)
    if len(networks) != 1:
        raise ConversionError(f"a SONATA circuit holds one network; the document has {len(networks)}",
                              file=directory)
    try:
        populations, projections, rest = _network_columns(networks[0], model)
    except ConversionError as exc:
        raise ConversionError(exc.message, file=directory) from None
    side = _side_document(tree, networks[0], rest, source, directory / NEUROML)
    _write_atomically(directory, lambda folder: _write_circuit(folder, tree, side, populations, projections,
                                                             networks[0]["attrs"].get("id", "network"), model))
    return [directory / CONFIG]


def _model(obj: Any) -> Any:
    """The :class:`nmlhub.Model` of ``obj`` when it is one or a model file (for rules and morphologies)."""
    if hasattr(obj, "components") and hasattr(obj, "path"):
        return obj
    if isinstance(obj, (str, Path)) and Path(obj).suffix.lower() in (".nml", ".xml", ".h5", ".hdf5"):
        from nmlhub.model import load

        return load(Path(obj))
    return None


def _network_columns(network: dict, model: Any) -> tuple[list[PopulationColumns], list[ProjectionColumns], list[dict]]:
    pops, projs, rest = split_network(network)
    populations = {p.id: p for p in map(population_columns, pops)}
    projections = [projection_columns(p, populations) for p in projs]
    expanded = _expansion(model, network["attrs"].get("id"))
    if expanded is not None:
        populations, projections, rest = _with_expansion(expanded, populations, projections, rest)
    return list(populations.values()), projections, rest


def _expansion(model: Any, network_id: str | None) -> Any:
    if model is None:
        return None
    from nmlhub.analysis.network import expanded_rules
    from nmlhub.errors import NmlhubError

    try:
        network = model.network(network_id)
    except NmlhubError:  # a model file whose network is not the tree's
        return None
    return expanded_rules(model, network)


def _with_expansion(expanded: Any, populations: dict, projections: list, rest: list[dict]):
    """Cells, connections and inputs of a rules network, its rules marked expanded."""
    cells = expanded.cells
    for k, name in enumerate(cells.populations):
        gids = cells.gids_of(name)
        populations[name] = PopulationColumns(name, cells.component[k], np.arange(len(gids), dtype=np.int64),
                                              np.asarray(cells.position[gids], dtype=np.float64),
                                              populations[name].extra if name in populations else [])
    for proj in expanded.projections:
        projections.append(ProjectionColumns(
            proj.id, proj.pre_population, proj.post_population, proj.synapse, "connectionWD",
            np.asarray(proj.pre_cell, np.int64), np.asarray(proj.post_cell, np.int64),
            {"postSegmentId": np.asarray(proj.post_segment, float), "postFractionAlong": np.asarray(proj.post_fraction)},
            np.asarray(proj.weight, float), np.asarray(proj.delay, float)))
    rest = [_marked_expanded(node) for node in rest] + [_input_list(i, populations) for i in expanded.inputs]
    return populations, projections, rest


def _marked_expanded(node: dict) -> dict:
    """The network's annotation with its rules marked ``expanded="true"``, whether they are an
    element in it or RDF text (:mod:`nmlhub.model.rdf_payload`, as nmlhub writes them now)."""
    if node.get("tag") != "annotation":
        return node
    return _marked_subtree(node)


def _marked_subtree(node: dict) -> dict:
    if node.get("tag") == "rules" and node.get("ns") == RULES_NS:
        return {**node, "attrs": {**node.get("attrs", {}), "expanded": "true"}}
    marked = dict(node, children=[_marked_subtree(c) for c in node.get("children", [])])
    if RULES_NS in node.get("text", ""):
        marked["text"] = _rules_text_marked(node["text"])
    return marked


def _rules_text_marked(text: str) -> str:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    rules = etree.fromstring(text.strip().encode(), parser)
    if etree.QName(rules).localname == "rules":
        rules.set("expanded", "true")
    return etree.tostring(rules, encoding="unicode")


def _input_list(inputs: Any, populations: dict) -> dict:
    from .sonata_network import float_column, int_column, rows_node

    pop = populations[inputs.population]
    n = len(inputs)
    columns = {"id": int_column(np.arange(n)),
               "target": int_column(np.asarray(inputs.cell, np.int64), f"../{pop.id}/", f"/{pop.component}"),
               "destination": {"codes": np.zeros(n, np.int64), "values": ["synapses"]},
               "segmentId": int_column(np.asarray(inputs.segment, np.int64)),
               "fractionAlong": float_column(inputs.fraction), "weight": float_column(inputs.weight)}
    return {"tag": "inputList", "attrs": {"id": inputs.id, "population": inputs.population,
                                          "component": inputs.source},
            "children": rows_node("inputW", n, columns)}


def _side_document(tree: dict, network: dict, rest: list[dict], source: Path | None, folder: Path) -> dict:
    """The document without the network's populations and projections; includes made relative to
    ``folder`` when the source folder is known."""
    children = []
    for child in tree["root"].get("children", []):
        if child is network:
            child = {**child, "children": rest}
        elif source is not None:
            child = with_includes(child, lambda href: os.path.relpath((source / href).resolve(), folder.resolve()))
        children.append(child)
    return {"root": {**tree["root"], "children": children}}


def _write_atomically(directory: Path, fill: Any) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        fill(tmp)
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, old / "circuit")
            os.replace(tmp, directory)
            shutil.rmtree(old)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_circuit(folder: Path, tree: dict, side: dict, populations: list[PopulationColumns],
                   projections: list[ProjectionColumns], network_id: str, model: Any) -> None:
    for sub in ("network", MORPHOLOGIES, NEUROML):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    name = tree["root"].get("attrs", {}).get("id") or network_id
    side_file = f"{NEUROML}/{name}.nml"
    write_xml(side, folder / side_file)
    morphologies = _write_morphologies(folder / MORPHOLOGIES, {p.component for p in populations}, model)
    _write_nodes(folder, populations, morphologies)
    _write_edges(folder, projections, {p.id: len(p.ids) for p in populations})
    config = {
        "manifest": {"$BASE_DIR": ".", "$NETWORK_DIR": "$BASE_DIR/network", "$COMPONENTS_DIR": "$BASE_DIR/components"},
        "components": {"morphologies_dir": "$COMPONENTS_DIR/morphologies",
                       "biophysical_neuron_models_dir": "$COMPONENTS_DIR/neuroml",
                       "point_neuron_models_dir": "$COMPONENTS_DIR/neuroml",
                       "synaptic_models_dir": "$COMPONENTS_DIR/neuroml"},
        "networks": {
            "nodes": [{"nodes_file": "$NETWORK_DIR/nodes.h5", "node_types_file": "$NETWORK_DIR/node_types.csv",
                       "populations": {p.id: {"type": "biophysical" if morphologies.get(p.component) else "point_neuron"}
                                       for p in populations}}],
            "edges": [{"edges_file": "$NETWORK_DIR/edges.h5", "edge_types_file": "$NETWORK_DIR/edge_types.csv",
                       "populations": {p.id: {"type": "chemical"} for p in projections}}]},
        "nmlhub": {"neuroml": f"$BASE_DIR/{side_file}", "network": network_id},
    }
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out, delimiter=" ", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_nodes(folder: Path, populations: list[PopulationColumns], morphologies: dict[str, str]) -> None:
    rows = []
    with h5py.File(folder / NODES, "w", track_order=True) as out:
        out.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        out.attrs["magic"] = np.uint32(0x0A7A)
        out.create_group("nodes", track_order=True)
        for k, pop in enumerate(populations):
            n = len(pop.ids)
            group = out.create_group(f"nodes/{pop.id}")
            group.create_dataset("node_type_id", data=np.full(n, NODE_TYPE_BASE + k, np.int64))
            group.create_dataset("node_group_id", data=np.zeros(n, np.int64))
            group.create_dataset("node_group_index", data=np.arange(n, dtype=np.int64))
            attributes = group.create_group("0")
            if pop.positions is not None:
                for j, axis in enumerate("xyz"):
                    attributes.create_dataset(axis, data=pop.positions[:, j])
            if not np.array_equal(pop.ids, np.arange(n)):
                attributes.create_dataset("nmlhub_cell_id", data=pop.ids)
            if pop.extra:
                wrapper = {"tag": "population", "ns": NEUROML_NS, "nsmap": {"": NEUROML_NS}, "attrs": {},
                           "children": pop.extra}
                group.attrs["nmlhub_population_children"] = xml_from_tree({"root": wrapper}, declaration=False)
            morphology = morphologies.get(pop.component)
            rows.append([NODE_TYPE_BASE + k, "biophysical" if morphology else "point_neuron",
                         f"nml:{pop.component}", morphology or "NULL", pop.id, pop.component])
    _write_csv(folder / NODE_TYPES, ["node_type_id", "model_type", "model_template", "morphology", "pop_name",
                                     "nml_component"], rows)


def _write_edges(folder: Path, projections: list[ProjectionColumns], sizes: dict[str, int]) -> None:
    rows = []
    names = {"preSegmentId": "nml_pre_segment_id", "preFractionAlong": "nml_pre_fraction_along",
             "postSegmentId": "nml_post_segment_id", "postFractionAlong": "nml_post_fraction_along"}
    with h5py.File(folder / EDGES, "w", track_order=True) as out:
        out.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        out.attrs["magic"] = np.uint32(0x0A7A)
        out.create_group("edges", track_order=True)
        for k, proj in enumerate(projections):
            n = len(proj)
            group = out.create_group(f"edges/{proj.id}")
            source = group.create_dataset("source_node_id", data=proj.pre.astype(np.uint64))
            source.attrs["node_population"] = proj.pre_population
            target = group.create_dataset("target_node_id", data=proj.post.astype(np.uint64))
            target.attrs["node_population"] = proj.post_population
            group.create_dataset("edge_type_id", data=np.full(n, EDGE_TYPE_BASE + k, np.int64))
            group.create_dataset("edge_group_id", data=np.zeros(n, np.int64))
            group.create_dataset("edge_group_index", data=np.arange(n, dtype=np.int64))
            attributes = group.create_group("0")
            if proj.weight is not None:
                attributes.create_dataset("syn_weight", data=np.asarray(proj.weight, np.float64))
                attributes.create_dataset("delay", data=np.asarray(proj.delay_ms, np.float64))
            for nml, sonata in names.items():
                if nml in proj.segments:
                    dtype = np.int64 if nml.endswith("SegmentId") else np.float64
                    attributes.create_dataset(sonata, data=np.asarray(proj.segments[nml]).astype(dtype))
            if any(proj.cell_reference):
                group.attrs["nmlhub_cell_references"] = json.dumps(list(proj.cell_reference))
            plain = proj.weight is None  # NeuroML's connection: weight 1, no delay, for every edge
            rows.append([EDGE_TYPE_BASE + k, f"nml:{proj.synapse}", proj.synapse, proj.tag,
                         1.0 if plain else "NULL", 0.0 if plain else "NULL"])
    _write_csv(folder / EDGE_TYPES, ["edge_type_id", "model_template", "nml_synapse", "nml_connection",
                                     "syn_weight", "delay"], rows)
    _write_indices(folder / EDGES, projections, sizes)


def _write_indices(path: Path, projections: list[ProjectionColumns], sizes: dict[str, int]) -> None:
    """libsonata's node -> edge indices (source_to_target, target_to_source) of every population."""
    import libsonata

    for proj in projections:
        libsonata.EdgePopulation.write_indices(str(path), proj.id, sizes[proj.pre_population],
                                               sizes[proj.post_population])


def _write_morphologies(folder: Path, components: set[str], model: Any) -> dict[str, str]:
    """An SWC file for each cell component with a morphology (when the model is known)."""
    from .sonata_swc import swc_text

    written = {}
    for component in sorted(components):
        record = model.components.get(component) if model is not None else None
        morphology = getattr(getattr(record, "obj", None), "morphology", None)
        if morphology is None or not getattr(morphology, "segments", None):
            continue
        (folder / f"{component}.swc").write_text(swc_text(record.obj))
        written[component] = f"{component}.swc"
    return written
