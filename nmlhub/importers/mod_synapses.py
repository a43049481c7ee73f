"""Synapses kept as a reference to the user's own NMODL ``POINT_PROCESS``: an nmlhub annotation.

A synapse type NeuroML cannot express (any ``.mod`` point process with a ``NET_RECEIVE`` block)
is written as a ``<silentSynapse>`` (so every NeuroML tool still reads the file, and sees a
synapse that does nothing) whose ``<annotation>`` says what nmlhub simulates instead::

    <nmlhub:mechanisms xmlns:nmlhub="https://nmlhub.org/schema/mechanisms/1" version="1">
      <nmlhub:synapse mod="MySyn" file="mods/mysyn.mod" sha256="...">
        <nmlhub:parameter name="tau1" value="0.1"/>
      </nmlhub:synapse>
    </nmlhub:mechanisms>

``file`` is relative to the NeuroML file holding the synapse; parameter values, and the weights
of connections through this synapse, are in the units the ``.mod`` file declares (NEURON's, as
in NetPyNE: ``Exp2Syn``'s weight is a peak conductance in uS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import NmlhubError
from ..model.mod_files import point_process_synapse
from ..xmlsafe import parse_xml_bytes
from .custom_mechanisms import NAMESPACE, RDF, AnnotationText, CustomMechanismError, file_sha256


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


@dataclass
class ModSynapse:
    """A synapse type taken from a ``.mod`` point process, as its annotation records it."""

    mechanism: str
    file: str
    sha256: str = ""
    parameters: dict[str, float] = field(default_factory=dict)

    def path(self, nml_file: str | Path) -> Path:
        """The ``.mod`` file, resolved against the folder of the NeuroML file holding the synapse."""
        return (Path(nml_file).parent / self.file).resolve()


def to_element(synapse: ModSynapse) -> etree._Element:
    """The ``<nmlhub:mechanisms>`` element recording ``synapse``."""
    root = etree.Element(_q("mechanisms"), nsmap={"nmlhub": NAMESPACE}, version="1")
    made = etree.SubElement(root, _q("synapse"), mod=synapse.mechanism, file=synapse.file, sha256=synapse.sha256)
    for name, value in synapse.parameters.items():
        etree.SubElement(made, _q("parameter"), name=name, value=repr(float(value)))
    return root


def silent_synapse(synapse_id: str, synapse: ModSynapse) -> Any:
    """The libNeuroML ``silentSynapse`` standing for ``synapse``, with its annotation."""
    import neuroml

    from ..model.rdf_payload import payload_annotation

    rdf = payload_annotation(to_element(synapse), NAMESPACE)[0]
    return neuroml.SilentSynapse(id=synapse_id, annotation=neuroml.Annotation(anytypeobjs_=[AnnotationText(rdf)]),
                                 notes=f"Simulated by nmlhub as NEURON point process {synapse.mechanism} "
                                       f"({synapse.file})")


def component_mod_synapse(component: Any) -> ModSynapse | None:
    """The ``.mod`` synapse a libNeuroML component's annotation records (None if none)."""
    annotation = getattr(component, "annotation", None)
    where = f"synapse '{getattr(component, 'id', '?')}'"
    for item in getattr(annotation, "anytypeobjs_", None) or []:
        if isinstance(item, etree._Element):
            element = item
        else:
            text = str(item).strip()
            if NAMESPACE not in text:
                continue
            element = parse_xml_bytes(text.encode()).getroot()
        if element.tag == f"{{{RDF}}}RDF":
            from ..model.rdf_payload import payload_in

            element = payload_in(element, NAMESPACE, "mechanisms", where)
        made = element.find(_q("synapse")) if element is not None else None
        if made is None:
            continue
        if not made.get("mod") or not made.get("file"):
            raise CustomMechanismError(f"{where}: <nmlhub:synapse> needs mod and file attributes")
        values = {}
        for item in made.findall(_q("parameter")):
            try:
                values[item.get("name") or ""] = float(item.get("value") or "")
            except ValueError:
                raise CustomMechanismError(f"{where}: parameter '{item.get('name')}' needs a number in value") from None
        return ModSynapse(made.get("mod") or "", made.get("file") or "", made.get("sha256") or "", values)
    return None


def check_mod_synapse(synapse: ModSynapse, mod_path: Path, synapse_id: str) -> None:
    """Refuse (naming the synapse and the file) a ``.mod`` file that is missing, is not a
    ``POINT_PROCESS`` with ``NET_RECEIVE`` of the recorded name, or lacks a given parameter."""
    where = f"synapse '{synapse_id}' ({mod_path})"
    if not mod_path.is_file():
        raise NmlhubError(f"synapse '{synapse_id}': NMODL file {synapse.file} not found (looked for {mod_path})")
    name, receives, parameters = point_process_synapse(mod_path.read_text(errors="replace"))
    if name is None or not receives:
        raise NmlhubError(f"{where}: not a synapse: a synapse's .mod file needs a POINT_PROCESS and a "
                          "NET_RECEIVE block")
    if name != synapse.mechanism:
        raise NmlhubError(f"{where}: defines POINT_PROCESS {name}, not {synapse.mechanism}")
    unknown = sorted(set(synapse.parameters) - parameters)
    if unknown:
        raise NmlhubError(f"{where}: {', '.join(unknown)} is not a RANGE parameter of {name} "
                          f"(its RANGE parameters: {', '.join(sorted(parameters)) or 'none'})")


def mod_synapse_for(synapse_id: str, mod_file: str | Path, folder: str | Path,
                    parameters: dict[str, float]) -> ModSynapse:
    """A checked :class:`ModSynapse` for ``mod_file``'s point process, its file relative to
    ``folder`` (where the NeuroML file will be)."""
    import os

    source = Path(mod_file).resolve()
    name = point_process_synapse(source.read_text(errors="replace"))[0] if source.is_file() else None
    made = ModSynapse(name or "", Path(os.path.relpath(source, Path(folder).resolve())).as_posix(),
                      file_sha256(source) if source.is_file() else "",
                      {k: float(v) for k, v in parameters.items()})
    check_mod_synapse(made, source, synapse_id)
    return made


def model_problems(model: Any) -> list[Any]:
    """``nmlhub validate``'s findings on synapses kept as ``.mod`` files: a warning each (other
    NeuroML tools see a silent synapse), an error when the file is missing or not such a synapse
    or lacks a parameter, a warning when the file changed since the synapse recorded it."""
    from ..model.records import Problem

    problems = []
    for comp_id, record in model.components.items():
        file, line, element = record.location.file, record.location.line, f"synapse {comp_id}"
        try:
            synapse = component_mod_synapse(record.obj)
            if synapse is None:
                continue
            path = synapse.path(file)
            check_mod_synapse(synapse, path, comp_id)
        except NmlhubError as exc:
            problems.append(Problem(exc.message, file, line, element))
            continue
        problems.append(Problem(
            f"synapse '{comp_id}' is NEURON point process {synapse.mechanism} of {synapse.file} (an nmlhub "
            "annotation): nmlhub simulates it, other NeuroML tools see a silentSynapse", file, line, element,
            "warning"))
        if synapse.sha256 and file_sha256(path) != synapse.sha256:
            problems.append(Problem(f"synapse '{comp_id}': {synapse.file} changed since the synapse was written "
                                    "(its sha256 differs)", file, line, element, "warning"))
    return problems
