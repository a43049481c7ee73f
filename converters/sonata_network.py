"""A NeuroML network's populations and projections as columns, read from and written to the plain
tree (:mod:`converters.model_tree`): what SONATA's nodes and edges hold.

A population is its cells' ids and positions; a projection its connections' pre and post cells
(indices in their populations), segments, fractions along, weights and delays (ms). Everything
else of the network (inputs, gap junctions, annotations, rules) stays in the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .model_tree import block_part, decode_column
from .neuroml_hdf5_columns import cell_column, child_columns, column_numbers
from .plain import ConversionError

CONNECTION_TAGS = ("connection", "connectionWD")
SEGMENT_ATTRS = ("preSegmentId", "preFractionAlong", "postSegmentId", "postFractionAlong")


@dataclass
class PopulationColumns:
    """One population: ``ids`` (int64), ``positions`` ((n, 3) um, or None if the file gives none),
    ``extra``: children other than instances (properties, annotations), as tree nodes."""

    id: str
    component: str
    ids: np.ndarray
    positions: np.ndarray | None
    extra: list[dict] = field(default_factory=list)


@dataclass
class ProjectionColumns:
    """One projection; ``pre``/``post`` are cell indices, ``segments`` maps the attribute names of
    :data:`SEGMENT_ATTRS` the file gives to their columns; ``weight``/``delay_ms`` are None for
    plain ``connection`` elements."""

    id: str
    pre_population: str
    post_population: str
    synapse: str
    tag: str
    pre: np.ndarray
    post: np.ndarray
    segments: dict[str, np.ndarray]
    weight: np.ndarray | None
    delay_ms: np.ndarray | None
    cell_reference: tuple[str, str, str, str] = ("", "", "", "")

    def __len__(self) -> int:
        return int(self.pre.shape[0])


def population_columns(node: dict) -> PopulationColumns:
    """The cells of a ``population`` node."""
    attrs = node.get("attrs", {})
    pid = attrs.get("id", "")
    instances = [c for c in node.get("children", []) if (c.get("block") or c.get("tag")) == "instance"]
    extra = _elements([c for c in node.get("children", []) if (c.get("block") or c.get("tag")) != "instance"])
    if not instances:
        size = int(attrs.get("size", "0"))
        return PopulationColumns(pid, attrs.get("component", ""), np.arange(size, dtype=np.int64), None, extra)
    rows = child_columns(instances, "instance")
    if rows is None or "id" not in rows or not {"location.x", "location.y", "location.z"} <= set(rows):
        raise ConversionError(f"population '{pid}': instances without an id and a location cannot go to SONATA")
    unknown = set(rows) - {"__count__", "id", "location.x", "location.y", "location.z"}
    if unknown:
        raise ConversionError(f"population '{pid}': instance attributes {sorted(unknown)} have no SONATA "
                              "counterpart")
    positions = np.column_stack([column_numbers(rows[f"location.{a}"]) for a in "xyz"])
    return PopulationColumns(pid, attrs.get("component", ""), column_numbers(rows["id"]).astype(np.int64),
                             positions.reshape(-1, 3), extra)


def _elements(children: list[dict]) -> list[dict]:
    """Children as plain elements (a block's rows one by one), so they travel as JSON."""
    out = []
    for child in children:
        if "block" in child:
            out += [block_part(child, k, k + 1) for k in range(child["count"])]
        else:
            out.append(child)
    return out


def projection_columns(node: dict, populations: dict[str, PopulationColumns]) -> ProjectionColumns:
    """The connections of a ``projection`` node, cells given as indices into ``populations``."""
    attrs = node.get("attrs", {})
    pid = attrs.get("id", "")
    children = node.get("children", [])
    if set(attrs) - {"id", "presynapticPopulation", "postsynapticPopulation", "synapse"}:
        raise ConversionError(f"projection '{pid}': attributes other than id, populations and synapse")
    tags = {c.get("block") or c.get("tag") for c in children}
    if not children:
        return ProjectionColumns(pid, attrs["presynapticPopulation"], attrs["postsynapticPopulation"],
                                 attrs.get("synapse", ""), "connectionWD", np.zeros(0, np.int64),
                                 np.zeros(0, np.int64), {}, np.zeros(0), np.zeros(0))
    if len(tags) != 1 or not tags <= set(CONNECTION_TAGS):
        raise ConversionError(f"projection '{pid}': children {sorted(t or '?' for t in tags)} are not one kind "
                              "of connection; SONATA edges hold connection or connectionWD elements")
    tag = tags.pop()
    rows = child_columns(children, tag)
    if rows is None:
        raise ConversionError(f"projection '{pid}': connections of different shapes")
    names = set(rows) - {"__count__", "id"}
    wd = {"weight", "delay"} if tag == "connectionWD" else set()
    unknown = names - {"preCellId", "postCellId"} - wd - set(SEGMENT_ATTRS)
    if unknown or not {"preCellId", "postCellId"} <= names:
        raise ConversionError(f"projection '{pid}': connection attributes {sorted(unknown)} have no SONATA "
                              "counterpart")
    pre, post = cell_column(rows["preCellId"]), cell_column(rows["postCellId"])
    if pre is None or post is None:
        raise ConversionError(f"projection '{pid}': cell references are not all ../population/i/cell or "
                              "../population[i] of its populations")
    pre_pop, post_pop = attrs["presynapticPopulation"], attrs["postsynapticPopulation"]
    return ProjectionColumns(
        pid, pre_pop, post_pop, attrs.get("synapse", ""), tag,
        _cell_rows(populations, pre_pop, pre[0], pid), _cell_rows(populations, post_pop, post[0], pid),
        {name: column_numbers(rows[name]) for name in SEGMENT_ATTRS if name in rows},
        column_numbers(rows["weight"]) if wd else None, column_numbers(rows["delay"], unit_to_ms=True) if wd else None,
        (pre[1], pre[2], post[1], post[2]))


def _cell_rows(populations: dict[str, PopulationColumns], pop: str, ids: np.ndarray, proj: str) -> np.ndarray:
    """Rows (SONATA node ids) of cells given by their NeuroML ids."""
    if pop not in populations:
        raise ConversionError(f"projection '{proj}': no population '{pop}' in the network")
    known = populations[pop].ids
    if np.array_equal(known, np.arange(known.size)):
        bad = (ids < 0) | (ids >= known.size)
        rows = ids
    else:
        order = np.argsort(known, kind="stable")
        at = np.clip(np.searchsorted(known[order], ids), 0, max(known.size - 1, 0))
        rows = order[at] if known.size else ids
        bad = known[rows] != ids if known.size else np.ones(ids.shape, bool)
    if np.any(bad):
        raise ConversionError(f"projection '{proj}': cell {int(ids[np.argmax(bad)])} is not in population '{pop}'")
    return rows.astype(np.int64)


# ---------------------------------------------------------------- back to tree nodes

def int_column(values: np.ndarray, prefix: str = "", suffix: str = "") -> dict:
    """A tree column of integers written ``prefix + str(i) + suffix``."""
    return {"int": np.asarray(values, dtype=np.int64), "prefix": prefix, "suffix": suffix}


def float_column(values: np.ndarray, suffix: str = "") -> dict:
    """A tree column of numbers followed by ``suffix`` (a unit)."""
    return {"float": np.asarray(values, dtype=np.float64), "prefix": "", "suffix": suffix}


def rows_node(tag: str, count: int, columns: dict[str, dict], children: list[dict] | None = None) -> list[dict]:
    """Tree children for ``count`` same-shaped elements: a block, one element, or none."""
    if count == 0:
        return []
    block = {"block": tag, "count": count, "columns": columns, "children": children or []}
    return [block_part(block, 0, 1)] if count == 1 else [block]


def population_node(pop: PopulationColumns) -> dict:
    """A ``population`` node: a populationList with instances when positions are known."""
    attrs = {"id": pop.id, "component": pop.component, "size": str(len(pop.ids))}
    if pop.positions is None:
        return {"tag": "population", "attrs": attrs, "children": list(pop.extra)}
    attrs["type"] = "populationList"
    location = {"tag": "location", "columns": {a: float_column(pop.positions[:, k]) for k, a in enumerate("xyz")}}
    instances = rows_node("instance", len(pop.ids), {"id": int_column(pop.ids)}, [location])
    return {"tag": "population", "attrs": attrs, "children": list(pop.extra) + instances}


def projection_node(proj: ProjectionColumns, populations: dict[str, PopulationColumns]) -> dict:
    """A ``projection`` node with its connections as one block (cells by their NeuroML ids)."""
    refs = proj.cell_reference
    if not any(refs):
        refs = _reference(populations[proj.pre_population]) + _reference(populations[proj.post_population])
    columns = {"id": int_column(np.arange(len(proj))),
               "preCellId": int_column(populations[proj.pre_population].ids[proj.pre], refs[0], refs[1])}
    for name in ("preSegmentId", "preFractionAlong"):
        if name in proj.segments:
            columns[name] = _number_column(name, proj.segments[name])
    columns["postCellId"] = int_column(populations[proj.post_population].ids[proj.post], refs[2], refs[3])
    for name in ("postSegmentId", "postFractionAlong"):
        if name in proj.segments:
            columns[name] = _number_column(name, proj.segments[name])
    if proj.tag == "connectionWD":
        columns["weight"] = float_column(proj.weight if proj.weight is not None else np.ones(len(proj)))
        columns["delay"] = float_column(proj.delay_ms if proj.delay_ms is not None else np.zeros(len(proj)), "ms")
    attrs = {"id": proj.id, "presynapticPopulation": proj.pre_population,
             "postsynapticPopulation": proj.post_population, "synapse": proj.synapse}
    return {"tag": "projection", "attrs": attrs, "children": rows_node(proj.tag, len(proj), columns)}


def _number_column(name: str, values: np.ndarray) -> dict:
    return int_column(np.rint(values)) if name.endswith("SegmentId") else float_column(values)


def _reference(pop: PopulationColumns) -> tuple[str, str]:
    if pop.positions is not None:
        return f"../{pop.id}/", f"/{pop.component}"
    return f"../{pop.id}[", "]"


def network_nodes(tree: dict) -> list[dict]:
    """The ``network`` elements of a document tree."""
    found = []
    for child in tree["root"].get("children", []):
        if child.get("tag") == "network":
            found.append(child)
        elif child.get("block") == "network":  # same-shaped networks, held as one block
            found += [block_part(child, k, k + 1) for k in range(child["count"])]
    return found


def split_network(network: dict) -> tuple[list[dict], list[dict], list[dict]]:
    """A network node's children: (populations, projections, everything else) in file order."""
    pops, projs, rest = [], [], []
    for child in network.get("children", []):
        if child.get("block") in ("population", "projection"):  # a run of same-shaped elements
            target = pops if child["block"] == "population" else projs
            target += [block_part(child, k, k + 1) for k in range(child["count"])]
            continue
        tag = child.get("tag")
        (pops if tag == "population" else projs if tag == "projection" else rest).append(child)
    return pops, projs, rest


def with_includes(node: dict, rewrite: Any) -> dict:
    """``node`` with ``rewrite(href)`` applied if it is an include (an element or a block of them)."""
    from .model_tree import encode_column

    if node.get("tag") == "include" and "href" in node.get("attrs", {}):
        return {**node, "attrs": {**node["attrs"], "href": rewrite(node["attrs"]["href"])}}
    if node.get("block") == "include" and "href" in node.get("columns", {}):
        hrefs = [rewrite(h) for h in decode_column(node["columns"]["href"])]
        return {**node, "columns": {**node["columns"], "href": encode_column(hrefs)}}
    return node
