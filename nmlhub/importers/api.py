"""Import a cell file (HOC template, Python cell class or SWC) and write it as a NeuroML cell."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import neuroml
import neuroml.writers

from .neuron_reader import CellImportError, read_cell
from .swc import swc_morphology
from .to_neuroml import description_to_document


def _default_id(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return text if re.match(r"[A-Za-z_]", text) else f"cell_{text}"


@dataclass(frozen=True)
class ImportOptions:
    """What :func:`import_cell` takes besides its files (its keyword arguments).

    Attributes
    ----------
    template, cls, args
        The HOC template or Python class to instantiate and its arguments.
    mod_dir
        The folder of the ``.mod`` files the cell uses; mechanisms without a NeuroML equivalent
        are recorded as references to them, relative to the written file.
    cell_id
        The NeuroML cell's id (default: the template, class or SWC file name).
    v_init_mv, threshold_mv
        Initial membrane potential and spike threshold written into the cell.
    """

    template: str | None = None
    cls: str | None = None
    args: list[Any] | None = None
    mod_dir: str | Path | None = None
    cell_id: str | None = None
    v_init_mv: float = -65.0
    threshold_mv: float = 0.0


def import_cell(source: str | Path, out: str | Path, *, validate: bool = True, **options: Any) -> dict[str, Any]:
    """Write a cell from NEURON code or an SWC file as a NeuroML cell file.

    Parameters
    ----------
    source
        A ``.hoc`` file (with ``template``), a ``.py`` file (with ``cls``) or a ``.swc`` file.
    out
        The NeuroML file to write (``.cell.nml`` by convention).
    validate
        Check the written file against the NeuroML schema.
    **options
        ``template``, ``cls``, ``args``, ``mod_dir``, ``cell_id``, ``v_init_mv``, ``threshold_mv``:
        see :class:`ImportOptions`.

    Returns
    -------
    dict
        ``cell_id``, ``path``, the number of ``segments`` and ``sections``, the ``mod_files``
        kept as references and the reader's ``warnings``.

    Raises
    ------
    CellImportError
        The cell cannot be read or expressed (the message says why).
    nmlhub.importers.swc.SwcError
        A malformed SWC file (naming file and line).
    """
    unknown = sorted(set(options) - {f.name for f in fields(ImportOptions)})
    if unknown:
        raise TypeError(f"import_cell() got an unexpected keyword argument '{unknown[0]}'")
    opts = ImportOptions(**options)
    source, out = Path(source), Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() == ".swc":
        cell_id, document, data = _swc_document(source, opts)
    else:
        cell_id, document, data = _neuron_document(source, out, opts)
    neuroml.writers.NeuroMLWriter.write(document, str(out))
    if validate:
        _validate(out)
    cell = document.cells[0]
    return {"cell_id": cell_id, "path": out, "segments": len(cell.morphology.segments),
            "sections": sum(1 for g in cell.morphology.segment_groups if g.neuro_lex_id == "sao864921383"),
            "mod_files": sorted({data["mod_files"][m] for s in data.get("sections", [])
                                 for m in s["mechanisms"] if m in data["mod_files"]}), "warnings": data["warnings"],
            "celsius": data.get("celsius")}


def _swc_document(source: Path, opts: ImportOptions) -> tuple[str, Any, dict[str, Any]]:
    cell_id = opts.cell_id or _default_id(source.stem)
    morphology = swc_morphology(source, f"{cell_id}_morphology")
    document = neuroml.NeuroMLDocument(id=cell_id)
    document.cells.append(neuroml.Cell(id=cell_id, morphology=morphology,
                                       notes=f"Morphology imported by nmlhub from {source.name}"))
    return cell_id, document, {"warnings": [], "mod_files": {}}


def _neuron_document(source: Path, out: Path, opts: ImportOptions) -> tuple[str, Any, dict[str, Any]]:
    if source.suffix not in (".hoc", ".py"):
        raise CellImportError(f"{source}: expected a .hoc, .py or .swc file")
    data = read_cell(source, template=opts.template, cls=opts.cls, args=[str(a) for a in opts.args or []],
                     mod_dir=opts.mod_dir)
    cell_id = opts.cell_id or _default_id(opts.template or opts.cls or source.stem)
    document = description_to_document(data, cell_id, out.parent, opts.v_init_mv, opts.threshold_mv)
    return cell_id, document, data


def _validate(path: Path) -> None:
    from ..model.validate import neuroml_schema
    from ..xmlsafe import parse_xml_file

    schema = neuroml_schema()
    if not schema.validate(parse_xml_file(path)):
        first = schema.error_log[0]
        raise CellImportError(f"the written cell does not validate: {first.message}", file=path, line=first.line)
