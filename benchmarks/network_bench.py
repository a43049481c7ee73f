"""The benchmark network of ../shared/bench built and run by nmlhub, by the hand-written NEURON
script and by NetPyNE, serially and on 2 MPI ranks, in one run: build time, simulation time, peak
memory per rank and spike count for each, and the ratios nmlhub/NEURON and nmlhub/NetPyNE. The
hand-written script also runs with NEURON's hh rate tables off (raw_neuron_exact_rates.py), the
like-for-like baseline: nmlhub computes every rate exactly, as jNeuroML does. nmlhub also runs
with CoreNEURON as its engine.

nmlhub builds the network from rules (benchmarks/bench_network_model.py) and shares synapse
instances of linear synapses as the hand-written script does (``--share-synapses``); its mechanism
cache is warmed first, so build times exclude compiling. Each run is a fresh process.

Usage: python benchmarks/network_bench.py [--sizes 1000 4000 10000] [--ranks 1 2] [--tstop 1000]
       [--netpyne-max 4000] [--bench ../shared/bench]
NetPyNE needs ``pip install -e '.[bench]'``; it is skipped above ``--netpyne-max`` cells (at 10,000
its connection step alone takes more than ten minutes on this machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nmlhub.neuron import mpi  # noqa: E402


def result_line(command: list[str], timeout: float) -> dict | None:
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT_JSON "):
            return json.loads(line[len("RESULT_JSON "):])
    sys.stderr.write(f"no result from {' '.join(command)}:\n{proc.stderr[-1500:]}\n")
    return None


def launch(ranks: int, script: list[str]) -> list[str]:
    return (mpi.mpiexec_command(ranks, [])[:3] if ranks > 1 else []) + [sys.executable] + script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--netpyne-max", type=int, default=4000)
    parser.add_argument("--bench", type=Path, default=next((up / "shared" / "bench" for up in HERE.parents
                                                            if (up / "shared" / "bench").is_dir()), None))
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

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
                runs = {
                    "nmlhub": launch(ranks, [str(HERE / "bench_network_run.py"), str(folder / "LEMS_bench.xml"),
                                             str(n), "--share-synapses"]),
                    "NEURON": launch(ranks, [str(args.bench / "raw_neuron_net.py"), "-N", str(n),
                                             "--tstop", str(args.tstop)]),
                    "nmlhub_core": launch(ranks, [str(HERE / "bench_network_run.py"), str(folder / "LEMS_bench.xml"),
                                                  str(n), "--share-synapses", "--coreneuron"]),
                    "NEURON_exact": launch(ranks, [str(HERE / "raw_neuron_exact_rates.py"),
                                                   str(args.bench / "raw_neuron_net.py"), "-N", str(n),
                                                   "--tstop", str(args.tstop)]),
                }
                if n <= args.netpyne_max:
                    runs["NetPyNE"] = launch(ranks, [str(args.bench / "netpyne_net.py"), "-N", str(n),
                                                     "--tstop", str(args.tstop), "--shared-syn"])
                found = {}
                for name, command in runs.items():
                    found[name] = result_line(command, args.timeout)
                    r = found[name]
                    if r:
                        print(f"N={n:6d} ranks={ranks} {name:12s} build {r['build_s']:8.2f} s  simulate "
                              f"{r['simulate_s']:8.2f} s  peak {r['peak_rss_mb_max']:8.1f} MB/rank  "
                              f"spikes {r['total_spikes']}", flush=True)
                rows.append((n, ranks, found))
    print("\n| N | ranks | nmlhub build s | NEURON build s | NetPyNE build s | nmlhub sim s | NEURON sim s | "
          "nmlhub MB/rank | NEURON MB/rank | NetPyNE MB/rank | build nmlhub/NEURON | build nmlhub/NetPyNE | "
          "sim nmlhub/NEURON | NEURON exact-rates sim s | sim nmlhub/NEURON exact | nmlhub CoreNEURON sim s | "
          "sim CoreNEURON/NEURON | spikes nmlhub / NEURON |")
    print("|" + "---|" * 18)

    def cell(r, key, fmt="{:.2f}"):
        return fmt.format(r[key]) if r else "-"

    for n, ranks, found in rows:
        ours, raw, npy = found.get("nmlhub"), found.get("NEURON"), found.get("NetPyNE")
        exact, core = found.get("NEURON_exact"), found.get("nmlhub_core")
        ratio = lambda a, b, key: f"{a[key] / b[key]:.2f}" if a and b and b[key] else "-"  # noqa: E731
        print(f"| {n} | {ranks} | {cell(ours, 'build_s')} | {cell(raw, 'build_s')} | {cell(npy, 'build_s')} | "
              f"{cell(ours, 'simulate_s')} | {cell(raw, 'simulate_s')} | {cell(ours, 'peak_rss_mb_max', '{:.0f}')} | "
              f"{cell(raw, 'peak_rss_mb_max', '{:.0f}')} | {cell(npy, 'peak_rss_mb_max', '{:.0f}')} | "
              f"{ratio(ours, raw, 'build_s')} | {ratio(ours, npy, 'build_s')} | {ratio(ours, raw, 'simulate_s')} | "
              f"{cell(exact, 'simulate_s')} | {ratio(ours, exact, 'simulate_s')} | "
              f"{cell(core, 'simulate_s')} | {ratio(core, raw, 'simulate_s')} | "
              f"{cell(ours, 'total_spikes', '{}')} / {cell(raw, 'total_spikes', '{}')} |")
    by = {(n, r): f for n, r, f in rows}
    for n in args.sizes:
        one, two = by.get((n, 1), {}).get("nmlhub"), by.get((n, 2), {}).get("nmlhub")
        if one and two:
            print(f"nmlhub speed-up on 2 ranks at N={n}: {one['simulate_s'] / two['simulate_s']:.2f}x")


if __name__ == "__main__":
    main()
