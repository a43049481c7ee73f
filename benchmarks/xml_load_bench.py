"""Loading a large XML network (10,000 cells, 1,000,000 connectionWDs) with nmlhub.load: its large
lists read as numpy tables (the default) against one libNeuroML object per row (what nmlhub did
before, forced here by raising the table threshold), each in a fresh process so that its peak
memory is its own. Prints seconds, peak memory, and memory still held after loading.

Usage: python benchmarks/xml_load_bench.py [--cells 10000] [--connections 1000000]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert_bench import network_tree  # noqa: E402
from fresh import fresh_result  # noqa: E402


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def load_once(path: Path, tables: bool) -> None:
    """(In a fresh process) load the network; print the figures."""
    import nmlhub
    from nmlhub.model import xml_columns

    if not tables:
        xml_columns.MIN_ROWS = 10**12
    before = _current_rss_mb()
    t0 = time.perf_counter()
    model = nmlhub.load(path)
    seconds = time.perf_counter() - t0
    gc.collect()
    held = _current_rss_mb() - before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(len(p.connections) + len(p.connection_wds) for p in model.network().projections)
    print("RESULT_JSON " + json.dumps(dict(seconds=round(seconds, 2), peak_mb=round(peak), held_mb=round(held),
                                           rows=rows)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=1_000_000)
    args = parser.parse_args()
    from nmlhub.converters import save

    with tempfile.TemporaryDirectory(prefix="nmlhub-xmlbench-") as tmp:
        path = Path(tmp) / "net.nml"
        save(network_tree(args.cells, args.connections), path)
        rows = {}
        for label, tables in (("tables", True), ("objects", False)):
            result = fresh_result([__file__, "--one", str(path), str(int(tables))])
            if result is None:
                return
            rows[label] = result
        print(f"{args.cells} cells, {args.connections} connections, XML of {path.stat().st_size / 1e6:.0f} MB\n")
        print("| lists read as | s | peak MB | MB held after loading | x objects (s) |")
        print("|---|---|---|---|---|")
        for label, r in rows.items():
            print(f"| {label} | {r['seconds']:.1f} | {r['peak_mb']} | {r['held_mb']} | "
                  f"{r['seconds'] / rows['objects']['seconds']:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        load_once(Path(sys.argv[2]), sys.argv[3] == "1")
    else:
        main()
