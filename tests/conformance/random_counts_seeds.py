#!/usr/bin/env python
"""Spike counts of a model driven by random inputs, over seeds, in jLEMS and in nmlhub: whether
the two engines' counts come from the same distribution, and how often jLEMS itself, with another
seed, fails the conformance suite's count check against its own reference seed
(``compare.STOCHASTIC_COUNT_TOL``).

Run by hand, from the repository (needs ``jnml`` and Java)::

    python tests/conformance/random_counts_seeds.py LEMS_FILE [--seeds N]

Each run is a copy of the model and the files it includes (``copy_with_includes``): jLEMS with the
``<Simulation>``'s ``seed`` rewritten, nmlhub with ``nmlhub run --seed``. The cells' spikes are
read from every ``EventOutputFile`` (TIME_ID or ID_TIME). Printed per cell: the reference seed's
count, each engine's mean and standard error over the other seeds, and the fraction of jLEMS runs
whose count differs from the reference by more than the suite allows.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import STOCHASTIC_COUNT_TOL  # noqa: E402
from make_export_references import copy_with_includes  # noqa: E402
from three_engines import _jnml  # noqa: E402

_SEED = re.compile(r'(<Simulation\b[^>]*\bseed=")([^"]*)"')


def _counts(folder: Path, lems: Path) -> dict[str, int]:
    """Spikes per (file, id) of every EventOutputFile of ``lems``, run in ``folder``."""
    counts: dict[str, int] = {}
    for element in etree.parse(str(lems)).getroot().iter("EventOutputFile"):
        name, layout = element.get("fileName"), element.get("format", "TIME_ID")
        for selection in element.iter("EventSelection"):
            counts[f"{name}:{selection.get('id')}"] = 0
        path = folder / name
        table = np.loadtxt(path, ndmin=2) if path.stat().st_size else np.empty((0, 2))
        ids = table[:, 1] if layout == "TIME_ID" else table[:, 0]
        for ident in ids.astype(int):
            key = f"{name}:{ident}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def _copy(lems: Path, scratch: Path) -> Path:
    """A copy of the model and its includes, with the folders its output files go to."""
    _, folder = copy_with_includes(lems, scratch)
    for element in etree.parse(str(lems)).getroot().iter("OutputFile", "EventOutputFile"):
        (folder / element.get("fileName")).parent.mkdir(parents=True, exist_ok=True)
    return folder


def run_jlems(lems: Path, seed: int, scratch: Path) -> dict[str, int]:
    folder = _copy(lems, scratch)
    copy = folder / lems.name
    copy.write_text(_SEED.sub(rf'\g<1>{seed}"', copy.read_text()))
    subprocess.run([_jnml(), copy.name, "-nogui"], cwd=folder, check=True, capture_output=True, timeout=1800)
    return _counts(folder, copy)


def run_nmlhub(lems: Path, seed: int, scratch: Path) -> dict[str, int]:
    folder = _copy(lems, scratch)
    subprocess.run([sys.executable, "-m", "nmlhub", "run", lems.name, "--seed", str(seed), "--no-progress"],
                   cwd=folder, check=True, capture_output=True, timeout=1800)
    return _counts(folder, folder / lems.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lems", type=Path)
    parser.add_argument("--seeds", type=int, default=8, help="seeds besides the file's own (default 8)")
    args = parser.parse_args()
    lems = args.lems.resolve()
    own = int(_SEED.search(lems.read_text()).group(2))
    seeds = [own + 1000 * (k + 1) for k in range(args.seeds)]
    with tempfile.TemporaryDirectory(prefix="random-counts-") as tmp:
        reference = run_jlems(lems, own, Path(tmp) / "ref")
        jlems = [run_jlems(lems, s, Path(tmp) / f"j{s}") for s in seeds]
        ours = [run_nmlhub(lems, s, Path(tmp) / f"n{s}") for s in seeds]
    print(f"{lems.name}: jLEMS seed {own} as reference; jLEMS and nmlhub with seeds {seeds}")
    print("| cell | reference count | jLEMS mean ± s.e. | nmlhub mean ± s.e. | jLEMS runs failing the count check |")
    print("|---|---|---|---|---|")
    failing_all = 0
    for key in sorted(reference):
        ref = reference[key]
        j = np.array([c.get(key, 0) for c in jlems], dtype=float)
        n = np.array([c.get(key, 0) for c in ours], dtype=float)
        fails = int(np.sum(np.abs(j - ref) > max(1, STOCHASTIC_COUNT_TOL * ref)))
        failing_all += fails
        sem = lambda a: a.std(ddof=1) / np.sqrt(len(a))  # noqa: E731
        print(f"| {key} | {ref} | {j.mean():.2f} ± {sem(j):.2f} | {n.mean():.2f} ± {sem(n):.2f} | {fails} of {len(j)} |")
    print(f"jLEMS runs with another seed failing at least one cell's count check: "
          f"{sum(any(abs(c.get(k, 0) - r) > max(1, STOCHASTIC_COUNT_TOL * r) for k, r in reference.items()) for c in jlems)}"
          f" of {len(jlems)} ({failing_all} cell checks fail)")


if __name__ == "__main__":
    main()
