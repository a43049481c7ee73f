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
  reference around it (``2.5ms``); written back with Python's shortest repr, so ``0.50`` comes
  back as ``0.5``: equal in value, not in spelling;
- ``{"codes": int64 array, "values": [str, ...]}``: anything else, each distinct string once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from lxml import etree

from nmlhub.xmlsafe import parse_xml_bytes, parse_xml_file

_INT = re.compile(r"^(.*?)(-?(?:0|[1-9][0-9]*))(\D*)$", re.S)
_FLOAT = re.compile(r"^(.*?)([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)([^0-9.eE+-]*)$", re.S)
MIN_BLOCK = 2
#: An element never grouped into a block (nmlhub uses it to keep the boundaries of stored children).
SLOT = "nmlhub_slot"
_NUMBER_CHARS = tuple("0123456789.eE+-")


# ---------------------------------------------------------------- columns

def encode_column(values: list[str]) -> dict:
    """The cheapest exact :data:`COLUMN <converters.model_tree>` form of a list of strings."""
    first = _INT.match(values[0]) if values else None
    if first is not None and not first.group(1).endswith(_NUMBER_CHARS) \
            and not first.group(3).startswith(_NUMBER_CHARS):  # not a piece of a decimal number
        prefix, suffix = first.group(1), first.group(3)
        column = _template_ints(values, prefix, suffix)
        if column is not None:
            return {"int": column, "prefix": prefix, "suffix": suffix}
    first = _FLOAT.match(values[0]) if values else None
    if first is not None:
        prefix, suffix = first.group(1), first.group(3)
        column = _template_floats(values, prefix, suffix)
        if column is not None:
            return {"float": column, "prefix": prefix, "suffix": suffix}
    uniques, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
    return {"codes": codes.astype(np.int64).reshape(-1), "values": [str(v) for v in uniques]}


def _strip(values: list[str], prefix: str, suffix: str) -> list[str] | None:
    p, s = len(prefix), len(suffix)
    if not all(v.startswith(prefix) and v.endswith(suffix) and len(v) > p + s for v in values):
        return None
    return [v[p:len(v) - s] for v in values]


def _template_ints(values: list[str], prefix: str, suffix: str) -> np.ndarray | None:
    cores = _strip(values, prefix, suffix)
    if cores is None:
        return None
    try:
        ints = np.array(cores, dtype=np.int64)
    except (ValueError, OverflowError):
        return None
    # exact only: no leading zeros, no '+', no spaces
    if [str(i) for i in ints.tolist()] != cores:
        return None
    return ints


def _template_floats(values: list[str], prefix: str, suffix: str) -> np.ndarray | None:
    cores = _strip(values, prefix, suffix)
    if cores is None or not all(_FLOAT.match(c) and _FLOAT.match(c).group(1) == "" and
                                _FLOAT.match(c).group(3) == "" for c in cores):
        return None
    return np.array(cores, dtype=np.float64)


def decode_column(column: dict) -> list[str]:
    """The strings a column holds."""
    if "int" in column:
        p, s = column["prefix"], column["suffix"]
        return [f"{p}{i}{s}" for i in np.asarray(column["int"]).tolist()]
    if "float" in column:
        p, s = column["prefix"], column["suffix"]
        return [f"{p}{format_float(x)}{s}" for x in np.asarray(column["float"]).tolist()]
    values = column["values"]
    return [values[c] for c in np.asarray(column["codes"]).tolist()]


def format_float(x: float) -> str:
    """Shortest text that reads back as ``x`` (and as a float column again: ``2.0``, not ``2``)."""
    return repr(x)


# ---------------------------------------------------------------- XML -> tree

def _qualified(name: str, parent_ns: str | None) -> tuple[str, str | None]:
    qname = etree.QName(name)
    return qname.localname, qname.namespace


def _leaf_signature(element: etree._Element) -> tuple | None:
    if len(element) or (element.text and element.text.strip()) or (element.tail and element.tail.strip()):
        return None
    return element.tag, tuple(element.attrib.keys())


def _signature(element: etree._Element) -> tuple | None:
    """What makes siblings one block: tag, attribute names, leaf children; None if not blockable."""
    if not isinstance(element.tag, str) or (element.text and element.text.strip()) \
            or etree.QName(element.tag).localname == SLOT:
        return None
    if element.tail and element.tail.strip():
        return None
    if element.nsmap != (element.getparent().nsmap if element.getparent() is not None else {}):
        return None
    children = []
    for child in element:
        leaf = _leaf_signature(child)
        if leaf is None or child.nsmap != element.nsmap:
            return None
        children.append(leaf)
    return element.tag, tuple(element.attrib.keys()), tuple(children)


def _element(element: etree._Element, parent_ns: str | None, parent_nsmap: dict) -> dict:
    local, ns = _qualified(element.tag, parent_ns)
    node: dict[str, Any] = {"tag": local}
    if ns != parent_ns:
        node["ns"] = ns if ns is not None else ""
    declared = {k or "": v for k, v in element.nsmap.items() if parent_nsmap.get(k) != v}
    if declared:
        node["nsmap"] = declared
    node["attrs"] = {str(k): str(v) for k, v in element.attrib.items()}
    if element.text and element.text.strip():
        node["text"] = element.text.strip()
    if element.tail and element.tail.strip():
        node["tail"] = element.tail.strip()
    node["children"] = _children(element, ns, dict(element.nsmap))
    return node


def _children(element: etree._Element, ns: str | None, nsmap: dict) -> list[dict]:
    out: list[dict] = []
    kids = [c for c in element if isinstance(c.tag, str)]
    k = 0
    while k < len(kids):
        signature = _signature(kids[k])
        run_end = k + 1
        if signature is not None:
            while run_end < len(kids) and _signature(kids[run_end]) == signature:
                run_end += 1
        if run_end - k >= MIN_BLOCK:
            out.append(_block(kids[k:run_end], signature, ns))
        else:
            out.append(_element(kids[k], ns, nsmap))
            run_end = k + 1
        k = run_end
    return out


def _block(elements: list[etree._Element], signature: tuple, parent_ns: str | None) -> dict:
    tag, attr_names, children = signature
    local, ns = _qualified(tag, parent_ns)
    block: dict[str, Any] = {"block": local}
    if ns != parent_ns:
        block["ns"] = ns if ns is not None else ""
    block["count"] = len(elements)
    block["columns"] = {str(name): encode_column([e.get(name) for e in elements]) for name in attr_names}
    block["children"] = []
    for position, (child_tag, child_attrs) in enumerate(children):
        child_local, child_ns = _qualified(child_tag, ns)
        child: dict[str, Any] = {"tag": child_local}
        if child_ns != ns:
            child["ns"] = child_ns if child_ns is not None else ""
        child["columns"] = {str(name): encode_column([e[position].get(name) for e in elements])
                            for name in child_attrs}
        block["children"].append(child)
    return block


def tree_from_xml_file(path: str | Path) -> dict:
    """Read a NeuroML (or any XML) file into the plain tree (safely: no DTDs, entities or network)."""
    root = parse_xml_file(path).getroot()
    return {"root": _element(root, None, {})}


def tree_from_xml_bytes(data: bytes, source: str | Path = "<string>") -> dict:
    """Read XML text into the plain tree."""
    root = parse_xml_bytes(data, source).getroot()
    return {"root": _element(root, None, {})}


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


def _write_block(block: dict, ns: str | None, names: _Names, indent: str, out: list[str]) -> None:
    own_ns = block["ns"] or None if "ns" in block else ns
    tag = names.tag(block["block"], own_ns)
    count = block["count"]
    attrs = [(names.attr(k), decode_column(c)) for k, c in block["columns"].items()]
    heads = [f"{indent}<{tag}" for _ in range(count)]
    for name, values in attrs:
        if len(values) != count:
            raise ValueError(f"block <{block['block']}>: column {name} has {len(values)} values, not {count}")
        heads = [f'{h} {name}="{_quote(v)}"' for h, v in zip(heads, values)]
    if not block["children"]:
        out.extend(h + "/>" for h in heads)
        return
    inner = indent + "    "
    child_lines = []
    for child in block["children"]:
        child_ns = child["ns"] or None if "ns" in child else own_ns
        child_tag = names.tag(child["tag"], child_ns)
        lines = [f"{inner}<{child_tag}" for _ in range(count)]
        for key, column in child["columns"].items():
            lines = [f'{line} {names.attr(key)}="{_quote(v)}"' for line, v in zip(lines, decode_column(column))]
        child_lines.append([line + "/>" for line in lines])
    for k in range(count):
        out.append(heads[k] + ">")
        out.extend(lines[k] for lines in child_lines)
        out.append(f"{indent}</{tag}>")


def xml_from_tree(tree: dict, declaration: bool = True) -> bytes:
    """The XML text of a plain tree (UTF-8, indented, with an XML declaration unless told not)."""
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>'] if declaration else []
    _write_element(tree["root"], None, _Names({}), "", out)
    return ("\n".join(out) + "\n").encode("utf-8")


def iter_elements(tree: dict) -> Iterator[dict]:
    """Every element node (not blocks) of a tree, depth first."""
    stack = [tree["root"]]
    while stack:
        node = stack.pop()
        if "block" in node:
            continue
        yield node
        stack.extend(reversed(node.get("children", [])))
