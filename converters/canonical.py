"""A canonical form of a NeuroML document, to tell whether two files say the same thing.

Two documents are equal when they have the same elements in the same order, each with the same
attributes whose values are equal after normalisation: numbers compare as numbers (``0.50`` =
``0.5``), quantities in SI (``1.5ms`` = ``0.0015s``), cell references by population and index
(``../pop/3/cell`` = ``../pop[3]``). Blocks (:mod:`converters.model_tree`) are expanded, so how
elements were grouped does not matter. Blank text is ignored.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator

import numpy as np

from nmlhub.errors import NmlhubError
from nmlhub.units import UnitRegistry

from .model_tree import decode_column

_NUMBER = re.compile(r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z_][A-Za-z0-9_]*)?\s*$")
_CELL_PATH = re.compile(r"^\.\./([^/\[\]]+)/(\d+)/[^/]+$")
_CELL_INDEX = re.compile(r"^\.\./([^/\[\]]+)\[(\d+)\]$")


def normalise(value: str, units: UnitRegistry | None = None) -> Any:
    """The comparable form of one attribute value."""
    for pattern in (_CELL_PATH, _CELL_INDEX):
        m = pattern.match(value)
        if m:
            return ("cell", m.group(1), int(m.group(2)))
    m = _NUMBER.match(value)
    if m:
        number, unit = float(m.group(1)), m.group(2)
        if unit is None:
            return ("number", number)
        units = units or UnitRegistry.core()
        try:
            quantity = units.parse(value)
        except NmlhubError:
            return ("text", value)
        return ("quantity", quantity.si, quantity.dimension.exponents)
    return ("text", value)


def normalise_column(column: dict, units: UnitRegistry | None = None) -> list:
    """The comparable forms of a column's values, worked out once for the column where its form
    allows (a cell reference or a unit around numbers), else value by value."""
    if "int" in column or "float" in column:
        values = np.asarray(column.get("int", column.get("float"))).tolist()
        prefix, suffix = column["prefix"], column["suffix"]
        if "int" in column:
            sample = normalise(f"{prefix}{values[0]}{suffix}", units) if values else None
            if sample is not None and sample[0] == "cell" and prefix in (f"../{sample[1]}/", f"../{sample[1]}["):
                return [("cell", sample[1], int(v)) for v in values]
        if prefix == "" and suffix == "":
            return [("number", float(v)) for v in values]
        if prefix == "" and values:
            sample = normalise(f"1{suffix}", units)
            if sample[0] == "quantity":
                return [("quantity", float(v) * sample[1], sample[2]) for v in values]
    return [normalise(v, units) for v in decode_column(column)]


def elements(tree: dict) -> Iterator[tuple]:
    """Every element of a tree in document order, as (depth, namespace, tag, attributes, text)."""
    units = UnitRegistry.core()
    stack: list[tuple[dict, int, str | None]] = [(tree["root"], 0, None)]
    while stack:
        node, depth, ns = stack.pop()
        if "block" in node:
            own_ns = (node.get("ns") or None) if "ns" in node else ns
            columns = {k: normalise_column(c, units) for k, c in node["columns"].items()}
            children = [((c.get("ns") or None) if "ns" in c else own_ns, c["tag"],
                         {k: normalise_column(col, units) for k, col in c["columns"].items()})
                        for c in node["children"]]
            for k in range(node["count"]):
                yield depth, own_ns, node["block"], {a: v[k] for a, v in columns.items()}, None
                for child_ns, tag, cols in children:
                    yield depth + 1, child_ns, tag, {a: v[k] for a, v in cols.items()}, None
            continue
        own_ns = (node.get("ns") or None) if "ns" in node else ns
        text = (node.get("text") or "").strip() or None
        yield depth, own_ns, node["tag"], {a: normalise(v, units) for a, v in node.get("attrs", {}).items()}, text
        stack.extend((child, depth + 1, own_ns) for child in reversed(node.get("children", [])))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and a[0] == b[0]:
        return all(_same(x, y) for x, y in zip(a[1:], b[1:]))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0) or (math.isnan(a) and math.isnan(b))
    return a == b


def differences(a: dict, b: dict, limit: int = 5) -> list[str]:
    """How two trees differ in canonical form (empty when they are equal)."""
    found: list[str] = []
    left, right = list(elements(a)), list(elements(b))
    if len(left) != len(right):
        found.append(f"{len(left)} elements against {len(right)}")
    for k, (x, y) in enumerate(zip(left, right)):
        if x[:3] != y[:3] or x[4] != y[4] or x[3].keys() != y[3].keys() or \
                not all(_same(x[3][n], y[3][n]) for n in x[3]):
            found.append(f"element {k}: <{x[2]} {x[3]}> against <{y[2]} {y[3]}>")
            if len(found) >= limit:
                break
    return found
