"""NeuroML HDF5: the network format libNeuroML and jNeuroML read and write.

Layout (as libNeuroML's ``NeuroMLHdf5Writer`` writes it, so its loader and jNeuroML read nmlhub's
files): a group ``/neuroml`` with attributes ``id``, ``notes`` and ``neuroml_top_level`` (the
XML of every element outside the network); in it a group ``network`` (attributes ``id``,
``notes``, ``temperature``) with

- ``population_ID`` (``id``, ``component``, ``size``, ``type``) and, for a ``populationList``, a
  dataset ``ID`` of instance locations (columns x, y, z);
- ``projection_ID`` (``id``, ``type`` = projection, ``presynapticPopulation``,
  ``postsynapticPopulation``, ``synapse``) with a dataset ``ID`` of connections: columns
  ``pre_cell_id``, ``post_cell_id``, optionally ``pre_segment_id``, ``post_segment_id``,
  ``pre_fraction_along``, ``post_fraction_along``, and ``weight``, ``delay`` (ms) for
  ``connectionWD``; each column named by the dataset's ``column_N`` attribute;
- ``inputList_ID`` (``id``, ``component``, ``population``) with a dataset ``ID``: ``id``,
  ``target_cell_id``, ``segment_id``, ``fraction_along`` and ``weight`` for ``inputW``;
- electrical and continuous projections as ``projection_ID`` (``type`` = electricalProjection with
  ``synapse``, or continuousProjection with ``preComponent`` and ``postComponent``) with a dataset
  of ``id``, cells, segments, fractions and ``weight`` for the ``...InstanceW`` connections.

Values are float64 (libNeuroML writes float32; its loader reads either). What the layout has no
place for (explicit inputs, a network's annotations and rules, a second network, elements whose
ids do not run 0..n-1) is kept as XML in the network's ``nmlhub_extra_xml`` attribute (each child in an ``nmlhub_slot``), and the
order of the network's children in ``nmlhub_order``; other tools ignore both, nmlhub restores the
document from them. Connections and instances go from columns to datasets and back without one
Python object per element.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from nmlhub.atomic import publish, temporary_file

from .model_tree import block_part, decode_column, xml_from_tree
from .neuroml_hdf5_columns import (GROUP_PREFIX, H5_SEGMENT_COLUMNS, LINKED, SEGMENT_COLUMNS, cell_column,
                                   child_columns, column_numbers, is_id_range)
from .neuroml_hdf5_exact import mark, mismatches, slots_xml, split_head, write_texts
from .neuroml_hdf5_read import READERS

_GROUP_ID = re.compile(r"(?!\.{1,2}$)[^/]+")


def _write_population(group: Any, node: dict) -> bool:
    attrs = node.get("attrs", {})
    if not {"id", "component"} <= set(attrs) or "ns" in node or "text" in node:
        return False
    if not node.get("children") and not re.fullmatch(r"[0-9]+", attrs.get("size", "")):
        return False  # libNeuroML's size is an integer
    children = node.get("children", [])
    if children:
        rows = child_columns(children, "instance")
        if rows is None or set(rows) - {"__count__"} != {"id", "location.x", "location.y", "location.z"} \
                or not is_id_range(rows["id"]):
            return False
    pop = group.create_group(f"population_{attrs['id']}")
    for key in ("id", "component"):
        pop.attrs[key] = attrs.get(key, "")
    if children:
        n = rows["__count__"]
        pop.attrs["size"] = n
        pop.attrs["type"] = attrs.get("type", "populationList")
        data = np.column_stack([column_numbers(rows[f"location.{a}"]) for a in "xyz"]) if n else np.zeros((0, 3))
        dataset = pop.create_dataset(attrs["id"], data=data)
        for k, name in enumerate("xyz"):
            dataset.attrs[f"column_{k}"] = name
        pop.attrs["nmlhub_declared_size"] = attrs.get("size", "")
    else:
        pop.attrs["size"] = int(attrs["size"])
        if "type" in attrs:
            pop.attrs["type"] = attrs["type"]
    return True


def _write_table(group: Any, name: str, columns: list[tuple[str, np.ndarray]]) -> None:
    n = len(columns[0][1]) if columns else 0
    data = np.column_stack([c for _, c in columns]) if n else np.zeros((0, len(columns)))
    dataset = group.create_dataset(name, data=data.astype(np.float64), chunks=True if n > 10000 else None,
                                   compression="gzip" if n > 10000 else None, compression_opts=1 if n > 10000 else None)
    for k, (column_name, _) in enumerate(columns):
        dataset.attrs[f"column_{k}"] = column_name


def _table_rows(node: dict, attr_names: set[str], tags: tuple[str, ...]) -> tuple[str, dict, set[str]] | None:
    """For an element with exactly ``attr_names`` whose children are all one of ``tags`` with
    ids 0..n-1: (that tag, the children's columns, their attribute names other than id)."""
    if not attr_names <= set(node.get("attrs", {})) or "text" in node or "ns" in node:
        return None
    children = node.get("children", [])
    found = {c.get("block") or c.get("tag") for c in children}
    if len(found) != 1 or not found <= set(tags):
        return None
    tag = found.pop()
    rows = child_columns(children, tag)
    if rows is None or "id" not in rows or not is_id_range(rows["id"]):
        return None
    return tag, rows, set(rows) - {"__count__", "id"}


def _write_projection(group: Any, node: dict) -> bool:
    attrs = node.get("attrs", {})
    table = _table_rows(node, {"id", "presynapticPopulation", "postsynapticPopulation", "synapse"},
                        ("connection", "connectionWD"))
    if table is None:
        return False
    tag, rows, names = table
    base = {"preCellId", "postCellId"}
    wd = {"weight", "delay"} if tag == "connectionWD" else set()
    segments = set(SEGMENT_COLUMNS) & names
    if names != base | wd | segments:
        return False
    pre, post = cell_column(rows["preCellId"]), cell_column(rows["postCellId"])
    if pre is None or post is None:
        return False
    proj = group.create_group(f"projection_{attrs['id']}")
    for key in ("id", "presynapticPopulation", "postsynapticPopulation", "synapse"):
        proj.attrs[key] = attrs[key]
    proj.attrs["type"] = "projection"
    proj.attrs["nmlhub_cell_references"] = json.dumps([pre[1], pre[2], post[1], post[2]])
    columns = [("pre_cell_id", pre[0]), ("post_cell_id", post[0])]
    if segments:
        n = len(pre[0])
        columns += [(h5, column_numbers(rows[xml]) if xml in rows else np.full(n, 0.5 if "Fraction" in xml else 0.0))
                    for xml, h5 in zip(SEGMENT_COLUMNS, H5_SEGMENT_COLUMNS)]
    if wd:
        columns += [("weight", column_numbers(rows["weight"])), ("delay", column_numbers(rows["delay"], unit_to_ms=True))]
    _write_table(proj, attrs["id"], columns)
    return True


def _write_input_list(group: Any, node: dict) -> bool:
    attrs = node.get("attrs", {})
    table = _table_rows(node, {"id", "component", "population"}, ("input", "inputW"))
    if table is None:
        return False
    tag, rows, names = table
    weight = {"weight"} if tag == "inputW" else set()
    location = {"segmentId", "fractionAlong"} & names
    if names - location != {"target", "destination"} | weight:
        return False
    target = cell_column(rows["target"])
    destinations = set(decode_column(rows["destination"]))
    if target is None or len(destinations) != 1:
        return False
    inputs = group.create_group(f"inputList_{attrs['id']}")
    for key in ("id", "component", "population"):
        inputs.attrs[key] = attrs[key]
    inputs.attrs["nmlhub_cell_references"] = json.dumps([target[1], target[2]])
    inputs.attrs["nmlhub_destination"] = destinations.pop()
    n = len(target[0])
    inputs.attrs["nmlhub_explicit_location"] = np.int8(bool(location))  # PyTables cannot read HDF5 booleans
    columns = [("id", column_numbers(rows["id"])), ("target_cell_id", target[0]),
               ("segment_id", column_numbers(rows["segmentId"]) if "segmentId" in location else np.zeros(n)),
               ("fraction_along", column_numbers(rows["fractionAlong"]) if "fractionAlong" in location
                else np.full(n, 0.5))]
    if weight:
        columns.append(("weight", column_numbers(rows["weight"])))
    _write_table(inputs, attrs["id"], columns)
    return True


_LINK_SEGMENTS = ("preSegment", "preFractionAlong", "postSegment", "postFractionAlong")


def _write_linked(group: Any, node: dict) -> bool:
    """An electrical or continuous projection as libNeuroML's dataset (id, cells, segments,
    fractions, weight); which kind of connection and how cells were named kept in attributes."""
    kind = node["tag"]
    tags, components = LINKED[kind]
    attrs = node.get("attrs", {})
    table = _table_rows(node, {"id", "presynapticPopulation", "postsynapticPopulation"}, tags)
    if table is None:
        return False
    tag, rows, names = table
    weight = {"weight"} if tag.endswith("W") else set()
    segments = set(_LINK_SEGMENTS) & names
    if names != {"preCell", "postCell"} | set(components) | weight | segments:
        return False
    values = {c: set(decode_column(rows[c])) for c in components}
    if any(len(v) != 1 for v in values.values()):
        return False
    if tag == tags[0]:  # plain cell indices
        pre = (column_numbers(rows["preCell"]), "", "") if "int" in rows["preCell"] else None
        post = (column_numbers(rows["postCell"]), "", "") if "int" in rows["postCell"] else None
        if pre is None or post is None or rows["preCell"]["prefix"] or rows["postCell"]["prefix"] \
                or rows["preCell"]["suffix"] or rows["postCell"]["suffix"]:
            return False
    else:
        pre, post = cell_column(rows["preCell"]), cell_column(rows["postCell"])
        if pre is None or post is None:
            return False
    proj = group.create_group(f"projection_{attrs['id']}")
    for key in ("id", "presynapticPopulation", "postsynapticPopulation"):
        proj.attrs[key] = attrs[key]
    proj.attrs["type"] = kind
    for component in components:
        proj.attrs[component] = values[component].pop()
    proj.attrs["nmlhub_connection"] = tag
    proj.attrs["nmlhub_cell_references"] = json.dumps([pre[1], pre[2], post[1], post[2]])
    proj.attrs["nmlhub_segments"] = np.int8(bool(segments))  # PyTables cannot read HDF5 booleans
    n = len(pre[0])
    columns = [("id", column_numbers(rows["id"])), ("pre_cell_id", pre[0]), ("post_cell_id", post[0])]
    if segments:
        columns += [(h5, column_numbers(rows[xml]) if xml in rows else np.full(n, 0.5 if "Fraction" in xml else 0.0))
                    for xml, h5 in (("preSegment", "pre_segment_id"), ("postSegment", "post_segment_id"),
                                    ("preFractionAlong", "pre_fraction_along"),
                                    ("postFractionAlong", "post_fraction_along"))]
    else:
        columns += [("pre_segment_id", np.zeros(n)), ("post_segment_id", np.zeros(n)),
                    ("pre_fraction_along", np.full(n, 0.5)), ("post_fraction_along", np.full(n, 0.5))]
    if weight:
        columns.append(("weight", column_numbers(rows["weight"])))
    _write_table(proj, attrs["id"], columns)
    return True


_WRITERS = {"population": _write_population, "projection": _write_projection, "inputList": _write_input_list,
            "electricalProjection": _write_linked, "continuousProjection": _write_linked}


def write_neuroml_hdf5(tree: dict, path: Path) -> None:
    """Write a model tree as NeuroML HDF5 (atomically): its first network as datasets, everything
    else (any other network too) as XML."""
    import h5py

    path = Path(path)
    root = tree["root"]
    children = root.get("children", [])
    # libNeuroML's layout has room for one network: the first; any other stays in the XML
    first = next((k for k, c in enumerate(children) if c.get("tag") == "network" and "block" not in c), None)
    network = children[first] if first is not None else None
    top = dict(root, children=[c for k, c in enumerate(children) if k != first])
    position = sum(c.get("count", 1) if "block" in c else 1 for c in children[:first]) if network else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = temporary_file(path)
    os.close(handle)
    try:
        with h5py.File(tmp, "w") as f:
            neuroml = f.create_group("neuroml")
            neuroml.attrs["id"] = root.get("attrs", {}).get("id", "")
            neuroml.attrs["notes"] = ""
            neuroml.attrs["GENERATED_BY"] = "nmlhub"
            # no XML declaration: libNeuroML parses this text as a str, which lxml refuses with one
            neuroml.attrs["neuroml_top_level"] = xml_from_tree({"root": top}, declaration=False).decode()
            if network is None:
                neuroml.attrs["nmlhub_network_position"] = -1
            else:
                neuroml.attrs["nmlhub_network_position"] = position
                texts: list[tuple[str, str, dict]] = []
                _write_network(neuroml, network, root.get("nsmap", {}), texts)
                write_texts(neuroml, texts)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rows_as_elements(children: list[dict]) -> list[dict]:
    """A network's children with blocks of populations, projections or input lists (same-shaped
    ones without instances or connections) taken apart: each becomes its own group."""
    out: list[dict] = []
    for child in children:
        if "block" in child and child["block"] in _WRITERS and "ns" not in child:
            out.extend(block_part(child, k, k + 1) for k in range(child["count"]))
        else:
            out.append(child)
    return out


def _write_network(neuroml: Any, network: dict, scope: dict[str, str], texts: list) -> None:
    """The network's group: populations, projections and input lists as datasets (with what they
    cannot say beside them, :mod:`converters.neuroml_hdf5_exact`; columns whose text they lose
    added to ``texts``), the rest as XML."""
    net = neuroml.create_group("network")
    net_attrs = network.get("attrs", {})
    net.attrs["id"] = net_attrs.get("id", "")
    net.attrs["notes"] = ""
    if "temperature" in net_attrs:
        net.attrs["temperature"] = net_attrs["temperature"]
    order, extra = [], []
    scope = {**scope, **network.get("nsmap", {})}
    for child in _rows_as_elements(network.get("children", [])):
        if _write_group(net, child, scope, texts):
            order.append([child["tag"], child["attrs"]["id"]])
        else:
            order.append(["xml", len(extra)])
            extra.append(child)
    net.attrs["nmlhub_order"] = json.dumps(order)
    net.attrs["nmlhub_extra_xml"] = slots_xml(extra, network, scope)
    if "tail" in network:
        net.attrs["nmlhub_tail"] = network["tail"]


def _write_group(net: Any, child: dict, scope: dict[str, str], texts: list) -> bool:
    """Write one population, projection or input list as libNeuroML's group; False (nothing
    written) if it does not fit the layout."""
    writer = _WRITERS.get(child.get("tag")) if "block" not in child else None
    parts = split_head(child) if writer is not None else None
    if parts is None or not _GROUP_ID.fullmatch(child.get("attrs", {}).get("id", "")):
        return False  # an id HDF5 would read as a path ('a/b', '..') stays in the XML
    head, body = parts
    if not writer(net, dict(child, children=body)):
        return False
    group = net[f"{GROUP_PREFIX.get(child['tag'], child['tag'])}_{child['attrs']['id']}"]
    tags = {c.get("block") or c.get("tag") for c in body}
    rows = child_columns(body, tags.pop()) if body else None
    mark(group, child, head, rows, scope)
    if rows is not None:
        rebuilt = READERS[child["tag"]](group, {}, set())
        texts.extend((group.name.rsplit("/", 1)[-1], name, column) for name, column in mismatches(rows, rebuilt))
    return True
