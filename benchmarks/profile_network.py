"""Where nmlhub's build time and memory go, for one saved benchmark network (bench_network_model.py).

Prints the resident memory (current and peak, MB) after each build step (load, mechanisms, rule
expansion and plan, instantiation) and around the run, the Python objects the build leaves alive
during the run (tracemalloc: the largest allocation sites still held after the build, and the
numpy arrays reachable from the simulation), and optionally a cProfile of the build.

Usage: python benchmarks/profile_network.py LEMS_FILE [--cprofile N] [--tracemalloc] [--no-run]
e.g.   python benchmarks/bench_network_model.py 10000 /tmp/n10000 200
       python benchmarks/profile_network.py /tmp/n10000/LEMS_bench.xml --cprofile 25
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from nmlhub.model import load  # noqa: E402
from nmlhub.neuron import network as network_module  # noqa: E402
from nmlhub.neuron import simulation as simulation_module  # noqa: E402
from nmlhub.neuron.simulation import NeuronSimulation  # noqa: E402


SPENT: dict[str, float] = {}  # CPU seconds in each instantiation step


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mark(what: str, started: float) -> None:
    now, peak = rss_mb()
    print(f"{what:28s} t {time.time() - started:7.2f} s  cpu {time.process_time():7.2f} s   rss {now:7.1f} MB   "
          f"peak {peak:7.1f} MB", flush=True)


def timed_steps(started: float) -> None:
    """Report memory after each build step, by wrapping the steps NeuronSimulation calls."""
    for name in ("load_network_mechanisms", "expand_and_plan", "instantiate"):
        step = getattr(simulation_module, name)

        def wrapped(*args, _step=step, _name=name, **kwargs):
            result = _step(*args, **kwargs)
            mark(f"after {_name}", started)
            return result

        setattr(simulation_module, name, wrapped)
    for name in ("_build_cells", "connect_columns", "_attach_inputs"):
        step = getattr(network_module, name)

        def summed(*args, _step=step, _name=name, **kwargs):
            cpu = time.process_time()
            result = _step(*args, **kwargs)
            SPENT[_name] = SPENT.get(_name, 0.0) + time.process_time() - cpu
            return result

        setattr(network_module, name, summed)


def numpy_held(root: object) -> list[tuple[int, str]]:
    """The numpy arrays reachable from ``root`` (bytes, path), largest first."""
    seen, found, stack = set(), [], [(root, "sim")]
    while stack:
        obj, path = stack.pop()
        if id(obj) in seen or len(seen) > 2_000_000:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            found.append((obj.nbytes, path))
            continue
        if isinstance(obj, dict):
            items = list(obj.items())[:50]
            stack += [(v, f"{path}[{k!r}]") for k, v in items]
        elif isinstance(obj, (list, tuple)):
            stack += [(v, f"{path}[{i}]") for i, v in enumerate(list(obj)[:50])]
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(("nmlhub", "neuroml")):
            stack += [(v, f"{path}.{k}") for k, v in vars(obj).items()]
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lems", type=Path)
    parser.add_argument("--cprofile", type=int, default=0, help="show the N most expensive functions of the build")
    parser.add_argument("--tracemalloc", action="store_true", help="list the largest allocations alive in the run")
    parser.add_argument("--no-run", action="store_true")
    args = parser.parse_args()
    started = time.time()
    if args.tracemalloc:
        tracemalloc.start(8)
    mark("start", started)
    model = load(args.lems)
    mark("after load", started)
    timed_steps(started)
    sim = NeuronSimulation(model, share_synapses=True)
    profiler = cProfile.Profile() if args.cprofile else None
    if profiler:
        profiler.enable()
    sim.build()
    if profiler:
        profiler.disable()
    gc.collect()
    mark("after build", started)
    print("CPU s in instantiation steps: " + ", ".join(f"{k} {v:.2f}" for k, v in SPENT.items()))
    held = numpy_held(sim)
    print(f"numpy arrays reachable from the simulation: {sum(b for b, _ in held) / 2**20:.1f} MB in {len(held)}")
    for nbytes, path in held[:8]:
        print(f"  {nbytes / 2**20:8.2f} MB  {path}")
    if args.tracemalloc:
        snapshot = tracemalloc.take_snapshot()
        print(f"Python allocations alive: {sum(s.size for s in snapshot.statistics('filename')) / 2**20:.1f} MB")
        for stat in snapshot.statistics("lineno")[:15]:
            print(f"  {stat.size / 2**20:8.2f} MB {stat.count:9d} blocks  {stat.traceback[0]}")
        tracemalloc.stop()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.cprofile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
    if not args.no_run:
        results = sim.run()
        mark("after run", started)
        print(f"spikes: {results.spike_count()}")


if __name__ == "__main__":
    main()
