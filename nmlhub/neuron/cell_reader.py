"""The reader process of :func:`nmlhub.importers.neuron_reader.read_cell`: instantiate a user's
cell in a fresh NEURON process and write it as plain data (JSON).

Run as ``python -m nmlhub.neuron.cell_reader FILE --template NAME --out FILE ...``; the description
is documented in :mod:`nmlhub.importers.neuron_reader`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..importers.neuron_reader import CellImportError, _clean_id
from ..model.mod_files import mechanisms_in
from .mechcache import load_user_library, user_library

#: NEURON mechanisms handled without a .mod reference (mapped to NeuroML, or ion bookkeeping).
MAPPED = {"pas", "hh"}


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _section_name(sec: Any) -> str:
    full = sec.name()
    owner = sec.cell()
    if owner is not None and full.startswith(f"{owner}."):
        full = full[len(f"{owner}."):]
    return full


def _parameters(h: Any, mechanism: str, vartype: int) -> list[str]:
    standard = h.MechanismStandard(mechanism, vartype)
    name = h.ref("")
    found = []
    for i in range(int(standard.count())):
        standard.name(name, i)
        found.append(name[0])
    return found


def _instantiate(h: Any, path: Path, template: str | None, cls: str | None, args: list[Any]) -> Any:
    if path.suffix == ".py":
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise CellImportError(f"{path}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        factory = getattr(module, cls or "", None)
        if factory is None:
            raise CellImportError(f"{path}: no class '{cls}'")
        return factory(*args)
    if not h.load_file(str(path)):
        raise CellImportError(f"{path}: NEURON could not load the file")
    factory = getattr(h, template or "", None)
    if factory is None:
        raise CellImportError(f"{path}: no template '{template}' (is it spelled as in begintemplate?)")
    return factory(*args)


def _section_lists(h: Any, cell: Any, names: dict[Any, str]) -> dict[str, list[str]]:
    """The cell's public section lists (HOC) or SectionList / list-of-sections attributes (Python)."""
    if type(cell).__name__ == "HocObject":
        items = [(attr, getattr(cell, attr, None)) for attr in dir(cell) if not attr.startswith("_")]
    else:
        items = list(vars(cell).items())
    lists: dict[str, list[str]] = {}
    for attr, value in items:
        members = None
        if hasattr(value, "hname") and str(value.hname()).startswith("SectionList"):
            members = list(value)
        elif isinstance(value, (list, tuple)) and value and all(type(v).__name__ == "Section" for v in value):
            members = list(value)
        if members is not None:
            lists[_clean_id(attr)] = [names[s] for s in members if s in names]
    return lists


def describe(h: Any, cell: Any, user_mods: dict[str, str]) -> dict[str, Any]:
    """Plain data describing every section NEURON holds (the cell, in a fresh process)."""
    sections = list(h.allsec())
    if not sections:
        raise CellImportError("instantiating the cell created no section")
    warnings = []
    points_from = "pt3d"
    if any(h.n3d(sec=sec) == 0 for sec in sections):
        h.define_shape()  # 3D points from L and diam, laid out as NEURON draws the cell
        points_from = "define_shape"
        warnings.append("some sections had no 3D points: they come from h.define_shape() "
                        "(L and diam, drawn along straight lines)")
    names = _section_names(sections)
    parameters: dict[str, list[str]] = {}
    described = [_describe_section(h, sec, names, parameters, user_mods) for sec in sections]
    point_processes = [name for name in ("IClamp", "VClamp", "SEClamp", "ExpSyn", "Exp2Syn", "AlphaSynapse")
                       if hasattr(h, name) and len(h.List(name)) > 0]
    point_processes += [m for m in user_mods if hasattr(h, m) and _is_point_process(h, m) and len(h.List(m)) > 0]
    if point_processes:
        warnings.append(f"point processes in the cell are not imported: {', '.join(point_processes)}")
    return {
        "sections": described,
        "section_lists": _section_lists(h, cell, names),
        "points_from": points_from,
        "celsius": float(h.celsius),
        "mod_files": user_mods,
        "globals": _globals(h, user_mods),
        "warnings": warnings,
    }


def _section_names(sections: list[Any]) -> dict[Any, str]:
    """A distinct NeuroML id for each section."""
    names: dict[Any, str] = {}
    for sec in sections:
        name = _clean_id(_section_name(sec))
        while name in names.values():
            name += "_"
        names[sec] = name
    return names


def _describe_section(h: Any, sec: Any, names: dict[Any, str], parameters: dict[str, list[str]],
                      user_mods: dict[str, str]) -> dict[str, Any]:
    """One section's geometry, passive properties and mechanism values per segment; ``parameters``
    caches each mechanism's PARAMETER names."""
    parent = sec.parentseg()
    entry: dict[str, Any] = {
        "name": names[sec],
        "neuron_name": sec.name(),
        "parent": names[parent.sec] if parent is not None else None,
        "parent_x": float(parent.x) if parent is not None else None,
        "orientation": float(h.section_orientation(sec=sec)),
        "points": [[sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)] for i in range(int(sec.n3d()))],
        "L": sec.L,
        "nseg": int(sec.nseg),
        "Ra": sec.Ra,
        "cm": [seg.cm for seg in sec],
        "mechanisms": {},
        "ions": {},
    }
    for seg in sec:
        for mech in seg:
            mname = mech.name()
            if mname.endswith("_ion"):
                ion = mname[:-4]
                values = entry["ions"].setdefault(ion, {})
                values.setdefault(f"e{ion}", []).append(getattr(seg, f"e{ion}"))
                continue
            if mname not in parameters:
                parameters[mname] = _parameters(h, mname, 1)
            values = entry["mechanisms"].setdefault(mname, {})
            for full in parameters[mname]:
                values.setdefault(full.removesuffix(f"_{mname}"), []).append(getattr(seg, full))
    unknown = [m for m in entry["mechanisms"] if m not in MAPPED and m not in user_mods]
    if unknown:
        raise CellImportError(f"section {sec.name()}: mechanism(s) {', '.join(unknown)} are NEURON's own "
                              "and have no NeuroML equivalent in nmlhub (only pas and hh do), nor a "
                              ".mod file in --mod-dir")
    return entry


def _globals(h: Any, user_mods: dict[str, str]) -> dict[str, dict[str, float]]:
    """GLOBAL values of the user's density mechanisms."""
    globals_ = {}
    for mech in user_mods:
        if _is_point_process(h, mech):
            continue
        names_ = _parameters(h, mech, -1)
        globals_[mech] = {n: float(getattr(h, n)) for n in names_ if isinstance(getattr(h, n, None), float)}
    return globals_


def _is_point_process(h: Any, mechanism: str) -> bool:
    kind = h.MechanismType(1)
    name = h.ref("")
    for i in range(int(kind.count())):
        kind.select(i)
        kind.selected(name)
        if name[0] == mechanism:
            return True
    return False


def _load_mods(mod_dir: Path) -> dict[str, str]:
    files = sorted(mod_dir.glob("*.mod"))
    if not files:
        raise CellImportError(f"{mod_dir}: no .mod files")
    by_name = mechanisms_in(files)
    load_user_library(user_library(files), list(by_name))
    return by_name


def main(argv: list[str] | None = None) -> int:
    """Entry point of the reader process; writes the description as JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m nmlhub.neuron.cell_reader")
    parser.add_argument("file", type=Path)
    parser.add_argument("--template")
    parser.add_argument("--class", dest="cls")
    parser.add_argument("--args", nargs="*", default=[])
    parser.add_argument("--mod-dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args(argv)
    from neuron import h

    user_mods = _load_mods(options.mod_dir) if options.mod_dir else {}
    path = options.file.resolve()
    os.chdir(path.parent)  # templates often load their other files relative to their own folder
    try:
        cell = _instantiate(h, path, options.template, options.cls, [_number(a) for a in options.args])
        data = describe(h, cell, user_mods)
    except CellImportError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    data.update(source=str(path), template=options.template or options.cls, args=options.args)
    options.out.write_text(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
