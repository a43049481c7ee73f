"""Regenerate the jLEMS references of the session-15 tests (tests/test_regime_derived.py,
tests/test_connection_weights.py, tests/test_redeclared_constants.py, tests/test_input_sum_uses.py,
which session 16 extended with LEMS_input_sum_uses.xml and LEMS_impulse_synapse.xml, and
tests/test_regime_onstart.py):
runs ``jnml FILE -nogui`` (jLEMS, from pyNeuroML) on each model of ``MODELS`` in a scratch copy of
this folder and stores its output as ``reference/<name>.dat``.

Usage: python tests/data/outside_corpus/networks/make_references_s15.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_regime_derived.xml": "regime_derived.dat", "LEMS_regime_nan.xml": "regime_nan.dat",
          "LEMS_unit_type.xml": "unit_type.dat", "LEMS_path_unset.xml": "path_unset.dat",
          "LEMS_property_default.xml": "property_default.dat", "LEMS_zero_weight.xml": "zero_weight.dat",
          "LEMS_constant_twice.xml": "constant_twice.dat", "LEMS_input_sum_condition.xml": "input_sum_condition.dat",
          "LEMS_input_sum_uses.xml": "input_sum_uses.dat", "LEMS_impulse_synapse.xml": "impulse_synapse.dat",
          "LEMS_regime_onstart.xml": "regime_onstart.dat"}


def main() -> None:
    spec = importlib.util.spec_from_file_location("outside_corpus_references", HERE.parent / "make_references.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    shared.store_references(HERE, MODELS)


if __name__ == "__main__":
    main()
