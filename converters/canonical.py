"""A canonical form of a NeuroML document, to tell whether two files say the same thing.

Two documents are equal when they have the same elements in the same order, each with the same
attributes whose values are equal as text: ``Dendrite1`` is not ``Dendrite1.0`` and ``0.50`` is
not ``0.5`` (a lossless conversion writes every value back as it was read). The only freedom is
white space around and inside a number (``" 5 "`` = ``"5"``, ``"1.5 ms"`` = ``"1.5ms"``), which
XML tools treat differently. Blocks (:mod:`converters.model_tree`) are expanded, so how elements
were grouped does not matter. Blank text is ignored.
"""

from __future__ import annotations

import re
from typing import Iterator

from .model_tree import decode_column

_NUMBER = re.compile(r"^\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*(?:[A-Za-z_][A-Za-z0-9_]*)?\s*$")
_SPACE = re.compile(r"\s+")


def normalise(value: str) -> str:
    """The comparable form of one attribute value: the text, without white space if it is a
    number (with or without a unit)."""
    if _NUMBER.match(value):
        return _SPACE.sub("", value)
    return value


def normalise_column(column: dict) -> list[str]:
    """The comparable forms of a column's values."""
    if "int" in column or "float" in column:
        texts = decode_column(column)
        if _SPACE.search(column["prefix"] + column["suffix"]):  # '2.5 ms'
            return [normalise(v) for v in texts]
        return texts
    forms = [normalise(v) for v in column["values"]]
    return [forms[c] for c in column["codes"].tolist()]


def elements(tree: dict) -> Iterator[tuple]:
    """Every element of a tree in document order, as (depth, namespace, tag, attributes, text)."""
    stack: list[tuple[dict, int, str | None]] = [(tree["root"], 0, None)]
    while stack:
        node, depth, ns = stack.pop()
        if "block" in node:
            own_ns = (node.get("ns") or None) if "ns" in node else ns
            columns = {k: normalise_column(c) for k, c in node["columns"].items()}
            children = [((c.get("ns") or None) if "ns" in c else own_ns, c["tag"],
                         {k: normalise_column(col) for k, col in c["columns"].items()})
                        for c in node["children"]]
            for k in range(node["count"]):
                yield depth, own_ns, node["block"], {a: v[k] for a, v in columns.items()}, None
                for child_ns, tag, cols in children:
                    yield depth + 1, child_ns, tag, {a: v[k] for a, v in cols.items()}, None
            continue
        own_ns = (node.get("ns") or None) if "ns" in node else ns
        text = (node.get("text") or "").strip() or None
        yield depth, own_ns, node["tag"], {a: normalise(v) for a, v in node.get("attrs", {}).items()}, text
        stack.extend((child, depth + 1, own_ns) for child in reversed(node.get("children", [])))


def differences(a: dict, b: dict, limit: int = 5) -> list[str]:
    """How two trees differ in canonical form (empty when they are equal)."""
    found: list[str] = []
    left, right = list(elements(a)), list(elements(b))
    if len(left) != len(right):
        found.append(f"{len(left)} elements against {len(right)}")
    for k, (x, y) in enumerate(zip(left, right)):
        if x != y:
            found.append(f"element {k}: <{x[2]} {x[3]}> against <{y[2]} {y[3]}>")
            if len(found) >= limit:
                break
    return found
