#!/usr/bin/env python
"""Make the jLEMS reference of the cell-level ion currents in tests/test_recorded_currents.py (run
by hand, never by pytest).

    python tests/data/ion_currents/make_reference.py

Copies this folder to a scratch directory, runs ``jnml LEMS_ion_currents.xml -nogui`` there (jLEMS,
dt 0.01 ms, 60 ms) and stores its OutputFile ``ion_currents.dat`` as ``reference.npz``: ``time_s``
and one array per column (``one_v``, ``one_iCa``: a ``cell`` with passive calcium channels, a
density and a population, and a potassium one; ``two_v``, ``two_iCa``, ``two_iCa2``: a
``cell2CaPools`` with gated channels of the ions ca and ca2; SI units, as jLEMS writes them), plus
``jnml_version`` (the first line ``jnml -v`` prints).

``LEMS_two_compartments.xml`` has no jLEMS reference (jLEMS runs a cell as one compartment): its
test computes the current from the recorded v of each compartment.
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
    lems = HERE / "LEMS_ion_currents.xml"
    columns = [c.get("id") for c in etree.parse(str(lems)).getroot().iter("OutputColumn")]
    with tempfile.TemporaryDirectory(prefix="ion-currents-") as tmp:
        work = Path(tmp) / "model"
        shutil.copytree(HERE, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
        subprocess.run(["jnml", lems.name, "-nogui"], cwd=work, check=True, capture_output=True)
        table = np.loadtxt(work / "ion_currents.dat", ndmin=2)
        version = subprocess.run(["jnml", "-v"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    arrays = {name: table[:, k + 1] for k, name in enumerate(columns)}
    np.savez_compressed(HERE / "reference.npz", time_s=table[:, 0], jnml_version=np.array(version), **arrays)
    print(f"wrote {HERE / 'reference.npz'}: {len(table)} rows, columns {', '.join(columns)} ({version})")


if __name__ == "__main__":
    main()
