"""Run a LEMS file (serially, or as one rank under mpiexec) and pickle what rank 0 gathered.

Usage: python tests/parallel_run.py LEMS_FILE OUT.pkl [--balance]   (used by tests/test_parallel.py)
"""

import pickle
import sys

from nmlhub.model import load
from nmlhub.neuron.simulation import NeuronSimulation


def _tables_read_whole(network):
    """Ids of the HDF5 connection and input tables this rank read whole (not only its part)."""
    lists = [(p.id, getattr(p, a, None)) for p in network.projections + network.electrical_projections
             + network.continuous_projections for a in ("connections", "electrical_connection_instance_ws",
                                                        "continuous_connection_instance_ws")]
    lists += [(i.id, i.input) for i in network.input_lists]
    return sorted(name for name, rows in lists if getattr(getattr(rows, "rows", None), "loaded", False))


sim = NeuronSimulation(load(sys.argv[1]), balance="--balance" in sys.argv)
results = sim.run()
if sim.rank == 0:
    with open(sys.argv[2], "wb") as out:
        pickle.dump({"nhost": sim.nhost, "cells_here": len(sim.instance.cells),
                     "spikes": {k: v.tolist() for k, v in results.spikes.items()},
                     "traces": {k: v.tolist() for k, v in results.traces.items()},
                     "time": results.time_ms.tolist(),
                     "tables_read_whole": _tables_read_whole(sim.network),
                     "connections_here": len(sim.instance.netcons)}, out)
sim.finish()
