#!/usr/bin/env python
"""Make the jLEMS reference of tests/test_recorded_currents.py (run by hand, never by pytest).

    python tests/data/recorded_currents/make_reference.py

Copies this folder to a scratch directory, runs ``jnml LEMS_currents.xml -nogui`` there (jLEMS,
dt 0.01 ms, 80 ms) and stores the OutputFile ``currents.reference.dat`` as ``reference.npz``:
``time_s`` and one array per column (``iaf_v``, ``iaf_iSyn``, ``iaf_iMemb``...: each point cell's
membrane potential, the sum of its synapses' and inputs' currents and its membrane current; SI
units, as jLEMS writes them), plus ``jnml_version`` (the first line ``jnml -v`` prints).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from lxml import etree

HERE = Path(__file__).resolve().parent


def main() -> None:
    lems = HERE / "LEMS_currents.xml"
    columns = [c.get("id") for c in etree.parse(str(lems)).getroot().iter("OutputColumn")]
    with tempfile.TemporaryDirectory(prefix="record-jlems-") as tmp:
        work = Path(tmp) / "model"
        shutil.copytree(HERE, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
        subprocess.run(["jnml", lems.name, "-nogui"], cwd=work, check=True, capture_output=True)
        table = np.loadtxt(work / "currents.reference.dat", ndmin=2)
        version = subprocess.run(["jnml", "-v"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    arrays = {name: table[:, k + 1] for k, name in enumerate(columns)}
    np.savez_compressed(HERE / "reference.npz", time_s=table[:, 0], jnml_version=np.array(version), **arrays)
    print(f"wrote {HERE / 'reference.npz'}: {len(table)} rows, columns {', '.join(columns)} ({version})")


if __name__ == "__main__":
    main()
