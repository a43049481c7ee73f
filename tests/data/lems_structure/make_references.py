"""Regenerate the jLEMS references of the LEMS <Structure> test models (tests/test_lems_structure.py).

Each ``LEMS_*.xml`` here is copied into a scratch folder, ``jnml FILE -nogui`` (jLEMS) runs it
there, and the files its ``<Simulation>`` writes are copied into ``reference/``. Nothing is
computed here: the references are jLEMS's own output.

Usage: python tests/data/lems_structure/make_references.py   (needs ``jnml`` on PATH, Java 17)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
MODELS = ("LEMS_structure_chain.xml", "LEMS_structure_pattern.xml", "LEMS_structure_nested.xml",
          "LEMS_structure_direct.xml", "LEMS_structure_inline.xml", "LEMS_structure_single_inline.xml")


def _written_files(lems: Path) -> list[str]:
    root = etree.parse(str(lems), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    return [e.get("fileName") for e in root.iter("OutputFile", "EventOutputFile")]


def make(name: str) -> None:
    (HERE / "reference").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(HERE / name, scratch)
        proc = subprocess.run(["jnml", name, "-nogui"], cwd=scratch, capture_output=True, text=True, timeout=600)
        for file_name in _written_files(HERE / name):
            made = Path(scratch) / file_name
            if not made.is_file():
                raise SystemExit(f"jnml did not write {file_name} for {name}:\n{proc.stdout[-3000:]}")
            shutil.copy(made, HERE / "reference" / file_name)
            print(f"wrote reference/{file_name}")


if __name__ == "__main__":
    for model in MODELS:
        make(model)
