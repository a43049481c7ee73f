"""Spikes in SONATA's spike file layout (what BMTK, NEST's SONATA output and libsonata read).

Layout::

    /spikes                       attribute nmlhub_kind = "sonata_spikes" (when nmlhub wrote it)
    /spikes/POPULATION            attribute sorting = by_time (an enumeration: none, by_id, by_time)
        timestamps                float64 (s,)  spike times (attribute units = "ms")
        node_ids                  uint64 (s,)   the cell's index in the population (SONATA node id)
        nmlhub_cell_ids           int64 (c,)    every cell of the population, spiking or not
                                                (nmlhub's own; other readers ignore it)

The layout holds spikes only: recorded traces are not written (a warning says how many), and read
back results have no samples. A file another tool wrote (no ``nmlhub_cell_ids``) reads as the cells
that spiked. Written to a temporary file and renamed.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

from nmlhub.results import Results

from .plain import ConversionError

LOG = logging.getLogger(__name__)
#: SONATA's sorting attribute: an HDF5 enumeration (libsonata reads no string here).
SORTING = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype="u1")


def is_spike_file(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file in SONATA's spike layout (a ``/spikes`` group of populations)."""
    try:
        with h5py.File(path, "r") as f:
            return "spikes" in f and "nmlhub_kind" not in f.attrs and isinstance(f["spikes"], h5py.Group)
    except (OSError, ValueError):
        return False


def write(results: Results, path: Path) -> list[Path]:
    """Write every spike of ``results`` as a SONATA spike file (atomically); returns ``[path]``."""
    path = Path(path)
    if results.traces:
        LOG.warning("%s: SONATA spike files hold spikes only; %d recorded traces not written", path,
                    len(results.traces))
    by_population: dict[str, list[tuple[int, np.ndarray]]] = {}
    for (pop, index), times in results.spikes.items():
        by_population.setdefault(str(pop), []).append((int(index), np.asarray(times, dtype=np.float64)))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".h5", dir=path.parent)
    os.close(handle)
    try:
        with h5py.File(tmp, "w", track_order=True) as out:
            spikes = out.create_group("spikes", track_order=True)
            spikes.attrs["nmlhub_kind"] = "sonata_spikes"
            for pop, cells in by_population.items():
                _write_population(spikes.create_group(pop), cells)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [path]


def _write_population(group: h5py.Group, cells: list[tuple[int, np.ndarray]]) -> None:
    if any(index < 0 for index, _ in cells):
        raise ConversionError(f"population {group.name}: a negative cell index cannot be a SONATA node id")
    times = np.concatenate([t for _, t in cells]) if cells else np.zeros(0)
    ids = np.concatenate([np.full(t.size, index, np.uint64) for index, t in cells]) if cells else np.zeros(0, np.uint64)
    order = np.argsort(times, kind="stable")
    group.attrs.create("sorting", 2, dtype=SORTING)
    stamps = group.create_dataset("timestamps", data=times[order])
    stamps.attrs["units"] = "ms"
    group.create_dataset("node_ids", data=ids[order].astype(np.uint64))
    group.create_dataset("nmlhub_cell_ids", data=np.array([index for index, _ in cells], np.int64))


def read(path: Path) -> Results:
    """Read a SONATA spike file as :class:`Results` (spikes only; times in ms).

    Raises
    ------
    ConversionError
        Missing, not HDF5, or without a ``/spikes`` group; times in units other than ms or s.
    """
    path = Path(path)
    if not path.is_file():
        raise ConversionError("no such file", file=path)
    try:
        with h5py.File(path, "r") as f:
            if not isinstance(f.get("spikes"), h5py.Group):
                raise ConversionError("not a SONATA spike file (no /spikes group)", file=path)
            spikes: dict[tuple[str, int], np.ndarray] = {}
            for pop, group in f["spikes"].items():
                spikes.update(_read_population(pop, group, path))
    except ConversionError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError... for damaged files
        raise ConversionError(f"not a readable SONATA spike file: {type(exc).__name__}: {exc}", file=path) from None
    end = max((float(t.max()) for t in spikes.values() if t.size), default=0.0)
    return Results(time_ms=np.zeros(0), spikes=spikes, duration_ms=end,
                   settings={"source": "SONATA spike file"})


def _read_population(pop: str, group: h5py.Group, path: Path) -> dict[tuple[str, int], np.ndarray]:
    times = np.asarray(group["timestamps"][()], dtype=np.float64)
    units = group["timestamps"].attrs.get("units", "ms")
    units = units.decode() if isinstance(units, bytes) else str(units)
    if units not in ("ms", "s"):
        raise ConversionError(f"population {pop}: spike times in {units!r} (ms or s expected)", file=path)
    times = times * (1e3 if units == "s" else 1.0)
    ids = np.asarray(group["node_ids"][()], dtype=np.int64)
    cells = np.asarray(group["nmlhub_cell_ids"][()], np.int64) if "nmlhub_cell_ids" in group else np.unique(ids)
    order = np.lexsort((times, ids))
    ids, times = ids[order], times[order]
    starts = np.searchsorted(ids, cells, side="left")
    stops = np.searchsorted(ids, cells, side="right")
    return {(pop, int(c)): times[a:b].copy() for c, a, b in zip(cells, starts, stops)}
