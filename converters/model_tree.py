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

import functools
import io
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from nmlhub.errors import ModelError, XmlSecurityError
from nmlhub.xmlsafe import DEFAULT_MAX_XML_BYTES
from nmlhub.atomic import publish, temporary_file

_INT = re.compile(r"^(.*?)(-?(?:0|[1-9][0-9]*))(\D*)$", re.S)
_FLOAT = re.compile(r"^(.*?)([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)([^0-9.eE+-]*)$", re.S)
MIN_BLOCK = 2
#: An element never grouped into a block (nmlhub uses it to keep the boundaries of stored children).
SLOT = "nmlhub_slot"
_NUMBER_CHARS = tuple("0123456789.eE+-")
# a prefix that ends inside a decimal number ('1.', '2e', '3.5E-'): 'Dendrite' or 'cell_' do not
_DECIMAL_HEAD = re.compile(r"(?:[0-9.]|[0-9.][eE][+-]?|[+-])$")
_NOT_NUMBER = re.compile(r"[^0-9eE.+-]")
_NOT_INT = re.compile(r"[^0-9,-]")
_LEADING_ZERO = re.compile(r",-?0[0-9]")


# ---------------------------------------------------------------- columns

def encode_column(values: list[str]) -> dict:
    """The cheapest exact :data:`COLUMN <converters.model_tree>` form of a list of strings."""
    if not values:
        return {"codes": np.zeros(0, dtype=np.int64), "values": []}
    first = _INT.match(values[0])
    if first is not None and not _DECIMAL_HEAD.search(first.group(1)) \
            and not first.group(3).startswith(_NUMBER_CHARS):  # not a piece of a decimal number
        prefix, suffix = first.group(1), first.group(3)
        cores = _strip(values, prefix, suffix)
        # exact only: written as str(int) writes them (no '+', spaces or leading zeros)
        if cores is not None and _plain_ints(cores):
            try:
                return {"int": np.array(list(map(int, cores)), dtype=np.int64), "prefix": prefix, "suffix": suffix}
            except (ValueError, OverflowError):
                pass
    first = _FLOAT.match(values[0])
    if first is not None:
        prefix, suffix = first.group(1), first.group(3)
        cores = _strip(values, prefix, suffix)
        # only digits, point, sign and exponent (float() would also read '2_1' as 21, or 'inf')
        if cores is not None and not _NOT_NUMBER.search("".join(cores)):
            try:
                numbers = list(map(float, cores))
            except ValueError:
                numbers = None
            # exact only: each text is the one the column's style gives back ('0.50' never is)
            for style, spell in FLOAT_STYLES.items():
                # (map(repr) itself for the common style: a call per value costs seconds per million)
                if numbers is not None and list(map(repr if style == "repr" else spell, numbers)) == cores:
                    column = {"float": np.array(numbers, dtype=np.float64), "prefix": prefix, "suffix": suffix}
                    if style != "repr":
                        column["style"] = style
                    return column
    uniques, codes = np.unique(np.array(values, dtype=str), return_inverse=True)
    return {"codes": codes.astype(np.int64).reshape(-1), "values": uniques.tolist()}


def _plain_ints(cores: list[str]) -> bool:
    """Whether texts are integers written as ``str(int)`` writes them: no other character, no
    leading zero, no '-0', none empty, no '-' inside."""
    joined = "," + ",".join(cores) + ","
    return not (_NOT_INT.search(joined) or _LEADING_ZERO.search(joined) or ",-0," in joined
                or ",," in joined or ",-," in joined or "--" in joined
                or re.search(r"[0-9]-", joined))


def _strip(values: list[str], prefix: str, suffix: str) -> list[str] | None:
    """The middles of strings that all start with ``prefix`` and end with ``suffix``, else None."""
    p, s = len(prefix), len(suffix)
    if not p and not s:
        return values
    least = p + s
    if not all(v.startswith(prefix) and v.endswith(suffix) and len(v) > least for v in values):
        return None
    return [v[p:-s] for v in values] if s else [v[p:] for v in values]


def decode_column(column: dict) -> list[str]:
    """The strings a column holds."""
    if "int" in column:
        p, s = column["prefix"], column["suffix"]
        return [f"{p}{i}{s}" for i in np.asarray(column["int"]).tolist()]
    if "float" in column:
        p, s = column["prefix"], column["suffix"]
        spell = FLOAT_STYLES[column.get("style", "repr")]
        return [f"{p}{spell(x)}{s}" for x in np.asarray(column["float"]).tolist()]
    values = column["values"]
    return [values[c] for c in np.asarray(column["codes"]).tolist()]


def format_float(x: float) -> str:
    """Shortest text that reads back as ``x`` (and as a float column again: ``2.0``, not ``2``)."""
    return repr(x)


def format_whole_as_int(x: float) -> str:
    """``x`` as :func:`format_float` writes it, but a whole number as an integer (``2``, ``2.5``)."""
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 and not (x == 0 and math.copysign(1, x) < 0) \
        else repr(x)


#: How a float column's numbers are written back, by its ``style`` (``repr`` when absent).
FLOAT_STYLES = {"repr": format_float, "int": format_whole_as_int}


# ---------------------------------------------------------------- XML -> tree

def _split(tag: str) -> tuple[str, str | None]:
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return local, uri
    return tag, None


class _Frame:
    """An element being read: its node, and its children so far (the last one held back until
    its tail is known, runs of same-shaped ones gathered into columns)."""

    __slots__ = ("node", "ns", "scope", "children", "pending", "run_signature", "run_nodes", "run")

    def __init__(self, node: dict, ns: str | None, scope: dict[str, str]) -> None:
        self.node = node
        self.ns = ns
        self.scope = scope
        self.children: list[dict] = []
        self.pending: tuple[dict | None, etree._Element] | None = None
        self.run_signature: tuple | None = None
        self.run_nodes: list[dict] = []  # the first few of the current run, as elements
        self.run: "_Run | None" = None


_CHUNK = 65536


class _Run:
    """Columns of a run of same-shaped elements, gathered in chunks of strings."""

    def __init__(self, nodes: list[dict], signature: tuple, parent_ns: str | None) -> None:
        first = nodes[0]
        self.names = list(first["attrs"])
        self.child_names = [(c["tag"], c.get("ns"), list(c["attrs"])) for c in first["children"]]
        # leaves of one namespace-free shape are added straight from lxml (the common, large case)
        tag = f"{{{parent_ns}}}{signature[0]}" if parent_ns else signature[0]
        self.leaf_key = (tag, signature[2]) if not first["children"] and signature[1] is None else None
        self.leaf_names = list(signature[2])
        width = len(self.names) + sum(len(names) for _, _, names in self.child_names)
        self.width = width
        self.rows: list[list[str]] = []
        self.chunks: list[list[dict]] = [[] for _ in range(width)]
        self.count = 0
        for node in nodes:
            self.add(node)

    def add(self, node: dict) -> None:
        row = list(node["attrs"].values())
        for child in node["children"]:
            row.extend(child["attrs"].values())
        self.add_row(row)

    def add_row(self, row: list[str]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) == _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            rows = self.rows
            for k in range(self.width):
                self.chunks[k].append(encode_column([row[k] for row in rows]))
            self.rows = []

    def block(self, tag: str, ns_field: dict) -> dict:
        self._flush()
        columns = [_merge(chunks) for chunks in self.chunks]
        block: dict[str, Any] = {"block": tag, **ns_field, "count": self.count}
        block["columns"] = dict(zip(self.names, columns[:len(self.names)]))
        rest = columns[len(self.names):]
        block["children"] = []
        for child_tag, child_ns, names in self.child_names:
            child: dict[str, Any] = {"tag": child_tag}
            if child_ns is not None:
                child["ns"] = child_ns
            child["columns"] = dict(zip(names, rest[:len(names)]))
            rest = rest[len(names):]
            block["children"].append(child)
        return block


def _merge(chunks: list[dict]) -> dict:
    if not chunks:
        return encode_column([])
    if len(chunks) == 1:
        return chunks[0]
    for kind in ("int", "float"):
        if all(kind in c for c in chunks) and len({(c["prefix"], c["suffix"], c.get("style")) for c in chunks}) == 1:
            merged = {k: v for k, v in chunks[0].items() if k != kind}
            return {kind: np.concatenate([c[kind] for c in chunks]), **merged}
    return encode_column([v for c in chunks for v in decode_column(c)])


def _leaf(node: dict) -> bool:
    return not node["children"] and "text" not in node and "tail" not in node and "nsmap" not in node


def _signature(node: dict) -> tuple | None:
    """What makes siblings one block: tag, attribute names, leaf children; None if not blockable."""
    if "text" in node or "tail" in node or "nsmap" in node or node["tag"] == SLOT:
        return None
    children = []
    for child in node["children"]:
        if "block" in child or not _leaf(child):
            return None
        children.append((child["tag"], child.get("ns"), tuple(child["attrs"])))
    return node["tag"], node.get("ns"), tuple(node["attrs"]), tuple(children)


def _free(element: etree._Element) -> None:
    """Drop a read element from lxml's tree (children are read, and freed, in order, so it is
    its parent's first child)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _settle(frame: _Frame) -> None:
    """Place the held-back child (its tail is known now) into its parent's children or run."""
    node, element = frame.pending
    frame.pending = None
    tail = element.tail
    if node is None:
        node = _leaf_node(element, frame)
    if tail and tail.strip():
        node["tail"] = tail.strip()
    _free(element)
    signature = _signature(node)
    if signature is not None and signature == frame.run_signature:
        if frame.run is not None:
            frame.run.add(node)
        else:
            frame.run_nodes.append(node)
            if len(frame.run_nodes) >= MIN_BLOCK:
                frame.run = _Run(frame.run_nodes, signature, frame.ns)
                frame.run_nodes = []
        return
    _close_run(frame)
    if signature is None:
        frame.children.append(node)
    else:
        frame.run_signature = signature
        frame.run_nodes = [node]


@functools.lru_cache(maxsize=4096)
def _split_cached(tag: str) -> tuple[str, str | None]:
    return _split(tag)


def _leaf_node(element: etree._Element, parent: _Frame) -> dict:
    """The node of an element without children, read only when it does not join a run directly."""
    local, ns = _split_cached(element.tag)
    node: dict[str, Any] = {"tag": local}
    if ns != parent.ns:
        node["ns"] = ns if ns is not None else ""
    node["attrs"] = dict(element.attrib)
    if element.text and element.text.strip():
        node["text"] = element.text.strip()
    node["children"] = []
    return node


def _close_run(frame: _Frame) -> None:
    if frame.run is not None:
        tag, ns = frame.run_signature[0], frame.run_signature[1]
        frame.children.append(frame.run.block(tag, {"ns": ns} if ns is not None else {}))
    else:
        frame.children.extend(frame.run_nodes)
    frame.run, frame.run_nodes, frame.run_signature = None, [], None


def _check_prolog(head: bytes, source: str | Path) -> None:
    """Refuse a DOCTYPE (and so entity declarations) before parsing anything."""
    upper = head.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise XmlSecurityError("XML declares a DOCTYPE/DTD (entities are refused: possible XXE or entity "
                               "expansion)", file=source, line=1)


def _open(item: etree._Element, parent: _Frame | None, declared: dict[str, str]) -> _Frame:
    local, ns = _split_cached(item.tag)
    node: dict[str, Any] = {"tag": local}
    parent_ns = parent.ns if parent else None
    if ns != parent_ns:
        node["ns"] = ns if ns is not None else ""
    scope = parent.scope if parent else {}
    news = {k: v for k, v in declared.items() if scope.get(k) != v}
    if news:
        node["nsmap"] = news
        scope = {**scope, **news}
    node["attrs"] = dict(item.attrib)
    return _Frame(node, ns, scope)


def _read(stream: Any, source: str | Path) -> dict:
    """Build the tree while lxml streams the document; elements are freed as they are read, so a
    million connections never exist as a million lxml elements or dicts at once.

    An element gets a frame (for its children) only once a child appears; until then it is the
    (element, namespace declarations) on top of ``opened``, and at its end it is held back in its
    parent's frame as a leaf.
    """
    events = etree.iterparse(stream, events=("start-ns", "start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
                             remove_pis=True, collect_ids=False)
    stack: list[_Frame] = []
    declared: dict[str, str] = {}
    leaf: tuple[etree._Element, dict[str, str]] | None = None  # started, no child seen yet
    root: dict | None = None
    try:
        for event, item in events:
            if event == "start":
                if leaf is not None:  # the open element has a child: it needs a frame
                    parent = stack[-1] if stack else None
                    stack.append(_open(leaf[0], parent, leaf[1]))
                if stack and stack[-1].pending is not None:
                    top = stack[-1]
                    node, element = top.pending
                    run = top.run
                    # the common case, inline (a call per element costs seconds per million): a
                    # leaf that joins its parent's run straight from lxml
                    if node is None and run is not None and run.leaf_key is not None \
                            and ((tail := element.tail) is None or tail.isspace()) \
                            and ((text := element.text) is None or text.isspace()):
                        attrib = element.attrib
                        if element.tag == run.leaf_key[0] and attrib.keys() == run.leaf_names:
                            run.add_row(attrib.values())
                            _free(element)
                            top.pending = None
                    if top.pending is not None:
                        _settle(top)
                leaf = (item, declared)
                if declared:
                    declared = {}
            elif event == "end":
                if leaf is not None:  # an element without children
                    leaf_item, leaf_declared = leaf
                    leaf = None
                    if leaf_declared or not stack:
                        frame = _open(leaf_item, stack[-1] if stack else None, leaf_declared)
                    else:
                        stack[-1].pending = (None, leaf_item)
                        continue
                else:
                    frame = stack.pop()
                if frame.pending is not None:
                    _settle(frame)
                _close_run(frame)
                node = frame.node
                if item.text and item.text.strip():
                    node["text"] = item.text.strip()
                node["children"] = frame.children
                if stack:
                    stack[-1].pending = (node, item)
                else:
                    root = node
            else:  # start-ns
                prefix, uri = item
                declared = {**declared, prefix or "": uri}
    except etree.XMLSyntaxError as exc:
        msg = exc.msg or str(exc)
        if "ntity" in msg:
            raise XmlSecurityError(f"XML uses entities, which nmlhub does not expand: {msg}", file=source,
                                   line=exc.lineno or None) from None
        raise ModelError(f"not well-formed XML: {msg}", file=source, line=exc.lineno or None) from None
    if root is None:
        raise ModelError("no XML content (file is empty or not XML)", file=source)
    return {"root": root}


def tree_from_xml_file(path: str | Path, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> dict:
    """Read a NeuroML (or any XML) file into the plain tree, streaming (safely: no DTDs, entities
    or network; files larger than ``max_bytes`` are refused)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError("file not found", file=path)
    size = path.stat().st_size
    if size == 0:
        raise ModelError("file is empty", file=path)
    if size > max_bytes:
        raise XmlSecurityError(f"file is {size} bytes, larger than the limit of {max_bytes} bytes for XML",
                               file=path)
    with open(path, "rb") as stream:
        _check_prolog(_prolog(stream), path)
        stream.seek(0)
        return _read(stream, path)


def _prolog(stream: Any) -> bytes:
    """The bytes before the root element's start tag (where a DOCTYPE would be)."""
    head = b""
    while True:
        block = stream.read(65536)
        if not block:
            return head
        head += block
        # the root starts at the first '<' followed by a name character
        for k in range(len(head) - 1):
            if head[k:k + 1] == b"<" and (head[k + 1:k + 2].isalpha() or head[k + 1:k + 2] in (b"_", b":")):
                return head[:k]
        if len(head) > 16 * 65536:
            return head


def tree_from_xml_bytes(data: bytes, source: str | Path = "<string>") -> dict:
    """Read XML text into the plain tree."""
    _check_prolog(_prolog(io.BytesIO(data)), source)
    return _read(io.BytesIO(data), source)


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
