"""Instantiate a user's cell in NEURON and describe it as plain data (JSON).

Run as its own process (``python -m nmlhub.neuron.cell_reader FILE --template NAME ...``), so
the user's code, its ``.mod`` files and any NEURON globals it sets (``celsius``...) never touch
the caller's process. :func:`read_cell` starts that process and returns what it printed.

The description (a dict, see :func:`nmlhub.neuron.cell_reader.describe`) holds, per section: its name, parent and the
point it attaches at, its 3D points, ``nseg``, ``Ra``, ``cm`` per segment, every inserted
density mechanism's PARAMETER values per segment and ion reversal potentials per segment; and
the template's section lists, the ``.mod`` file of each user mechanism and their GLOBAL values.
"""

from __future__ import annotations

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
    command = [sys.executable, "-m", "nmlhub.neuron.cell_reader", str(path)]
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


def _clean_id(name: str) -> str:
    text = re.sub(r"\[(\d+)\]", r"_\1", name)
    text = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return text if re.match(r"[A-Za-z_]", text) else f"s_{text}"
