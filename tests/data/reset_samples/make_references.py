"""Regenerate the jLEMS references of tests/test_reset_samples.py: runs ``jnml FILE -nogui`` (jLEMS,
from pyNeuroML) on each model here in a scratch folder and stores its output as
``reference/<name>.dat``.

Usage: python tests/data/reset_samples/make_references.py [LEMS_FILE ...]   (default: all of them)

``LEMS_lead_export.xml`` is run by pyNeuroML's NEURON export instead (``jnml FILE -neuron -nogui``,
``nrnivmodl``, ``python FILE_nrn.py -nogui``) and stored as ``reference/lead_export.dat``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_reset_samples.xml": "reset_samples.dat", "LEMS_ca_pool.xml": "ca_pool.dat",
          "LEMS_relayed_spikes.xml": "relayed_spikes.dat", "LEMS_lead.xml": "lead.dat",
          "LEMS_lead_compound.xml": "lead_compound.dat"}
#: LEMS file -> the output file of pyNeuroML's NEURON export run on it
EXPORTS = {"LEMS_lead_export.xml": "lead_export.dat"}


def store_export(lems: str, output: str) -> None:
    """Run the NEURON export of ``lems`` in a scratch copy of this folder; keep its ``output``."""
    with tempfile.TemporaryDirectory() as scratch:
        for source in HERE.glob("*.xml"):
            shutil.copy(source, scratch)
        for command in (["jnml", lems, "-neuron", "-nogui"], ["nrnivmodl"],
                        [sys.executable, lems.replace(".xml", "_nrn.py"), "-nogui"]):
            subprocess.run(command, cwd=scratch, check=True, capture_output=True)
        shutil.copy(Path(scratch) / output, HERE / "reference" / output)
        print(f"{lems} (NEURON export): reference/{output}")


def main() -> None:
    spec = importlib.util.spec_from_file_location("outside_corpus_references",
                                                  HERE.parent / "outside_corpus" / "make_references.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    chosen = sys.argv[1:] or list(MODELS) + list(EXPORTS)
    shared.store_references(HERE, {lems: MODELS[lems] for lems in chosen if lems in MODELS})
    for lems in (lems for lems in chosen if lems in EXPORTS):
        store_export(lems, EXPORTS[lems])


if __name__ == "__main__":
    main()
