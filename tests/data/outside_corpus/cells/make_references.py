"""Regenerate the jLEMS references of tests/test_outside_cells.py: runs ``jnml FILE -nogui`` (jLEMS,
from pyNeuroML) on each model here in a scratch folder and stores its output as
``reference/<name>.dat``.

Usage: python tests/data/outside_corpus/cells/make_references.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_ks_named_rate.xml": "ks_named_rate.dat", "LEMS_no_species.xml": "no_species.dat"}


def main() -> None:
    (HERE / "reference").mkdir(exist_ok=True)
    for lems, output in MODELS.items():
        with tempfile.TemporaryDirectory() as scratch:
            for source in [*HERE.glob("*.xml"), *HERE.glob("*.nml")]:
                shutil.copy(source, scratch)
            subprocess.run(["jnml", lems, "-nogui"], cwd=scratch, check=True, capture_output=True)
            shutil.copy(Path(scratch) / output, HERE / "reference" / output)
            print(f"{lems}: reference/{output}")


if __name__ == "__main__":
    main()
