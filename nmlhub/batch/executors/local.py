"""Runs on this machine: up to ``jobs`` runs at a time, each in its own process."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .base import RunProcess, mark_failed_if_unfinished


@dataclass
class LocalExecutor:
    """A pool of processes on this machine.

    Parameters
    ----------
    jobs
        How many runs at a time.
    poll_s
        How often finished processes are looked for.
    on_finish
        Called with (run folder, final state) as each run ends.
    """

    jobs: int = 1
    poll_s: float = 0.05
    on_finish: Callable[[Path, str], None] | None = None

    def run(self, batch: object, runs: Sequence[Path]) -> None:
        """Run every run of ``runs``; an interruption kills the runs going on (recorded as failed)."""
        queue = deque(runs)
        active: list[RunProcess] = []
        timeout = float(getattr(batch, "timeout_s", 3600.0))
        try:
            while queue or active:
                while queue and len(active) < max(1, self.jobs):
                    active.append(RunProcess(queue.popleft(), timeout))
                for proc in list(active):
                    state = proc.poll()
                    if state is not None:
                        active.remove(proc)
                        if self.on_finish:
                            self.on_finish(proc.folder, state)
                time.sleep(self.poll_s)
        finally:
            for proc in active:
                proc.kill()
                mark_failed_if_unfinished(proc.folder, "the batch was interrupted while this run was going on")
