"""What NeuroML HDF5's datasets cannot say, kept beside them so that a document comes back exactly.

libNeuroML's layout holds a population's, projection's or input list's rows as numbers; nmlhub
adds to each such group it writes

- ``nmlhub_attrs``: the element's attributes as written (JSON: names and texts, in order);
- ``nmlhub_head_xml``: the children before the rows (notes, properties, annotations) as XML;
  a population's properties are also written as libNeuroML's ``property:TAG`` attributes, which
  its loader reads;
- ``nmlhub_columns``: the rows' attribute names in order (``location.x`` for a child's).

A column whose text the numbers do not give back (``0.50``, ``2ms``, ``1e-3``: the datasets hold
float64 and are read back in Python's shortest form) is stored as the text it was, in
``/neuroml/nmlhub_text/tN`` (attributes ``owner``: the group's name, ``attribute``, ``kind``:
int, float or codes, ``prefix``, ``suffix``; datasets ``values`` and, for codes, ``strings``).
Other tools ignore all of these; nmlhub restores the document from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .model_tree import SLOT, decode_column, tree_from_xml_bytes, xml_from_tree

#: The tags of the rows libNeuroML's layout holds as a dataset, by the tag of their parent.
ROW_TAGS = {
    "population": ("instance",),
    "projection": ("connection", "connectionWD"),
    "inputList": ("input", "inputW"),
    "electricalProjection": ("electricalConnection", "electricalConnectionInstance", "electricalConnectionInstanceW"),
    "continuousProjection": ("continuousConnection", "continuousConnectionInstance", "continuousConnectionInstanceW"),
}
TEXT_GROUP = "nmlhub_text"


def split_head(node: dict) -> tuple[list[dict], list[dict]] | None:
    """The children of a population, projection or input list before its rows, and its rows;
    None when anything else follows a row (such an element stays XML)."""
    rows = ROW_TAGS[node["tag"]]
    head: list[dict] = []
    body: list[dict] = []
    for child in node.get("children", []):
        if (child.get("block") or child.get("tag")) in rows and "ns" not in child:
            body.append(child)
        elif body:
            return None
        else:
            head.append(child)
    return head, body


def properties(head: list[dict]) -> dict[str, str]:
    """The ``<property tag value>`` children among ``head`` (single or in a block)."""
    found: dict[str, str] = {}
    for child in head:
        if "ns" in child:
            continue
        if child.get("block") == "property" and {"tag", "value"} <= set(child["columns"]):
            found.update(zip(decode_column(child["columns"]["tag"]), decode_column(child["columns"]["value"])))
        elif child.get("tag") == "property" and {"tag", "value"} <= set(child.get("attrs", {})):
            found[child["attrs"]["tag"]] = child["attrs"]["value"]
    return found


def slots_xml(children: list[dict], node: dict, scope: dict[str, str]) -> str:
    """Elements as XML text, each in an ``nmlhub_slot`` inside a copy of ``node`` (without its
    own children), with the namespaces of ``scope`` declared on it."""
    shell = {k: v for k, v in node.items() if k not in ("tail", "children", "block", "columns", "count")}
    shell.setdefault("attrs", {})
    shell["nsmap"] = {**scope, **node.get("nsmap", {})}
    shell["children"] = [{"tag": SLOT, "attrs": {}, "children": [child]} for child in children]
    return xml_from_tree({"root": shell}).decode()


def slots_read(text: str, path: Path) -> tuple[dict, list[dict]]:
    """The shell element and the elements written by :func:`slots_xml`."""
    shell = tree_from_xml_bytes(text.encode(), path)["root"]
    shell.pop("ns", None)
    shell.pop("nsmap", None)
    return shell, [slot["children"][0] for slot in shell["children"]]


def mark(group: Any, node: dict, head: list[dict], rows: dict | None, scope: dict[str, str]) -> None:
    """Store on ``group`` what its datasets do not say about ``node``."""
    group.attrs["nmlhub_attrs"] = json.dumps(node.get("attrs", {}))
    if head:
        group.attrs["nmlhub_head_xml"] = slots_xml(head, node, scope)
    for tag, value in properties(head).items():
        group.attrs[f"property:{tag}"] = value
    if rows is not None:
        group.attrs["nmlhub_columns"] = json.dumps([k for k in rows if k != "__count__"])


def mismatches(rows: dict, rebuilt: dict) -> list[tuple[str, dict]]:
    """The columns of ``rows`` (as written) that the node read back from the datasets
    (``rebuilt``) does not give back as the same text."""
    block = rebuilt["children"][0] if rebuilt.get("children") else None
    found = []
    for name, column in rows.items():
        if name == "__count__":
            continue
        again = _column(block, name) if block is not None else None
        if again is None or not _same_text(column, again):
            found.append((name, column))
    return found


def _column(block: dict, name: str) -> dict | None:
    if "." not in name:
        return block["columns"].get(name)
    tag, attr = name.split(".", 1)
    child = next((c for c in block["children"] if c["tag"] == tag), None)
    return child["columns"].get(attr) if child is not None else None


def _same_text(a: dict, b: dict) -> bool:
    for kind in ("int", "float"):
        if kind in a and kind in b and (a["prefix"], a["suffix"], a.get("style")) == \
                (b["prefix"], b["suffix"], b.get("style")):
            x, y = np.asarray(a[kind]), np.asarray(b[kind])
            # bit for bit (-0.0 is not 0.0 as text)
            return x.shape == y.shape and bool(np.array_equal(x.view(np.int64), y.view(np.int64)))
    return decode_column(a) == decode_column(b)


def write_texts(neuroml: Any, texts: list[tuple[str, str, dict]]) -> None:
    """Store the columns ``(owner group, attribute, column)`` whose text the datasets lose."""
    if not texts:
        return
    store = neuroml.create_group(TEXT_GROUP)
    for k, (owner, attribute, column) in enumerate(texts):
        entry = store.create_group(f"t{k}")
        entry.attrs["owner"] = owner
        entry.attrs["attribute"] = attribute
        big = {"chunks": True, "compression": "gzip", "compression_opts": 1}
        if "int" in column or "float" in column:
            kind = "int" if "int" in column else "float"
            values = np.asarray(column[kind])
            entry.attrs["kind"] = kind
            entry.attrs["prefix"] = column["prefix"]
            entry.attrs["suffix"] = column["suffix"]
            entry.attrs["style"] = column.get("style", "repr")
        else:
            values = np.asarray(column["codes"], dtype=np.int64)
            entry.attrs["kind"] = "codes"
            # JSON in bytes: PyTables (libNeuroML's reader) cannot read variable-length strings
            strings = np.frombuffer(json.dumps(column["values"]).encode(), dtype=np.uint8)
            entry.create_dataset("strings", data=strings, **(big if strings.size > 10000 else {}))
        entry.create_dataset("values", data=values, **(big if values.size > 10000 else {}))


def read_texts(neuroml: Any) -> dict[str, dict[str, dict]]:
    """The stored columns, by owner group and attribute."""
    found: dict[str, dict[str, dict]] = {}
    store = neuroml.get(TEXT_GROUP)
    if store is None:
        return found
    for entry in store.values():
        kind = attribute_text(entry.attrs["kind"])
        values = np.asarray(entry["values"][()])
        if kind in ("int", "float"):
            column = {kind: values.astype(np.int64 if kind == "int" else np.float64),
                      "prefix": attribute_text(entry.attrs["prefix"]), "suffix": attribute_text(entry.attrs["suffix"])}
            if kind == "float" and attribute_text(entry.attrs.get("style", "repr")) != "repr":
                column["style"] = attribute_text(entry.attrs["style"])
        else:
            strings = json.loads(np.asarray(entry["strings"][()], dtype=np.uint8).tobytes().decode("utf-8"))
            column = {"codes": values.astype(np.int64), "values": strings}
        found.setdefault(attribute_text(entry.attrs["owner"]), {})[attribute_text(entry.attrs["attribute"])] = column
    return found


def restore(group: Any, node: dict, texts: dict[str, dict], path: Path) -> dict:
    """``node`` (read from ``group``'s datasets) as it was written: its attributes, the order and
    presence of its rows' attributes, their stored texts, and its leading children."""
    if "nmlhub_attrs" in group.attrs:
        node["attrs"] = json.loads(attribute_text(group.attrs["nmlhub_attrs"]))
    block = node["children"][0] if node.get("children") else None
    if block is not None and "nmlhub_columns" in group.attrs:
        names = json.loads(attribute_text(group.attrs["nmlhub_columns"]))
        for name, column in texts.items():
            _put(block, name, column)
        block["columns"] = {n: block["columns"][n] for n in names if "." not in n}
        for child in block["children"]:
            own = [n.split(".", 1)[1] for n in names if n.startswith(child["tag"] + ".")]
            child["columns"] = {n: child["columns"][n] for n in own}
        block["children"] = [c for c in block["children"] if c["columns"]]
    if "nmlhub_head_xml" in group.attrs:
        _, head = slots_read(attribute_text(group.attrs["nmlhub_head_xml"]), path)
        node["children"] = head + node.get("children", [])
    return node


def _put(block: dict, name: str, column: dict) -> None:
    if "." not in name:
        block["columns"][name] = column
        return
    tag, attr = name.split(".", 1)
    child = next((c for c in block["children"] if c["tag"] == tag), None)
    if child is None:
        child = {"tag": tag, "columns": {}}
        block["children"].append(child)
    child["columns"][attr] = column


def attribute_text(value: Any) -> str:
    """An HDF5 attribute's value as text (bytes decoded, a one-element array unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return attribute_text(value.reshape(-1)[0]) if value.size else ""
    return str(value)
