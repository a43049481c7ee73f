"""A SONATA circuit as a NeuroML document (the plain tree of :mod:`converters.model_tree`).

Nodes and edges are read with h5py (libsonata's wheel cannot read the gzip-compressed datasets BMTK
writes; the tests check nmlhub's circuits with libsonata and BMTK's with BMTK's reader); node and
edge type CSVs with Python's csv module. The mapping:

- a NeuroML population per node population and node type (named after the node population when
  it has one type, else after the type's ``pop_name``, else ``NODEPOP_TYPEID``); cell index = order
  of the node among them (or ``nmlhub_cell_id``); positions from ``x``, ``y``, ``z`` (or
  ``positions``); the cell component from ``nml_component``, else a ``model_template`` ``nml:ID``
  whose ``dynamics_params`` (or components folder) holds a NeuroML file defining it, which is
  included in the document;
- a NeuroML projection per edge population, edge type and pair of NeuroML populations, with
  ``connectionWD`` elements: weight from ``syn_weight``, delay (ms) from ``delay`` (edge attribute,
  else edge type column, else refused); an edge of ``nsyns`` synapses (BMTK) becomes that many
  connections; segment and fraction from ``nml_post_segment_id``/``nml_post_fraction_along`` (and pre); the synapse from
  ``nml_synapse`` or a ``model_template`` ``nml:ID``, or NEURON's ``exp2syn`` made a NeuroML
  ``expTwoSynapse`` (tau1, tau2, erev from its dynamics_params; gbase 1 uS, as syn_weight is in uS);
- a circuit written by nmlhub carries the rest of its document (components, inputs) in the NeuroML
  file its config names, which is the base of the result.

Refused with a message naming the node or edge type (never dropped): a cell model or synapse with
no NeuroML counterpart (NEST models...), edges targeting a section other than the soma
(``afferent_section_id``/``sec_id`` > 0) of a cell without nmlhub's segment columns, edge types
whose weights BMTK computes with a Python ``weight_function``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .model_tree import tree_from_xml_bytes, tree_from_xml_file
from .plain import ConversionError
from .sonata_network import PopulationColumns, ProjectionColumns, population_node, projection_node, with_includes

NEUROML_NS = "http://www.neuroml.org/schema/neuroml2"
_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


def config_path(path: Path) -> Path:
    """The circuit config of a circuit folder or config file."""
    path = Path(path)
    if path.is_dir():
        for name in ("circuit_config.json", "config.json"):
            if (path / name).is_file():
                return path / name
        raise ConversionError("no circuit_config.json in this folder", file=path)
    if not path.is_file():
        raise ConversionError("no such file or folder", file=path)
    return path


def _resolve(config: dict, base: Path) -> dict:
    """The config with its manifest variables ($BASE_DIR...) replaced, paths absolute."""
    manifest = {k: str(v).replace("${configdir}", str(base.resolve()))  # BMTK's name for the config's folder
                for k, v in config.get("manifest", {}).items()}
    manifest.setdefault("$BASE_DIR", ".")
    values: dict[str, str] = {}
    for _ in range(len(manifest) + 1):
        for key, value in manifest.items():
            values[key] = _VARIABLE.sub(lambda m: values.get(m.group(0), m.group(0)), str(value))
    if "$BASE_DIR" in values and not Path(values["$BASE_DIR"]).is_absolute():
        base_dir = str((base / values["$BASE_DIR"]).resolve())
        values = {k: v.replace(values["$BASE_DIR"], base_dir, 1) if v.startswith(values["$BASE_DIR"]) else v
                  for k, v in values.items()}
        values["$BASE_DIR"] = base_dir

    def fill(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: fill(v) for k, v in item.items()}
        if isinstance(item, list):
            return [fill(v) for v in item]
        if isinstance(item, str):
            text = item
            for _ in range(4):
                text = _VARIABLE.sub(lambda m: values.get(m.group(0), m.group(0)), text)
            return text
        return item

    return fill({k: v for k, v in config.items() if k != "manifest"})


def _read_types(path: str | None) -> dict[int, dict[str, str]]:
    """Rows of a SONATA types CSV (space-separated) by type id."""
    if not path:
        return {}
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter=" ", quotechar='"', skipinitialspace=True))
    return {int(row["node_type_id" if "node_type_id" in row else "edge_type_id"]): row for row in rows}


@dataclass
class _NodeGroup:
    """The NeuroML population a set of SONATA nodes becomes."""

    population: PopulationColumns
    node_ids: np.ndarray


class _Circuit:
    """What the reader gathers: the config, the document it grows and the components it includes."""

    def __init__(self, path: Path):
        self.path = config_path(path)
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise ConversionError(f"not a SONATA config (JSON): {exc}", file=self.path) from None
        if not isinstance(raw, dict) or "networks" not in raw:
            raise ConversionError("not a SONATA circuit config (no 'networks')", file=self.path)
        self.config = _resolve(raw, self.path.parent)
        self.components = self.config.get("components", {})
        self.includes: list[str] = []
        self.synapses: dict[str, dict] = {}

    def error(self, message: str) -> ConversionError:
        return ConversionError(message, file=self.path)

    def neuroml_file(self, name: str, kind: str) -> Path | None:
        """A NeuroML file a type names (dynamics_params or model_template), looked up as given and
        in the components folders."""
        folders = [self.components.get(k) for k in (f"{kind}_models_dir", "biophysical_neuron_models_dir",
                                                     "point_neuron_models_dir", "templates_dir")]
        for folder in [None] + [f for f in folders if f]:
            candidate = Path(folder) / name if folder else Path(name)
            if candidate.is_file():
                return candidate.resolve()
        return None


def read(path: Path) -> dict:
    """Read a SONATA circuit (a folder holding ``circuit_config.json``, or a config file) as a
    NeuroML document tree.

    Raises
    ------
    ConversionError
        The config or a file it names is missing or unreadable, or the circuit uses a model,
        synapse or target section with no NeuroML counterpart; the message names it.
    """
    circuit = _Circuit(Path(path))
    nodes = _read_nodes(circuit)
    projections = _read_edges(circuit, nodes)
    return _document(circuit, nodes, projections)


def _read_nodes(circuit: _Circuit) -> dict[str, list[_NodeGroup]]:
    groups: dict[str, list[_NodeGroup]] = {}
    for entry in circuit.config["networks"].get("nodes", []):
        types = _read_types(entry.get("node_types_file"))
        for pop in _populations(circuit, entry.get("nodes_file"), "nodes"):
            groups[pop.name] = _node_groups(circuit, pop, types, entry["nodes_file"])
    names = [g.population.id for gs in groups.values() for g in gs]
    if len(set(names)) != len(names):
        raise circuit.error(f"node populations and types give the same NeuroML population name twice: {names}")
    return groups


def _node_groups(circuit: _Circuit, pop: Any, types: dict[int, dict], nodes_file: str) -> list[_NodeGroup]:
    everything = pop.select_all()
    type_ids = np.asarray(pop.get_attribute("node_type_id", everything))
    attributes = set(pop.attribute_names)
    columns = {a: np.asarray(pop.get_attribute(a, everything)) for a in ("x", "y", "z", "nmlhub_cell_id")
               if a in attributes}
    if not {"x", "y", "z"} <= set(columns) and "positions" in attributes:
        positions = np.asarray(pop.get_attribute("positions", everything))
        columns.update({a: positions[:, k] for k, a in enumerate("xyz")})
    extra_xml = pop.attrs.get("nmlhub_population_children")
    extra = tree_from_xml_bytes(extra_xml.encode() if isinstance(extra_xml, str) else bytes(extra_xml),
                                "nmlhub_population_children")["root"].get("children", []) if extra_xml else []
    distinct = list(dict.fromkeys(type_ids.tolist()))
    out = []
    for type_id in distinct:
        row = types.get(int(type_id), {})
        members = np.flatnonzero(type_ids == type_id)
        name = pop.name if len(distinct) == 1 else (row.get("pop_name") or f"{pop.name}_{type_id}")
        component = _cell_component(circuit, row, pop.name, int(type_id))
        positions = np.column_stack([columns[a][members] for a in "xyz"]).astype(np.float64) \
            if {"x", "y", "z"} <= set(columns) else None
        ids = columns["nmlhub_cell_id"][members].astype(np.int64) if "nmlhub_cell_id" in columns \
            else np.arange(members.size, dtype=np.int64)
        out.append(_NodeGroup(PopulationColumns(name, component, ids, positions, extra), members))
    return out


def _cell_component(circuit: _Circuit, row: dict[str, str], population: str, type_id: int) -> str:
    if row.get("nml_component"):
        return row["nml_component"]
    template = row.get("model_template", "") or ""
    if template.startswith("nml:"):
        return _nml_component(circuit, template[4:], row.get("dynamics_params"), "cell",
                              f"node population '{population}' type {type_id}")
    raise circuit.error(f"node population '{population}' type {type_id}: model_type "
                        f"'{row.get('model_type', '?')}' template '{template or '?'}' has no NeuroML cell; "
                        "give model_template 'nml:CELL_ID' with dynamics_params a NeuroML file defining it")


def _nml_component(circuit: _Circuit, name: str, params: str | None, kind: str, where: str) -> str:
    """The component id an ``nml:`` template names, its NeuroML file included in the document."""
    files = [p for p in (params, name) if p and p.lower().endswith((".nml", ".xml"))]
    found = None
    for candidate in files:
        found = circuit.neuroml_file(candidate, kind)
        if found is not None:
            break
    if found is None:
        if files:
            raise circuit.error(f"{where}: NeuroML file {files[0]!r} not found")
        return name  # an id defined elsewhere in the document (a circuit written by nmlhub)
    if str(found) not in circuit.includes:
        circuit.includes.append(str(found))
    if name.lower().endswith((".nml", ".xml")):
        ids = _component_ids(found)
        if len(ids) != 1:
            raise circuit.error(f"{where}: {found.name} defines {len(ids)} components; name one as 'nml:ID'")
        return ids[0]
    return name


def _component_ids(path: Path) -> list[str]:
    tree = tree_from_xml_file(path)
    return [c["attrs"]["id"] for c in tree["root"].get("children", [])
            if "id" in c.get("attrs", {}) and c.get("tag") not in ("network", "include", "notes", "annotation")]


def _read_edges(circuit: _Circuit, nodes: dict[str, list[_NodeGroup]]) -> list[ProjectionColumns]:
    projections: list[ProjectionColumns] = []
    for entry in circuit.config["networks"].get("edges", []):
        types = _read_types(entry.get("edge_types_file"))
        for pop in _populations(circuit, entry.get("edges_file"), "edges"):
            projections += _edge_projections(circuit, pop, types, nodes, entry["edges_file"])
    return projections


class _Population:
    """A node or edge population of a SONATA HDF5 file, read whole: every dataset of the
    population and of its groups, group attributes mapped to rows through the group id and index."""

    def __init__(self, name: str, group: Any, kind: str):
        self.name = name
        self.kind = kind
        prefix = "node" if kind == "nodes" else "edge"
        self._own = {k: np.asarray(v[()]) for k, v in group.items() if hasattr(v, "shape")}
        self.attrs = dict(group.attrs)
        self.source = self.target = ""
        if kind == "edges":
            self.source = _text(group["source_node_id"].attrs.get("node_population", ""))
            self.target = _text(group["target_node_id"].attrs.get("node_population", ""))
        size = len(next(iter(self._own.values()))) if self._own else 0
        group_id = self._own.get(f"{prefix}_group_id", np.zeros(size, np.int64))
        group_index = self._own.get(f"{prefix}_group_index", np.arange(size))
        self._groups: dict[str, np.ndarray] = {}
        for gid in np.unique(group_id):
            if str(gid) not in group:
                continue
            rows = np.flatnonzero(group_id == gid)
            for attr, dataset in group[str(gid)].items():
                if not hasattr(dataset, "shape") or attr == "dynamics_params":
                    continue
                values = np.asarray(dataset[()])
                column = self._groups.setdefault(attr, np.full((size,) + values.shape[1:], np.nan)
                                                 if values.dtype.kind == "f" else np.zeros((size,) + values.shape[1:],
                                                                                         values.dtype))
                column[rows] = values[group_index[rows]]
        self.attribute_names = set(self._groups) | set(self._own)

    def select_all(self) -> None:
        return None

    def get_attribute(self, name: str, _selection: Any = None) -> np.ndarray:
        return self._groups[name] if name in self._groups else self._own[name]

    def source_nodes(self, _selection: Any = None) -> np.ndarray:
        return self._own["source_node_id"]

    def target_nodes(self, _selection: Any = None) -> np.ndarray:
        return self._own["target_node_id"]


def _populations(circuit: _Circuit, path: str | None, kind: str) -> list[_Population]:
    """Every node or edge population of a file, in the order the file lists them."""
    import h5py

    try:
        with h5py.File(str(path), "r") as f:
            if kind not in f:
                return []
            return [_Population(name, f[kind][name], kind) for name in f[kind]]
    except (OSError, KeyError, ValueError) as exc:
        raise circuit.error(f"cannot read {kind} file {path}: {type(exc).__name__}: {exc}") from None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _lookup(groups: list[_NodeGroup], size: int) -> tuple[np.ndarray, np.ndarray]:
    """For every node id of a node population: its NeuroML population (index into groups) and cell row."""
    which = np.full(size, -1, np.int64)
    row = np.full(size, -1, np.int64)
    for k, group in enumerate(groups):
        which[group.node_ids] = k
        row[group.node_ids] = np.arange(group.node_ids.size)
    return which, row


def _edge_projections(circuit: _Circuit, edges: Any, types: dict[int, dict], nodes: dict[str, list[_NodeGroup]],
                      edges_file: str) -> list[ProjectionColumns]:
    everything = edges.select_all()
    if edges.source not in nodes or edges.target not in nodes:
        raise circuit.error(f"edge population '{edges.name}' joins node populations '{edges.source}' and "
                            f"'{edges.target}', which the circuit does not have")
    src, dst = nodes[edges.source], nodes[edges.target]
    source = np.asarray(edges.source_nodes(everything), np.int64)
    target = np.asarray(edges.target_nodes(everything), np.int64)
    src_which, src_row = _lookup(src, sum(g.node_ids.size for g in src))
    dst_which, dst_row = _lookup(dst, sum(g.node_ids.size for g in dst))
    for ids, size, pop in ((source, src_which.size, edges.source), (target, dst_which.size, edges.target)):
        bad = (ids < 0) | (ids >= size)
        if np.any(bad):
            raise circuit.error(f"edge population '{edges.name}': edge {int(np.argmax(bad))} names node "
                                f"{int(ids[np.argmax(bad)])} of '{pop}', which has {size} nodes")
    attributes = set(edges.attribute_names)
    type_ids = np.asarray(edges.get_attribute("edge_type_id", everything))
    column = {a: np.asarray(edges.get_attribute(a, everything)) for a in attributes
              if a in ("syn_weight", "delay", "nsyns", "afferent_section_id", "sec_id", "nml_pre_segment_id",
                       "nml_pre_fraction_along", "nml_post_segment_id", "nml_post_fraction_along")}
    refs = edges.attrs.get("nmlhub_cell_references")
    references = tuple(json.loads(refs)) if refs else ("", "", "", "")
    type_ids = type_ids.astype(np.int64)
    pre_which, post_which = src_which[source], dst_which[target]
    code = ((type_ids - (type_ids.min() if type_ids.size else 0)) * len(src) + pre_which) * len(dst) + post_which
    _, first = np.unique(code, return_index=True)
    first = np.sort(first)  # one edge of each (type, pre population, post population), by first edge
    distinct = [(int(type_ids[i]), int(pre_which[i]), int(post_which[i])) for i in first]
    out = []
    for (type_id, pre_k, post_k), one in zip(distinct, first):
        members = np.flatnonzero(code == code[one]) if len(distinct) > 1 else np.arange(code.size)
        if "nsyns" in column:  # BMTK: an edge of n synapses is n connections (n = 0: none)
            members = np.repeat(members, np.maximum(column["nsyns"][members].astype(np.int64), 0))
        row = types.get(int(type_id), {})
        where = f"edge population '{edges.name}' type {type_id}"
        if row.get("weight_function") not in (None, "", "NULL"):
            raise circuit.error(f"{where}: weights computed by BMTK's Python weight_function "
                                f"'{row['weight_function']}' cannot be read from the files")
        name = edges.name if len(distinct) == 1 else f"{edges.name}_{type_id}_{src[pre_k].population.id}_" \
                                                      f"{dst[post_k].population.id}"
        out.append(ProjectionColumns(
            name, src[pre_k].population.id, dst[post_k].population.id, _synapse(circuit, row, where),
            row.get("nml_connection") or "connectionWD", src_row[source[members]], dst_row[target[members]],
            _segments(circuit, column, members, where), _edge_value(circuit, column, row, "syn_weight", members, where),
            _edge_value(circuit, column, row, "delay", members, where), references))
    return out


def _edge_value(circuit: _Circuit, column: dict, row: dict, name: str, members: np.ndarray, where: str) -> np.ndarray | None:
    if row.get("nml_connection") == "connection":
        return None
    if name in column:
        return column[name][members].astype(np.float64)
    if row.get(name) not in (None, "", "NULL"):
        return np.full(members.size, float(row[name]))
    raise circuit.error(f"{where}: no {name} (neither an edge attribute nor an edge type column)")


def _segments(circuit: _Circuit, column: dict, members: np.ndarray, where: str) -> dict[str, np.ndarray]:
    names = {"nml_pre_segment_id": "preSegmentId", "nml_pre_fraction_along": "preFractionAlong",
             "nml_post_segment_id": "postSegmentId", "nml_post_fraction_along": "postFractionAlong"}
    found = {nml: column[sonata][members].astype(np.float64) for sonata, nml in names.items() if sonata in column}
    if not found:
        for section in ("afferent_section_id", "sec_id"):
            if section in column and np.any(column[section][members] > 0):
                raise circuit.error(f"{where}: edges target section {int(column[section][members].max())} "
                                    f"({section}); nmlhub maps only the soma (section 0) to a NeuroML segment")
    return found


def _synapse(circuit: _Circuit, row: dict[str, str], where: str) -> str:
    if row.get("nml_synapse"):
        return row["nml_synapse"]
    template = row.get("model_template", "") or ""
    if template.startswith("nml:"):
        return _nml_component(circuit, template[4:], row.get("dynamics_params"), "synaptic", where)
    if template.lower() == "exp2syn":
        return _exp2syn(circuit, row.get("dynamics_params"), where)
    raise circuit.error(f"{where}: synapse model '{template or '?'}' has no NeuroML counterpart; give "
                        "model_template 'nml:SYNAPSE_ID' (dynamics_params a NeuroML file) or 'exp2syn'")


def _exp2syn(circuit: _Circuit, params: str | None, where: str) -> str:
    """NEURON's Exp2Syn as an expTwoSynapse (gbase 1 uS: SONATA's syn_weight is Exp2Syn's weight in uS)."""
    values: dict[str, Any] = {}
    if params:
        path = circuit.neuroml_file(params, "synaptic")
        if path is None:
            raise circuit.error(f"{where}: dynamics_params {params!r} not found")
        values = json.loads(path.read_text())
    tau1, tau2, erev = (float(values.get(k, d)) for k, d in (("tau1", 0.1), ("tau2", 10.0), ("erev", 0.0)))
    name = f"exp2syn_{Path(params).stem if params else 'default'}"
    circuit.synapses[name] = {"tag": "expTwoSynapse", "attrs": {
        "id": name, "gbase": "1uS", "erev": f"{erev:g}mV", "tauRise": f"{tau1:g}ms", "tauDecay": f"{tau2:g}ms"},
        "children": []}
    return name


def _document(circuit: _Circuit, nodes: dict[str, list[_NodeGroup]], projections: list[ProjectionColumns]) -> dict:
    populations = {g.population.id: g.population for gs in nodes.values() for g in gs}
    network_nodes = [population_node(p) for p in populations.values()]
    network_nodes += [projection_node(p, populations) for p in projections]
    own = circuit.config.get("nmlhub", {})
    if own.get("neuroml") and Path(own["neuroml"]).is_file():
        tree = tree_from_xml_file(own["neuroml"])
        base = Path(own["neuroml"]).resolve().parent
        tree["root"]["children"] = [with_includes(c, lambda href: str((base / href).resolve()))
                                    for c in tree["root"].get("children", [])]
        for child in tree["root"]["children"]:
            if child.get("tag") == "network" and child["attrs"].get("id") == own.get("network"):
                child["children"] = network_nodes + child.get("children", [])
                network_nodes = []
        if network_nodes:
            raise circuit.error(f"the NeuroML file {own['neuroml']} has no network '{own.get('network')}'")
        return tree
    children = [{"tag": "include", "attrs": {"href": href}, "children": []} for href in circuit.includes]
    children += list(circuit.synapses.values())
    name = re.sub(r"\W", "_", circuit.path.resolve().parent.name) or "circuit"
    children.append({"tag": "network", "attrs": {"id": name}, "children": network_nodes})
    return {"root": {"tag": "neuroml", "ns": NEUROML_NS, "nsmap": {"": NEUROML_NS}, "attrs": {"id": name},
                     "children": children}}
