"""Rule expansion speed and memory: 10,000 cells with ~100 inputs each (1M connections).

Two rules, each expanded on one core: a constant probability p = K/N between every ordered pair
of the benchmark network of ``../shared/bench`` (80 % E, 20 % I in a 1000 um cube, delay
1 + dist_3D/500 ms), and a distance-dependent probability p0*exp(-dist_3D/100) with a 300 um
cutoff, p0 set so that the mean in-degree is ~K (walls included). Prints the expansion time, the
bytes the connection columns hold per connection, and, in the same run, NetPyNE's time to create
the connections of the same constant-probability network (its connectivity rules only: the
NetCon-making step is replaced by a list append; with ``--netcons``, NetPyNE's real
``connectCells``), for ``--netpyne-n`` cells (default 2000; NetPyNE is O(N^2) in Python, so
10,000 cells takes it more than ten minutes), with nmlhub's time at that size for the ratio.

Usage: python benchmarks/expand_bench.py [-N 10000] [--netpyne-n 2000] [--netcons] [--repeat 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from nmlhub.rules.connectivity import ConnectivityRule  # noqa: E402
from nmlhub.rules.expand import NetworkRules, expand  # noqa: E402
from nmlhub.rules.layout import PopulationRule  # noqa: E402
from nmlhub.rules.selection import CellSelector  # noqa: E402

K = 100
BOX = 1000.0
LENGTH = 100.0  # um, length constant of the distance-dependent probability
CUTOFF = 300.0  # um


def network(n: int, distance: bool) -> NetworkRules:
    n_e = int(round(0.8 * n))
    rules = NetworkRules("bench", (BOX, BOX, BOX), seed=1)
    rules.populations = [PopulationRule("E", "hh", count=n_e), PopulationRule("I", "hh", count=n - n_e)]
    everyone = CellSelector.make(["E", "I"])
    if distance:
        # p0 so that the mean in-degree is K, edge effects included (estimated on 500 cells)
        from scipy.spatial import cKDTree

        from nmlhub.rules.layout import expand_populations

        cells = expand_populations(rules.populations, rules.size, rules.seed)
        tree = cKDTree(cells.position)
        sample = cells.position[:: max(1, n // 500)]
        total = 0.0
        for point, near in zip(sample, tree.query_ball_point(sample, CUTOFF)):
            d = np.linalg.norm(cells.position[near] - point, axis=1)
            total += np.exp(-d[d > 0] / LENGTH).sum()
        p0 = min(1.0, K / (total / len(sample)))
        probability, cutoff = f"{p0:.4g}*exp(-dist_3D/{LENGTH:g})", CUTOFF
    else:
        probability, cutoff = K / n, None
    for pop in ("E", "I"):
        rules.connections.append(ConnectivityRule(
            f"{pop}_all", CellSelector.make(pop), everyone, (f"syn_{pop}",), "probability", probability,
            weight=0.0005 if pop == "E" else 0.008, delay="1 + dist_3D/500", max_distance=cutoff))
    return rules


def best(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def netpyne_connections(n: int, make_netcons: bool) -> tuple[float, int]:
    """NetPyNE's time to create the constant-probability network's connections."""
    from neuron import h

    h.nrnmpi_init()
    from netpyne import sim, specs

    n_e = int(round(0.8 * n))
    net = specs.NetParams()
    net.sizeX = net.sizeY = net.sizeZ = BOX
    net.cellParams["HH"] = {"secs": {"soma": {"geom": {"L": 18.8, "diam": 18.8},
                                              "mechs": {"hh": {}}}}}
    net.popParams["E"] = {"cellType": "HH", "numCells": n_e}
    net.popParams["I"] = {"cellType": "HH", "numCells": n - n_e}
    net.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.1, "tau2": 5.0, "e": 0}
    net.synMechParams["inh"] = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 10.0, "e": -80}
    for pop, syn, w in (("E", "exc", 0.0005), ("I", "inh", 0.008)):
        net.connParams[f"{pop}->all"] = {"preConds": {"pop": pop}, "postConds": {"pop": ["E", "I"]},
                                         "probability": K / n, "weight": w, "delay": "1 + dist_3D/500",
                                         "synMech": syn}
    cfg = specs.SimConfig()
    cfg.verbose = False
    cfg.printRunTime = False
    cfg.progressBar = 0
    cfg.oneSynPerNetcon = False
    sim.initialize(netParams=net, simConfig=cfg)
    sim.net.createPops()
    sim.net.createCells()
    made = []
    if not make_netcons:
        sim.net._addCellConn = lambda connParam, pre, post, preTags={}: made.append((pre, post))
    start = time.perf_counter()
    sim.net.connectCells()
    elapsed = time.perf_counter() - start
    count = len(made) if not make_netcons else sum(len(c.conns) for c in sim.net.cells)
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-N", type=int, default=10_000)
    parser.add_argument("--netpyne-n", type=int, default=2000)
    parser.add_argument("--netcons", action="store_true", help="time NetPyNE's real connectCells")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-netpyne", action="store_true")
    args = parser.parse_args()

    print(f"nmlhub rule expansion, N = {args.N} cells, K = {K} inputs per cell, one core")
    for distance in (False, True):
        rules = network(args.N, distance)
        seconds, expanded = best(lambda: expand(rules), args.repeat)
        n = expanded.connection_count
        label = (f"{rules.connections[0].parameter.text} (cutoff {CUTOFF:g} um)" if distance
                 else f"constant probability {K}/N")
        print(f"  {label:36s} {seconds:6.2f} s  {n:9,d} connections  "
              f"{expanded.nbytes / n:5.1f} bytes/connection  ({n / seconds / 1e6:.2f} M/s)")
    if args.no_netpyne:
        return
    small = network(args.netpyne_n, False)
    ours, expanded = best(lambda: expand(small), args.repeat)
    theirs, count = netpyne_connections(args.netpyne_n, args.netcons)
    what = "connectCells with NetCons" if args.netcons else "connectivity rules, NetCons skipped"
    print(f"NetPyNE {what}, N = {args.netpyne_n}: {theirs:.2f} s for {count:,d} connections; "
          f"nmlhub {ours:.3f} s for {expanded.connection_count:,d}; ratio nmlhub/NetPyNE = {ours / theirs:.4f} "
          f"(NetPyNE {theirs / ours:.0f}x slower)")


if __name__ == "__main__":
    main()
