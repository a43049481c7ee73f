"""The index of a batch: one row per run, parameters -> status, metrics, error and wall time,
written as CSV and HDF5. It is always rebuilt from the runs' own status files, so it can never
be lost or disagree with them."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..results import write_atomic_text
from .status import read_config, read_status
from ..atomic import publish, temporary_file

INDEX_CSV = "index.csv"
INDEX_HDF5 = "index.h5"


@dataclass
class Index:
    """Parameters and metrics of every run of a batch, as columns.

    Attributes
    ----------
    runs
        Run ids, in run order.
    params
        Parameter path -> values (a float array when every value is a number, else strings).
    status, error
        Each run's state and, for failed runs, its error ('' otherwise).
    wall_s, seed, attempt
        Each run's wall time (NaN when unknown), seed and number of attempts.
    metrics
        Metric name -> float array (NaN where a run has no value).
    """

    runs: list[str]
    params: dict[str, np.ndarray]
    status: np.ndarray
    error: np.ndarray
    wall_s: np.ndarray
    seed: np.ndarray
    attempt: np.ndarray
    metrics: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.runs)

    def done(self) -> np.ndarray:
        """Which runs are done (boolean mask)."""
        return self.status == "done"


def _column(values: list[Any]) -> np.ndarray:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float)
    return np.asarray([str(v) for v in values], dtype=object)


def build_index(batch: Any) -> Index:
    """The index of a :class:`~nmlhub.batch.batch.Batch`, from its runs' files."""
    configs = [read_config(run) for run in batch.runs]
    statuses = [read_status(run) for run in batch.runs]
    names: list[str] = []
    for config in configs:
        names += [p for p in config["params"] if p not in names]
    metric_names: list[str] = []
    for status in statuses:
        metric_names += [m for m in status.metrics if m not in metric_names]
    return Index(
        runs=[c["id"] for c in configs],
        params={p: _column([c["params"].get(p, "") for c in configs]) for p in names},
        status=np.asarray([s.state for s in statuses], dtype=object),
        error=np.asarray([s.error or "" for s in statuses], dtype=object),
        wall_s=np.asarray([math.nan if s.wall_s is None else s.wall_s for s in statuses], dtype=float),
        seed=np.asarray([c["settings"].get("seed") if c["settings"].get("seed") is not None else -1
                         for c in configs], dtype=np.int64),
        attempt=np.asarray([s.attempt for s in statuses], dtype=np.int64),
        metrics={m: np.asarray([s.metrics.get(m, math.nan) for s in statuses], dtype=float) for m in metric_names},
    )


def _text(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else repr(float(value))
    return str(value)


def index_csv_text(index: Index) -> str:
    """The index as CSV: run, the parameters, status, wall_s, seed, attempt, the metrics, error."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", *index.params, "status", "wall_s", "seed", "attempt", *index.metrics, "error"])
    for i, run in enumerate(index.runs):
        writer.writerow([run, *(_text(v[i]) for v in index.params.values()), index.status[i],
                         _text(index.wall_s[i]), int(index.seed[i]), int(index.attempt[i]),
                         *(_text(v[i]) for v in index.metrics.values()), index.error[i]])
    return out.getvalue()


def _write_hdf5(index: Index, path: Path) -> None:
    import h5py

    strings = h5py.string_dtype("utf-8")

    def put(group: Any, name: str, values: np.ndarray) -> None:
        if values.dtype == object:
            group.create_dataset(name, data=[str(v) for v in values], dtype=strings)
        else:
            group.create_dataset(name, data=values)

    handle, tmp = temporary_file(path)
    os.close(handle)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["nmlhub_kind"] = "batch_index"
            f.attrs["parameters"] = json.dumps(list(index.params))
            f.attrs["metrics"] = json.dumps(list(index.metrics))
            put(f, "run", np.asarray(index.runs, dtype=object))
            for name in ("status", "error", "wall_s", "seed", "attempt"):
                put(f, name, getattr(index, name))
            params, metrics = f.create_group("parameters"), f.create_group("metrics")
            for name, values in index.params.items():
                put(params, name, values)
            for name, values in index.metrics.items():
                put(metrics, name, values)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_index(batch: Any) -> Index:
    """Rebuild the batch's index and write ``index.csv`` and ``index.h5`` in its folder."""
    index = build_index(batch)
    write_atomic_text(Path(batch.folder) / INDEX_CSV, index_csv_text(index))
    _write_hdf5(index, Path(batch.folder) / INDEX_HDF5)
    return index


def read_index_hdf5(path: str | Path) -> Index:
    """Read an ``index.h5`` written by :func:`write_index`."""
    import h5py

    def get(dataset: Any) -> np.ndarray:
        if h5py.check_string_dtype(dataset.dtype):
            return np.asarray(dataset.asstr()[()], dtype=object)
        return dataset[()]

    with h5py.File(path, "r") as f:
        return Index(
            runs=list(get(f["run"])),
            params={n: get(f["parameters"][n]) for n in json.loads(f.attrs["parameters"])},
            status=get(f["status"]), error=get(f["error"]), wall_s=get(f["wall_s"]),
            seed=get(f["seed"]), attempt=get(f["attempt"]),
            metrics={n: get(f["metrics"][n]) for n in json.loads(f.attrs["metrics"])},
        )
