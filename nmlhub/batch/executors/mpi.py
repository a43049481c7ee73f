"""A pool of MPI ranks (on one or more nodes): ``mpiexec -n K+1 python -m nmlhub.batch worker``.

Rank 0 hands out runs and waits for reports without blocking; every other rank runs one run at a
time, each in its own process (so a crash kills only that run, and NEURON in it runs serially).
A rank that stops reporting past its run's time limit is given up (its run recorded as failed)
and the pool is aborted at the end rather than waited for. When the pool itself dies (a rank
killed), the driver records what was going on, retries it once, and starts a new pool for the
runs not yet started: the batch never hangs on a dead process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..status import RunStatus, read_status, write_status
from .base import KILL_GRACE_S, RunProcess, _detach_and_die_with_parent, exit_description, mark_failed_if_unfinished

TAG_WORK, TAG_STOP, TAG_DONE = 1, 2, 3
#: How many times a run interrupted by the death of its pool is started again before it counts
#: as failed.
MAX_ATTEMPTS = 2


@dataclass
class MPIExecutor:
    """Runs on a pool of MPI worker ranks.

    Parameters
    ----------
    workers
        Worker ranks (``mpiexec`` starts one more, which hands out the runs).
    mpiexec_args
        Extra launcher arguments (e.g. ``["-hosts", "node1,node2"]``).
    max_pools
        How many times a pool that died is replaced before the runs left are recorded as failed.
    """

    workers: int = 2
    mpiexec_args: list[str] = field(default_factory=list)
    max_pools: int = 3

    def command(self, batch_folder: Path, runs_file: Path) -> list[str]:
        from ...neuron import mpi

        command = mpi.mpiexec_command(self.workers + 1, ["worker", str(batch_folder), str(runs_file)])
        index = command.index("nmlhub")
        command[index] = "nmlhub.batch"  # python -m nmlhub.batch worker ...
        return command[:3] + list(self.mpiexec_args) + command[3:]

    def run(self, batch: object, runs: Sequence[Path]) -> None:
        """Run ``runs`` on the pool; every run ends done or failed."""
        from ...neuron import mpi

        folder = Path(getattr(batch, "folder"))
        timeout = float(getattr(batch, "timeout_s", 3600.0))
        todo = [Path(r) for r in runs]
        for pool in range(self.max_pools):
            if not todo:
                return
            runs_file = folder / f".mpi_runs_{os.getpid()}_{pool}.txt"
            runs_file.write_text("".join(f"{r}\n" for r in todo))
            rounds = -(-len(todo) // max(1, self.workers))
            watchdog = rounds * (timeout + 2 * KILL_GRACE_S) + 120.0
            process = subprocess.Popen(self.command(folder, runs_file), env=mpi.environment(),
                                       stdin=subprocess.DEVNULL, preexec_fn=_detach_and_die_with_parent)
            try:
                code = process.wait(timeout=watchdog)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
            except BaseException:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                for run in todo:
                    mark_failed_if_unfinished(run, "the batch was interrupted while this run was going on")
                raise
            finally:
                runs_file.unlink(missing_ok=True)
            for run in todo:
                status = read_status(run)
                if status.state != "running":
                    continue
                if status.attempt < MAX_ATTEMPTS:
                    write_status(run, RunStatus("pending", attempt=status.attempt))
                else:
                    mark_failed_if_unfinished(run, f"the MPI pool ended ({exit_description(code)}) while this "
                                                   f"run was going on, {status.attempt} times (a rank died?)")
            todo = [run for run in todo if read_status(run).state == "pending"]
        for run in todo:
            mark_failed_if_unfinished(run, f"{self.max_pools} MPI pools in a row ended before this run could run")


def _coordinate(comm, runs: list[Path], timeout: float) -> None:
    from mpi4py import MPI

    queue = deque(range(len(runs)))
    idle = list(range(comm.Get_size() - 1, 0, -1))
    busy: dict[int, tuple[int, float]] = {}
    lost: set[int] = set()
    status = MPI.Status()
    while queue or busy:
        while queue and idle:
            rank, index = idle.pop(), queue.popleft()
            comm.send(index, dest=rank, tag=TAG_WORK)
            busy[rank] = (index, time.monotonic() + timeout + 3 * KILL_GRACE_S)
        if comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_DONE, status=status):
            rank = status.Get_source()
            index, state = comm.recv(source=rank, tag=TAG_DONE)
            busy.pop(rank, None)
            idle.append(rank)
            print(f"rank {rank}: {runs[index].name} {state}", flush=True)
            continue
        now = time.monotonic()
        for rank, (index, deadline) in list(busy.items()):
            if now > deadline:
                mark_failed_if_unfinished(runs[index], f"MPI rank {rank} did not report this run within its "
                                                       "time limit (rank given up)")
                busy.pop(rank)
                lost.add(rank)
        if queue and not idle and not busy:
            break
        time.sleep(0.02)
    for rank in idle:
        comm.send(None, dest=rank, tag=TAG_STOP)
    if lost or queue:
        sys.stdout.flush()
        comm.Abort(1)  # ranks given up would keep MPI_Finalize waiting forever


def _work(comm, runs: list[Path], timeout: float) -> None:
    from mpi4py import MPI

    status = MPI.Status()
    while True:
        while not comm.Iprobe(source=0, tag=MPI.ANY_TAG, status=status):
            time.sleep(0.02)  # polling, not a blocking receive, which MPICH spins a core on
        message = comm.recv(source=0, tag=status.Get_tag())
        if status.Get_tag() == TAG_STOP:
            return
        state = RunProcess(runs[message], timeout).wait()
        comm.send((message, state), dest=0, tag=TAG_DONE)


def serve(batch_folder: str | Path, runs_file: str | Path) -> int:
    """The body of every rank of the pool (``nmlhub batch worker``)."""
    from mpi4py import MPI

    from ..batch import Batch

    comm = MPI.COMM_WORLD
    batch = Batch.open(batch_folder)
    runs = [Path(line) for line in Path(runs_file).read_text().splitlines() if line]
    if comm.Get_size() < 2:
        print("nmlhub batch worker: needs at least 2 ranks (one hands out runs)", file=sys.stderr)
        return 2
    if comm.Get_rank() == 0:
        _coordinate(comm, runs, batch.timeout_s)
    else:
        _work(comm, runs, batch.timeout_s)
    return 0
