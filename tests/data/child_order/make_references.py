"""Regenerate the jLEMS references of tests/test_child_order.py: runs ``jnml FILE -nogui``
(jLEMS, from pyNeuroML) on each model here in a scratch folder and stores its output as
``reference/<name>.dat`` (tests/conformance/event_timing.md, "child_order").

Usage: python tests/data/child_order/make_references.py [LEMS_FILE ...]   (default: all of them)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_child_order.xml": "child_order.dat", "LEMS_clock_reads.xml": "clock_reads.dat"}


def main() -> None:
    spec = importlib.util.spec_from_file_location("outside_corpus_references",
                                                  HERE.parent / "outside_corpus" / "make_references.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    chosen = sys.argv[1:] or list(MODELS)
    shared.store_references(HERE, {lems: MODELS[lems] for lems in chosen})


if __name__ == "__main__":
    main()
