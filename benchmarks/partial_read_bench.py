"""What one MPI rank holds of a large explicit projection in NeuroML HDF5: 10,000 cells and
1,000,000 connections, the table read whole (a serial run) and read for one rank of 2 and of 4
(round-robin cells, as ``nmlhub run -n K`` places them), each in a fresh process so that its peak
memory is its own. Prints rows kept, seconds, the peak memory allocated while reading (tracemalloc:
numpy's buffers included) and what stays held, against reading the whole table.

Usage: python benchmarks/partial_read_bench.py [--cells 10000] [--connections 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert_bench import network_tree  # noqa: E402
from fresh import fresh_result  # noqa: E402


def read_part(path: Path, nhost: int) -> None:
    """(In a fresh process) load the model, then read rank 0's part (the whole table when nhost
    is 1) of its projection as the NEURON driver does; print the figures."""
    from nmlhub.model import load
    from nmlhub.model.columns import projection_part

    model = load(path)
    projection = model.network().projections[0]
    keep = None if nhost == 1 else (lambda cells: np.asarray(cells) % nhost == 0)
    tracemalloc.start()
    t0 = time.perf_counter()
    columns, weights, delays = projection_part(projection, model.units, keep)
    seconds = time.perf_counter() - t0
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT_JSON " + json.dumps(dict(seconds=round(seconds, 3), rows=len(columns), peak_mb=round(peak / 1e6, 1),
                                           held_mb=round(held / 1e6, 1), rss_mb=round(rss, 1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=1_000_000)
    args = parser.parse_args()
    from nmlhub.converters import save

    with tempfile.TemporaryDirectory(prefix="nmlhub-partbench-") as tmp:
        path = Path(tmp) / "net.nml.h5"
        save(network_tree(args.cells, args.connections), path)
        rows = {}
        for nhost in (1, 2, 4):
            result = fresh_result([__file__, "--one", str(path), str(nhost)])
            if result is None:
                return
            rows[nhost] = result
        whole = rows[1]
        print(f"{args.cells} cells, {args.connections} connections in NeuroML HDF5\n")
        print("| read | rows kept | s | peak MB while reading | MB held after | x whole (peak) | process peak MB |")
        print("|---|---|---|---|---|---|---|")
        for nhost, r in rows.items():
            label = "whole table (serial)" if nhost == 1 else f"rank 0 of {nhost}"
            print(f"| {label} | {r['rows']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['held_mb']:.0f} | "
                  f"{r['peak_mb'] / whole['peak_mb']:.2f} | {r['rss_mb']:.0f} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        read_part(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
