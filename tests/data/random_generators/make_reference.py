"""Make reference.npz: jLEMS's spike trains of LEMS_random_generators.xml (StochasticityShowcase's
spikeGeneratorPoisson, spikeGeneratorRandom and SpikeSourcePoisson, 40 or 10 of each, 1 s), for
tests/test_random_generators.py.

Run from the repository root, in its virtualenv (needs ``jnml`` from pyNeuroML and Java)::

    python tests/data/random_generators/make_reference.py

It copies this folder to a scratch folder, runs ``jnml LEMS_random_generators.xml -nogui`` there
and stores each population's spike times by cell (seconds, as jLEMS writes them) with the jNeuroML
version and the date.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
POPULATIONS = ("poisson", "random", "ssp", "poisson_fast", "random_fast")


def _jnml() -> str:
    beside = Path(sys.executable).parent / "jnml"
    return str(beside) if beside.is_file() else "jnml"


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "random_generators"
        shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("*.npz", "*.py", "__pycache__"))
        subprocess.run([_jnml(), "LEMS_random_generators.xml", "-nogui"], cwd=folder, check=True,
                       stdout=subprocess.DEVNULL)
        version = subprocess.run([_jnml(), "-v"], capture_output=True, text=True).stdout.strip().splitlines()
        arrays = {}
        for population in POPULATIONS:
            table = np.loadtxt(folder / f"{population}.spikes", ndmin=2)
            arrays[f"{population}_ids"] = table[:, 0].astype(int)
            arrays[f"{population}_times_s"] = table[:, 1]
    arrays["made_with"] = np.array(f"{version[0] if version else 'jnml'}; "
                                   f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}")
    target = HERE / "reference.npz"
    partial = HERE / "reference.part.npz"
    np.savez_compressed(partial, **arrays)
    partial.replace(target)
    print(f"wrote {target}: " + ", ".join(f"{p} {len(arrays[p + '_ids'])} spikes" for p in POPULATIONS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
