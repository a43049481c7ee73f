"""The benchmark network of ../shared/bench built and run by nmlhub, by the hand-written NEURON
script and by NetPyNE, serially and on 2 MPI ranks, in one run: build time, simulation time, peak
memory per rank and spike count for each, and the ratios nmlhub/NEURON and nmlhub/NetPyNE. The
hand-written script also runs with NEURON's hh rate tables off (raw_neuron_exact_rates.py), the
like-for-like baseline: nmlhub computes every rate exactly, as jNeuroML does. nmlhub also runs
with CoreNEURON as its engine.

nmlhub builds the network from rules (benchmarks/bench_network_model.py) and shares synapse
instances of linear synapses as the hand-written script does (``--share-synapses``); its mechanism
cache is warmed first, so build times exclude compiling, and so is Python's bytecode cache
(``run_environment``: the runs write ``__pycache__`` as Python does by default, even where the
environment says PYTHONDONTWRITEBYTECODE). Each run is a fresh process.

``--repeats R`` runs every program R times, interleaved (each repeat runs them all in turn), and
reports medians: the main table's seconds, memory and ratios are medians of the R runs (ratios of
medians), and a second table gives each program's median and range (min-max) of wall and CPU
seconds (CPU of the slowest rank) and the median and range of the per-repeat ratio of nmlhub's
simulation to the script's with exact rates, so a ratio is not one draw of a machine whose single
runs vary by 10-30 %.

``--with-whole-inputs`` runs nmlhub a second time with each Poisson input as one point process
(``bench_network_run.py --whole-inputs``: the form before issue 23 split it into an event-only
generator and its synapse), interleaved with the others, and prints the per-repeat ratios of the
split form's simulation CPU time to the whole form's.

Usage: python benchmarks/network_bench.py [--sizes 1000 4000 10000] [--ranks 1 2] [--tstop 1000]
       [--netpyne-max 4000] [--repeats 1] [--bench ../shared/bench] [--with-whole-inputs]
NetPyNE needs ``pip install -e '.[bench]'``; it is skipped above ``--netpyne-max`` cells (at 10,000
its connection step alone takes more than ten minutes on this machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nmlhub.neuron import mpi  # noqa: E402


def run_environment() -> dict[str, str]:
    """The environment of every measured program: the MPI one, with Python's default bytecode cache
    (``__pycache__``, as on a user's machine). Some environments set PYTHONDONTWRITEBYTECODE, which
    makes every process compile from source each module it imports, and nmlhub imports the modules
    of a build step when the step starts (the script imports its few before its timer)."""
    env = mpi.environment()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def result_line(command: list[str], timeout: float) -> dict | None:
    proc = subprocess.run(command, env=run_environment(), capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT_JSON "):
            return json.loads(line[len("RESULT_JSON "):])
    sys.stderr.write(f"no result from {' '.join(command)}:\n{proc.stderr[-1500:]}\n")
    return None


def launch(ranks: int, script: list[str]) -> list[str]:
    return (mpi.mpiexec_command(ranks, [])[:3] if ranks > 1 else []) + [sys.executable] + script


#: The programs of a table row: result key -> what it is called in the per-program table.
PROGRAMS = {"nmlhub": "nmlhub", "nmlhub_whole": "nmlhub, whole inputs", "NEURON": "NEURON script", "nmlhub_core": "nmlhub CoreNEURON",
            "NEURON_exact": "NEURON script, exact rates", "NetPyNE": "NetPyNE"}
#: Measures summarised over the repeats (wall and CPU seconds of the slowest rank, peak memory).
MEASURES = ("build_s", "simulate_s", "cpu_build_s_max", "cpu_simulate_s_max", "peak_rss_mb_max")


def commands(n: int, ranks: int, folder: Path, args: argparse.Namespace) -> dict[str, list[str]]:
    """The command of each program for ``n`` cells on ``ranks`` ranks (NetPyNE up to ``--netpyne-max``)."""
    lems, bench = str(folder / "LEMS_bench.xml"), args.bench
    runs = {
        "nmlhub": launch(ranks, [str(HERE / "bench_network_run.py"), lems, str(n), "--share-synapses"]),
        "NEURON": launch(ranks, [str(bench / "raw_neuron_net.py"), "-N", str(n), "--tstop", str(args.tstop)]),
        "nmlhub_core": launch(ranks, [str(HERE / "bench_network_run.py"), lems, str(n), "--share-synapses",
                                      "--coreneuron"]),
        "NEURON_exact": launch(ranks, [str(HERE / "raw_neuron_exact_rates.py"), str(bench / "raw_neuron_net.py"),
                                       "-N", str(n), "--tstop", str(args.tstop)]),
    }
    if args.with_whole_inputs:
        runs["nmlhub_whole"] = launch(ranks, [str(HERE / "bench_network_run.py"), lems, str(n), "--share-synapses",
                                              "--whole-inputs"])
    if n <= args.netpyne_max:
        runs["NetPyNE"] = launch(ranks, [str(bench / "netpyne_net.py"), "-N", str(n), "--tstop", str(args.tstop),
                                         "--shared-syn"])
    return runs


def median_result(runs: list[dict]) -> dict | None:
    """One result whose measures are the medians of ``runs`` (None when none finished); the spike
    counts of all runs are kept (``spike_counts``): every repeat should give the same."""
    if not runs:
        return None
    found = dict(runs[0])
    for key in MEASURES:
        values = [r[key] for r in runs if r.get(key) is not None]
        found[key] = statistics.median(values) if values else None
        found[key + "_range"] = (min(values), max(values)) if values else None
    found["spike_counts"] = sorted({r["total_spikes"] for r in runs})
    found["runs"] = len(runs)
    return found


def measure(n: int, ranks: int, folder: Path, args: argparse.Namespace) -> tuple[dict, list[float]]:
    """Run every program ``args.repeats`` times, interleaved; their median results, and the
    per-repeat ratios of nmlhub's simulation CPU time to the exact-rates script's."""
    runs = commands(n, ranks, folder, args)
    found: dict[str, list[dict]] = {name: [] for name in runs}
    paired = []
    for repeat in range(args.repeats):
        this = {}
        for name, command in runs.items():
            r = this[name] = result_line(command, args.timeout)
            if r:
                found[name].append(r)
                print(f"N={n:6d} ranks={ranks} run {repeat + 1}/{args.repeats} {name:12s} build {r['build_s']:8.2f} s"
                      f" ({r.get('cpu_build_s_max', float('nan')):.2f} CPU)  simulate {r['simulate_s']:8.2f} s "
                      f"({r.get('cpu_simulate_s_max', float('nan')):.2f} CPU)  peak {r['peak_rss_mb_max']:8.1f} "
                      f"MB/rank  spikes {r['total_spikes']}", flush=True)
        ours, exact, whole = this.get("nmlhub"), this.get("NEURON_exact"), this.get("nmlhub_whole")
        if ours and exact and ours.get("cpu_simulate_s_max") and exact.get("cpu_simulate_s_max"):
            paired.append(ours["cpu_simulate_s_max"] / exact["cpu_simulate_s_max"])
        if ours and whole and ours.get("cpu_simulate_s_max") and whole.get("cpu_simulate_s_max"):
            args.split_ratios.setdefault((n, ranks), []).append(ours["cpu_simulate_s_max"] / whole["cpu_simulate_s_max"])
    return {name: median_result(results) for name, results in found.items()}, paired


def cell(r: dict | None, key: str, fmt: str = "{:.2f}") -> str:
    return fmt.format(r[key]) if r and r.get(key) is not None else "-"


def ratio(a: dict | None, b: dict | None, key: str) -> str:
    return f"{a[key] / b[key]:.2f}" if a and b and a.get(key) is not None and b.get(key) else "-"


def spikes(r: dict | None) -> str:
    return "/".join(map(str, r["spike_counts"])) if r else "-"


def print_table(rows: list[tuple[int, int, dict, list[float]]]) -> None:
    """The main table: one row per size and ranks (medians when repeated)."""
    print("\n| N | ranks | nmlhub build s | NEURON build s | NetPyNE build s | nmlhub sim s | NEURON sim s | "
          "nmlhub MB/rank | NEURON MB/rank | NetPyNE MB/rank | build nmlhub/NEURON | build nmlhub/NetPyNE | "
          "sim nmlhub/NEURON | NEURON exact-rates sim s | sim nmlhub/NEURON exact | nmlhub CoreNEURON sim s | "
          "sim CoreNEURON/NEURON | spikes nmlhub / NEURON | build CPU nmlhub/NEURON | "
          "sim CPU nmlhub/NEURON exact |")
    print("|" + "---|" * 20)
    for n, ranks, found, _ in rows:
        ours, raw, npy = found.get("nmlhub"), found.get("NEURON"), found.get("NetPyNE")
        exact, core = found.get("NEURON_exact"), found.get("nmlhub_core")
        print(f"| {n} | {ranks} | {cell(ours, 'build_s')} | {cell(raw, 'build_s')} | {cell(npy, 'build_s')} | "
              f"{cell(ours, 'simulate_s')} | {cell(raw, 'simulate_s')} | {cell(ours, 'peak_rss_mb_max', '{:.0f}')} | "
              f"{cell(raw, 'peak_rss_mb_max', '{:.0f}')} | {cell(npy, 'peak_rss_mb_max', '{:.0f}')} | "
              f"{ratio(ours, raw, 'build_s')} | {ratio(ours, npy, 'build_s')} | {ratio(ours, raw, 'simulate_s')} | "
              f"{cell(exact, 'simulate_s')} | {ratio(ours, exact, 'simulate_s')} | "
              f"{cell(core, 'simulate_s')} | {ratio(core, raw, 'simulate_s')} | {spikes(ours)} / {spikes(raw)} | "
              f"{ratio(ours, raw, 'cpu_build_s_max')} | {ratio(ours, exact, 'cpu_simulate_s_max')} |")


def spread(r: dict, key: str) -> str:
    low, high = r[key + "_range"] or (None, None)
    return f"{r[key]:.2f} ({low:.2f}-{high:.2f})" if r.get(key) is not None else "-"


def print_spread(rows: list[tuple[int, int, dict, list[float]]]) -> None:
    """Each program's medians and ranges over the repeats, and the paired simulation ratios."""
    print("\n| N | ranks | program | runs | build s | build CPU s | sim s | sim CPU s | peak MB/rank | spikes |")
    print("|" + "---|" * 10)
    for n, ranks, found, _ in rows:
        for name, label in PROGRAMS.items():
            r = found.get(name)
            if r:
                print(f"| {n} | {ranks} | {label} | {r['runs']} | {spread(r, 'build_s')} | {spread(r, 'cpu_build_s_max')} "
                      f"| {spread(r, 'simulate_s')} | {spread(r, 'cpu_simulate_s_max')} | "
                      f"{r['peak_rss_mb_max']:.0f} | {spikes(r)} |")
    for n, ranks, _, paired in rows:
        if paired:
            print(f"sim CPU nmlhub/NEURON exact at N={n}, {ranks} rank(s), per repeat: median "
                  f"{statistics.median(paired):.2f}, range {min(paired):.2f}-{max(paired):.2f} "
                  f"({', '.join(f'{p:.2f}' for p in paired)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--netpyne-max", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each program, interleaved; medians reported")
    parser.add_argument("--bench", type=Path, default=next((up / "shared" / "bench" for up in HERE.parents
                                                            if (up / "shared" / "bench").is_dir()), None))
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--with-whole-inputs", action="store_true",
                        help="also run nmlhub with each Poisson input as one point process (before issue 23)")
    args = parser.parse_args()
    args.split_ratios = {}
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    rows = []
    with tempfile.TemporaryDirectory(prefix="nmlhub-netbench-") as tmp:
        warm = Path(tmp) / "warm"
        # 200 cells: the rule's probability 100/N must stay within [0, 1]
        subprocess.run([sys.executable, str(HERE / "bench_network_model.py"), "200", str(warm), "10"], check=True,
                       capture_output=True)
        for engine in ([], ["--coreneuron"]):
            result_line([sys.executable, str(HERE / "bench_network_run.py"), str(warm / "LEMS_bench.xml"), "200",
                         "--share-synapses", *engine], args.timeout)
        for n in args.sizes:
            folder = Path(tmp) / f"n{n}"
            subprocess.run([sys.executable, str(HERE / "bench_network_model.py"), str(n), str(folder),
                            str(args.tstop)], check=True, capture_output=True)
            for ranks in args.ranks:
                rows.append((n, ranks, *measure(n, ranks, folder, args)))
    print_table(rows)
    print_spread(rows)
    for (n, ranks), ratios in args.split_ratios.items():
        print(f"sim CPU nmlhub split/whole inputs at N={n}, {ranks} rank(s), per repeat: median "
              f"{statistics.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f} "
              f"({', '.join(f'{r:.2f}' for r in ratios)})")
    by = {(n, r): f for n, r, f, _ in rows}
    for n in args.sizes:
        one, two = by.get((n, 1), {}).get("nmlhub"), by.get((n, 2), {}).get("nmlhub")
        if one and two:
            print(f"nmlhub speed-up on 2 ranks at N={n}: {one['simulate_s'] / two['simulate_s']:.2f}x")


if __name__ == "__main__":
    main()
