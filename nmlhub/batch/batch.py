"""A batch's folder: ``batch.json`` (the spec and its runs), one folder per run under ``runs/``,
the index, and what cluster jobs were submitted (``jobs.json``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..results import write_atomic_text
from .params import check_parameter_names
from .sampling import combinations
from .spec import BatchError, BatchSpec
from .status import RUN_FILE, RunStatus, read_status, write_status

BATCH_FILE = "batch.json"
#: What makes two specs the same batch (a resumed batch may change its name, time limit or executor).
_IDENTITY = ("model", "parameters", "sampling", "duration_ms", "dt_ms", "seed", "seed_per_run", "metrics",
             "keep_spikes", "keep_traces")
JOBS_FILE = "jobs.json"


def refuse_foreign_folder(folder: Path) -> None:
    """Refuse an output folder a new batch must not write into: the file system root, the home
    folder, or an existing folder that is not empty (and holds no batch: that case is checked by
    comparing the batch).

    Raises
    ------
    BatchError
        The folder is one of those.
    """
    folder = Path(folder).resolve()
    if folder == Path(folder.anchor) or folder == Path.home().resolve():
        raise BatchError("refused as a batch's output folder (the root or home folder); "
                         "give a folder of its own", file=folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BatchError(f"exists and holds other files, not a batch (no {BATCH_FILE}); give a new "
                         "or empty output folder", file=folder)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@dataclass
class Batch:
    """An existing batch folder.

    Attributes
    ----------
    folder
        The batch's folder.
    spec
        The spec as stored in ``batch.json`` (plain data).
    runs
        Every run's folder, in run order.
    params
        Every run's parameter values, in run order.
    """

    folder: Path
    spec: dict[str, Any]
    runs: list[Path]
    params: list[dict[str, Any]]

    @classmethod
    def create(cls, spec: BatchSpec, folder: str | Path | None = None) -> "Batch":
        """Make the batch's folder and its runs' folders (each with ``run.json`` and a pending
        status). An existing folder of the same batch is opened as it is (its finished runs
        stay finished); one holding another batch is refused.

        Raises
        ------
        BatchError
            The folder holds a different batch, or the model cannot be read.
        """
        from ..model import load

        folder = Path(folder if folder is not None else spec.output or spec.name).resolve()
        model_file = Path(spec.model).resolve()
        if not model_file.is_file():
            raise BatchError("model file not found", file=model_file)
        combos = combinations(spec)
        check_parameter_names(model_file, sorted({path for values in combos for path in values}))
        data = _stored_spec(spec, model_file, folder)
        stored = folder / BATCH_FILE
        if not stored.exists():
            refuse_foreign_folder(folder)
        if stored.exists():
            batch = cls.open(folder)
            if not (_same(batch.params, combos) and _same({k: batch.spec.get(k) for k in _IDENTITY},
                                                          {k: data.get(k) for k in _IDENTITY})):
                raise BatchError("this folder holds a different batch (another model, parameters or settings); "
                                 "give another output folder", file=stored)
            return batch
        simulation = load(model_file).simulation
        if simulation is None:
            raise BatchError("the model has no <Simulation>; a batch runs a LEMS simulation file", file=model_file)
        base_seed = spec.seed if spec.seed is not None else (simulation.seed or 0)
        runs = _make_run_folders(spec, folder, model_file, combos, data["metrics"], int(base_seed))
        data["runs"] = [r.name for r in runs]
        data["combinations"] = combos
        write_atomic_text(stored, json.dumps(data, indent=1) + "\n")
        return cls(folder, data, runs, combos)

    @classmethod
    def open(cls, folder: str | Path) -> "Batch":
        """Open an existing batch folder.

        Raises
        ------
        BatchError
            The folder holds no batch.
        """
        folder = Path(folder).resolve()
        stored = folder / BATCH_FILE
        if not stored.is_file():
            raise BatchError(f"not a batch folder (no {BATCH_FILE})", file=folder)
        data = json.loads(stored.read_text(encoding="utf-8"))
        return cls(folder, data, [folder / "runs" / name for name in data["runs"]], data["combinations"])

    @property
    def name(self) -> str:
        return str(self.spec.get("name", self.folder.name))

    @property
    def timeout_s(self) -> float:
        return float(self.spec.get("timeout_s") or math.inf)

    def statuses(self) -> list[RunStatus]:
        """Every run's status, in run order."""
        return [read_status(run) for run in self.runs]

    def counts(self) -> dict[str, int]:
        """How many runs are in each state."""
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for status in self.statuses():
            counts[status.state] = counts.get(status.state, 0) + 1
        return counts

    def to_run(self, retry_failed: bool = True) -> list[Path]:
        """The runs still to run: every run not done (failed ones too unless ``retry_failed`` is false)."""
        skip = ("done",) if retry_failed else ("done", "failed")
        return [run for run, status in zip(self.runs, self.statuses()) if status.state not in skip]

    def record_jobs(self, executor: str, jobs: list[dict[str, Any]]) -> None:
        """Add submitted cluster jobs (``{"id": ..., "runs": [...]}``) to ``jobs.json``."""
        path = self.folder / JOBS_FILE
        data = json.loads(path.read_text()) if path.exists() else {"jobs": []}
        data["jobs"].extend({"executor": executor, **job} for job in jobs)
        write_atomic_text(path, json.dumps(data, indent=1) + "\n")

    def jobs(self) -> list[dict[str, Any]]:
        """The cluster jobs submitted for this batch."""
        path = self.folder / JOBS_FILE
        return json.loads(path.read_text())["jobs"] if path.exists() else []


def _stored_spec(spec: BatchSpec, model_file: Path, folder: Path) -> dict[str, Any]:
    """The spec as ``batch.json`` stores it: the model, output folder and metric modules as
    absolute paths."""
    data = spec.to_dict()
    data["model"] = str(model_file)
    data["output"] = str(folder)
    for metric in data["metrics"]:
        module, _, function = (metric["function"] or "").rpartition(":")
        if module.endswith(".py"):
            metric["function"] = f"{Path(module).resolve()}:{function}"
    return data


def _make_run_folders(spec: BatchSpec, folder: Path, model_file: Path, combos: list[dict[str, Any]],
                      metrics: list[dict[str, Any]], base_seed: int) -> list[Path]:
    """One folder per run under ``runs/``, each with its ``run.json`` and, when new, a pending status."""
    width = max(4, len(str(len(combos) - 1)))
    runs = []
    for index, values in enumerate(combos):
        run_id = f"run_{index:0{width}d}"
        run_dir = folder / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "id": run_id, "index": index, "batch": str(folder), "model": str(model_file),
            "params": values,
            "settings": {"duration_ms": spec.duration_ms, "dt_ms": spec.dt_ms,
                         "seed": base_seed + (index if spec.seed_per_run else 0)},
            "metrics": metrics, "keep_spikes": spec.keep_spikes, "keep_traces": spec.keep_traces,
            "timeout_s": spec.timeout_s,
        }
        write_atomic_text(run_dir / RUN_FILE, json.dumps(config, indent=1) + "\n")
        if not (run_dir / "status.json").exists():
            write_status(run_dir, RunStatus())
        runs.append(run_dir)
    return runs
