"""The NeuroML element tree as plain data: the one mapping behind the JSON, pickle and MATLAB files.

A document is ``{"root": ELEMENT}``. An element is a dict::

    {"tag": "population",                 # local name
     "ns": "http://...",                   # only where it differs from the parent's namespace
     "nsmap": {"prefix": "uri"},           # only where the element declares namespaces
     "attrs": {"id": "pop0", "size": "5"}, # every attribute, as written (namespaced ones as {uri}name)
     "text": "...",                        # only where there is non-blank text (stripped)
     "tail": "...",                        # only where non-blank text follows the element (stripped)
     "children": [ELEMENT or BLOCK, ...]}

so every element, attribute, annotation (including nmlhub's rules) and note survives. XML
comments, processing instructions and the blank space around text (indentation) are not kept.

A run of two or more consecutive siblings of the same shape (same tag, same attribute names,
the same leaf children, no text: instances, connections, inputs...) is one BLOCK, its values held
as columns, not one dict per element::

    {"block": "connectionWD", "count": n,
     "columns": {"id": COLUMN, "preCellId": COLUMN, ...},
     "children": [{"tag": "location", "columns": {"x": COLUMN, ...}}]}   # the leaf children, if any

A COLUMN is the cheapest exact form of its strings:

- ``{"int": int64 array, "prefix": p, "suffix": s}``: each value is ``p + str(i) + s``
  (``../pop0/12/cell``: prefix ``../pop0/``, suffix ``/cell``);
- ``{"float": float64 array, "prefix": p, "suffix": s}``: a number with a common unit or
  reference around it (``2.5ms``), only where every number is written as Python's shortest repr
  writes it (``0.5``, ``2.0``), so that it comes back as the same text; with ``"style": "int"``,
  whole numbers are written as integers (``2``, ``2.5``);
- ``{"codes": int64 array, "values": [str, ...]}``: anything else, each distinct string once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from nmlhub.atomic import publish, temporary_file

from .tree_columns import FLOAT_STYLES, decode_column, encode_column, format_float, format_whole_as_int
from .tree_from_xml import MIN_BLOCK, SLOT, tree_from_xml_bytes, tree_from_xml_file

__all__ = ["FLOAT_STYLES", "MIN_BLOCK", "SLOT", "block_part", "decode_column", "encode_column", "format_float",
           "format_whole_as_int", "insert_element", "tree_from_xml_bytes", "tree_from_xml_file", "write_xml",
           "xml_from_tree"]


# ---------------------------------------------------------------- tree -> XML

def _quote(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;").replace(">", "&gt;"))


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


class _Names:
    """Prefixes in scope, to write namespaced tags and attributes."""

    def __init__(self, scope: dict[str, str]) -> None:
        self.scope = scope  # prefix ('' for the default) -> uri

    def child(self, declared: dict[str, str]) -> "_Names":
        return _Names({**self.scope, **declared})

    def tag(self, local: str, ns: str | None) -> str:
        if not ns:
            return local
        if self.scope.get("") == ns:
            return local
        for prefix, uri in self.scope.items():
            if uri == ns and prefix:
                return f"{prefix}:{local}"
        raise ValueError(f"namespace {ns} of <{local}> has no prefix in scope")

    def attr(self, name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, local = name[1:].split("}", 1)
        if uri == "http://www.w3.org/XML/1998/namespace":
            return f"xml:{local}"
        for prefix, known in self.scope.items():
            if known == uri and prefix:
                return f"{prefix}:{local}"
        raise ValueError(f"namespace {uri} of attribute {local} has no prefix in scope")


def _write_element(node: dict, ns: str | None, names: _Names, indent: str, out: list[str]) -> None:
    own_ns = node["ns"] or None if "ns" in node else ns
    declared = node.get("nsmap", {})
    names = names.child(declared)
    tag = names.tag(node["tag"], own_ns)
    parts = [f"{indent}<{tag}"]
    for prefix, uri in declared.items():
        parts.append(f' xmlns="{_quote(uri)}"' if prefix == "" else f' xmlns:{prefix}="{_quote(uri)}"')
    for key, value in node.get("attrs", {}).items():
        parts.append(f' {names.attr(key)}="{_quote(value)}"')
    children = node.get("children", [])
    text = node.get("text")
    if not children and text is None:
        out.append("".join(parts) + "/>" + _text(node.get("tail", "")))
        return
    out.append("".join(parts) + ">" + (_text(text) if text is not None else ""))
    for child in children:
        if "block" in child:
            _write_block(child, own_ns, names, indent + "    ", out)
        else:
            _write_element(child, own_ns, names, indent + "    ", out)
    closing = f"</{tag}>" + _text(node.get("tail", ""))
    out.append((indent + closing) if children else out.pop() + closing)


def _quoted_values(column: dict, start: int, stop: int) -> list[str]:
    """Rows ``start:stop`` of a column as quoted attribute text (each distinct piece quoted once)."""
    if "int" in column or "float" in column:
        p, s = _quote(column["prefix"]), _quote(column["suffix"])
        if "int" in column:
            return [f"{p}{i}{s}" for i in np.asarray(column["int"])[start:stop].tolist()]
        spell = FLOAT_STYLES[column.get("style", "repr")]
        return [f"{p}{spell(x)}{s}" for x in np.asarray(column["float"])[start:stop].tolist()]
    quoted = [_quote(v) for v in column["values"]]
    return [quoted[c] for c in np.asarray(column["codes"])[start:stop].tolist()]


def _column_length(column: dict) -> int:
    return len(column.get("int", column.get("float", column.get("codes"))))


def _write_block(block: dict, ns: str | None, names: _Names, indent: str, out: Any, rows: int = 65536) -> None:
    own_ns = block["ns"] or None if "ns" in block else ns
    tag = names.tag(block["block"], own_ns)
    count = block["count"]
    parts = [(f" {names.attr(k)}=\"", c) for k, c in block["columns"].items()]
    children = []
    for child in block["children"]:
        child_ns = child["ns"] or None if "ns" in child else own_ns
        children.append((names.tag(child["tag"], child_ns),
                         [(f" {names.attr(k)}=\"", c) for k, c in child["columns"].items()]))
    for label, column in parts + [p for _, ps in children for p in ps]:
        if _column_length(column) != count:
            name = label.strip().rstrip('="')
            raise ValueError(f"block <{block['block']}>: column {name} has {_column_length(column)} values, "
                             f"not {count}")
    inner = indent + "    "
    for start in range(0, count, rows):
        stop = min(start + rows, count)
        heads = [f"{indent}<{tag}"] * (stop - start)
        for label, column in parts:
            heads = [f'{h}{label}{v}"' for h, v in zip(heads, _quoted_values(column, start, stop))]
        if not children:
            out.extend([h + "/>" for h in heads])
            continue
        child_lines = []
        for child_tag, child_parts in children:
            lines = [f"{inner}<{child_tag}"] * (stop - start)
            for label, column in child_parts:
                lines = [f'{line}{label}{v}"' for line, v in zip(lines, _quoted_values(column, start, stop))]
            child_lines.append([line + "/>" for line in lines])
        for k in range(stop - start):
            out.append(heads[k] + ">")
            out.extend([lines[k] for lines in child_lines])
            out.append(f"{indent}</{tag}>")


def xml_from_tree(tree: dict, declaration: bool = True) -> bytes:
    """The XML text of a plain tree (UTF-8, indented, with an XML declaration unless told not)."""
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>'] if declaration else []
    _write_element(tree["root"], None, _Names({}), "", out)
    return ("\n".join(out) + "\n").encode("utf-8")


class _Lines:
    """Lines written to a binary stream in batches (the last one kept back: the writer may take it
    back to close an element on the same line)."""

    def __init__(self, stream: Any, batch: int = 20000) -> None:
        self.stream = stream
        self.batch = batch
        self.lines: list[str] = []

    def append(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) > self.batch:
            self._write(self.lines[:-1])
            del self.lines[:-1]

    def extend(self, lines: list[str]) -> None:
        for line in lines:
            self.append(line)

    def pop(self) -> str:
        return self.lines.pop()

    def _write(self, lines: list[str]) -> None:
        if lines:
            self.stream.write(("\n".join(lines) + "\n").encode("utf-8"))

    def close(self) -> None:
        self._write(self.lines)
        self.lines = []


def write_xml(tree: dict, path: str | Path) -> None:
    """Write a plain tree as an XML file, a batch of lines at a time, atomically (a temporary file
    in the same folder, then a rename): a million connections never sit in memory as text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = temporary_file(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            lines = _Lines(stream)
            lines.append('<?xml version="1.0" encoding="UTF-8"?>')
            _write_element(tree["root"], None, _Names({}), "", lines)
            lines.close()
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _slice_column(column: dict, start: int, stop: int) -> dict:
    if "int" in column or "float" in column:
        kind = "int" if "int" in column else "float"
        return {**column, kind: np.asarray(column[kind])[start:stop]}
    return {"codes": np.asarray(column["codes"])[start:stop], "values": column["values"]}


def block_part(block: dict, start: int, stop: int) -> dict:
    """Rows ``start:stop`` of a block: a block again, or an element if it is one row."""
    part = {k: v for k, v in block.items() if k not in ("count", "columns", "children")}
    part["count"] = stop - start
    part["columns"] = {k: _slice_column(c, start, stop) for k, c in block["columns"].items()}
    part["children"] = [{**c, "columns": {k: _slice_column(col, start, stop) for k, col in c["columns"].items()}}
                        for c in block["children"]]
    if stop - start > 1:
        return part
    node: dict[str, Any] = {"tag": part["block"]}
    if "ns" in part:
        node["ns"] = part["ns"]
    node["attrs"] = {k: decode_column(c)[0] for k, c in part["columns"].items()}
    node["children"] = []
    for child in part["children"]:
        leaf: dict[str, Any] = {"tag": child["tag"]}
        if "ns" in child:
            leaf["ns"] = child["ns"]
        leaf["attrs"] = {k: decode_column(c)[0] for k, c in child["columns"].items()}
        leaf["children"] = []
        node["children"].append(leaf)
    return node


def insert_element(children: list[dict], position: int, node: dict) -> list[dict]:
    """``children`` with ``node`` inserted before the element at ``position``, counting each row
    of a block as one element (a block it falls inside is split)."""
    out: list[dict] = []
    seen = 0
    placed = False
    for child in children:
        size = child["count"] if "block" in child else 1
        if not placed and seen + size > position:
            cut = position - seen
            if "block" in child and 0 < cut:
                out.append(block_part(child, 0, cut))
                out.append(node)
                out.append(block_part(child, cut, size))
                placed = True
                seen += size
                continue
            out.append(node)
            placed = True
        out.append(child)
        seen += size
    if not placed:
        out.append(node)
    return out
