"""Run a LEMS file (serially, or as one rank under mpiexec) and pickle what rank 0 gathered.

Usage: python tests/parallel_run.py LEMS_FILE OUT.pkl [--balance]   (used by tests/test_parallel.py)
"""

import pickle
import sys

from nmlhub.model import load
from nmlhub.neuron.simulation import NeuronSimulation

sim = NeuronSimulation(load(sys.argv[1]), balance="--balance" in sys.argv)
results = sim.run()
if sim.rank == 0:
    with open(sys.argv[2], "wb") as out:
        pickle.dump({"nhost": sim.nhost, "cells_here": len(sim.instance.cells),
                     "spikes": {k: v.tolist() for k, v in results.spikes.items()},
                     "traces": {k: v.tolist() for k, v in results.traces.items()},
                     "time": results.time_ms.tolist()}, out)
sim.finish()
