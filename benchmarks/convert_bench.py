"""Converting a large network: 10,000 cells and 1,000,000 connections written and read in each model
format (NeuroML XML, NeuroML HDF5, JSON, pickle, MATLAB, a SONATA circuit), each format in a fresh
process so that its peak memory is its own. Prints seconds to write and to read, file size (a
SONATA circuit: all its files) and peak memory, and each format's time as a multiple of HDF5's.
Then the spikes of a 10,000-cell run (Poisson trains, as many spikes as the 10,000-cell benchmark
network fires in 1 s) written as NWB, SONATA spikes and nmlhub's HDF5 results.

Usage: python benchmarks/convert_bench.py [--cells 10000] [--connections 1000000] [--spikes 94454]
       [--formats hdf5 sonata ...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh import fresh_result  # noqa: E402

NEUROML_NS = "http://www.neuroml.org/schema/neuroml2"


def network_tree(cells: int, connections: int, seed: int = 1) -> dict:
    """A NeuroML document with two populations with locations and one connectionWD projection,
    made directly as columns (what a rule expansion gives)."""
    from nmlhub.converters.model_tree import encode_column

    rng = np.random.default_rng(seed)
    n_e = int(cells * 0.8)

    def population(pid: str, n: int) -> dict:
        location = {"tag": "location", "columns": {a: {"float": rng.uniform(0, 1000, n), "prefix": "", "suffix": ""}
                                                   for a in "xyz"}}
        instances = {"block": "instance", "count": n, "columns": {"id": {"int": np.arange(n), "prefix": "", "suffix": ""}},
                     "children": [location]}
        return {"tag": "population", "attrs": {"id": pid, "component": "cell", "size": str(n), "type": "populationList"},
                "children": [instances]}

    pre = rng.integers(0, n_e, connections)
    post = rng.integers(0, n_e, connections)
    conns = {"block": "connectionWD", "count": connections, "columns": {
        "id": {"int": np.arange(connections), "prefix": "", "suffix": ""},
        "preCellId": {"int": pre, "prefix": "../E/", "suffix": "/cell"},
        "postCellId": {"int": post, "prefix": "../E/", "suffix": "/cell"},
        "weight": {"float": np.round(rng.uniform(0.1, 2.0, connections), 6), "prefix": "", "suffix": ""},
        "delay": {"float": np.round(1 + rng.uniform(0, 3, connections), 4), "prefix": "", "suffix": "ms"}},
        "children": []}
    network = {"tag": "network", "attrs": {"id": "net"}, "children": [
        population("E", n_e), population("I", cells - n_e),
        {"tag": "projection", "attrs": {"id": "EE", "presynapticPopulation": "E", "postsynapticPopulation": "E",
                                        "synapse": "syn"}, "children": [conns]}]}
    cell = {"tag": "izhikevich2007Cell", "attrs": {"id": "cell", "C": "100pF", "v0": "-60mV", "k": "0.7nS_per_mV",
            "vr": "-60mV", "vt": "-40mV", "vpeak": "35mV", "a": "0.03per_ms", "b": "-2nS", "c": "-50mV", "d": "100pA"},
            "children": []}
    syn = {"tag": "expTwoSynapse", "attrs": {"id": "syn", "gbase": "1nS", "erev": "0mV", "tauRise": "0.5ms",
                                             "tauDecay": "5ms"}, "children": []}
    _ = encode_column  # the columns above are in the form encode_column gives
    return {"root": {"tag": "neuroml", "ns": NEUROML_NS, "nsmap": {"": NEUROML_NS}, "attrs": {"id": "big"},
                     "children": [syn, cell, network]}}


def _size(path: Path) -> int:
    """Bytes of a file, or of every file in a folder (a SONATA circuit)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def run_spikes(cells: int, spikes: int, seed: int = 1):
    """Results of a 10,000-cell run's size: Poisson spike trains over 1 s, 80 % E and 20 % I."""
    from nmlhub.results import Results

    rng = np.random.default_rng(seed)
    counts = rng.poisson(spikes / cells, cells)
    n_e = int(cells * 0.8)
    trains = {("E" if i < n_e else "I", i if i < n_e else i - n_e): np.sort(rng.uniform(0, 1000, c))
              for i, c in enumerate(counts)}
    return Results(np.zeros(0), {}, trains, duration_ms=1000.0, dt_ms=0.025, seed=seed,
                   settings={"simulator": "NEURON", "simulator_version": "9.0", "duration_ms": 1000.0})


def one_results_format(target: Path, cells: int, spikes: int) -> None:
    """(In a fresh process) write and read back a run's spikes; the format's library imported first."""
    from nmlhub.converters import load, save
    from nmlhub.converters.results_io import results_format

    results = run_spikes(cells, spikes)
    t0 = time.perf_counter()
    if target.suffix == ".nwb":
        importlib.import_module("pynwb")  # its import (about 2 s) is timed apart
    t1 = time.perf_counter()
    save(results, target)
    t2 = time.perf_counter()
    back = load(target)
    t3 = time.perf_counter()
    assert back.spike_count() == results.spike_count() and results_format(target).name
    print("RESULT_JSON " + json.dumps(dict(import_s=round(t1 - t0, 3), write_s=round(t2 - t1, 3),
                                           read_s=round(t3 - t2, 3), size_mb=round(_size(target) / 1e6, 2),
                                           spikes=results.spike_count())))


def one_format(source: Path, target: Path) -> None:
    """(In a fresh process) read ``source``, write ``target``, read it back; print the figures."""
    from nmlhub.converters import load, save

    tree = load(source)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    save(tree, target)
    t1 = time.perf_counter()
    del tree
    back = load(target)
    t2 = time.perf_counter()
    assert back["root"]["children"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT_JSON " + json.dumps(dict(write_s=round(t1 - t0, 3), read_s=round(t2 - t1, 3),
                                           size_mb=round(_size(target) / 1e6, 1),
                                           peak_mb=round(peak, 1), source_peak_mb=round(base, 1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=1_000_000)
    parser.add_argument("--spikes", type=int, default=94454, help="spikes of the run (the 10,000-cell "
                        "benchmark network's in 1 s)")
    parser.add_argument("--formats", nargs="*", help="only these model formats (default: all)")
    args = parser.parse_args()
    from nmlhub.converters import save

    with tempfile.TemporaryDirectory(prefix="nmlhub-convbench-") as tmp:
        source = Path(tmp) / "source.pkl"  # the quickest to read, so each run starts from the same tree
        save(network_tree(args.cells, args.connections), source)
        rows = {}
        for fmt, name in (("hdf5", "net.nml.h5"), ("xml", "net.nml"), ("json", "net.json"),
                          ("pickle", "net.pkl"), ("matlab", "net.mat"), ("sonata", "net.sonata")):
            if args.formats and fmt not in args.formats:
                continue
            result = fresh_result([__file__, "--one", str(source), str(Path(tmp) / name)])
            if result is None:
                continue
            rows[fmt] = result
        hdf5 = rows.get("hdf5")
        print(f"{args.cells} cells, {args.connections} connections\n")
        print("| format | write s | read s | write+read s | x HDF5 | file MB | peak MB (source tree alone) |")
        print("|---|---|---|---|---|---|---|")
        for fmt, r in rows.items():
            total = r["write_s"] + r["read_s"]
            ratio = f"{total / (hdf5['write_s'] + hdf5['read_s']):.1f}" if hdf5 else "-"
            print(f"| {fmt} | {r['write_s']:.2f} | {r['read_s']:.2f} | {total:.2f} | {ratio} | {r['size_mb']} | "
                  f"{r['peak_mb']:.0f} ({r['source_peak_mb']:.0f}) |")
        print(f"\n{args.cells} cells' spikes\n")
        print("| results format | import s | write s | read s | file MB | spikes |")
        print("|---|---|---|---|---|---|")
        for fmt, name in (("hdf5", "run.h5"), ("nwb", "run.nwb"), ("sonata_spikes", "run.spikes.h5")):
            r = fresh_result([__file__, "--results", str(Path(tmp) / name), str(args.cells), str(args.spikes)])
            if r is not None:
                print(f"| {fmt} | {r['import_s']:.2f} | {r['write_s']:.2f} | {r['read_s']:.2f} | {r['size_mb']} | "
                      f"{r['spikes']} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        one_format(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "--results":
        one_results_format(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
