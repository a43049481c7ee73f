"""MPI for NEURON: finding the MPI library, initialising NEURON's MPI, launching ``mpiexec``.

NEURON loads MPI at run time; with the ``mpich`` wheel it finds the library only when
``MPI_LIB_NRN_PATH`` names it, which :func:`init` sets from the environment's own ``lib/`` when the
user has not. A system MPI is used when ``MPI_LIB_NRN_PATH`` is already set or the wheel is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

#: Environment variables MPI launchers set in each rank (MPICH/Hydra, Open MPI, PMIx, Slurm).
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def started_by_mpi_launcher() -> bool:
    """True when this process is one of several ranks started by an MPI launcher."""
    for name in _SIZE_VARIABLES:
        try:
            if int(os.environ.get(name, "1")) > 1:
                return True
        except ValueError:
            continue
    return False


def wheel_library() -> Path | None:
    """The ``mpich`` wheel's ``libmpi.so.12`` in this Python environment, if installed."""
    for folder in (Path(sys.prefix) / "lib", Path(sys.exec_prefix) / "lib"):
        candidate = folder / "libmpi.so.12"
        if candidate.exists():
            return candidate
    return None


def environment() -> dict[str, str]:
    """The environment a rank needs (``MPI_LIB_NRN_PATH`` set when the wheel provides MPI)."""
    env = dict(os.environ)
    if "MPI_LIB_NRN_PATH" not in env:
        library = wheel_library()
        if library is not None:
            env["MPI_LIB_NRN_PATH"] = str(library)
    return env


def init() -> tuple[object, int, int]:
    """Initialise NEURON's MPI (once per process) and return (ParallelContext, rank, number of ranks)."""
    if "MPI_LIB_NRN_PATH" not in os.environ and wheel_library() is not None:
        os.environ["MPI_LIB_NRN_PATH"] = str(wheel_library())
    from neuron import h

    h.nrnmpi_init()
    pc = h.ParallelContext()
    return pc, int(pc.id()), int(pc.nhost())




def finish(pc: object) -> None:
    """End this rank's part of an MPI run: wait for the other ranks, then finalise MPI and exit.
    Every rank must call it (a rank that leaves without it makes mpiexec kill the others)."""
    from neuron import h

    sys.stdout.flush()
    sys.stderr.flush()
    pc.barrier()
    pc.done()
    h.quit()


def mpiexec_command(ranks: int, arguments: list[str]) -> list[str]:
    """The command that runs ``python -m nmlhub ARGUMENTS`` on ``ranks`` ranks.

    Raises
    ------
    FileNotFoundError
        No ``mpiexec`` next to this Python or on ``PATH``.
    """
    local = Path(sys.executable).parent / "mpiexec"
    launcher = str(local) if local.exists() else shutil.which("mpiexec")
    if launcher is None:
        raise FileNotFoundError("mpiexec not found (pip install mpich, or install an MPI)")
    return [launcher, "-n", str(int(ranks)), sys.executable, "-m", "nmlhub", *arguments]


#: What a rank writes before it ends every rank (:func:`abort`), and the lines that follow it.
_RANK_ERROR = re.compile(r"^nmlhub: rank (\d+): (.*)$")
_FINAL_ERROR = re.compile(r"^nmlhub: (?:internal )?error: (.*)$")
_LAUNCHER_ABORT = re.compile(r"^(Abort\(\d+\) on node \d+|application called MPI_Abort|\[unset\]: )")


def launch(command: list[str], env: dict[str, str], stderr: TextIO | None = None) -> int:
    """Run ``command`` (from :func:`mpiexec_command`) and return its exit status.

    The ranks' standard error passes through as it comes, except for the end of a failed run:
    the error every rank reports is said once (with the ranks that saw it when not all did), and
    the launcher's own abort lines are left out, so a refused model reads as it does serially.
    """
    out = sys.stderr if stderr is None else stderr
    errors: dict[str, list[int]] = {}
    finals: list[str] = []
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, errors="replace")
    assert proc.stderr is not None
    for line in proc.stderr:
        text = line.rstrip("\n")
        rank_error = _RANK_ERROR.match(text)
        if rank_error:
            errors.setdefault(rank_error.group(2), []).append(int(rank_error.group(1)))
        elif _FINAL_ERROR.match(text):
            finals.append(text)
        elif not _LAUNCHER_ABORT.match(text):
            out.write(line)
            out.flush()
    status = proc.wait()
    ranks = int(command[command.index("-n") + 1]) if "-n" in command else 0
    for message, seen_by in errors.items():
        where = "" if len(set(seen_by)) >= ranks else f"rank {', '.join(map(str, sorted(set(seen_by))))}: "
        out.write(f"nmlhub: error: {where}{message}\n")
    said = {f"nmlhub: error: {m}" for m in errors} | {f"nmlhub: internal error: {m}" for m in errors}
    for text in dict.fromkeys(finals):
        if text not in said:
            out.write(text + "\n")
    out.flush()
    return status if status != 0 or not errors else 1


def abort(pc: object, rank: int, message: str) -> None:
    """End every rank of the run after an error on this one (never leave the others waiting)."""
    sys.stderr.write(f"nmlhub: rank {rank}: {message}\n")
    sys.stderr.flush()
    try:
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(1)
    except Exception:  # no mpi4py: NEURON's own exit ends this rank; mpiexec ends the rest
        os._exit(1)
