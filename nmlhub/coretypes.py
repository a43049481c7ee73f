"""The NeuroML2 core type definitions shipped inside pyNeuroML's jNeuroML jar.

Java is never run: the jar is a zip file and the LEMS definitions inside it are read with
:mod:`zipfile`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import zipfile
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from lxml import etree

from .atomic import write_bytes
from .errors import CoreTypesError
from .xmlsafe import local_name, parse_xml_bytes

CORE_TYPES_DIR = "NeuroML2CoreTypes/"


@functools.lru_cache(maxsize=1)
def jneuroml_jar() -> Path:
    """Return the path of the jNeuroML jar that pyNeuroML ships.

    Raises
    ------
    CoreTypesError
        pyNeuroML is not installed or carries no jar.
    """
    try:
        lib = resources.files("pyneuroml") / "lib"
    except ModuleNotFoundError as exc:
        raise CoreTypesError("pyNeuroML is not installed; it provides the NeuroML2 core types") from exc
    jars = sorted(Path(str(lib)).glob("jNeuroML*.jar"))
    if not jars:
        raise CoreTypesError(f"no jNeuroML jar found in {lib}")
    return jars[-1]


@functools.lru_cache(maxsize=None)
def _jar_names() -> tuple[str, ...]:
    with zipfile.ZipFile(jneuroml_jar()) as jar:
        return tuple(jar.namelist())


def read_jar_file(name: str) -> bytes:
    """Return the bytes of one file inside the jNeuroML jar (e.g. ``LEMSexamples/LEMS_NML2_Ex2_Izh.xml``).
    The core type files are read once per process (opening the jar's directory is slow)."""
    if name.startswith(CORE_TYPES_DIR):
        files = _core_type_files()
        if name in files:
            return files[name]
    try:
        with zipfile.ZipFile(jneuroml_jar()) as jar:
            return jar.read(name)
    except KeyError as exc:
        raise CoreTypesError(f"{name} is not in {jneuroml_jar().name}") from exc


@functools.lru_cache(maxsize=1)
def _core_type_files() -> Mapping[str, bytes]:
    """The core type files, from the small copy beside nmlhub's other caches when there is one
    (the jar's directory lists 13,000 files: reading it costs every run and every MPI rank
    0.15 s), else from the jar, leaving that copy for the next run."""
    return MappingProxyType(read_core_type_files(jneuroml_jar(), core_types_copy_path(jneuroml_jar())))


def core_types_copy_path(jar: Path) -> Path | None:
    """Where the copy of a jar's core type files is kept: under ``$NMLHUB_CACHE`` (or
    ``~/.cache/nmlhub``), named by the jar's path, size and modification time, so a changed jar
    is read anew. None when the jar cannot be examined."""
    try:
        status = jar.stat()
    except OSError:
        return None
    key = hashlib.sha1(f"{jar.resolve()}|{status.st_size}|{status.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_base() / "coretypes" / f"{jar.stem}-{key}.zip"


def cache_base() -> Path:
    """nmlhub's cache folder: ``$NMLHUB_CACHE`` or ``~/.cache/nmlhub``."""
    return Path(os.environ.get("NMLHUB_CACHE", Path.home() / ".cache" / "nmlhub"))


def read_core_type_files(jar: Path, copy: Path | None) -> dict[str, bytes]:
    """The core type files (name inside the jar -> bytes): from ``copy`` when it can be read,
    else from ``jar``, then written to ``copy`` (atomically; a cache that cannot be written is
    passed over, the files are the same)."""
    if copy is not None and copy.is_file():
        try:
            with zipfile.ZipFile(copy) as kept:
                files = {n: kept.read(n) for n in kept.namelist()}
            if files:
                return files
        except (OSError, zipfile.BadZipFile):
            pass
    with zipfile.ZipFile(jar) as whole:
        files = {n: whole.read(n) for n in whole.namelist() if n.startswith(CORE_TYPES_DIR) and not n.endswith("/")}
    if copy is not None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as kept:
            for name, data in files.items():
                kept.writestr(name, data)
        try:
            write_bytes(copy, buffer.getvalue())
        except OSError:
            pass
    return files


def list_jar_files(prefix: str) -> list[str]:
    """Names of the files in the jar under ``prefix`` (folders excluded); the core type files'
    (``NeuroML2CoreTypes/...``) without opening the jar."""
    if prefix.startswith(CORE_TYPES_DIR):
        return [n for n in _core_type_files() if n.startswith(prefix)]
    return [n for n in _jar_names() if n.startswith(prefix) and not n.endswith("/")]


@functools.lru_cache(maxsize=1)
def core_type_file_names() -> frozenset[str]:
    """Base names of the core type files (``Cells.xml``, ``Networks.xml``, ...).

    An ``<Include>`` of one of these is provided by nmlhub itself and never read from disk.
    """
    return frozenset(n[len(CORE_TYPES_DIR):] for n in list_jar_files(CORE_TYPES_DIR))


def core_files_included(names: Iterable[str]) -> frozenset[str]:
    """The core type files (base names) jLEMS reads for ``<Include>`` elements of ``names``: those and
    the core files they include in turn (``Cells.xml`` brings ``Channels.xml``, ``Synapses.xml``...).

    Examples
    --------
    >>> "Inputs.xml" in core_files_included(["Cells.xml"]), "Simulation.xml" in core_files_included(["Cells.xml"])
    (True, False)
    """
    found: set[str] = set()
    pending = [n for n in names if n in core_type_file_names()]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        root = parse_xml_bytes(read_jar_file(CORE_TYPES_DIR + name), source=name).getroot()
        pending += [e.get("file", "") for e in root if local_name(e) == "Include"
                    and e.get("file", "") in core_type_file_names()]
    return frozenset(found)


@dataclass
class CoreTypeInfo:
    """Name, parent and source file of one core ComponentType."""

    name: str
    extends: str | None
    file: str
    parameters: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def core_component_types() -> dict[str, CoreTypeInfo]:
    """Every ComponentType of the NeuroML2 core type files, by name."""
    types: dict[str, CoreTypeInfo] = {}
    for name in list_jar_files(CORE_TYPES_DIR):
        root = parse_xml_bytes(read_jar_file(name), source=name).getroot()
        for element in root:
            if local_name(element) != "ComponentType":
                continue
            params = {
                child.get("name", ""): child.get("dimension", "none")
                for child in element
                if local_name(child) == "Parameter"
            }
            types[element.get("name")] = CoreTypeInfo(
                element.get("name"), element.get("extends"), name, params
            )
    return types


def core_dimensions_xml() -> etree._Element:
    """The parsed ``NeuroMLCoreDimensions.xml`` root element."""
    data = read_jar_file(CORE_TYPES_DIR + "NeuroMLCoreDimensions.xml")
    return parse_xml_bytes(data, source="NeuroMLCoreDimensions.xml").getroot()
