"""What every executor shares: the command that runs one run in its own process, that process
watched and killed (with its whole process group) at its time limit, and runs whose process died
without a word recorded as failed."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol, Sequence

from ..status import FINAL_STATES, LOG_FILE, log_tail, read_status, write_status

#: Environment variables by which MPI launchers tell a process it is one rank of several; a run
#: started from an MPI worker must not see them, or NEURON would join the workers' MPI job.
_MPI_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "HYDRA_", "MPI_LOCALNRANKS", "MPI_LOCALRANKID", "I_MPI_")

#: Seconds a run gets beyond its own time limit (which it enforces itself) before it is killed.
KILL_GRACE_S = 15.0


class Executor(Protocol):
    """Runs a batch's runs to completion (or submits them, for a cluster)."""

    def run(self, batch: "object", runs: Sequence[Path]) -> None:
        """Run ``runs`` (folders of ``batch``); every run ends done or failed, never pending."""


def run_command(folder: Path, python: str | None = None) -> list[str]:
    """The command that runs one run: ``python -m nmlhub.batch run-one FOLDER`` (the same as
    ``nmlhub batch run-one FOLDER``)."""
    return [python or sys.executable, "-m", "nmlhub.batch", "run-one", str(folder)]


def run_environment() -> dict[str, str]:
    """The environment of a run's process: this one, without MPI launcher variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_MPI_PREFIXES)}


def _detach_and_die_with_parent() -> None:
    """In the child before exec: its own process group (so a kill reaches everything it starts),
    and SIGKILL when its parent dies (so an interrupted batch leaves no orphan runs)."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (AttributeError, OSError):
        pass


def mark_failed_if_unfinished(folder: Path, message: str) -> bool:
    """Record a run whose process ended without recording a result as failed (with the end of
    its log); returns whether it did."""
    status = read_status(folder)
    if status.state in FINAL_STATES:
        return False
    status.state = "failed"
    status.error = message
    status.traceback = log_tail(folder) or None
    status.finished = time.time()
    if status.started:
        status.wall_s = status.finished - status.started
    write_status(folder, status)
    return True


def mark_failed_if_gone(folder: Path) -> bool:
    """Record a run that says it is running on this host, but whose process is gone (its batch
    was killed), as failed; returns whether it did."""
    status = read_status(folder)
    if status.state != "running" or status.host != socket.gethostname() or status.pid is None:
        return False
    try:
        with open(f"/proc/{status.pid}/stat") as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] != "Z":
                return False
    except OSError:
        pass
    return mark_failed_if_unfinished(folder, f"its process (pid {status.pid} on {status.host}) is gone "
                                             "without recording a result (the batch was killed?)")


def exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class RunProcess:
    """One run in its own process, started now, with a deadline.

    Parameters
    ----------
    folder
        The run's folder (its output goes to its ``log.txt``).
    timeout_s
        The run's time limit; it is killed ``KILL_GRACE_S`` later if it has not stopped itself.
    """

    def __init__(self, folder: Path, timeout_s: float) -> None:
        self.folder = Path(folder)
        self.deadline = time.monotonic() + timeout_s + KILL_GRACE_S
        self.timeout_s = timeout_s
        with open(self.folder / LOG_FILE, "ab") as log:
            self.process = subprocess.Popen(run_command(self.folder), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=run_environment(),
                                            preexec_fn=_detach_and_die_with_parent)

    def kill(self) -> None:
        """Kill the run and everything it started."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def poll(self) -> str | None:
        """None while the run goes on; else its final state (``done`` or ``failed``), a run
        past its deadline killed and one that died silently recorded as failed."""
        code = self.process.poll()
        if code is None:
            if time.monotonic() < self.deadline:
                return None
            self.kill()
            mark_failed_if_unfinished(self.folder, f"time limit of {self.timeout_s:g} s exceeded (killed)")
            return read_status(self.folder).state
        if code == 3:  # another process holds the run: leave its state to that process
            return read_status(self.folder).state
        mark_failed_if_unfinished(self.folder, f"the run's process {exit_description(code)} "
                                               "without recording a result")
        return read_status(self.folder).state

    def wait(self, poll_s: float = 0.1) -> str:
        """Wait for the run to end (never past its deadline); returns its final state."""
        while True:
            state = self.poll()
            if state is not None:
                return state
            time.sleep(poll_s)
