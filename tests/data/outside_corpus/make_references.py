"""Regenerate the jLEMS references of tests/test_outside_corpus.py: runs ``jnml FILE -nogui`` (jLEMS,
from pyNeuroML) on each model here in a scratch folder and stores its output as
``reference/<name>.dat``.

Usage: python tests/data/outside_corpus/make_references.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: LEMS file -> the output file jLEMS writes for it.
MODELS = {"LEMS_peer_rate.xml": "peer_rate.dat", "LEMS_peer_rate_reordered.xml": "peer_rate_reordered.dat",
          "LEMS_unused_requirement.xml": "unused_requirement.dat"}


def store_references(folder: Path, models: dict[str, str]) -> None:
    """Run ``jnml LEMS -nogui`` for each of ``models`` (LEMS file -> output file) in a scratch
    copy of ``folder``'s models and keep each output as ``folder/reference/<output>``."""
    (folder / "reference").mkdir(exist_ok=True)
    for lems, output in models.items():
        with tempfile.TemporaryDirectory() as scratch:
            for source in [*folder.glob("*.xml"), *folder.glob("*.nml")]:
                shutil.copy(source, scratch)
            subprocess.run(["jnml", lems, "-nogui"], cwd=scratch, check=True, capture_output=True)
            shutil.copy(Path(scratch) / output, folder / "reference" / output)
            print(f"{lems}: reference/{output}")


def main() -> None:
    store_references(HERE, MODELS)


if __name__ == "__main__":
    main()
