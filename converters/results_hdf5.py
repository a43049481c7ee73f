"""Simulation results in HDF5 (h5py).

Layout (the columns of :mod:`converters.result_mapping`, one dataset each)::

    /                    attributes: nmlhub_kind = "results", nmlhub_version = 1,
                                     duration_ms, dt_ms (float64), seed (int64; absent if None),
                                     model_hash (str; absent if None), settings (JSON text)
    /time_ms             float64 (n,)       sample times (ms)
    /traces              float64 (n, m)     one column per quantity, SI units
    /trace_names         utf-8 str (m,)     quantity paths of the columns
    /populations         utf-8 str (p,)     population ids
    /cell_population     int64 (c,)         row into /populations of every cell
    /cell_index          int64 (c,)         index of every cell in its population
    /spike_cell          int64 (s,)         row into the cells of every spike
    /spike_time_ms       float64 (s,)       spike times (ms), grouped by cell
    /lfp_time_ms         float64 (k,)       LFP sample times (ms)            } only when the
    /lfp_positions_um    float64 (e, 3)     electrode positions (um)         } results hold an
    /lfp_potential_mv    float64 (e, k)     potential at each electrode (mV) } LFP, with root
                                            attributes lfp_sigma (S/m) and lfp_method
    /weights/            the final weights of plastic connections, when the results hold them:
                         datasets weight_labels (utf-8 str), weight_synapse, weight_pre_population,
                         weight_pre_cell, weight_post_population, weight_post_cell (int64),
                         weight_value (float64) (see :mod:`converters.result_mapping`)

Strings may not contain NUL characters (HDF5 ends strings there). ``settings`` must be
JSON-serialisable (NaN and infinities are written as JSON's ``NaN``/``Infinity`` extensions).
Files are written to a temporary file in the same folder and renamed, so an interrupted write
leaves any old file intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nmlhub.results import Results

from .plain import VERSION, ConversionError
from .result_mapping import WEIGHT_KEYS, from_plain, to_plain
from nmlhub.atomic import publish, temporary_file

KIND = "results"
#: The kind of one MPI rank's part of a run's results (:mod:`converters.rank_parts`).
RANK_KIND = "results-rank"
_COLUMNS = ("time_ms", "traces", "cell_population", "cell_index", "spike_cell", "spike_time_ms")
_STRINGS = ("trace_names", "populations")
_LFP_COLUMNS = ("lfp_time_ms", "lfp_positions_um", "lfp_potential_mv")
_LFP_ATTRIBUTES = ("lfp_sigma", "lfp_method")


def write(results: Results, path: Path) -> list[Path]:
    """Write results to an HDF5 file (atomically); returns ``[path]``.

    Raises
    ------
    ConversionError
        The results cannot be written (a NUL in a name, settings that are not JSON data...).
    """
    path = Path(path)
    data = to_plain(results)
    try:
        settings = json.dumps(data["settings"])
    except (TypeError, ValueError) as exc:
        raise ConversionError(f"settings are not JSON data: {exc}", file=path) from None
    for key in _STRINGS:
        if any("\x00" in name for name in data[key]):
            raise ConversionError(f"a name in {key} contains a NUL character", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = temporary_file(path)
    os.close(handle)
    try:
        with h5py.File(tmp, "w") as out:
            _fill(out, data, settings)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [path]


def fill(out: h5py.File, data: dict[str, Any], settings: str) -> None:
    """Write :func:`to_plain`'s columns and attributes (``settings`` as JSON text) into an open
    HDF5 file, as :func:`write` does."""
    _fill(out, data, settings)


def _fill(out: h5py.File, data: dict[str, Any], settings: str) -> None:
    out.attrs["nmlhub_kind"] = KIND
    out.attrs["nmlhub_version"] = VERSION
    out.attrs["duration_ms"] = data["duration_ms"]
    out.attrs["dt_ms"] = data["dt_ms"]
    out.attrs["settings"] = settings
    if data["seed"] is not None:
        out.attrs["seed"] = np.int64(data["seed"])
    if data["model_hash"] is not None:
        out.attrs["model_hash"] = data["model_hash"]
    for key in _COLUMNS:
        out.create_dataset(key, data=data[key])
    for key in _STRINGS:
        out.create_dataset(key, data=np.array(data[key], dtype=object), dtype=h5py.string_dtype("utf-8"),
                           shape=(len(data[key]),))
    if "lfp_potential_mv" in data:
        for key in _LFP_COLUMNS:
            out.create_dataset(key, data=data[key])
        for key in _LFP_ATTRIBUTES:
            out.attrs[key] = data[key]
    if "weight_value" in data:
        group = out.create_group("weights")
        for key in WEIGHT_KEYS[1:]:
            group.create_dataset(key, data=data[key])
        labels = data["weight_labels"]
        group.create_dataset("weight_labels", data=np.array(labels, dtype=object),
                             dtype=h5py.string_dtype("utf-8"), shape=(len(labels),))


def read(path: Path) -> Results:
    """Read results written by :func:`write`.

    Raises
    ------
    ConversionError
        The file is not HDF5, is damaged, or is not an nmlhub results file of this version.
    """
    path = Path(path)
    if not path.is_file():
        raise ConversionError("no such file", file=path)
    from nmlhub.interval_files import is_interval_file, open_hdf5_for_reading, read_intervals

    try:
        with open_hdf5_for_reading(path) as f:
            intervals = is_interval_file(f)
            data = None if intervals else extract(f, path)
        if intervals:
            return read_intervals(path)
    except ConversionError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError... for damaged files
        raise ConversionError(f"not a readable HDF5 results file: {type(exc).__name__}: {exc}",
                              file=path) from None
    try:
        return from_plain(data)
    except ConversionError as exc:
        raise ConversionError(exc.message, file=path) from None


def extract(f: h5py.File, path: Path, expected: str = KIND) -> dict[str, Any]:
    """:func:`to_plain`'s columns and attributes read from an open HDF5 file of kind ``expected``."""
    kind = _text(f.attrs.get("nmlhub_kind"))
    if kind == RANK_KIND and expected != RANK_KIND:
        raise ConversionError(f"holds rank {f.attrs.get('rank')}'s part of a run on {f.attrs.get('ranks')} ranks; "
                              "merge the parts first: nmlhub convert NAME.rank0.h5 NAME.h5", file=path)
    if kind != expected:
        what = "no nmlhub_kind attribute" if kind is None else f"holds {kind!r}"
        raise ConversionError(f"not an nmlhub results file ({what})", file=path)
    if f.attrs.get("nmlhub_version") != VERSION:
        raise ConversionError(f"layout version {f.attrs.get('nmlhub_version')!r} is not supported "
                              f"(this nmlhub reads {VERSION})", file=path)
    missing = [key for key in _COLUMNS + _STRINGS if not isinstance(f.get(key), h5py.Dataset)]
    if missing:
        raise ConversionError(f"no dataset {', '.join(missing)}", file=path)
    data: dict[str, Any] = {key: np.asarray(f[key][()]) for key in _COLUMNS}
    for key in _STRINGS:
        data[key] = [_text(v) for v in f[key][()].tolist()]
    data["duration_ms"] = _number(f.attrs.get("duration_ms"))
    data["dt_ms"] = _number(f.attrs.get("dt_ms"))
    data["seed"] = _number(f.attrs.get("seed"))
    data["model_hash"] = _text(f.attrs.get("model_hash"))
    for key in _LFP_COLUMNS:
        if isinstance(f.get(key), h5py.Dataset):
            data[key] = np.asarray(f[key][()])
    for key in _LFP_ATTRIBUTES:
        if key in f.attrs:
            data[key] = _number(_text(f.attrs[key]))
    if isinstance(f.get("weights"), h5py.Group):
        group = f["weights"]
        for key in WEIGHT_KEYS:
            if isinstance(group.get(key), h5py.Dataset):
                data[key] = np.asarray(group[key][()])
        if "weight_labels" in data:
            data["weight_labels"] = [_text(v) for v in data["weight_labels"].tolist()]
    try:
        data["settings"] = json.loads(_text(f.attrs.get("settings")) or "")
    except ValueError:
        raise ConversionError("the settings attribute is not JSON", file=path) from None
    return data


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _number(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
