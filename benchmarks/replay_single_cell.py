"""One cell of the benchmark network (benchmarks/bench_network_model.py) driven by the same input
events in nmlhub and in a hand-written NEURON cell (``hh`` with exact rates, ``Exp2Syn``), at
several time steps: how far apart the two integrations are, and which is nearer to the limit of
a small step.

nmlhub runs the cell with a Poisson input (``--rate``, default 2000 Hz, of the background's 0.3 nS
synapse) and records the input's events; the NEURON cell receives exactly those events
(``NetCon.event`` at each time). Both give their spike times (threshold 10 mV) for each step.

Usage: python benchmarks/replay_single_cell.py [--dt 0.025 0.005 0.001] [--tstop 100] [--rate 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402


def nmlhub_run(folder: Path, dt: float, tstop: float, rate: float) -> tuple[np.ndarray, list[float]]:
    """The input's event times and the cell's spike times in nmlhub."""
    import neuroml

    import bench_network_model
    import nmlhub
    from neuron import h
    from nmlhub.model import load
    from nmlhub.neuron.simulation import NeuronSimulation

    net = nmlhub.NetworkBuilder("replay", size=(10.0, 10.0, 10.0), seed=1, temperature="6.3 degC")
    for name in ("Na", "K", "leak"):
        net.include(HERE.parent / "nml_examples" / "hh_single" / f"{name}.channel.nml")
    net.add(bench_network_model.hh_cell())
    net.add(neuroml.ExpTwoSynapse(id="bkg_syn", gbase="0.3nS", erev="0mV", tau_rise="0.1ms", tau_decay="5ms"))
    net.add(neuroml.PoissonFiringSynapse(id="bkg", average_rate=f"{rate} Hz", synapse="bkg_syn",
                                         spike_target="./bkg_syn"))
    net.population("P", cell="hh_bench", count=1)
    net.stimulate("bkg", targets="P", id="drive")
    lems = net.save(folder / "replay.net.nml", simulation=dict(duration_ms=tstop, dt_ms=dt, record_v=["P[0]"], spikes=None))
    sim = NeuronSimulation(load(lems))
    sim.build()
    events = []
    netcons = h.List("NetCon")
    for k in range(int(netcons.count())):
        if netcons.o(k).pre() is not None:  # the input's generator
            events.append(h.Vector())
            netcons.o(k).record(events[-1])
    results = sim.run()
    spikes = sorted(float(t) for times in results.spikes.values() for t in times)
    return np.array(events[0]), spikes


NEURON_CELL = """
import sys, numpy as np
from neuron import h
h.load_file('stdrun.hoc')
events = np.load(sys.argv[1]); dt = float(sys.argv[2]); tstop = float(sys.argv[3])
soma = h.Section(name='soma'); soma.L = soma.diam = 18.8; soma.Ra = 35.4; soma.cm = 1; soma.insert('hh')
h.usetable_hh = 0
syn = h.Exp2Syn(soma(0.5)); syn.tau1, syn.tau2, syn.e = 0.1, 5.0, 0.0
feed = h.NetCon(None, syn); feed.weight[0] = 0.0003; feed.delay = 0
handler = h.FInitializeHandler(lambda: [feed.event(float(t)) for t in events])
detector = h.NetCon(soma(0.5)._ref_v, None, sec=soma); detector.threshold = 10
spikes = h.Vector(); detector.record(spikes)
h.celsius, h.dt = 6.3, dt
h.finitialize(-65); h.continuerun(tstop)
print('SPIKES', ' '.join(repr(float(t)) for t in spikes))
"""


def neuron_run(events: np.ndarray, folder: Path, dt: float, tstop: float) -> list[float]:
    """The hand-written cell's spike times for the same events (a fresh process)."""
    np.save(folder / "events.npy", events)
    out = subprocess.run([sys.executable, "-c", NEURON_CELL, str(folder / "events.npy"), str(dt), str(tstop)],
                         capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("SPIKES"))
    return [float(t) for t in line.split()[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dt", type=float, nargs="+", default=[0.025, 0.005, 0.001])
    parser.add_argument("--tstop", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=2000.0)
    args = parser.parse_args()
    rows = []
    for dt in args.dt:
        with tempfile.TemporaryDirectory(prefix="nmlhub-replay-") as tmp:
            code = ("import sys; sys.argv[1:] = []; sys.path[:0] = %r; import replay_single_cell as r; "
                    "from pathlib import Path; e, s = r.nmlhub_run(Path(%r), %r, %r, %r); "
                    "import numpy as np; np.save(%r, e); print('SPIKES', ' '.join(map(repr, s)))"
                    % ([str(HERE), str(HERE.parent)], tmp, dt, args.tstop, args.rate, tmp + "/ev.npy"))
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            ours = [float(t) for t in next(line for line in out.splitlines() if line.startswith("SPIKES")).split()[1:]]
            events = np.load(Path(tmp) / "ev.npy")
            theirs = neuron_run(events, Path(tmp), dt, args.tstop)
        rows.append((dt, len(events), ours, theirs))
    finest = rows[-1]
    print("| dt ms | input events | nmlhub spikes (ms) | NEURON hh + Exp2Syn spikes (ms) | largest |nmlhub - finest| | largest |NEURON - finest| |")
    print("|---|---|---|---|---|---|")
    for dt, n, ours, theirs in rows:
        def off(times: list[float], reference: list[float]) -> str:
            if len(times) != len(reference):
                return f"{len(times)} vs {len(reference)} spikes"
            return f"{max(abs(a - b) for a, b in zip(times, reference)):.3f}"
        print(f"| {dt:g} | {n} | {', '.join(f'{t:.3f}' for t in ours)} | {', '.join(f'{t:.3f}' for t in theirs)} "
              f"| {off(ours, finest[2])} | {off(theirs, finest[3])} |")


if __name__ == "__main__":
    main()
