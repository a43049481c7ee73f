"""Loading speed: `nmlhub info` (load + summary) against libNeuroML's plain loader.

Runs on the largest files of the OSB corpus (multi-megabyte cells and networks, NeuroML HDF5
networks). Both loaders run in this process, each timed as the best of ``--repeat`` runs.
libNeuroML's loader follows includes too (``include_includes=True``); for HDF5 it uses its
columnar mode (``optimized=True``), as nmlhub does.

Usage: python benchmarks/load_bench.py [--corpus ../shared/corpus/osb] [--repeat 3] [--top 8]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def libneuroml_load(path: Path):
    from neuroml.loaders import read_neuroml2_file

    with contextlib.redirect_stdout(io.StringIO()):
        return read_neuroml2_file(str(path), include_includes=True, optimized=True,
                                  already_included=[])


def nmlhub_info(path: Path):
    from nmlhub.model import load
    from nmlhub.model.summary import summarize

    return summarize(load(path, strict=False))


def pick_files(corpus: Path, top: int) -> list[Path]:
    files = [p for p in corpus.rglob("*") if p.name.endswith((".nml", ".nml.h5"))]
    files.sort(key=lambda p: p.stat().st_size, reverse=True)
    chosen = files[:top]
    chosen += [p for p in files if p.name.endswith(".h5") and p not in chosen]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "osb")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=8, help="how many of the largest XML files")
    args = parser.parse_args()
    logging.disable(logging.INFO)

    print(f"{'file':58s} {'MB':>6s} {'nmlhub s':>9s} {'libNeuroML s':>12s} {'ratio':>6s}")
    total_n = total_l = 0.0
    for path in pick_files(args.corpus, args.top):
        size = path.stat().st_size / 1e6
        t_n = best_time(lambda: nmlhub_info(path), args.repeat)
        try:
            t_l = best_time(lambda: libneuroml_load(path), args.repeat)
        except (Exception, SystemExit) as exc:  # libNeuroML exits on a missing include
            print(f"{str(path.relative_to(args.corpus)):58s} {size:6.2f} {t_n:9.3f} "
                  f"{'failed: ' + type(exc).__name__:>12s}")
            continue
        total_n += t_n
        total_l += t_l
        print(f"{str(path.relative_to(args.corpus)):58s} {size:6.2f} {t_n:9.3f} {t_l:12.3f} {t_n / t_l:6.2f}")
    if total_l:
        print(f"{'TOTAL (files both loaded)':58s} {'':6s} {total_n:9.3f} {total_l:12.3f} {total_n / total_l:6.2f}")
    print("ratio = nmlhub time / libNeuroML time (below 1: nmlhub is faster)")


if __name__ == "__main__":
    main()
