"""The columns of NeuroML HDF5's groups, shared by its writer, its reader and SONATA: which
children of a plain tree form a table, their numbers and cell references, and the names libNeuroML
gives the columns and the projection kinds (see :mod:`converters.neuroml_hdf5` for the layout)."""

from __future__ import annotations

import re

import numpy as np

from nmlhub.model.paths import CellPath, parse_path
from nmlhub.units import UnitRegistry

from .model_tree import decode_column, encode_column

_CELL_PREFIX = re.compile(r"^\.\./[^/\[\]]+[/\[]$")  # ../pop/ or ../pop[
_CELL_SUFFIX = re.compile(r"^(/[^/\[\]]+|\])$")  # /cell or ]
SEGMENT_COLUMNS = ("preSegmentId", "postSegmentId", "preFractionAlong", "postFractionAlong")
H5_SEGMENT_COLUMNS = ("pre_segment_id", "post_segment_id", "pre_fraction_along", "post_fraction_along")
LINKED = {  # projection tag -> (connection tags, attributes naming the synapse components)
    "electricalProjection": (("electricalConnection", "electricalConnectionInstance",
                              "electricalConnectionInstanceW"), ("synapse",)),
    "continuousProjection": (("continuousConnection", "continuousConnectionInstance",
                              "continuousConnectionInstanceW"), ("preComponent", "postComponent")),
}
GROUP_PREFIX = {"electricalProjection": "projection", "continuousProjection": "projection"}


def child_columns(children: list[dict], tag: str) -> dict[str, dict] | None:
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
    merged = {k: concat_columns(cols) for k, cols in {**columns, **child_columns}.items()}
    merged["__count__"] = counts  # type: ignore[assignment]
    return merged


def concat_columns(columns: list[dict]) -> dict:
    if len(columns) == 1:
        return columns[0]
    return encode_column([v for c in columns for v in decode_column(c)])


def column_numbers(column: dict, unit_to_ms: bool = False) -> np.ndarray:
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


def cell_column(column: dict) -> tuple[np.ndarray, str, str] | None:
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


def is_id_range(ids: dict) -> bool:
    values = column_numbers(ids)
    return bool(np.array_equal(values, np.arange(len(values))))
