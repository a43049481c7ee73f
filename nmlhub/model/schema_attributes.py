"""The attributes the NeuroML schema allows on each NeuroML element, read from the schema once and
kept in nmlhub's cache (parsing the 300 KB schema cost every run 0.06 s of CPU on every rank)."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Iterator

from lxml import etree

from ..atomic import write_bytes
from ..coretypes import cache_base
from ..xmlsafe import parse_xml_bytes

_XS = "{http://www.w3.org/2001/XMLSchema}"
#: The NeuroML schema nmlhub validates against (libNeuroML's newest).
SCHEMA_NAME = "NeuroML_v2.3.1.xsd"


@functools.lru_cache(maxsize=1)
def schema_attributes() -> dict[str, frozenset[str]]:
    """The attributes the NeuroML schema allows on each NeuroML element, by element name (the
    union over the element's declarations): what NeuroML defines there, jLEMS read or not.
    From nmlhub's cache when it holds the table of this schema (named by a hash of the schema and
    of this module), else read from the schema and kept there (atomically; a cache that cannot
    be read or written is passed over)."""
    import neuroml.nml

    schema = Path(neuroml.nml.__file__).parent / SCHEMA_NAME
    data = schema.read_bytes()
    key = hashlib.sha256(data + Path(__file__).read_bytes()).hexdigest()[:16]
    kept = cache_base() / "schema" / f"{schema.stem}-attributes-{key}.json"
    try:
        return {name: frozenset(names) for name, names in json.loads(kept.read_text()).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    table = _read_schema_attributes(data, str(schema))
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(kept, json.dumps({name: sorted(names) for name, names in table.items()}).encode())
    except OSError:
        pass
    return table


def _read_schema_attributes(data: bytes, source: str) -> dict[str, frozenset[str]]:
    root = parse_xml_bytes(data, source=source).getroot()
    types = {t.get("name"): t for t in root.iter(_XS + "complexType") if t.get("name")}

    def attributes(type_name: str | None, seen: frozenset[str] = frozenset()) -> set[str]:
        name = (type_name or "").rpartition(":")[2]
        if name not in types or name in seen:
            return set()
        found: set[str] = set()
        for node in _outside_elements(types[name]):
            if node.tag == _XS + "attribute" and node.get("name"):
                found.add(node.get("name"))
            elif node.tag in (_XS + "extension", _XS + "restriction"):
                found |= attributes(node.get("base"), seen | {name})
        return found

    table: dict[str, set[str]] = {}
    for element in root.iter(_XS + "element"):
        if element.get("name") and element.get("type"):
            table.setdefault(element.get("name"), set()).update(attributes(element.get("type")))
    return {name: frozenset(names) for name, names in table.items()}


def _outside_elements(node: etree._Element) -> Iterator[etree._Element]:
    """The descendants of a schema type, without those of the elements it declares."""
    for child in node:
        if isinstance(child.tag, str) and child.tag != _XS + "element":
            yield child
            yield from _outside_elements(child)


__all__ = ["SCHEMA_NAME", "schema_attributes"]
