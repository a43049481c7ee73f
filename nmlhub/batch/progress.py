"""A batch's progress while it runs: how many runs are done, running, pending and failed, read
from the runs' status files (whatever executor runs them) by a thread that reports changes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from .batch import BATCH_FILE, Batch

#: The states a run's status can hold, in the order they are reported.
STATES = ("done", "running", "pending", "failed")


def describe(counts: dict[str, int], elapsed_s: float) -> str:
    """One line such as ``3/10 done, 2 running, 5 pending, 0 failed (12 s)``."""
    total = sum(counts.values())
    parts = [f"{counts.get('done', 0)}/{total} done"] + [f"{counts.get(s, 0)} {s}" for s in STATES[1:]]
    return ", ".join(parts) + f" ({elapsed_s:.0f} s)"


class ProgressWatcher:
    """Reports a batch's counts of runs per state every ``every_s`` seconds when they changed,
    from a background thread, while the ``with`` block runs.

    Parameters
    ----------
    folder
        The batch's folder (it may not exist yet when the watcher starts).
    report
        Called with the counts (state -> number of runs) and the seconds since the start.
    every_s
        How often the status files are read.
    """

    def __init__(self, folder: str | Path, report: Callable[[dict[str, int], float], None],
                 every_s: float = 5.0) -> None:
        self.folder = Path(folder)
        self.report = report
        self.every_s = float(every_s)
        self.started = time.monotonic()
        self._last: dict[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nmlhub-batch-progress", daemon=True)

    def __enter__(self) -> "ProgressWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def poll(self) -> dict[str, int] | None:
        """Read the runs' states; report and return the counts when they changed since the last poll."""
        if not (self.folder / BATCH_FILE).exists():
            return None
        try:
            counts = Batch.open(self.folder).counts()
        except Exception:  # a status file being replaced: read it at the next poll
            return None
        if counts == self._last:
            return None
        self._last = counts
        self.report(counts, time.monotonic() - self.started)
        return counts

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.poll()
