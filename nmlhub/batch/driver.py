"""Running a batch: its folder made (or reopened), the runs not yet done handed to an executor,
the index rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .batch import Batch
from .index import Index, write_index
from .spec import BatchSpec
from .status import RunStatus, read_status, write_status


def executor_for(name: str, **options: Any) -> Any:
    """The executor called ``name`` (``local``, ``mpi``, ``slurm``, ``pbs``) with its options."""
    if name == "local":
        from .executors.local import LocalExecutor

        return LocalExecutor(**options)
    if name == "mpi":
        from .executors.mpi import MPIExecutor

        return MPIExecutor(**options)
    if name == "slurm":
        from .executors.slurm import SlurmExecutor

        return SlurmExecutor(**options)
    if name == "pbs":
        from .executors.pbs import PBSExecutor

        return PBSExecutor(**options)
    raise ValueError(f"unknown executor {name!r} (executors: local, mpi, slurm, pbs)")


def run_batch(spec: BatchSpec | str | Path, executor: Any = None, *, folder: str | Path | None = None,
              retry_failed: bool = True) -> tuple[Batch, Index]:
    """Run a batch, or resume one: runs already done are skipped.

    Parameters
    ----------
    spec
        A :class:`BatchSpec` (its folder is made, or reopened if it holds the same batch), or the
        folder of an existing batch.
    executor
        Where the runs run (default: one local process at a time).
    folder
        The batch's folder (default: the spec's ``output``, else its name).
    retry_failed
        Run failed runs again too.

    Returns
    -------
    (Batch, Index)
        The batch and its index (``index.csv``/``index.h5`` written in its folder).

    Examples
    --------
    >>> from nmlhub.batch import load_spec, run_batch, executor_for  # doctest: +SKIP
    >>> batch, index = run_batch(load_spec("drive.yaml"), executor_for("local", jobs=2))  # doctest: +SKIP
    """
    if isinstance(spec, BatchSpec):
        batch = Batch.create(spec, folder)
    else:
        batch = Batch.open(spec)
    if executor is None:
        from .executors.local import LocalExecutor

        executor = LocalExecutor()
    runs = batch.to_run(retry_failed)
    for run in runs:
        write_status(run, RunStatus("pending", attempt=read_status(run).attempt))
    try:
        executor.run(batch, runs)
    finally:
        index = write_index(batch)
    return batch, index
