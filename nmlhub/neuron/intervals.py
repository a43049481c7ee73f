"""Write what a run records to an HDF5 file every so many ms, so a run that is killed keeps what
it computed up to its last interval.

The file is opened in HDF5's single-writer/multiple-reader mode (SWMR), which keeps it consistent
for readers at every flush, also when the writer dies. Layout: ``time_ms`` (n); ``traces/<k>``
(n, SI units; attribute ``path``, the LEMS quantity); ``cells`` (population, index) in gid order;
``spikes/time_ms`` and ``spikes/cell`` (a row of ``cells``); ``written_to_ms`` (1: how far the
file is complete).
In a parallel run every rank sends its new samples and spikes to rank 0, which writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..interval_files import KIND


class IntervalWriter:
    """Appends new samples and spikes to ``path`` at each :meth:`flush`."""

    def __init__(self, path: Path, probe_paths: list[str], cells: list[tuple[str, int]], rank: int = 0,
                 pc: Any = None) -> None:
        self.path = Path(path)
        self.rank, self.pc = rank, pc
        self.cell_row = {key: k for k, key in enumerate(cells)}
        self.done_samples = 0
        self.done_spikes: dict[Any, int] = {}
        self.file = None
        if rank == 0:
            import h5py

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = h5py.File(self.path, "w", libver="latest")
            self.file.attrs["nmlhub_kind"] = KIND
            grow = dict(maxshape=(None,), chunks=True)
            self.file.create_dataset("time_ms", (0,), dtype="f8", **grow)
            table = np.array([(p.encode(), i) for p, i in cells], dtype=[("population", "S64"), ("index", "i8")])
            self.file.create_dataset("cells", data=table)
            traces = self.file.create_group("traces")
            self.trace_index = {}
            for k, probe_path in enumerate(probe_paths):
                dataset = traces.create_dataset(str(k), (0,), dtype="f8", **grow)
                dataset.attrs["path"] = probe_path
                self.trace_index[probe_path] = dataset
            spikes = self.file.create_group("spikes")
            spikes.create_dataset("time_ms", (0,), dtype="f8", **grow)
            spikes.create_dataset("cell", (0,), dtype="i8", **grow)
            self.file.create_dataset("written_to_ms", data=np.zeros(1))
            self.file.swmr_mode = True

    def flush(self, until_ms: float, time_vec: Any, traces: dict[str, Any], spikes: list[tuple[float, Any]]) -> None:
        """Append samples recorded since the last flush (``traces``: path -> values, SI) and
        ``spikes`` ((time ms, cell key) pairs not sent before); then make them durable."""
        n = len(time_vec)
        new_traces = {path: np.asarray(values)[self.done_samples:n] for path, values in traces.items()}
        new_time = np.asarray(time_vec)[self.done_samples:n]
        self.done_samples = n
        rows = [(t, self.cell_row[key]) for t, key in spikes if key in self.cell_row]
        if self.pc is not None:
            gathered = self.pc.py_gather((new_traces, rows), 0)
            if self.rank != 0:
                return
            new_traces, rows = {}, []
            for rank_traces, rank_rows in gathered:
                new_traces.update(rank_traces)
                rows += rank_rows
        assert self.file is not None
        _append(self.file["time_ms"], new_time)
        for path, values in new_traces.items():
            if path in self.trace_index:
                _append(self.trace_index[path], values)
        rows.sort()
        _append(self.file["spikes/time_ms"], np.array([t for t, _ in rows], dtype="f8"))
        _append(self.file["spikes/cell"], np.array([c for _, c in rows], dtype="i8"))
        self.file["written_to_ms"][0] = float(until_ms)
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _append(dataset: Any, values: np.ndarray) -> None:
    if len(values) == 0:
        return
    start = dataset.shape[0]
    dataset.resize((start + len(values),))
    dataset[start:] = values
