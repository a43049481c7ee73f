"""Parse XML files safely: no entity expansion, no DTDs, no network, bounded size."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
from pathlib import Path
from typing import Any, Iterator

from lxml import etree

from .errors import ModelError, XmlSecurityError

#: Largest XML file nmlhub parses unless told otherwise (bytes).
DEFAULT_MAX_XML_BYTES = 512 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_xml_file(path: str | Path, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> etree._ElementTree:
    """Parse an XML file, refusing anything that could expand or fetch content.

    Parameters
    ----------
    path
        The file to parse.
    max_bytes
        Files larger than this are refused before parsing.

    Returns
    -------
    lxml.etree._ElementTree
        The parsed tree; elements keep their ``sourceline``.

    Raises
    ------
    ModelError
        The file is missing, empty, unreadable or not well-formed XML.
    XmlSecurityError
        The file declares a DTD or entities, or is larger than ``max_bytes``.
    """
    return parse_xml_bytes(read_xml_file(path, max_bytes), source=path)


def read_xml_file(path: str | Path, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> bytes:
    """The bytes of an XML file, refusing a missing, empty or too large file
    (:func:`parse_xml_file`'s checks before parsing)."""
    path = Path(path)
    if not path.exists():
        raise ModelError("file not found", file=path)
    if path.is_dir():
        raise ModelError("is a directory, not a model file", file=path)
    require_regular_file(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ModelError(f"cannot read file: {exc.strerror}", file=path) from exc
    if size == 0 or not data.strip():
        raise ModelError("file is empty", file=path)
    if len(data) > max_bytes:
        raise XmlSecurityError(
            f"file is {size} bytes, larger than the limit of {max_bytes} bytes for XML", file=path
        )
    return data


def require_regular_file(path: str | Path) -> None:
    """Refuse a path that is not a regular file (a FIFO would block a read forever, a device
    such as ``/dev/urandom`` never ends), without opening it.

    Raises
    ------
    ModelError
        The path is missing or is a FIFO, socket, device or directory.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ModelError(f"cannot read file: {exc.strerror}", file=path) from None
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise ModelError(f"is {kind}, not a model file", file=path)


def iterparse_xml_bytes(data: bytes, source: str | Path = "<string>") -> Any:
    """lxml's ``iterparse`` (``end`` events) over XML held in memory, with the guards of
    :func:`parse_xml_file`: a DOCTYPE is refused before parsing (so no entity can be declared);
    iterate it inside :func:`xml_errors`, then pass its ``root`` to :func:`checked_tree`."""
    refuse_doctype(data, source)
    return etree.iterparse(io.BytesIO(data), events=("end",), resolve_entities=False, no_network=True,
                           load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


#: Where the root element starts: the first '<' followed by a name (not '<?' or '<!').
_ROOT_START = re.compile(rb"<[A-Za-z_:]")


def refuse_doctype(data: bytes, source: str | Path = "<string>") -> None:
    """Refuse XML whose prolog declares a DOCTYPE or entities, before any parser sees it (so no
    file a DOCTYPE names is ever opened).

    Raises
    ------
    XmlSecurityError
        The prolog holds ``<!DOCTYPE`` or ``<!ENTITY`` (in any text encoding lxml reads as ASCII).
    """
    root_start = _ROOT_START.search(data)
    prolog = (data[:root_start.start()] if root_start else data).upper()
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog or b"<\x00!\x00D" in prolog:
        raise XmlSecurityError(
            "XML declares a DOCTYPE/DTD (entities are refused: possible XXE or entity expansion)",
            file=source, line=1)


@contextlib.contextmanager
def xml_errors(source: str | Path) -> Iterator[None]:
    """lxml's syntax errors as nmlhub's: truncated, not well-formed, entities."""
    try:
        yield
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        msg = exc.msg or str(exc)
        if "Document is empty" in msg:
            raise ModelError("no XML content (file is empty or not XML)", file=source) from None
        if "Premature end of data" in msg or "EndTag" in msg and "end of data" in msg:
            raise ModelError(f"XML is truncated: {msg}", file=source, line=line) from None
        if "EntityRef: no name" in msg or "EntityRef: expecting ';'" in msg:
            raise ModelError(f"not well-formed XML: a bare '&' (write it as &amp;): {msg}", file=source,
                             line=line) from None
        if "Entity" in msg or "entity" in msg:
            raise XmlSecurityError(
                f"XML uses entities, which nmlhub does not expand: {msg}", file=source, line=line
            ) from None
        raise ModelError(f"not well-formed XML: {msg}", file=source, line=line) from None


def parse_xml_bytes(data: bytes, source: str | Path = "<string>") -> etree._ElementTree:
    """Parse XML held in memory with the same guards as :func:`parse_xml_file`."""
    refuse_doctype(data, source)
    with xml_errors(source):
        root = etree.fromstring(data, parser=_parser(), base_url=None)
    return checked_tree(root, source)


def checked_tree(root: etree._Element, source: str | Path) -> etree._ElementTree:
    """The tree of a parsed root, refused if it declares a DTD or holds an entity."""
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlSecurityError(
            "XML declares a DOCTYPE/DTD (entities are refused: possible XXE or entity expansion)",
            file=source,
            line=1,
        )
    for node in root.iter(etree.Entity):
        raise XmlSecurityError(
            f"XML uses the entity &{node.name}; which nmlhub does not expand",
            file=source,
            line=node.sourceline,
        )
    return tree


def local_name(element: etree._Element) -> str:
    """Return an element's tag without its namespace."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def lems_type(element: etree._Element) -> str:
    """The ComponentType an element stands for: its tag, or ``type`` for a LEMS ``<Component>``."""
    tag = local_name(element)
    if tag == "Component" and element.get("type"):
        return element.get("type")
    return tag
