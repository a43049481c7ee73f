"""Results written by each MPI rank on its own (``nmlhub run --gather none``), and their merge.

A rank's part is an HDF5 file in the layout of :mod:`converters.results_hdf5` holding the cells
that rank simulated and the traces it recorded, with ``nmlhub_kind = "results-rank"`` and::

    /                    attributes: rank, ranks (int64), run_id (str: the same in every part
                                     of one run)
    /cell_gid            int64 (c,)         gid of every cell (the merged file's cell order)
    /trace_order         utf-8 str (m,)     every quantity the run recorded, in the run's order

The part of rank k of a run written to ``NAME.h5`` is ``NAME.rank<k>.h5``. :func:`merge_rank_parts`
reads every part of a run and writes the results a gathered run writes: cells in gid order, traces
in the run's order, the same settings, so the merged HDF5 file holds what ``--gather rank0``'s holds.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nmlhub.atomic import publish, temporary_file
from nmlhub.interval_files import open_hdf5_for_reading
from nmlhub.results import Results

from .plain import ConversionError
from .results_hdf5 import RANK_KIND, extract, fill

_PART_NAME = re.compile(r"^(?P<stem>.*)\.rank(?P<rank>\d+)(?P<suffix>\.[^.]+)$")


def rank_part_path(path: str | Path, rank: int) -> Path:
    """Where rank ``rank`` writes its part of results meant for ``path`` (``run.h5`` ->
    ``run.rank3.h5``)."""
    path = Path(path)
    suffix = path.suffix if path.suffix.lower() in (".h5", ".hdf5") else ".h5"
    stem = path.name[: -len(path.suffix)] if path.suffix.lower() in (".h5", ".hdf5") else path.name
    return path.with_name(f"{stem}.rank{rank}{suffix}")


def write_rank_part(results: Results, path: str | Path, rank: int, ranks: int, cell_gids: np.ndarray,
                    trace_order: list[str], run_id: str) -> Path:
    """Write one rank's results (its cells, in ``results.spikes`` order, with their ``cell_gids``;
    the traces it recorded) as its part of results meant for ``path``; returns the part's path.

    The part is written to a temporary file and renamed, so a reader never sees half of it.
    """
    from .result_mapping import to_plain

    target = rank_part_path(path, rank)
    data = to_plain(results)
    gids = np.asarray(cell_gids, dtype=np.int64)
    if len(gids) != len(data["cell_index"]):
        raise ConversionError(f"{len(gids)} gids for {len(data['cell_index'])} cells", file=target)
    handle, tmp = temporary_file(target)
    os.close(handle)
    try:
        with h5py.File(tmp, "w") as out:
            fill(out, data, json.dumps(data["settings"]))
            out.attrs["nmlhub_kind"] = RANK_KIND
            out.attrs["rank"], out.attrs["ranks"], out.attrs["run_id"] = np.int64(rank), np.int64(ranks), run_id
            out.create_dataset("cell_gid", data=gids)
            out.create_dataset("trace_order", data=np.array(trace_order, dtype=object),
                               dtype=h5py.string_dtype("utf-8"), shape=(len(trace_order),))
        publish(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def is_rank_part(path: str | Path) -> bool:
    """Whether ``path`` is an existing HDF5 file holding one rank's part of a run's results."""
    path = Path(path)
    if not path.is_file() or not h5py.is_hdf5(path):
        return False
    with open_hdf5_for_reading(path) as f:  # also an interval file a killed run left open
        return _text(f.attrs.get("nmlhub_kind")) == RANK_KIND


def rank_parts_of(path: str | Path) -> list[Path]:
    """Every part of the run one part (``NAME.rank<k>.h5``) belongs to, by the number of ranks it
    names: ``NAME.rank0.h5`` ... ``NAME.rank<n-1>.h5``.

    Raises
    ------
    ConversionError
        The file is not a rank's part, or its name does not say which rank wrote it.
    """
    path = Path(path)
    match = _PART_NAME.match(path.name)
    if match is None:
        raise ConversionError("a rank's part is named NAME.rank<k>.h5; cannot tell the other parts' names",
                              file=path)
    with h5py.File(path, "r") as f:
        ranks = int(f.attrs.get("ranks", 0))
    if ranks < 1:
        raise ConversionError("not a rank's part of a run (no 'ranks' attribute)", file=path)
    return [path.with_name(f"{match['stem']}.rank{k}{match['suffix']}") for k in range(ranks)]


def merge_rank_parts(parts: str | Path | list[str | Path]) -> Results:
    """The results of a run from the parts its ranks wrote (``--gather none``): what a run that
    gathers on rank 0 returns, cells in gid order and traces in the run's order.

    Parameters
    ----------
    parts
        Every part of the run, or any one of them (the others are found by name:
        :func:`rank_parts_of`).

    Raises
    ------
    ConversionError
        A part is missing, unreadable, of another run (run id, number of ranks, settings, sample
        times) or repeats a cell; the message names the file.

    Examples
    --------
    >>> results = merge_rank_parts("run.rank0.h5")  # doctest: +SKIP
    """
    paths = rank_parts_of(parts) if isinstance(parts, (str, Path)) else [Path(p) for p in parts]
    if not paths:
        raise ConversionError("no rank parts to merge")
    pairs = sorted(zip(paths, [_read_part(p) for p in paths]), key=lambda pair: pair[1]["rank"])
    paths, loaded = [p for p, _ in pairs], [d for _, d in pairs]
    first_path, first = paths[0], loaded[0]
    ranks = first["ranks"]
    missing = sorted(set(range(ranks)) - {d["rank"] for d in loaded})
    if missing or len(paths) != ranks:
        raise ConversionError(f"the run had {ranks} ranks; {len(paths)} parts were given"
                              + (f", none of rank {', '.join(map(str, missing))}" if missing else ""), file=first_path)
    seen: set[int] = set()
    for path, part in zip(paths, loaded):
        _check_same_run(path, part, first, seen)
    return _joined(loaded)


def _read_part(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConversionError("missing: this rank's part of the run was not written (or was moved)", file=path)
    try:
        with h5py.File(path, "r") as f:
            kind = _text(f.attrs.get("nmlhub_kind"))
            if kind != RANK_KIND:
                raise ConversionError(f"not a rank's part of a run (nmlhub_kind {kind!r})", file=path)
            data = extract(f, path, RANK_KIND)
            data["rank"], data["ranks"] = int(f.attrs["rank"]), int(f.attrs["ranks"])
            data["run_id"] = _text(f.attrs["run_id"])
            data["cell_gid"] = np.asarray(f["cell_gid"][()], dtype=np.int64)
            data["trace_order"] = [_text(v) for v in f["trace_order"][()].tolist()]
    except ConversionError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError... for damaged files
        raise ConversionError(f"not a readable rank part: {type(exc).__name__}: {exc}", file=path) from None
    return data


def _check_same_run(path: Path, part: dict, first: dict, seen: set[int]) -> None:
    match = _PART_NAME.match(path.name)
    if match is not None and int(match["rank"]) != part["rank"]:
        raise ConversionError(f"named rank {match['rank']} but written by rank {part['rank']}", file=path)
    for key in ("run_id", "ranks", "duration_ms", "dt_ms", "seed", "model_hash", "settings", "trace_order"):
        if part[key] != first[key]:
            raise ConversionError(f"belongs to another run: its {key} differs from the first part's", file=path)
    if not np.array_equal(part["time_ms"], first["time_ms"]):
        raise ConversionError("belongs to another run: its sample times differ from the first part's", file=path)
    gids = part["cell_gid"].tolist()
    if len(gids) != len(part["cell_index"]) or seen.intersection(gids):
        raise ConversionError("repeats a cell another part holds (or has a gid per cell missing)", file=path)
    seen.update(gids)


def _joined(loaded: list[dict]) -> Results:
    """One Results from the parts' plain data: cells by gid, traces in the run's order."""
    populations: list[str] = []
    codes: dict[str, int] = {}
    gids, cell_pop, cell_index, spike_cell, spike_time = [], [], [], [], []
    traces: dict[str, np.ndarray] = {}
    offset = 0
    for part in loaded:
        remap = np.array([codes.setdefault(p, len(codes)) for p in part["populations"]], dtype=np.int64)
        populations = list(codes)
        gids.append(part["cell_gid"])
        cell_pop.append(remap[part["cell_population"]] if len(remap) else part["cell_population"])
        cell_index.append(part["cell_index"])
        spike_cell.append(part["spike_cell"] + offset)
        spike_time.append(part["spike_time_ms"])
        offset += len(part["cell_index"])
        for j, name in enumerate(part["trace_names"]):
            traces[name] = part["traces"][:, j]
    order = np.argsort(np.concatenate(gids), kind="stable")
    rank_of_cell = np.empty_like(order)
    rank_of_cell[order] = np.arange(len(order))
    cells = np.concatenate(spike_cell)
    by_cell = np.argsort(rank_of_cell[cells], kind="stable")
    first = loaded[0]
    names = [name for name in first["trace_order"] if name in traces]
    from .result_mapping import WEIGHT_KEYS, from_plain

    return from_plain({
        "time_ms": first["time_ms"], "trace_names": names,
        "traces": np.column_stack([traces[n] for n in names]) if names else np.zeros((len(first["time_ms"]), 0)),
        "populations": populations,
        "cell_population": np.concatenate(cell_pop)[order], "cell_index": np.concatenate(cell_index)[order],
        "spike_cell": rank_of_cell[cells][by_cell], "spike_time_ms": np.concatenate(spike_time)[by_cell],
        "duration_ms": first["duration_ms"], "dt_ms": first["dt_ms"], "seed": first["seed"],
        "settings": first["settings"], "model_hash": first["model_hash"],
        **{k: first[k] for k in ("lfp_time_ms", "lfp_positions_um", "lfp_potential_mv", "lfp_sigma", "lfp_method")
           if k in first},
        **{k: first[k] for k in WEIGHT_KEYS if k in first},  # rank 0 holds every rank's final weights
    })


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value
