"""Batch simulations: parameter exploration on one machine, over MPI, on SLURM or PBS clusters.

A batch is a base model, parameters addressed by path into it, how their values are combined
(grid, list, random, Latin hypercube), simulation settings and the metrics of each run. Every
run lives in its own folder (model as run, results, log, status) and the index of parameters ->
metrics is rebuilt from those folders.

Examples
--------
>>> from nmlhub.batch import load_spec, run_batch, executor_for  # doctest: +SKIP
>>> batch, index = run_batch(load_spec("drive.yaml"), executor_for("local", jobs=2))  # doctest: +SKIP
>>> index.metrics["rate.Exc"]  # doctest: +SKIP
"""

from .batch import Batch
from .driver import executor_for, run_batch
from .index import Index, build_index, read_index_hdf5, write_index
from .spec import BatchError, BatchSpec, Metric, Parameter, Sampling, load_spec, spec_from_dict

__all__ = [
    "Batch", "BatchError", "BatchSpec", "Index", "Metric", "Parameter", "Sampling", "build_index",
    "executor_for", "load_spec", "read_index_hdf5", "run_batch", "spec_from_dict", "write_index",
]
