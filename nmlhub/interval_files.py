"""Interval files: the HDF5 files a run writes every so many ms (see
:class:`nmlhub.neuron.intervals.IntervalWriter`), read back also when the run was killed.

Layout: ``time_ms`` (n); ``traces/<k>`` (n, SI units; attribute ``path``, the LEMS quantity);
``cells`` (population, index) in gid order; ``spikes/time_ms`` and ``spikes/cell`` (a row of
``cells``); ``written_to_ms`` (1: how far the file is complete). Pure: h5py and numpy only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: ``nmlhub_kind`` attribute of an interval file.
KIND = "intervals"


def open_hdf5_for_reading(path: str | Path) -> Any:
    """An HDF5 file opened to read; a file a writer left open in SWMR mode (a run killed while
    it wrote intervals) is opened as an SWMR reader, which HDF5 allows, instead of refused."""
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise
        return h5py.File(path, "r", libver="latest", swmr=True)


def is_interval_file(handle: Any) -> bool:
    """Whether an open HDF5 file is one :class:`nmlhub.neuron.intervals.IntervalWriter` wrote."""
    kind = handle.attrs.get("nmlhub_kind")
    kind = kind.decode() if isinstance(kind, bytes) else kind
    return kind == KIND or (kind is None and "written_to_ms" in handle and "spikes" in handle)


def read_intervals(path: str | Path) -> Any:
    """The results an interval file holds, up to the time it was last completed
    (``written_to_ms``): also a file whose run was killed.

    Returns
    -------
    nmlhub.results.Results
        Traces (SI), spikes by (population, index) for every cell, ``duration_ms`` = how far the
        file is complete; ``settings["intervals_file"]`` names the file.
    """
    from .results import Results

    with open_hdf5_for_reading(path) as handle:
        until = float(handle["written_to_ms"][0])
        time_ms = np.asarray(handle["time_ms"][()], dtype=float)
        keep = time_ms <= until + 1e-9
        time_ms = time_ms[keep]
        traces = {_text(d.attrs["path"]): np.asarray(d[()], dtype=float)[:len(time_ms)]
                  for d in handle["traces"].values()}
        cells = [(_text(p), int(i)) for p, i in handle["cells"][()]]
        times = np.asarray(handle["spikes/time_ms"][()], dtype=float)
        rows = np.asarray(handle["spikes/cell"][()], dtype=np.int64)
    spikes = {cell: np.sort(times[(rows == k) & (times <= until)]) for k, cell in enumerate(cells)}
    dt = float(np.median(np.diff(time_ms))) if len(time_ms) > 1 else 0.0
    return Results(time_ms=time_ms, traces=traces, spikes=spikes, duration_ms=until, dt_ms=dt,
                   settings={"intervals_file": str(path), "written_to_ms": until})


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
