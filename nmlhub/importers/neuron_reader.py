"""Instantiate a user's cell in NEURON and describe it as plain data (JSON).

Run as its own process (``python -m nmlhub.importers.neuron_reader FILE --template NAME ...``), so
the user's code, its ``.mod`` files and any NEURON globals it sets (``celsius``...) never touch
the caller's process. :func:`read_cell` starts that process and returns what it printed.

The description (a dict, see :func:`describe`) holds, per section: its name, parent and the
point it attaches at, its 3D points, ``nseg``, ``Ra``, ``cm`` per segment, every inserted
density mechanism's PARAMETER values per segment and ion reversal potentials per segment; and
the template's section lists, the ``.mod`` file of each user mechanism and their GLOBAL values.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..errors import NmlhubError


class CellImportError(NmlhubError):
    """A cell cannot be read or converted."""


#: NEURON mechanisms handled without a .mod reference (mapped to NeuroML, or ion bookkeeping).
MAPPED = {"pas", "hh"}


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_cell(path: str | Path, template: str | None = None, cls: str | None = None,
              args: list[str] | None = None, mod_dir: str | Path | None = None,
              timeout: float = 300.0) -> dict[str, Any]:
    """Describe a HOC template or Python cell class, instantiated in a fresh NEURON process.

    Parameters
    ----------
    path
        A ``.hoc`` file defining ``template``, or a ``.py`` file defining the class ``cls``.
    template, cls
        The HOC template or Python class to instantiate (one of them).
    args
        Arguments of the template or class (numbers where they read as numbers).
    mod_dir
        A folder of ``.mod`` files the cell needs; compiled (cached by content) and loaded first.

    Returns
    -------
    dict
        The plain-data description (see the module docstring).

    Raises
    ------
    CellImportError
        The file is missing, the code fails in NEURON (with its message), or the cell is empty.
    """
    path = Path(path).resolve()
    if not path.exists():
        raise CellImportError(f"{path}: file not found")
    if (template is None) == (cls is None):
        raise CellImportError("give either a HOC template name or a Python class name", file=path)
    command = [sys.executable, "-m", "nmlhub.importers.neuron_reader", str(path)]
    command += ["--template", template] if template else ["--class", cls or ""]
    if mod_dir is not None:
        if not Path(mod_dir).is_dir():
            raise CellImportError(f"{mod_dir}: not a folder of .mod files")
        command += ["--mod-dir", str(Path(mod_dir).resolve())]
    with tempfile.TemporaryDirectory(prefix="nmlhub-import-") as tmp:
        out = Path(tmp) / "cell.json"
        command += ["--out", str(out)]
        if args:
            command += ["--args", *[str(a) for a in args]]
        env = dict(os.environ, NEURON_MODULE_OPTIONS="-nogui")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                                  cwd=str(path.parent))
        except subprocess.TimeoutExpired:
            raise CellImportError(f"instantiating the cell took more than {timeout:g} s", file=path) from None
        if done.returncode != 0 or not out.exists():
            lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            reasons = [ln for ln in lines if ln.startswith("NEURON:") or " near line " in ln][:2]
            reasons += lines[-1:] if lines else [f"exit status {done.returncode}"]
            raise CellImportError("NEURON could not instantiate the cell: " + " | ".join(reasons), file=path)
        return json.loads(out.read_text())


# -- inside the fresh process ----------------------------------------------------------------------

def _section_name(sec: Any) -> str:
    full = sec.name()
    owner = sec.cell()
    if owner is not None and full.startswith(f"{owner}."):
        full = full[len(f"{owner}."):]
    return full


def _clean_id(name: str) -> str:
    text = re.sub(r"\[(\d+)\]", r"_\1", name)
    text = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return text if re.match(r"[A-Za-z_]", text) else f"s_{text}"


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
    names: dict[Any, str] = {}
    for sec in sections:
        name = _clean_id(_section_name(sec))
        while name in names.values():
            name += "_"
        names[sec] = name
    described = []
    parameters: dict[str, list[str]] = {}
    for sec in sections:
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
        described.append(entry)
    point_processes = [name for name in ("IClamp", "VClamp", "SEClamp", "ExpSyn", "Exp2Syn", "AlphaSynapse")
                       if hasattr(h, name) and len(h.List(name)) > 0]
    point_processes += [m for m in user_mods if hasattr(h, m) and _is_point_process(h, m) and len(h.List(m)) > 0]
    if point_processes:
        warnings.append(f"point processes in the cell are not imported: {', '.join(point_processes)}")
    globals_ = {}
    for mech, _file in user_mods.items():
        if _is_point_process(h, mech):
            continue
        names_ = _parameters(h, mech, -1)
        globals_[mech] = {n: float(getattr(h, n)) for n in names_ if isinstance(getattr(h, n, None), float)}
    return {
        "sections": described,
        "section_lists": _section_lists(h, cell, names),
        "points_from": points_from,
        "celsius": float(h.celsius),
        "mod_files": user_mods,
        "globals": globals_,
        "warnings": warnings,
    }


def _is_point_process(h: Any, mechanism: str) -> bool:
    kind = h.MechanismType(1)
    name = h.ref("")
    for i in range(int(kind.count())):
        kind.select(i)
        kind.selected(name)
        if name[0] == mechanism:
            return True
    return False


def _load_mods(h: Any, mod_dir: Path) -> dict[str, str]:
    from ..neuron.mechcache import load_user_library, mod_suffixes, user_library

    files = sorted(mod_dir.glob("*.mod"))
    if not files:
        raise CellImportError(f"{mod_dir}: no .mod files")
    by_name: dict[str, str] = {}
    for file in files:
        for name in mod_suffixes(file.read_text(errors="replace")):
            by_name[name] = str(file)
    load_user_library(user_library(files), list(by_name))
    return by_name


def main(argv: list[str] | None = None) -> int:
    """Entry point of the reader process; writes the description as JSON to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m nmlhub.importers.neuron_reader")
    parser.add_argument("file", type=Path)
    parser.add_argument("--template")
    parser.add_argument("--class", dest="cls")
    parser.add_argument("--args", nargs="*", default=[])
    parser.add_argument("--mod-dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args(argv)
    from neuron import h

    user_mods = _load_mods(h, options.mod_dir) if options.mod_dir else {}
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
