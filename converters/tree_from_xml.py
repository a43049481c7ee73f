"""NeuroML (any XML) text into the plain tree of :mod:`converters.model_tree`, streaming: runs of
same-shaped elements become columns as they are read."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from nmlhub.errors import ModelError, XmlSecurityError
from nmlhub.xmlsafe import DEFAULT_MAX_XML_BYTES

from .tree_columns import decode_column, encode_column

MIN_BLOCK = 2
#: An element never grouped into a block (nmlhub uses it to keep the boundaries of stored children).
SLOT = "nmlhub_slot"


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
    million connections never exist as a million lxml elements or dicts at once."""
    events = etree.iterparse(stream, events=("start-ns", "start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
                             remove_pis=True, collect_ids=False)
    try:
        root = _walk(events)
    except etree.XMLSyntaxError as exc:
        msg = exc.msg or str(exc)
        if "ntity" in msg:
            raise XmlSecurityError(f"XML uses entities, which nmlhub does not expand: {msg}", file=source,
                                   line=exc.lineno or None) from None
        raise ModelError(f"not well-formed XML: {msg}", file=source, line=exc.lineno or None) from None
    if root is None:
        raise ModelError("no XML content (file is empty or not XML)", file=source)
    return {"root": root}


def _walk(events: Any) -> dict | None:
    """The root node read from lxml's events.

    An element gets a frame (for its children) only once a child appears; until then it is the
    (element, namespace declarations) in ``leaf``, and at its end it is held back in its parent's
    frame as a leaf.
    """
    stack: list[_Frame] = []
    declared: dict[str, str] = {}
    leaf: tuple[etree._Element, dict[str, str]] | None = None  # started, no child seen yet
    root: dict | None = None
    for event, item in events:
        if event == "start":
            if leaf is not None:  # the open element has a child: it needs a frame
                stack.append(_open(leaf[0], stack[-1] if stack else None, leaf[1]))
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
            if leaf is not None and not leaf[1] and stack:  # an element without children
                stack[-1].pending = (None, leaf[0])
                leaf = None
                continue
            frame = stack.pop() if leaf is None else _open(leaf[0], stack[-1] if stack else None, leaf[1])
            leaf = None
            node = _finish(frame, item)
            if stack:
                stack[-1].pending = (node, item)
            else:
                root = node
        else:  # start-ns
            prefix, uri = item
            declared = {**declared, prefix or "": uri}
    return root


def _finish(frame: _Frame, element: etree._Element) -> dict:
    """The node of an element whose end is read: its children placed, its text kept."""
    if frame.pending is not None:
        _settle(frame)
    _close_run(frame)
    node = frame.node
    if element.text and element.text.strip():
        node["text"] = element.text.strip()
    node["children"] = frame.children
    return node


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
