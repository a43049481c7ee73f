"""Build and run one saved benchmark network with nmlhub (serially or as one MPI rank) and print
a RESULT_JSON line like ../shared/bench's scripts (used by network_bench.py), with the spike-exchange
interval of each rank on MPI ranks (``exchange_ms``). As in the hand-written script, the build is
timed from after NEURON is imported and MPI initialised.

With ``--whole-inputs`` each Poisson input is one point process, as before issue 23 split it into
an event-only generator and its synapse (``split_inputs=False``); ``--save FILE`` pickles the
spikes and the recorded traces (rank 0, gathered), to compare two runs bit for bit.

Usage: [mpiexec -n R] python bench_network_run.py LEMS_FILE N [--share-synapses] [--coreneuron]
       [--whole-inputs] [--save FILE]
"""

from __future__ import annotations

import json
import pickle
import resource
import sys
import time

start = time.time()
from nmlhub.model import load  # noqa: E402
from nmlhub.neuron import mpi  # noqa: E402
from nmlhub.neuron.simulation import NeuronSimulation  # noqa: E402

# As the hand-written script does before its build starts: NEURON imported, MPI initialised.
if mpi.started_by_mpi_launcher():
    mpi.init()
from neuron import h  # noqa: E402

h.load_file("stdrun.hoc")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


lems, n = sys.argv[1], int(sys.argv[2])
imported = time.time()
t0 = time.time()
c0 = time.process_time()
engine = "coreneuron" if "--coreneuron" in sys.argv else "neuron"
sim = NeuronSimulation(load(lems), share_synapses="--share-synapses" in sys.argv, engine=engine,
                       split_inputs="--whole-inputs" not in sys.argv)
sim.build()
t1 = time.time()
c1 = time.process_time()
# the spike-exchange interval of a parallel run (ms): what pc.set_maxstep(10) gives, as the run sets it
exchange = sim.pc.py_gather(sim.pc.set_maxstep(10), 0) if sim.nhost > 1 else None
results = sim.run()
t2 = time.time()
c2 = time.process_time()
rss = sim.pc.py_gather(peak_rss_mb(), 0) if sim.pc is not None else [peak_rss_mb()]
cpu = sim.pc.py_gather((c1 - c0, c2 - c1), 0) if sim.pc is not None else [(c1 - c0, c2 - c1)]
if sim.rank == 0:
    spikes = results.spike_count()
    n_e = int(round(0.8 * n))
    e = sum(len(v) for (pop, _), v in results.spikes.items() if pop == "E")
    tstop_s = results.duration_ms / 1000.0
    print("RESULT_JSON " + json.dumps(dict(
        impl="nmlhub" + ("_shared" if "--share-synapses" in sys.argv else "") + ("_coreneuron" if engine != "neuron" else "")
        + ("_whole_inputs" if "--whole-inputs" in sys.argv else ""),
        N=n, nhost=sim.nhost,
        import_s=round(imported - start, 3), build_s=round(t1 - t0, 3), simulate_s=round(t2 - t1, 3),
        cpu_build_s_max=round(max(c[0] for c in cpu), 3), cpu_simulate_s_max=round(max(c[1] for c in cpu), 3),
        exchange_ms=[round(x, 4) for x in exchange] if exchange else None, peak_rss_mb_max=round(max(rss), 1), peak_rss_mb_sum=round(sum(rss), 1), total_spikes=spikes,
        rateE_hz=round(e / (n_e * tstop_s), 3), rateI_hz=round((spikes - e) / ((n - n_e) * tstop_s), 3))), flush=True)
    if "--save" in sys.argv:
        with open(sys.argv[sys.argv.index("--save") + 1], "wb") as out:
            pickle.dump({"spikes": {k: list(v) for k, v in results.spikes.items()},
                         "traces": {k: list(v) for k, v in results.traces.items()}}, out)
sim.finish()
