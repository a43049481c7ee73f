"""A run's folder and its state, kept in files written atomically (temporary file + rename), so a
batch's progress survives any crash of whatever ran it."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..results import write_atomic_text

RUN_FILE = "run.json"
STATUS_FILE = "status.json"
RESULTS_FILE = "results.h5"
LOG_FILE = "log.txt"
MODEL_DIR = "model"

STATES = ("pending", "running", "done", "failed")
FINAL_STATES = ("done", "failed")


@dataclass
class RunStatus:
    """Where a run stands.

    Attributes
    ----------
    state
        ``pending``, ``running``, ``done`` or ``failed``.
    error, traceback
        Why a failed run failed (one line), and the end of its traceback.
    attempt
        How many times the run was started.
    started, finished
        Unix times.
    wall_s
        Wall-clock time of the last attempt (s).
    host, pid
        Where the last attempt ran.
    metrics
        The run's metrics (name -> number) once done.
    """

    state: str = "pending"
    error: str | None = None
    traceback: str | None = None
    attempt: int = 0
    started: float | None = None
    finished: float | None = None
    wall_s: float | None = None
    host: str | None = None
    pid: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def read_status(folder: Path) -> RunStatus:
    """The run's status (``pending`` when it has none yet)."""
    path = Path(folder) / STATUS_FILE
    if not path.exists():
        return RunStatus()
    data = json.loads(path.read_text(encoding="utf-8"))
    data["metrics"] = {k: (math.nan if v is None else float(v)) for k, v in data.get("metrics", {}).items()}
    known = RunStatus.__dataclass_fields__
    return RunStatus(**{k: v for k, v in data.items() if k in known})


def write_status(folder: Path, status: RunStatus) -> None:
    """Replace the run's status file in one step (NaN metrics are written as null)."""
    if status.state not in STATES:
        raise ValueError(f"unknown run state {status.state!r}")
    data = asdict(status)
    data["metrics"] = {k: _json_number(v) for k, v in status.metrics.items()}
    write_atomic_text(Path(folder) / STATUS_FILE, json.dumps(data, indent=1) + "\n")


def read_config(folder: Path) -> dict[str, Any]:
    """What the run is to do (``run.json``: model, parameters, settings, metrics, what to keep)."""
    return json.loads((Path(folder) / RUN_FILE).read_text(encoding="utf-8"))


def log_tail(folder: Path, lines: int = 15) -> str:
    """The last lines of the run's log (empty if it has none)."""
    path = Path(folder) / LOG_FILE
    if not path.exists():
        return ""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 8192))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])
