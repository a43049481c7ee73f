"""Read NeuroML HDF5 (nmlhub's, libNeuroML's) into the plain tree of :mod:`converters.model_tree`;
the layout is described in :mod:`converters.neuroml_hdf5`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .model_tree import insert_element, tree_from_xml_bytes
from .neuroml_hdf5_columns import GROUP_PREFIX, LINKED
from .neuroml_hdf5_exact import attribute_text, read_texts, restore, slots_read
from .plain import ConversionError

_text = attribute_text


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
    tags, component_names = LINKED[kind]
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
    if kind in LINKED:
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
        shell, extra = slots_read(_text(net.attrs["nmlhub_extra_xml"]), path)
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
    readers = READERS
    texts = read_texts(net.parent)
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
            name = f"{GROUP_PREFIX.get(kind, kind)}_{key}"
            node = readers[kind](groups[name], components, lists)
            children.append(restore(groups[name], node, texts.get(name, {}), path))
    shell["children"] = children
    if "nmlhub_tail" in net.attrs:
        shell["tail"] = _text(net.attrs["nmlhub_tail"])
    return shell


READERS = {"population": lambda g, components, lists: _read_population(g),
            "projection": _read_projection, "electricalProjection": _read_projection,
            "continuousProjection": _read_projection, "inputList": _read_input_list}
