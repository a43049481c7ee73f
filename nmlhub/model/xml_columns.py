"""Large connection and input lists of an XML network read straight into numpy tables.

libNeuroML builds one Python object per ``<connection>`` (about a kilobyte each, and slow to
make). For a projection or input list with many rows, nmlhub reads the rows' attributes into a
table instead, removes the rows from the parsed tree, and gives the built projection libNeuroML's
columnar list (the form NeuroML HDF5 gives), which every part of nmlhub reads through
:mod:`nmlhub.model.columns`. Tables whose rows are mixed, name another population, or hold a value
that is not a plain number are left to libNeuroML, which reports such problems as it always has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from ..xmlsafe import local_name
from .columns import parse_cell_reference

#: Fewer rows than this are left as libNeuroML objects (nothing to gain).
MIN_ROWS = 512

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z_]\w*)?\s*$")


@dataclass
class RowTable:
    """The rows of one projection or input list: which libNeuroML list they become, the values,
    and the column index of each name (libNeuroML's names, as in NeuroML HDF5)."""

    kind: str  # "projection" or "inputList"
    element_id: str
    array: np.ndarray
    indices: dict[str, int]


def take_tables(network: etree._Element, units: Any) -> list[RowTable]:
    """Tables of the network's large projections and input lists; their rows are removed from
    ``network`` (so libNeuroML does not build them)."""
    tables = []
    for child in network:
        kind = local_name(child) if isinstance(child.tag, str) else ""
        if kind not in ("projection", "inputList"):
            continue
        rows = [r for r in child if isinstance(r.tag, str)
                and local_name(r) in (("connection", "connectionWD") if kind == "projection" else ("input", "inputW"))]
        if len(rows) < MIN_ROWS or len({r.tag for r in rows}) != 1:
            continue
        table = (_connection_table(child, rows, units) if kind == "projection" else _input_table(child, rows))
        if table is None:
            continue
        for row in rows:
            child.remove(row)
        tables.append(table)
    return tables


def attach_tables(network: Any, tables: list[RowTable]) -> None:
    """Give the built libNeuroML network's projections and input lists their tables."""
    from neuroml.hdf5.NetworkContainer import ConnectionList, InputsList

    projections = {p.id: p for p in network.projections}
    input_lists = {i.id: i for i in network.input_lists}
    for table in tables:
        if table.kind == "projection":
            projections[table.element_id].connections = ConnectionList(array=table.array, indices=table.indices)
        else:
            input_lists[table.element_id].input = InputsList(array=table.array, indices=table.indices)


def _cells(texts: list[str | None], population: str | None) -> np.ndarray | None:
    cells = np.empty(len(texts), dtype=np.float64)
    for k, text in enumerate(texts):
        if text is None:
            return None
        named, index = parse_cell_reference(text)
        if index < 0 or (named is not None and named != population):
            return None
        cells[k] = index
    return cells


def _numbers(texts: list[str | None], default: float) -> np.ndarray | None:
    try:
        return np.asarray([default if t is None else float(t) for t in texts], dtype=np.float64)
    except ValueError:
        return None


def _times_ms(texts: list[str | None], units: Any) -> np.ndarray | None:
    """Quantities of time in ms, one unit conversion per distinct unit."""
    values = np.empty(len(texts))
    factors: dict[str, float] = {}
    for k, text in enumerate(texts):
        match = _QUANTITY.match(text or "")
        if match is None or not match.group(2):
            return None
        unit = match.group(2)
        if unit not in factors:
            try:
                factors[unit] = float(units.to_neuron(f"1{unit}", "time"))
            except Exception:  # an unknown unit: libNeuroML's path reports it
                return None
        values[k] = float(match.group(1)) * factors[unit]
    return values


def _connection_table(projection: etree._Element, rows: list[etree._Element], units: Any) -> RowTable | None:
    get = [r.get for r in rows]
    columns: list[tuple[str, np.ndarray | None]] = [
        ("id", _numbers([g("id") for g in get], 0.0)),
        ("pre_cell_id", _cells([g("preCellId") for g in get], projection.get("presynapticPopulation"))),
        ("post_cell_id", _cells([g("postCellId") for g in get], projection.get("postsynapticPopulation"))),
        ("pre_segment_id", _numbers([g("preSegmentId") for g in get], 0.0)),
        ("post_segment_id", _numbers([g("postSegmentId") for g in get], 0.0)),
        ("pre_fraction_along", _numbers([g("preFractionAlong") for g in get], 0.5)),
        ("post_fraction_along", _numbers([g("postFractionAlong") for g in get], 0.5)),
    ]
    if local_name(rows[0]) == "connectionWD":
        columns += [("weight", _numbers([g("weight") for g in get], np.nan)),
                    ("delay", _times_ms([g("delay") for g in get], units))]
    return _table("projection", projection, columns)


def _input_table(input_list: etree._Element, rows: list[etree._Element]) -> RowTable | None:
    get = [r.get for r in rows]
    columns: list[tuple[str, np.ndarray | None]] = [
        ("id", _numbers([g("id") for g in get], 0.0)),
        ("target_cell_id", _cells([g("target") for g in get], input_list.get("population"))),
        ("segment_id", _numbers([g("segmentId") for g in get], 0.0)),
        ("fraction_along", _numbers([g("fractionAlong") for g in get], 0.5)),
    ]
    if local_name(rows[0]) == "inputW":
        columns.append(("weight", _numbers([g("weight") for g in get], np.nan)))
    if any(g("destination") not in (None, "synapses") for g in get):
        return None  # another destination: kept as written
    return _table("inputList", input_list, columns)


def _table(kind: str, element: etree._Element, columns: list[tuple[str, np.ndarray | None]]) -> RowTable | None:
    if any(values is None or np.isnan(values).any() for _, values in columns):
        return None
    array = np.column_stack([values for _, values in columns])
    return RowTable(kind, element.get("id", ""), array, {name: k for k, (name, _) in enumerate(columns)})


#: XML files at least this large are read while lxml streams them, each large list's rows turned
#: into a table a block at a time and dropped from the tree.
STREAM_BYTES = 16 * 1024 * 1024

_ROW_TAGS = {"projection": ("connection", "connectionWD"), "inputList": ("input", "inputW")}


class _Rows:
    """The rows of one projection or input list met so far while streaming."""

    def __init__(self, parent: etree._Element, tag: str) -> None:
        self.parent, self.tag = parent, tag
        self.pending: list[etree._Element] = []
        self.tables: list[RowTable] = []


def parse_streaming(path: Path, max_bytes: int, units: Any,
                    data: bytes | None = None) -> tuple[etree._ElementTree, dict] | None:
    """Parse a network file while lxml streams it: each projection or input list, once it has
    :data:`MIN_ROWS` rows, becomes a table block by block and its rows leave the tree, so the
    rows never all exist as lxml elements. Returns the tree (without those rows) and the tables
    by network element, or None when a list turned out not to be tabular after some of its rows
    had left the tree (then the file is parsed the ordinary way). ``data``: the file's text when
    it is already in memory (a model converted from another format; ``path`` names it)."""
    from ..xmlsafe import checked_tree, iterparse_xml_bytes, read_xml_file, xml_errors

    data = read_xml_file(path, max_bytes) if data is None else data
    events = iterparse_xml_bytes(data, source=path)
    lists: dict[etree._Element, _Rows] = {}
    with xml_errors(path):
        for _, element in events:
            tag = local_name(element) if isinstance(element.tag, str) else ""
            parent = element.getparent()
            if parent is None or tag not in ("connection", "connectionWD", "input", "inputW"):
                continue
            kind = local_name(parent)
            if tag not in _ROW_TAGS.get(kind, ()) or local_name(parent.getparent()) != "network":
                continue
            rows = lists.get(parent)
            if rows is None:
                rows = lists[parent] = _Rows(parent, element.tag)
            if rows.tag != element.tag:
                if rows.tables:
                    return None
                rows.tag = None  # mixed rows: left to libNeuroML
            if rows.tag is None:
                continue
            rows.pending.append(element)
            if len(rows.pending) >= MIN_ROWS and not _take_block(rows, kind, units):
                if rows.tables:
                    return None
                rows.tag = None
        tree = checked_tree(events.root, path)
    tables: dict[etree._Element, list[RowTable]] = {}
    for parent, rows in lists.items():
        kind = local_name(parent)
        if rows.tag is None or not rows.tables:
            continue  # small or not tabular: the ordinary path takes it
        if rows.pending and not _take_block(rows, kind, units):
            return None
        joined = RowTable(kind, parent.get("id", ""), np.concatenate([t.array for t in rows.tables]),
                          rows.tables[0].indices)
        tables.setdefault(parent.getparent(), []).append(joined)
    return tree, tables


def _take_block(rows: _Rows, kind: str, units: Any) -> bool:
    table = (_connection_table(rows.parent, rows.pending, units) if kind == "projection"
             else _input_table(rows.parent, rows.pending))
    if table is None:
        return False
    for element in rows.pending:
        rows.parent.remove(element)
    rows.pending = []
    rows.tables.append(table)
    return True
