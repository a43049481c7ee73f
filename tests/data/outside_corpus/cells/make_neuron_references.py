"""Regenerate the NEURON-export references of tests/test_outside_cells.py for the
multi-compartment models here (jLEMS does not run them): ``jnml FILE -neuron -nogui``
(jNeuroML's NEURON export), ``nrnivmodl``, ``python FILE_nrn.py -nogui`` in a scratch folder;
keeps the output as ``reference/<name>.nrn.dat``.

Usage: python tests/data/outside_corpus/cells/make_neuron_references.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file the NEURON export writes for it.
MODELS = {"LEMS_chain_cell.xml": "chain_cell.dat"}


def main() -> None:
    (HERE / "reference").mkdir(exist_ok=True)
    for lems, output in MODELS.items():
        with tempfile.TemporaryDirectory() as scratch:
            for source in [*HERE.glob("*.xml"), *HERE.glob("*.nml")]:
                shutil.copy(source, scratch)
            subprocess.run(["jnml", lems, "-neuron", "-nogui"], cwd=scratch, check=True, capture_output=True)
            subprocess.run(["nrnivmodl"], cwd=scratch, check=True, capture_output=True)
            script = lems.replace(".xml", "_nrn.py")
            subprocess.run([sys.executable, script, "-nogui"], cwd=scratch, check=True, capture_output=True)
            target = HERE / "reference" / output.replace(".dat", ".nrn.dat")
            shutil.copy(Path(scratch) / output, target)
            print(f"{lems}: reference/{target.name}")


if __name__ == "__main__":
    main()
