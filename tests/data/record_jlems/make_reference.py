#!/usr/bin/env python
"""Make the jLEMS reference of tests/test_record_jlems.py (run by hand, never by pytest).

    python tests/data/record_jlems/make_reference.py

Copies this folder to a scratch directory, runs ``jnml LEMS_record.xml -nogui`` there (jLEMS,
dt 0.01 ms, 50 ms) and stores the OutputFile ``record.reference.dat`` as ``reference.npz``:
``time_s`` and one array per column (``v``, ``g``, ``i``, ``m``, ``n``: the HH cell's membrane
potential, its synapse's conductance and current, its Na m and K n gates; SI units, as jLEMS
writes them), plus ``jnml_version`` (the first line ``jnml -v`` prints).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from lxml import etree

HERE = Path(__file__).resolve().parent


def store_jlems_columns(folder: Path, lems_name: str, output_name: str) -> None:
    """Run ``jnml LEMS_NAME -nogui`` in a scratch copy of ``folder`` and store its OutputFile
    ``output_name`` as ``folder/reference.npz`` (``time_s``, one array per OutputColumn id,
    ``jnml_version``)."""
    lems = folder / lems_name
    columns = [c.get("id") for c in etree.parse(str(lems)).getroot().iter("OutputColumn")]
    with tempfile.TemporaryDirectory(prefix="jlems-reference-") as tmp:
        work = Path(tmp) / "model"
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
        subprocess.run(["jnml", lems.name, "-nogui"], cwd=work, check=True, capture_output=True)
        table = np.loadtxt(work / output_name, ndmin=2)
        version = subprocess.run(["jnml", "-v"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    arrays = {name: table[:, k + 1] for k, name in enumerate(columns)}
    np.savez_compressed(folder / "reference.npz", time_s=table[:, 0], jnml_version=np.array(version), **arrays)
    print(f"wrote {folder / 'reference.npz'}: {len(table)} rows, columns {', '.join(columns)} ({version})")


def main() -> None:
    store_jlems_columns(HERE, "LEMS_record.xml", "record.reference.dat")


if __name__ == "__main__":
    main()
