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

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    spec = importlib.util.spec_from_file_location("record_jlems_reference", HERE.parent / "record_jlems" / "make_reference.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    shared.store_jlems_columns(HERE, "LEMS_ion_currents.xml", "ion_currents.dat")


if __name__ == "__main__":
    main()
