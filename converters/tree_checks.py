"""Checks of a plain model tree read from a file of plain data (JSON, pickle, MATLAB: data from
anywhere): its structure is what :mod:`converters.model_tree` makes, and it includes no file
outside its folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .model_tree import FLOAT_STYLES, decode_column
from .plain import ConversionError

# ---------------------------------------------------------------- includes

_INCLUDES = {"include": "href", "Include": "file"}


def included_files(tree: dict) -> list[str]:
    """The files a tree's ``<include href>`` and ``<Include file>`` elements name."""
    found: list[str] = []
    stack = [tree["root"]]
    while stack:
        node = stack.pop()
        if "block" in node:
            attr = _INCLUDES.get(node["block"])
            if attr in node.get("columns", {}):
                found += decode_column(node["columns"][attr])
            continue
        attr = _INCLUDES.get(node.get("tag"))
        if attr and attr in node.get("attrs", {}):
            found.append(node["attrs"][attr])
        stack.extend(node.get("children", []))
    return found


def check_includes_inside(tree: dict, path: Path) -> None:
    """Refuse a model read from ``path`` (JSON, pickle or MATLAB: plain data from anywhere) that
    includes a file outside the folder it lies in: an absolute path or one leading up out of it."""
    folder = Path(path).resolve().parent
    for target in included_files(tree):
        if "://" in target:
            continue  # refused as remote by the loader, with its own message
        resolved = (folder / target).resolve()
        if Path(target).is_absolute() or not resolved.is_relative_to(folder):
            raise ConversionError(f"includes '{target}', outside the folder of the file ({folder}); a JSON, "
                                  "pickle or MATLAB model includes only files beside or below it", file=path)


# ---------------------------------------------------------------- structure check

# XML names (without a colon: prefixes come from namespaces) and the characters XML 1.0 allows
_NAME = re.compile(r"^[A-Za-z_\u00C0-\uFFFD][A-Za-z0-9_.\-\u00B7\u00C0-\uFFFD]*$")
_QUALIFIED_ATTR = re.compile(r"^\{([^{}]*)\}(.+)$")
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _name(name: Any, what: str, where: str, path: Path) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConversionError(f"{where}: {what} {name!r} is not an XML name", file=path)


def _text(value: Any, what: str, where: str, path: Path) -> None:
    if not isinstance(value, str):
        raise ConversionError(f"{where}: {what} must be a string, not {type(value).__name__}", file=path)
    bad = _NOT_XML_CHAR.search(value)
    if bad:
        raise ConversionError(f"{where}: {what} holds character U+{ord(bad.group()):04X}, which XML cannot hold",
                              file=path)


def _attribute_name(name: Any, where: str, path: Path) -> None:
    m = _QUALIFIED_ATTR.match(name) if isinstance(name, str) else None
    if m:
        _text(m.group(1), "an attribute's namespace", where, path)
        _name(m.group(2), "attribute name", where, path)
    else:
        _name(name, "attribute name", where, path)


def _namespaces(node: dict, where: str, path: Path) -> None:
    if "ns" in node:
        _text(node["ns"], "'ns'", where, path)
    nsmap = node.get("nsmap", {})
    if not isinstance(nsmap, dict):
        raise ConversionError(f"{where}: 'nsmap' must map prefixes to namespaces", file=path)
    for prefix, uri in nsmap.items():
        if prefix != "":
            _name(prefix, "namespace prefix", where, path)
        _text(uri, f"namespace of prefix {prefix!r}", where, path)


def check_tree(tree: Any, path: Path) -> None:
    """Refuse, with the place named, a tree that is not what :mod:`converters.model_tree` makes:
    every tag, attribute and namespace prefix an XML name, every value a string XML can hold,
    every column of the types it names (a file names no dtype of its own)."""
    if not isinstance(tree, dict) or not isinstance(tree.get("root"), dict):
        raise ConversionError("the model data has no 'root' element", file=path)
    stack: list[tuple[Any, str]] = [(tree["root"], "root")]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, dict):
            raise ConversionError(f"{where}: an element must be a mapping, not {type(node).__name__}", file=path)
        if "block" in node:
            _check_block(node, where, path)
            continue
        if not isinstance(node.get("tag"), str) or not node["tag"]:
            raise ConversionError(f"{where}: element without a 'tag'", file=path)
        _name(node["tag"], "tag", where, path)
        here = f"{where} <{node['tag']}>"
        attrs = node.get("attrs", {})
        if not isinstance(attrs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
            raise ConversionError(f"{here}: 'attrs' must map names to strings", file=path)
        for key, value in attrs.items():
            _attribute_name(key, here, path)
            _text(value, f"attribute {key}", here, path)
        for key in ("text", "tail"):
            if key in node:
                _text(node[key], f"'{key}'", here, path)
        _namespaces(node, here, path)
        children = node.get("children", [])
        if not isinstance(children, list):
            raise ConversionError(f"{here}: 'children' must be a list", file=path)
        stack.extend((child, f"{where}/{node['tag']}[{k}]") for k, child in enumerate(children))


def _check_block(block: dict, where: str, path: Path) -> None:
    count = block.get("count")
    if not isinstance(block.get("block"), str) or not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ConversionError(f"{where}: a block needs a tag ('block') and a 'count'", file=path)
    _name(block["block"], "tag", where, path)
    here = f"{where} <{block['block']}>"
    _namespaces(block, here, path)
    children = block.get("children", [])
    if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
        raise ConversionError(f"{here}: a block's 'children' must be a list of mappings", file=path)
    for child in children:
        _name(child.get("tag"), "tag", here, path)
        _namespaces(child, here, path)
    groups = [block.get("columns", {})] + [c.get("columns", {}) for c in children]
    for columns in groups:
        if not isinstance(columns, dict):
            raise ConversionError(f"{here}: 'columns' must be a mapping", file=path)
        for name, column in columns.items():
            _attribute_name(name, here, path)
            _check_column(column, count, f"{here} column {name}", path)


def _check_column(column: Any, count: int, where: str, path: Path) -> None:
    if not isinstance(column, dict):
        raise ConversionError(f"{where}: not a column", file=path)
    if "int" in column or "float" in column:
        kind = "int" if "int" in column else "float"
        values = column[kind]
        ok = isinstance(values, np.ndarray) and values.dtype.kind == kind[0] and isinstance(column.get("prefix"), str) \
            and isinstance(column.get("suffix"), str) and column.get("style", "repr") in FLOAT_STYLES \
            and (kind == "float" or "style" not in column)
        if ok:
            _text(column["prefix"] + column["suffix"], "the text around the numbers", where, path)
            if kind == "float" and not np.all(np.isfinite(values)):
                raise ConversionError(f"{where}: a number column holds inf or nan", file=path)
    elif "codes" in column:
        values = column["codes"]
        ok = (isinstance(values, np.ndarray) and values.dtype.kind in "iu"
              and isinstance(column.get("values"), list)
              and (values.size == 0 or 0 <= values.min() and values.max() < len(column["values"])))
        if ok:
            for value in column["values"]:
                _text(value, "a value", where, path)
    else:
        ok, values = False, None
    if not ok:
        raise ConversionError(f"{where}: malformed column", file=path)
    if values.shape != (count,):
        raise ConversionError(f"{where}: {values.size} values for {count} elements", file=path)
