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

from nmlhub.model.paths import CellPath, parse_path
from nmlhub.units import UnitRegistry

from . import neuroml_hdf5_exact as exact
from .model_tree import (block_part, decode_column, encode_column, insert_element, tree_from_xml_bytes,
                         xml_from_tree)
from .plain import ConversionError
from nmlhub.atomic import publish, temporary_file

_CELL_PREFIX = re.compile(r"^\.\./[^/\[\]]+[/\[]$")  # ../pop/ or ../pop[
_CELL_SUFFIX = re.compile(r"^(/[^/\[\]]+|\])$")  # /cell or ]
_GROUP_ID = re.compile(r"(?!\.{1,2}$)[^/]+")
_SEGMENT_COLUMNS = ("preSegmentId", "postSegmentId", "preFractionAlong", "postFractionAlong")
_H5_SEGMENT_COLUMNS = ("pre_segment_id", "post_segment_id", "pre_fraction_along", "post_fraction_along")


# ---------------------------------------------------------------- columns of one kind of child

def _rows(children: list[dict], tag: str) -> dict[str, dict] | None:
    """The columns of children that are all ``tag`` elements or blocks of one shape, else None."""
    columns: dict[str, list] = {}
    counts = 0
    names: tuple | None = None
    child_columns: dict[str, list] = {}
    for child in children:
        if child.get("block") == tag:
            block_names = tuple(child["columns"])
            sub = {f"{c['tag']}.{k}": col for c in child["children"] for k, col in c["columns"].items()}
            block_names += tuple(sub)
            if names is not None and names != block_names:
                return None
            names = block_names
            for k, col in child["columns"].items():
                columns.setdefault(k, []).append(col)
            for k, col in sub.items():
                child_columns.setdefault(k, []).append(col)
            counts += child["count"]
        elif child.get("tag") == tag and "text" not in child and "ns" not in child:
            sub_nodes = child.get("children", [])
            if any("block" in c or c.get("children") or "text" in c for c in sub_nodes):
                return None
            sub = {f"{c['tag']}.{k}": encode_column([v]) for c in sub_nodes for k, v in c.get("attrs", {}).items()}
            element_names = tuple(child.get("attrs", {})) + tuple(sub)
            if names is not None and names != element_names:
                return None
            names = element_names
            for k, v in child.get("attrs", {}).items():
                columns.setdefault(k, []).append(encode_column([v]))
            for k, col in sub.items():
                child_columns.setdefault(k, []).append(col)
            counts += 1
        else:
            return None
    merged = {k: _concat(cols) for k, cols in {**columns, **child_columns}.items()}
    merged["__count__"] = counts  # type: ignore[assignment]
    return merged


def _concat(columns: list[dict]) -> dict:
    if len(columns) == 1:
        return columns[0]
    return encode_column([v for c in columns for v in decode_column(c)])


def _numbers(column: dict, unit_to_ms: bool = False) -> np.ndarray:
    if ("int" in column or "float" in column) and column["prefix"] == "" and (column["suffix"] == "" or unit_to_ms):
        values = np.asarray(column.get("int", column.get("float")), dtype=np.float64)
        if unit_to_ms and column["suffix"]:
            values = values * UnitRegistry.core().parse(f"1{column['suffix']}").to("ms")
        return values
    texts = decode_column(column)
    if unit_to_ms:
        units = UnitRegistry.core()
        return np.array([units.parse(t).to("ms") for t in texts], dtype=np.float64)
    return np.array(texts, dtype=np.float64)


def _cells(column: dict) -> tuple[np.ndarray, str, str] | None:
    """Cell indices of a column of references to one population (``../pop/i/cell`` or
    ``../pop[i]``), and the text around the index; None for anything else."""
    if "int" in column and _CELL_PREFIX.match(column["prefix"]) and _CELL_SUFFIX.match(column["suffix"]) \
            and (column["prefix"].endswith("/") == column["suffix"].startswith("/")):
        return np.asarray(column["int"], dtype=np.int64), column["prefix"], column["suffix"]
    texts = decode_column(column)
    if not texts:
        return None
    first = _written_cell(texts[0])
    if first is None:
        return None
    if first.bracketed:
        prefix, suffix = f"../{first.population}[", "]"
    else:
        prefix, suffix = f"../{first.population}/", f"/{first.component}"
    cells = [_written_cell(t) for t in texts]
    if not all(c is not None and (c.population, c.bracketed, c.component)
               == (first.population, first.bracketed, first.component) for c in cells):
        return None
    return np.array([c.index for c in cells], dtype=np.int64), prefix, suffix


def _written_cell(text: str) -> CellPath | None:
    """``../pop/i/cell`` or ``../pop[i]`` with i spelled as ``str(i)``; None for anything else."""
    cell = parse_path(text)
    if cell is None or not cell.relative or cell.index < 0 or cell.rest or str(cell) != text:
        return None
    return cell if cell.bracketed or cell.component is not None else None


def _is_range(ids: dict) -> bool:
    values = _numbers(ids)
    return bool(np.array_equal(values, np.arange(len(values))))


# ---------------------------------------------------------------- write

def _write_population(group: Any, node: dict) -> bool:
    attrs = node.get("attrs", {})
    if not {"id", "component"} <= set(attrs) or "ns" in node or "text" in node:
        return False
    if not node.get("children") and not re.fullmatch(r"[0-9]+", attrs.get("size", "")):
        return False  # libNeuroML's size is an integer
    children = node.get("children", [])
    if children:
        rows = _rows(children, "instance")
        if rows is None or set(rows) - {"__count__"} != {"id", "location.x", "location.y", "location.z"} \
                or not _is_range(rows["id"]):
            return False
    pop = group.create_group(f"population_{attrs['id']}")
    for key in ("id", "component"):
        pop.attrs[key] = attrs.get(key, "")
    if children:
        n = rows["__count__"]
        pop.attrs["size"] = n
        pop.attrs["type"] = attrs.get("type", "populationList")
        data = np.column_stack([_numbers(rows[f"location.{a}"]) for a in "xyz"]) if n else np.zeros((0, 3))
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
    rows = _rows(children, tag)
    if rows is None or "id" not in rows or not _is_range(rows["id"]):
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
    segments = set(_SEGMENT_COLUMNS) & names
    if names != base | wd | segments:
        return False
    pre, post = _cells(rows["preCellId"]), _cells(rows["postCellId"])
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
        columns += [(h5, _numbers(rows[xml]) if xml in rows else np.full(n, 0.5 if "Fraction" in xml else 0.0))
                    for xml, h5 in zip(_SEGMENT_COLUMNS, _H5_SEGMENT_COLUMNS)]
    if wd:
        columns += [("weight", _numbers(rows["weight"])), ("delay", _numbers(rows["delay"], unit_to_ms=True))]
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
    target = _cells(rows["target"])
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
    columns = [("id", _numbers(rows["id"])), ("target_cell_id", target[0]),
               ("segment_id", _numbers(rows["segmentId"]) if "segmentId" in location else np.zeros(n)),
               ("fraction_along", _numbers(rows["fractionAlong"]) if "fractionAlong" in location
                else np.full(n, 0.5))]
    if weight:
        columns.append(("weight", _numbers(rows["weight"])))
    _write_table(inputs, attrs["id"], columns)
    return True


_LINKED = {  # projection tag -> (connection tags, attributes naming the synapse components)
    "electricalProjection": (("electricalConnection", "electricalConnectionInstance",
                              "electricalConnectionInstanceW"), ("synapse",)),
    "continuousProjection": (("continuousConnection", "continuousConnectionInstance",
                              "continuousConnectionInstanceW"), ("preComponent", "postComponent")),
}
_LINK_SEGMENTS = ("preSegment", "preFractionAlong", "postSegment", "postFractionAlong")


def _write_linked(group: Any, node: dict) -> bool:
    """An electrical or continuous projection as libNeuroML's dataset (id, cells, segments,
    fractions, weight); which kind of connection and how cells were named kept in attributes."""
    kind = node["tag"]
    tags, components = _LINKED[kind]
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
        pre = (_numbers(rows["preCell"]), "", "") if "int" in rows["preCell"] else None
        post = (_numbers(rows["postCell"]), "", "") if "int" in rows["postCell"] else None
        if pre is None or post is None or rows["preCell"]["prefix"] or rows["postCell"]["prefix"] \
                or rows["preCell"]["suffix"] or rows["postCell"]["suffix"]:
            return False
    else:
        pre, post = _cells(rows["preCell"]), _cells(rows["postCell"])
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
    columns = [("id", _numbers(rows["id"])), ("pre_cell_id", pre[0]), ("post_cell_id", post[0])]
    if segments:
        columns += [(h5, _numbers(rows[xml]) if xml in rows else np.full(n, 0.5 if "Fraction" in xml else 0.0))
                    for xml, h5 in (("preSegment", "pre_segment_id"), ("postSegment", "post_segment_id"),
                                    ("preFractionAlong", "pre_fraction_along"),
                                    ("postFractionAlong", "post_fraction_along"))]
    else:
        columns += [("pre_segment_id", np.zeros(n)), ("post_segment_id", np.zeros(n)),
                    ("pre_fraction_along", np.full(n, 0.5)), ("post_fraction_along", np.full(n, 0.5))]
    if weight:
        columns.append(("weight", _numbers(rows["weight"])))
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
                exact.write_texts(neuroml, texts)
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
    net.attrs["nmlhub_extra_xml"] = exact.slots_xml(extra, network, scope)
    if "tail" in network:
        net.attrs["nmlhub_tail"] = network["tail"]


def _write_group(net: Any, child: dict, scope: dict[str, str], texts: list) -> bool:
    """Write one population, projection or input list as libNeuroML's group; False (nothing
    written) if it does not fit the layout."""
    writer = _WRITERS.get(child.get("tag")) if "block" not in child else None
    parts = exact.split_head(child) if writer is not None else None
    if parts is None or not _GROUP_ID.fullmatch(child.get("attrs", {}).get("id", "")):
        return False  # an id HDF5 would read as a path ('a/b', '..') stays in the XML
    head, body = parts
    if not writer(net, dict(child, children=body)):
        return False
    group = net[f"{_GROUP_PREFIX.get(child['tag'], child['tag'])}_{child['attrs']['id']}"]
    tags = {c.get("block") or c.get("tag") for c in body}
    rows = _rows(body, tags.pop()) if body else None
    exact.mark(group, child, head, rows, scope)
    if rows is not None:
        rebuilt = _READERS[child["tag"]](group, {}, set())
        texts.extend((group.name.rsplit("/", 1)[-1], name, column) for name, column in exact.mismatches(rows, rebuilt))
    return True


# ---------------------------------------------------------------- read

_text = exact.attribute_text


def _columns_of(dataset: Any) -> dict[str, np.ndarray]:
    data = np.asarray(dataset[()], dtype=np.float64)
    data = data.reshape(len(data), -1) if data.size else np.zeros((0, len(dataset.attrs)))
    names = {int(k.split("_", 1)[1]): _text(v) for k, v in dataset.attrs.items()
             if k.startswith("column_") and k.split("_", 1)[1].isdigit()}
    return {names.get(k, f"column_{k}"): data[:, k] for k in range(data.shape[1])}


def _int_column(values: np.ndarray, prefix: str = "", suffix: str = "") -> dict:
    return {"int": np.rint(values).astype(np.int64), "prefix": prefix, "suffix": suffix}


def _float_column(values: np.ndarray, suffix: str = "") -> dict:
    values = np.asarray(values, dtype=np.float64)
    whole = np.all(values == np.rint(values)) and np.all(np.abs(values) < 2**53)
    # -0.0 is whole too, but written as an integer it would come back as +0.0
    if whole and suffix == "" and not np.any(np.signbit(values) & (values == 0)):
        return _int_column(values)
    return {"float": values, "prefix": "", "suffix": suffix}


def _block(tag: str, count: int, columns: dict[str, dict], children: list[dict] | None = None) -> dict:
    return {"block": tag, "count": count, "columns": columns, "children": children or []}


def _cell_reference(group: Any, position: int, population: str, components: dict[str, str],
                    lists: set[str]) -> tuple[str, str]:
    if "nmlhub_cell_references" in group.attrs:
        refs = json.loads(_text(group.attrs["nmlhub_cell_references"]))
        return refs[2 * position], refs[2 * position + 1]
    if population in lists:
        return f"../{population}/", f"/{components.get(population, '')}"
    return f"../{population}[", "]"


def _read_population(group: Any) -> dict:
    attrs = {"id": _text(group.attrs["id"]), "component": _text(group.attrs.get("component", ""))}
    datasets = [d for d in group.values() if hasattr(d, "shape")]
    node: dict[str, Any] = {"tag": "population", "attrs": attrs, "children": []}
    if datasets:
        columns = _columns_of(datasets[0])
        n = len(next(iter(columns.values()))) if columns else 0
        declared = _text(group.attrs.get("nmlhub_declared_size", str(n)))
        if declared:
            attrs["size"] = declared
        attrs["type"] = _text(group.attrs.get("type", "populationList"))
        location = {"tag": "location", "columns": {a: _float_column(columns[a]) for a in "xyz" if a in columns}}
        node["children"] = [_block("instance", n, {"id": _int_column(np.arange(n))}, [location])]
    else:
        attrs["size"] = str(int(np.asarray(group.attrs.get("size", 0)).reshape(-1)[0]))
        if "type" in group.attrs:
            attrs["type"] = _text(group.attrs["type"])
    return node


def _read_linked(group: Any, kind: str, components: dict[str, str], lists: set[str]) -> dict:
    tags, component_names = _LINKED[kind]
    attrs = {k: _text(group.attrs[k]) for k in ("id", "presynapticPopulation", "postsynapticPopulation")}
    datasets = [d for d in group.values() if hasattr(d, "shape")]
    columns = _columns_of(datasets[0]) if datasets else {}
    n = len(columns.get("pre_cell_id", []))
    tag = _text(group.attrs.get("nmlhub_connection", tags[2] if "weight" in columns else tags[1]))
    if tag == tags[0]:
        pre, post = ("", ""), ("", "")
    else:
        pre = _cell_reference(group, 0, attrs["presynapticPopulation"], components, lists)
        post = _cell_reference(group, 1, attrs["postsynapticPopulation"], components, lists)
    cols = {"id": _int_column(columns.get("id", np.arange(n))),
            "preCell": _int_column(columns.get("pre_cell_id", np.zeros(0)), *pre),
            "postCell": _int_column(columns.get("post_cell_id", np.zeros(0)), *post)}
    if bool(np.asarray(group.attrs.get("nmlhub_segments", True)).reshape(-1)[0]):
        cols["preSegment"] = _int_column(columns.get("pre_segment_id", np.zeros(n)))
        cols["preFractionAlong"] = _float_column(columns.get("pre_fraction_along", np.full(n, 0.5)))
        cols["postSegment"] = _int_column(columns.get("post_segment_id", np.zeros(n)))
        cols["postFractionAlong"] = _float_column(columns.get("post_fraction_along", np.full(n, 0.5)))
    for name in component_names:
        cols[name] = {"codes": np.zeros(n, dtype=np.int64), "values": [_text(group.attrs.get(name, ""))]}
    if "weight" in columns:
        cols["weight"] = _float_column(columns["weight"])
    return {"tag": kind, "attrs": attrs, "children": [_block(tag, n, cols)] if n else []}


def _read_projection(group: Any, components: dict[str, str], lists: set[str]) -> dict:
    attrs = {k: _text(group.attrs[k]) for k in ("id", "presynapticPopulation", "postsynapticPopulation", "synapse")
             if k in group.attrs}
    kind = _text(group.attrs.get("type", "projection"))
    if kind in _LINKED:
        return _read_linked(group, kind, components, lists)
    datasets = [d for d in group.values() if hasattr(d, "shape")]
    columns = _columns_of(datasets[0]) if datasets else {}
    n = len(columns.get("pre_cell_id", []))
    pre = _cell_reference(group, 0, attrs["presynapticPopulation"], components, lists)
    post = _cell_reference(group, 1, attrs["postsynapticPopulation"], components, lists)
    cols = {"id": _int_column(np.arange(n)), "preCellId": _int_column(columns.get("pre_cell_id", np.zeros(0)), *pre)}
    if "pre_segment_id" in columns:
        cols["preSegmentId"] = _int_column(columns["pre_segment_id"])
    if "pre_fraction_along" in columns:
        cols["preFractionAlong"] = _float_column(columns["pre_fraction_along"])
    cols["postCellId"] = _int_column(columns.get("post_cell_id", np.zeros(0)), *post)
    if "post_segment_id" in columns:
        cols["postSegmentId"] = _int_column(columns["post_segment_id"])
    if "post_fraction_along" in columns:
        cols["postFractionAlong"] = _float_column(columns["post_fraction_along"])
    tag = "connection"
    if "weight" in columns:
        tag = "connectionWD"
        cols["weight"] = _float_column(columns["weight"])
        cols["delay"] = {"float": np.asarray(columns["delay"], dtype=np.float64), "prefix": "", "suffix": "ms"}
    return {"tag": "projection", "attrs": attrs, "children": [_block(tag, n, cols)] if n else []}


def _read_input_list(group: Any, components: dict[str, str], lists: set[str]) -> dict:
    attrs = {k: _text(group.attrs[k]) for k in ("id", "component", "population") if k in group.attrs}
    datasets = [d for d in group.values() if hasattr(d, "shape")]
    columns = _columns_of(datasets[0]) if datasets else {}
    n = len(columns.get("target_cell_id", []))
    target = _cell_reference(group, 0, attrs["population"], components, lists)
    destination = _text(group.attrs.get("nmlhub_destination", "synapses"))
    cols = {"id": _int_column(columns.get("id", np.arange(n))),
            "target": _int_column(columns.get("target_cell_id", np.zeros(0)), *target),
            "destination": {"codes": np.zeros(n, dtype=np.int64), "values": [destination]}}
    if bool(np.asarray(group.attrs.get("nmlhub_explicit_location", True)).reshape(-1)[0]):
        cols["segmentId"] = _int_column(columns.get("segment_id", np.zeros(n)))
        cols["fractionAlong"] = _float_column(columns.get("fraction_along", np.full(n, 0.5)))
    tag = "input"
    if "weight" in columns:
        tag = "inputW"
        cols["weight"] = _float_column(columns["weight"])
    return {"tag": "inputList", "attrs": attrs, "children": [_block(tag, n, cols)] if n else []}


def read_neuroml_hdf5(path: Path) -> dict:
    """Read a NeuroML HDF5 file (nmlhub's or libNeuroML's) into a model tree."""
    import h5py

    path = Path(path)
    try:
        if not h5py.is_hdf5(path):
            raise ConversionError("not an HDF5 file (no HDF5 signature)", file=path)
        with h5py.File(path, "r") as f:
            if "neuroml" not in f:
                raise ConversionError("no /neuroml group: not a NeuroML HDF5 file", file=path)
            return _read(f["neuroml"], path)
    except ConversionError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise ConversionError(f"cannot read NeuroML HDF5 (truncated or damaged?): {exc}", file=path) from None


def _read(neuroml: Any, path: Path) -> dict:
    if "neuroml_top_level" in neuroml.attrs:
        tree = tree_from_xml_bytes(_text(neuroml.attrs["neuroml_top_level"]).encode(), path)
    else:
        tree = {"root": {"tag": "neuroml", "ns": "http://www.neuroml.org/schema/neuroml2",
                         "attrs": {"id": _text(neuroml.attrs.get("id", path.stem))}, "children": []}}
    root = tree["root"]
    nets = [g for name, g in neuroml.items() if name == "network" or name.startswith("network")]
    for net in nets:
        network = _read_network(net, path)
        count = sum(c.get("count", 1) if "block" in c else 1 for c in root["children"])
        position = int(np.asarray(neuroml.attrs.get("nmlhub_network_position", count)).reshape(-1)[0])
        root["children"] = insert_element(root["children"], min(max(position, 0), count), network)
    return tree


def _read_network(net: Any, path: Path) -> dict:
    if "nmlhub_extra_xml" in net.attrs:
        shell, extra = exact.slots_read(_text(net.attrs["nmlhub_extra_xml"]), path)
    else:
        attrs = {"id": _text(net.attrs.get("id", ""))}
        if "temperature" in net.attrs:
            attrs["temperature"] = _text(net.attrs["temperature"])
            attrs["type"] = "networkWithTemperature"
        shell, extra = {"tag": "network", "attrs": attrs, "children": []}, []
    groups = {name: group for name, group in net.items()}
    components, lists = {}, set()
    for name, group in groups.items():
        if name.startswith("population_"):
            pop_id = _text(group.attrs["id"])
            components[pop_id] = _text(group.attrs.get("component", ""))
            if any(hasattr(d, "shape") for d in group.values()):
                lists.add(pop_id)
    readers = _READERS
    texts = exact.read_texts(net.parent)
    if "nmlhub_order" in net.attrs:
        order = json.loads(_text(net.attrs["nmlhub_order"]))
    else:
        order = [[name.split("_", 1)[0], _text(g.attrs.get("id", name.split("_", 1)[-1]))]
                 for name, g in groups.items() if name.split("_", 1)[0] in readers]
        order.sort(key=lambda item: list(readers).index(item[0]))
    children = []
    for kind, key in order:
        if kind == "xml":
            children.append(extra[key])
        else:
            name = f"{_GROUP_PREFIX.get(kind, kind)}_{key}"
            node = readers[kind](groups[name], components, lists)
            children.append(exact.restore(groups[name], node, texts.get(name, {}), path))
    shell["children"] = children
    if "nmlhub_tail" in net.attrs:
        shell["tail"] = _text(net.attrs["nmlhub_tail"])
    return shell


_READERS = {"population": lambda g, components, lists: _read_population(g),
            "projection": _read_projection, "electricalProjection": _read_projection,
            "continuousProjection": _read_projection, "inputList": _read_input_list}
_GROUP_PREFIX = {"electricalProjection": "projection", "continuousProjection": "projection"}
