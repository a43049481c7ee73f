"""Regenerate the jLEMS references of the session-11 tests of tests/test_outside_networks.py:
runs ``jnml FILE -nogui`` (jLEMS, from pyNeuroML) on each model of ``MODELS`` in a scratch copy of
this folder and stores its output as ``reference/<name>.dat``; for each model of ``REFUSED``,
records in ``reference/refused_s11.json`` whether jLEMS ran it.

Usage: python tests/data/outside_corpus/networks/make_references_s11.py
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_dl_synapse.xml": "dl_synapse.dat", "LEMS_state_named_derived.xml": "state_named_derived.dat",
          "LEMS_onstart_derived.xml": "onstart_derived.dat"}
#: LEMS files nmlhub refuses; jLEMS's outcome is recorded.
REFUSED = ("LEMS_dl_phantom.xml", "LEMS_state_named_twice.xml")


def main() -> None:
    spec = importlib.util.spec_from_file_location("outside_corpus_references", HERE.parent / "make_references.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    shared.store_references(HERE, MODELS)
    outcome = {}
    for lems in REFUSED:
        with tempfile.TemporaryDirectory() as scratch:
            for source in (lems, "dl_types.xml"):
                shutil.copy(HERE / source, scratch)
            run = subprocess.run(["jnml", lems, "-nogui"], cwd=scratch, capture_output=True, text=True)
            outcome[lems] = {"jlems_runs": run.returncode == 0 and "RuntimeError" not in run.stdout + run.stderr}
        print(lems, outcome[lems])
    (HERE / "reference" / "refused_s11.json").write_text(json.dumps(outcome, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
