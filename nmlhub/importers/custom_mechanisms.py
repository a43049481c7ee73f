"""Channels kept as a reference to their NMODL file: the nmlhub annotation of a cell.

A cell imported from NEURON may use ``.mod`` mechanisms NeuroML cannot express. They are recorded
in the cell's ``<annotation>`` (any NeuroML tool still reads the cell; only nmlhub simulates these
channels)::

    <nmlhub:mechanisms xmlns:nmlhub="https://nmlhub.org/schema/mechanisms/1" version="1">
      <nmlhub:mod name="kslow" file="mods/kslow.mod" sha256="...">
        <nmlhub:global name="tau_kslow" value="20"/>
        <nmlhub:placement segmentGroup="soma">
          <nmlhub:parameter name="gbar" value="0.003"/>
          <nmlhub:ion name="ek" value="-80"/>
        </nmlhub:placement>
      </nmlhub:mod>
    </nmlhub:mechanisms>

``file`` is relative to the cell's file; values are in the units the ``.mod`` file declares
(NEURON's). A parameter given as ``values="a b c"`` has one value per NEURON segment of the
placement's group, which is then one section. The NEURON driver compiles the file with the
generated mechanisms and inserts it where the placements say.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import NmlhubError
from ..xmlsafe import parse_xml_bytes

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

NAMESPACE = "https://nmlhub.org/schema/mechanisms/1"


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


class CustomMechanismError(NmlhubError):
    """An nmlhub mechanisms annotation is malformed or names a missing file."""


@dataclass
class ModPlacement:
    """Where a ``.mod`` mechanism is inserted and with which values.

    ``parameters`` and ``ions`` map a name (parameters without the mechanism's suffix; ions as
    NEURON names them, ``ek``) to one value, or to one value per NEURON segment of the group.
    """

    segment_group: str
    parameters: dict[str, list[float]] = field(default_factory=dict)
    ions: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class ModMechanism:
    """A mechanism taken from a ``.mod`` file, as a cell's annotation records it."""

    name: str
    file: str
    sha256: str
    placements: list[ModPlacement] = field(default_factory=list)
    globals: dict[str, float] = field(default_factory=dict)

    def path(self, cell_file: str | Path) -> Path:
        """The ``.mod`` file, resolved against the folder of the cell's file."""
        return (Path(cell_file).parent / self.file).resolve()


def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _values(values: list[float]) -> dict[str, str]:
    if len(values) == 1:
        return {"value": repr(float(values[0]))}
    return {"values": " ".join(repr(float(v)) for v in values)}


def to_element(mechanisms: list[ModMechanism]) -> etree._Element:
    """The ``<nmlhub:mechanisms>`` element recording ``mechanisms``."""
    root = etree.Element(_q("mechanisms"), nsmap={"nmlhub": NAMESPACE}, version="1")
    for mech in mechanisms:
        mod = etree.SubElement(root, _q("mod"), name=mech.name, file=mech.file, sha256=mech.sha256)
        for name, value in mech.globals.items():
            etree.SubElement(mod, _q("global"), name=name, value=repr(float(value)))
        for placement in mech.placements:
            where = etree.SubElement(mod, _q("placement"), segmentGroup=placement.segment_group)
            for name, values in placement.parameters.items():
                etree.SubElement(where, _q("parameter"), name=name, **_values(values))
            for name, values in placement.ions.items():
                etree.SubElement(where, _q("ion"), name=name, **_values(values))
    return root


class AnnotationText:
    """Text libNeuroML's writer puts inside an ``<annotation>`` as it is (it writes ``str()``
    of each item)."""

    def __init__(self, element: etree._Element) -> None:
        self.text = etree.tostring(element, encoding="unicode")

    def __str__(self) -> str:
        return self.text


def _floats(element: etree._Element, where: str) -> list[float]:
    text = element.get("values") if element.get("values") is not None else element.get("value")
    try:
        values = [float(v) for v in (text or "").split()]
    except ValueError:
        values = []
    if not values:
        raise CustomMechanismError(f"{where}: <{etree.QName(element).localname} name="
                                   f"'{element.get('name')}'> needs a number in value or numbers in values")
    return values


def parse_element(root: etree._Element, where: str = "annotation") -> list[ModMechanism]:
    """The mechanisms an ``<nmlhub:mechanisms>`` element records."""
    found = []
    for mod in root.iter(_q("mod")):
        name, file = mod.get("name"), mod.get("file")
        if not name or not file:
            raise CustomMechanismError(f"{where}: <nmlhub:mod> needs name and file attributes")
        mech = ModMechanism(name, file, mod.get("sha256") or "")
        for item in mod.findall(_q("global")):
            mech.globals[item.get("name") or ""] = _floats(item, where)[0]
        for placed in mod.findall(_q("placement")):
            placement = ModPlacement(placed.get("segmentGroup") or "all")
            for item in placed.findall(_q("parameter")):
                placement.parameters[item.get("name") or ""] = _floats(item, where)
            for item in placed.findall(_q("ion")):
                placement.ions[item.get("name") or ""] = _floats(item, where)
            mech.placements.append(placement)
        found.append(mech)
    return found


def cell_mechanisms(cell: Any) -> list[ModMechanism]:
    """The ``.mod`` mechanisms recorded in a libNeuroML cell's annotation (none if it has none)."""
    annotation = getattr(cell, "annotation", None)
    found: list[ModMechanism] = []
    for item in getattr(annotation, "anytypeobjs_", None) or []:
        if isinstance(item, etree._Element):
            element = item
        else:
            text = str(item).strip()
            if NAMESPACE not in text:
                continue
            element = parse_xml_bytes(text.encode()).getroot()
        if element.tag == f"{{{RDF}}}RDF":  # as nmlhub writes it: RDF text jLEMS skips
            from ..model.rdf_payload import payload_in

            element = payload_in(element, NAMESPACE, "mechanisms", f"cell '{cell.id}'")
        if element is not None and element.tag == _q("mechanisms"):
            found += parse_element(element, f"cell '{cell.id}'")
    return found


def mechanisms_annotation(mechanisms: list[ModMechanism]) -> Any:
    """A libNeuroML annotation recording ``mechanisms`` (``<nmlhub:mechanisms>`` carried as RDF
    text, :mod:`nmlhub.model.rdf_payload`, so that jNeuroML still reads the cell file)."""
    import neuroml

    from ..model.rdf_payload import payload_annotation

    rdf = payload_annotation(to_element(mechanisms), NAMESPACE)[0]
    return neuroml.Annotation(anytypeobjs_=[AnnotationText(rdf)])


def model_problems(model: Any) -> list[Any]:
    """``nmlhub validate``'s findings on cells with ``.mod`` mechanisms: a warning per channel
    (other NeuroML tools cannot simulate it), an error for a missing file, a warning when the
    file changed since the cell recorded it."""
    from ..model.records import Problem

    problems = []
    for comp_id, record in model.components.items():
        if record.type not in ("cell", "cell2CaPools"):
            continue
        file, line = record.location.file, record.location.line
        try:
            mechanisms = cell_mechanisms(record.obj)
        except NmlhubError as exc:
            problems.append(Problem(exc.message, file, line, f"cell {comp_id}"))
            continue
        for mech in mechanisms:
            path = mech.path(file)
            element = f"cell {comp_id}"
            if not path.exists():
                problems.append(Problem(f"channel '{mech.name}': NMODL file {mech.file} not found "
                                        f"(looked for {path})", file, line, element))
                continue
            problems.append(Problem(
                f"channel '{mech.name}' is NEURON mechanism {mech.file} (an nmlhub annotation): nmlhub "
                "simulates it, other NeuroML tools (jNeuroML, NetPyNE, ...) cannot", file, line, element,
                "warning"))
            if mech.sha256 and file_sha256(path) != mech.sha256:
                problems.append(Problem(f"channel '{mech.name}': {mech.file} changed since the cell was "
                                        "written (its sha256 differs)", file, line, element, "warning"))
    return problems
