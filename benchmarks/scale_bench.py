"""The benchmark network of ../shared/bench at a larger size (default 20,000 and 100,000 cells; ~100
inputs per cell, so ~10,000,000 connections at 100,000), built by nmlhub from rules and from NeuroML
HDF5 (written once per size, bench_network_hdf5.py) and by the hand-written NEURON script at the same
size, on 1 and 2 MPI ranks, each run a fresh process, one at a time: build time, simulation time
(a short simulated time), peak memory per rank (ru_maxrss of each rank's process) and bytes per
connection (peak minus an empty NEURON process under the same launcher, divided by the connections
per rank); then the ratios nmlhub/NEURON.

Before each run the free memory (MemAvailable) is checked against an estimate of what the run
needs (all its ranks together); a run that would not fit is skipped, and the table says so.

Usage: python benchmarks/scale_bench.py [--sizes 20000 100000] [--ranks 1 2] [--tstop 50] [--json-out F]
       [--exact] [--bench ../shared/bench]
``--exact`` also runs the hand-written script with NEURON's hh rate tables off (like for like with
nmlhub's simulation time; see raw_neuron_exact_rates.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from network_bench import launch, result_line  # noqa: E402

#: A first guess of a run's peak memory per connection on its rank and per process (MB), before
#: a smaller size has been measured; then 1.3x the largest measured figure is used.
GUESS_BYTES_PER_CONNECTION = 900
#: bench_network_hdf5.py's peak memory per connection while it expands and writes the network
#: (measured: 552 MB for 2.0M connections at 20,000 cells, 2026-12-06); 1.3x this is reserved.
WRITE_BYTES_PER_CONNECTION = 240
GUESS_BASE_MB = 250
EMPTY_NEURON = ("import json, resource\nfrom neuron import h\nh.nrnmpi_init()\npc = h.ParallelContext()\n"
                "h.load_file('stdrun.hoc')\nrss = pc.py_gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)\n"
                "print('RESULT_JSON ' + json.dumps(dict(peak_rss_mb_max=max(rss))) if pc.id() == 0 else '', flush=True)\n"
                "pc.done()\n")


def available_mb() -> float:
    """MemAvailable of /proc/meminfo (MB)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024.0
    return float("inf")


def needed_mb(connections: int, ranks: int, bytes_per_connection: float) -> float:
    """What a run of ``connections`` on ``ranks`` processes needs, all ranks together (MB)."""
    return ranks * GUESS_BASE_MB + connections * bytes_per_connection / 2**20


def fits(what: str, need_mb: float) -> bool:
    free = available_mb()
    if need_mb > 0.85 * free:
        print(f"SKIPPED {what}: needs ~{need_mb:.0f} MB, {free:.0f} MB available", flush=True)
        return False
    return True


def empty_neuron_mb(ranks: int) -> float:
    """Peak memory of a NEURON process that builds nothing, under the same launcher."""
    result = result_line(launch(ranks, ["-c", EMPTY_NEURON]), 300)
    return result["peak_rss_mb_max"] if result else 0.0


def runs_of(n: int, ranks: int, folder: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    raw = ["-N", str(n), "--tstop", str(args.tstop)]
    runs = {
        "NEURON": launch(ranks, [str(args.bench / "raw_neuron_net.py"), *raw]),
        "nmlhub rules": launch(ranks, [str(HERE / "bench_network_run.py"), str(folder / "LEMS_bench.xml"), str(n),
                                       "--share-synapses"]),
        "nmlhub HDF5": launch(ranks, [str(HERE / "bench_network_run.py"), str(folder / "LEMS_bench_h5.xml"), str(n),
                                      "--share-synapses"]),
    }
    if args.exact:
        runs["NEURON exact"] = launch(ranks, [str(HERE / "raw_neuron_exact_rates.py"),
                                              str(args.bench / "raw_neuron_net.py"), *raw])
    return runs


def measure_size(n: int, tmp: Path, args: argparse.Namespace, per_connection: list[float]) -> list[tuple]:
    """Every run at ``n`` cells; rows (n, ranks, impl, result or why there is none, connections,
    empty NEURON MB)."""
    connections = 100 * n
    guess = max(per_connection, default=GUESS_BYTES_PER_CONNECTION / 1.3) * 1.3
    folder = tmp / f"n{n}"
    writing = needed_mb(connections, 1, 1.3 * WRITE_BYTES_PER_CONNECTION)
    if not fits(f"N={n}: writing the NeuroML HDF5 network", writing):
        return [(n, r, "all", "skipped: not enough free memory", connections, 0.0) for r in args.ranks]
    written = result_line([sys.executable, str(HERE / "bench_network_hdf5.py"), str(n), str(folder),
                           str(args.tstop)], args.timeout)
    if written is None:
        return []
    connections = written["connections"]
    print(f"N={n}: {connections} connections; NeuroML HDF5 written in {written['write_s']:.1f} s "
          f"({written['bytes'] / 2**20:.0f} MB) after expanding in {written['expand_s']:.1f} s; peak "
          f"{written['peak_rss_mb']:.0f} MB", flush=True)
    rows = []
    for ranks in args.ranks:
        empty = empty_neuron_mb(ranks)
        for impl, command in runs_of(n, ranks, folder, args).items():
            if not fits(f"N={n} ranks={ranks} {impl}", needed_mb(connections, ranks, guess)):
                rows.append((n, ranks, impl, "skipped: not enough free memory", connections, empty))
                continue
            r = result_line(command, args.timeout)
            rows.append((n, ranks, impl, r or "failed (its error output is above)", connections, empty))
            if args.json_out is not None:  # each run as it ends: a cut-short benchmark keeps its rows
                with open(args.json_out, "a") as out:
                    out.write(json.dumps(rows[-1]) + "\n")
            if isinstance(r, dict):
                per_rank = (r.get("connections") or connections) / ranks
                per_connection.append((r["peak_rss_mb_max"] - empty) * 2**20 / per_rank)
                print(f"N={n} ranks={ranks} {impl:13s} build {r['build_s']:8.2f} s (CPU {r['cpu_build_s_max']:.2f})  "
                      f"simulate {r['simulate_s']:8.2f} s (CPU {r['cpu_simulate_s_max']:.2f})  "
                      f"peak {r['peak_rss_mb_max']:8.1f} MB/rank  {per_connection[-1]:6.0f} B/connection  "
                      f"spikes {r['total_spikes']}", flush=True)
    return rows


def table(rows: list[tuple]) -> None:
    """The runs as a markdown table; ratios against the hand-written script at the same size and
    ranks (build and simulation in CPU seconds of the slowest rank: the fairer figure on a shared
    machine; wall seconds beside them)."""
    print("\n| N | connections | ranks | run | build s (CPU s) | sim s (CPU s) | peak MB/rank | empty NEURON MB | "
          "bytes/connection | spikes | build CPU / NEURON | sim CPU / NEURON | bytes/conn / NEURON |")
    print("|" + "---|" * 13)
    by = {(n, ranks, impl): (r, c, e) for n, ranks, impl, r, c, e in rows}
    for n, ranks, impl, r, connections, empty in rows:
        if not isinstance(r, dict):
            print(f"| {n} | ~{connections} | {ranks} | {impl} | {r} |" + " |" * 8)
            continue
        conns = r.get("connections") or connections
        bpc = (r["peak_rss_mb_max"] - empty) * 2**20 / (conns / ranks)
        raw = by.get((n, ranks, "NEURON"), (None,))[0]
        raw = raw if isinstance(raw, dict) else None
        raw_bpc = ((raw["peak_rss_mb_max"] - empty) * 2**20 / (raw["connections"] / ranks)) if raw else None
        ratio = lambda key: f"{r[key] / raw[key]:.2f}" if raw and raw[key] else "-"  # noqa: E731
        print(f"| {n} | {conns} | {ranks} | {impl} | {r['build_s']:.1f} ({r['cpu_build_s_max']:.1f}) | "
              f"{r['simulate_s']:.1f} ({r['cpu_simulate_s_max']:.1f}) | {r['peak_rss_mb_max']:.0f} | {empty:.0f} | "
              f"{bpc:.0f} | {r['total_spikes']} | {ratio('cpu_build_s_max')} | {ratio('cpu_simulate_s_max')} | "
              f"{f'{bpc / raw_bpc:.2f}' if raw_bpc else '-'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tstop", type=float, default=50.0)
    parser.add_argument("--exact", action="store_true")
    parser.add_argument("--bench", type=Path, default=next((up / "shared" / "bench" for up in HERE.parents
                                                            if (up / "shared" / "bench").is_dir()), None))
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--json-out", type=Path, help="append each run's row (JSON) to this file as it ends")
    parser.add_argument("--table-from", type=Path, help="print the table of rows a --json-out file holds, and stop")
    args = parser.parse_args()
    if args.table_from is not None:
        table([tuple(json.loads(line)) for line in args.table_from.read_text().splitlines() if line.strip()])
        return
    rows: list[tuple] = []
    per_connection: list[float] = []
    with tempfile.TemporaryDirectory(prefix="nmlhub-scalebench-") as tmp:
        warm = Path(tmp) / "warm"  # compile the mechanisms first: build times exclude compiling
        subprocess.run([sys.executable, str(HERE / "bench_network_model.py"), "200", str(warm), "10"], check=True,
                       capture_output=True)
        result_line([sys.executable, str(HERE / "bench_network_run.py"), str(warm / "LEMS_bench.xml"), "200",
                     "--share-synapses"], args.timeout)
        for n in sorted(args.sizes):
            rows += measure_size(n, Path(tmp), args, per_connection)
    table(rows)


if __name__ == "__main__":
    main()
