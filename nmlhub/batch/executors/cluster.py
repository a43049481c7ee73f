"""What the SLURM and PBS executors share: job scripts that run ``nmlhub batch run-one`` with the
submitting Python, submission, polling the queue until the batch's jobs have left it, and runs
whose job left the queue without their recording a result marked failed."""

from __future__ import annotations

import math
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..spec import BatchError
from ..status import FINAL_STATES, LOG_FILE, read_status
from .base import mark_failed_if_unfinished

#: Minutes a job's time limit adds to a run's own, for starting Python and writing the status.
MARGIN_MIN = 2


def walltime(timeout_s: float) -> str:
    """A run's job time limit as HH:MM:SS: its own limit plus a margin, rounded up to minutes."""
    minutes = int(math.ceil(timeout_s / 60.0)) + MARGIN_MIN if math.isfinite(timeout_s) else 7 * 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def call(command: list[str], what: str) -> str:
    """Run a scheduler command; its stdout, or a :class:`BatchError` with its stderr."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise BatchError(f"{what}: {command[0]} not found (is this a cluster's login node?)") from None
    except subprocess.TimeoutExpired:
        raise BatchError(f"{what}: {shlex.join(command)} did not answer within 120 s") from None
    if done.returncode != 0:
        raise BatchError(f"{what}: {shlex.join(command)} failed ({done.returncode}): "
                         f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass
class ClusterExecutor:
    """Options every cluster executor takes.

    Parameters
    ----------
    mode
        ``"array"`` (one job array for the batch) or ``"per-run"`` (one job per run).
    queue
        The partition (SLURM) or queue (PBS); default: the cluster's.
    cpus, memory, account
        Per-run resources (``memory`` as the scheduler writes it, e.g. ``"2G"``/``"2gb"``).
    directives
        Further scheduler options, written into the script as they are (e.g. ``"--qos=short"``
        for SLURM, ``"-l place=scatter"`` for PBS).
    modules
        Environment modules to load before the run (``module load ...``).
    setup
        Shell lines run before the run (e.g. activating an environment).
    max_parallel
        At most this many runs at a time (job arrays).
    wait
        Wait for the jobs to finish (polling); otherwise return after submitting (see
        ``nmlhub batch status``).
    poll_s, max_wait_s
        How often the queue is polled, and how long to wait at most (then return, leaving runs
        pending for a later ``status`` or ``resume``).
    python
        The Python that runs the runs (default: this one, e.g. the project's virtual environment).
    """

    mode: str = "array"
    queue: str | None = None
    cpus: int = 1
    memory: str | None = None
    account: str | None = None
    directives: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    max_parallel: int | None = None
    wait: bool = True
    poll_s: float = 2.0
    max_wait_s: float | None = None
    python: str = sys.executable

    name = "cluster"
    modes: tuple[str, ...] = ("array", "per-run")

    def _body(self, run_line: str) -> list[str]:
        lines = ["set -u"]
        lines += [f"module load {shlex.quote(m)}" for m in self.modules]
        lines += list(self.setup)
        lines.append(run_line)
        return lines

    def _run_line(self, run_dir: str) -> str:
        python = shlex.quote(self.python)
        return f"exec {python} -m nmlhub.batch run-one {run_dir} >> {run_dir}/{LOG_FILE} 2>&1"

    def script_text(self, directives: list[str], run_line: str) -> str:
        return "\n".join(["#!/bin/bash", *directives, "", *self._body(run_line), ""])

    # -- to be given by each scheduler --------------------------------------------------------
    def write_jobs(self, batch: Any, runs: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
        raise NotImplementedError

    def submit(self, script: Path, runs: list[Path]) -> str:
        raise NotImplementedError

    def queued(self) -> set[str]:
        """Ids of this user's jobs still in the queue (pending or running)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    def run(self, batch: Any, runs: Sequence[Path]) -> None:
        """Submit ``runs`` and (with ``wait``) poll until their jobs have left the queue."""
        if self.mode not in self.modes:
            raise BatchError(f"{self.name}: unknown mode {self.mode!r} (modes: {', '.join(self.modes)})")
        if not runs:
            return
        jobs = []
        for script, job_runs in self.write_jobs(batch, runs):
            job_id = self.submit(script, job_runs)
            print(f"submitted {self.name} job {job_id} ({len(job_runs)} run(s)): {script}", flush=True)
            jobs.append({"id": job_id, "script": str(script), "runs": [str(r) for r in job_runs]})
        batch.record_jobs(self.name, jobs)
        if self.wait:
            self.wait_for(batch, jobs)

    def wait_for(self, batch: Any, jobs: list[dict[str, Any]]) -> bool:
        """Poll until ``jobs`` have left the queue (or ``max_wait_s`` passed); returns whether they all did."""
        start = time.monotonic()
        while True:
            left = self.refresh(jobs)
            if not left:
                return True
            if self.max_wait_s is not None and time.monotonic() - start > self.max_wait_s:
                return False
            time.sleep(self.poll_s)

    def refresh(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Jobs still queued; runs of the others that never recorded a result are marked failed."""
        queued = self.queued()
        left = [job for job in jobs if str(job["id"]) in queued]
        latest = {run: str(job["id"]) for job in jobs for run in job["runs"]}  # a run submitted again
        for job in jobs:
            if str(job["id"]) in queued:
                continue
            for run in job["runs"]:
                if latest[run] == str(job["id"]) and read_status(Path(run)).state not in FINAL_STATES:
                    mark_failed_if_unfinished(Path(run), f"{self.name} job {job['id']} left the queue without "
                                                         "this run recording a result (cancelled, time limit "
                                                         "or node failure?); see the run's log")
        return left
