"""Regenerate the jLEMS references of tests/test_outside_cells.py: runs ``jnml FILE -nogui`` (jLEMS,
from pyNeuroML) on each model here in a scratch folder and stores its output as
``reference/<name>.dat``.

Usage: python tests/data/outside_corpus/cells/make_references.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_ks_named_rate.xml": "ks_named_rate.dat", "LEMS_no_species.xml": "no_species.dat",
          "LEMS_child_by_name.xml": "child_by_name.dat", "LEMS_onstart_derived.xml": "onstart_derived.dat",
          "LEMS_long_ids.xml": "long_ids.dat", "LEMS_temperature_6_3.xml": "temperature_6_3.dat",
          "LEMS_condbased_start.xml": "condbased_start.dat", "LEMS_onstart_cross.xml": "onstart_cross.dat"}


def main() -> None:
    spec = importlib.util.spec_from_file_location("outside_corpus_references", HERE.parent / "make_references.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    shared.store_references(HERE, MODELS)


if __name__ == "__main__":
    main()
