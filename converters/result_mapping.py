"""Simulation results as plain, columnar data, and back.

:func:`to_plain` turns :class:`nmlhub.results.Results` into a dict of numpy columns, lists of
strings and scalars that every results format writes (through :mod:`converters.plain` or its own
layout); :func:`from_plain` checks such a dict and rebuilds the Results. No Python object is made
per spike or per sample, so a million spikes convert in a few numpy operations.

=====================  ===============================  ============================================
key                    value                            meaning
=====================  ===============================  ============================================
``time_ms``            float64, shape (n,)              time of every sample (ms)
``trace_names``        list of m str                    quantity paths, in ``Results.traces`` order
``traces``             float64, shape (n, m)            column j: values of ``trace_names[j]`` (SI)
``populations``        list of str                      population ids, in order of first use
``cell_population``    int64, shape (c,)                row into ``populations`` of every cell
``cell_index``         int64, shape (c,)                index of every cell in its population
``spike_cell``         int64, shape (s,)                row into the cells of every spike
``spike_time_ms``      float64, shape (s,)              time of every spike (ms)
``duration_ms``        float                            simulated time
``dt_ms``              float                            time step
``seed``               int or None                      random seed
``settings``           dict                             ``Results.settings`` as is
``model_hash``         str or None                      sha256 of the model's files
=====================  ===============================  ============================================

When the results hold an LFP (:class:`nmlhub.lfp.LFP`), five more keys (absent otherwise):

=====================  ===============================  ============================================
``lfp_time_ms``        float64, shape (k,)              LFP sample times (ms)
``lfp_positions_um``   float64, shape (e, 3)            electrode positions (um)
``lfp_potential_mv``   float64, shape (e, k)            potential at each electrode (mV)
``lfp_sigma``          float                            extracellular conductivity (S/m)
``lfp_method``         str                              ``linesource`` or ``pointsource``
=====================  ===============================  ============================================

When the results hold the final weights of plastic connections (:class:`nmlhub.results.SynapseWeights`),
seven more keys (absent otherwise), one row per connection:

==========================  ==========================  =============================================
``weight_labels``           list of str                 synapse and population ids the rows name
``weight_synapse``          int64, shape (w,)           row into ``weight_labels``: the synapse
``weight_pre_population``   int64, shape (w,)           row into ``weight_labels``: pre population
``weight_pre_cell``         int64, shape (w,)           pre cell index
``weight_post_population``  int64, shape (w,)           row into ``weight_labels``: post population
``weight_post_cell``        int64, shape (w,)           post cell index
``weight_value``            float64, shape (w,)         the weight at the end of the run
==========================  ==========================  =============================================

Cells are in ``Results.spikes`` order, cells without spikes included; :func:`to_plain` writes
the spikes grouped by cell (cell order, then each cell's own order), but :func:`from_plain`
accepts them in any order (a stable sort by ``spike_cell`` keeps each cell's order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmlhub.lfp.data import LFP
from nmlhub.results import Results, SynapseWeights

from .plain import ConversionError

KEYS = ("time_ms", "trace_names", "traces", "populations", "cell_population", "cell_index",
        "spike_cell", "spike_time_ms", "duration_ms", "dt_ms", "seed", "settings", "model_hash")
LFP_KEYS = ("lfp_time_ms", "lfp_positions_um", "lfp_potential_mv", "lfp_sigma", "lfp_method")
WEIGHT_KEYS = ("weight_labels", "weight_synapse", "weight_pre_population", "weight_pre_cell",
               "weight_post_population", "weight_post_cell", "weight_value")


def to_plain(results: Results) -> dict[str, Any]:
    """Results as plain columnar data (see the module docstring for the keys).

    Raises
    ------
    ConversionError
        A trace does not have one value per sample.

    Examples
    --------
    >>> import numpy as np
    >>> r = Results(np.array([0.0, 0.1]), {"p/0/c/v": np.array([-0.07, -0.06])},
    ...             {("p", 0): np.array([0.05]), ("p", 1): np.array([])})
    >>> data = to_plain(r)
    >>> data["cell_index"], data["spike_cell"]
    (array([0, 1]), array([0]))
    """
    time_ms = np.asarray(results.time_ms, dtype=np.float64).reshape(-1)
    names = [str(name) for name in results.traces]
    traces = np.empty((len(time_ms), len(names)), dtype=np.float64)
    for j, values in enumerate(results.traces.values()):
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) != len(time_ms):
            raise ConversionError(f"trace {names[j]!r} has {len(values)} values for {len(time_ms)} samples")
        traces[:, j] = values
    cells = list(results.spikes)
    populations = list(dict.fromkeys(str(pop) for pop, _ in cells))
    codes = {pop: k for k, pop in enumerate(populations)}
    trains = [np.asarray(t, dtype=np.float64).reshape(-1) for t in results.spikes.values()]
    counts = np.array([len(t) for t in trains], dtype=np.int64)
    data = {
        "time_ms": time_ms,
        "trace_names": names,
        "traces": traces,
        "populations": populations,
        "cell_population": np.array([codes[str(pop)] for pop, _ in cells], dtype=np.int64),
        "cell_index": np.array([index for _, index in cells], dtype=np.int64),
        "spike_cell": np.repeat(np.arange(len(cells), dtype=np.int64), counts),
        "spike_time_ms": np.concatenate(trains) if trains else np.zeros(0),
        "duration_ms": float(results.duration_ms),
        "dt_ms": float(results.dt_ms),
        "seed": None if results.seed is None else int(results.seed),
        "settings": dict(results.settings),
        "model_hash": results.model_hash,
    }
    if results.lfp is not None:
        lfp = results.lfp
        data.update(lfp_time_ms=np.asarray(lfp.time_ms, dtype=np.float64).reshape(-1),
                    lfp_positions_um=np.asarray(lfp.positions_um, dtype=np.float64).reshape(-1, 3),
                    lfp_potential_mv=np.asarray(lfp.potential_mv, dtype=np.float64),
                    lfp_sigma=float(lfp.sigma), lfp_method=str(lfp.method))
    if results.weights is not None:
        data.update(weights_to_plain(results.weights))
    return data


def weights_to_plain(weights: SynapseWeights) -> dict[str, Any]:
    """The :data:`WEIGHT_KEYS` of a weight table."""
    names = [np.asarray(weights.synapse, dtype=str), np.asarray(weights.pre_population, dtype=str),
             np.asarray(weights.post_population, dtype=str)]
    labels, codes = np.unique(np.concatenate(names), return_inverse=True)
    synapse, pre, post = np.split(codes.astype(np.int64), [len(names[0]), 2 * len(names[0])])
    return {"weight_labels": [str(x) for x in labels], "weight_synapse": synapse,
            "weight_pre_population": pre, "weight_pre_cell": np.asarray(weights.pre_cell, dtype=np.int64),
            "weight_post_population": post, "weight_post_cell": np.asarray(weights.post_cell, dtype=np.int64),
            "weight_value": np.asarray(weights.weight, dtype=np.float64)}


def weights_from_plain(data: dict) -> SynapseWeights | None:
    """The weight table of :data:`WEIGHT_KEYS` (None when absent), checked."""
    present = [key for key in WEIGHT_KEYS if key in data]
    if not present:
        return None
    if len(present) != len(WEIGHT_KEYS):
        raise ConversionError(f"results data has {', '.join(present)} but not every weight key")
    labels = np.array(_strings(data, "weight_labels") or [""], dtype=str)
    codes = [_column(data, key, "i", 1, len(data["weight_labels"]))
             for key in ("weight_synapse", "weight_pre_population", "weight_post_population")]
    cells = [_column(data, key, "i", 1) for key in ("weight_pre_cell", "weight_post_cell")]
    value = _column(data, "weight_value", "f", 1)
    if len({len(c) for c in codes + cells + [value]}) != 1:
        raise ConversionError("the weight columns differ in length")
    return SynapseWeights(labels[codes[0]], labels[codes[1]], cells[0], labels[codes[2]], cells[1], value)


def from_plain(data: Any) -> Results:
    """Rebuild Results from :func:`to_plain`'s dict, checking its structure.

    Raises
    ------
    ConversionError
        A key is missing or a column has the wrong type, shape or range (the caller adds the file).
    """
    if not isinstance(data, dict):
        raise ConversionError(f"results data is a {type(data).__name__}, not a dict")
    missing = [key for key in KEYS if key not in data]
    if missing:
        raise ConversionError(f"results data lacks {', '.join(missing)}")
    time_ms = _column(data, "time_ms", "f", 1)
    names = _strings(data, "trace_names")
    traces = _column(data, "traces", "f", 2)
    if traces.shape != (len(time_ms), len(names)):
        raise ConversionError(f"traces have shape {traces.shape}, expected ({len(time_ms)}, {len(names)})")
    if len(set(names)) != len(names):
        raise ConversionError("trace names repeat")
    populations = _strings(data, "populations")
    cell_pop = _column(data, "cell_population", "i", 1, len(populations))
    cell_index = _column(data, "cell_index", "i", 1)
    if len(cell_pop) != len(cell_index):
        raise ConversionError("cell_population and cell_index differ in length")
    spike_cell = _column(data, "spike_cell", "i", 1, len(cell_index))
    spike_time = _column(data, "spike_time_ms", "f", 1)
    if len(spike_cell) != len(spike_time):
        raise ConversionError("spike_cell and spike_time_ms differ in length")
    return Results(
        time_ms=time_ms,
        traces={name: traces[:, j].copy() for j, name in enumerate(names)},
        spikes=_trains(populations, cell_pop, cell_index, spike_cell, spike_time),
        duration_ms=_scalar(data, "duration_ms", float),
        dt_ms=_scalar(data, "dt_ms", float),
        seed=None if data["seed"] is None else _scalar(data, "seed", int),
        settings=_settings(data["settings"]),
        model_hash=_hash(data["model_hash"]),
        lfp=_lfp(data),
        weights=weights_from_plain(data),
    )


def _lfp(data: dict) -> LFP | None:
    present = [key for key in LFP_KEYS if key in data]
    if not present:
        return None
    if len(present) != len(LFP_KEYS):
        raise ConversionError(f"results data has {', '.join(present)} but not every LFP key")
    time_ms = _column(data, "lfp_time_ms", "f", 1)
    positions = np.asarray(data["lfp_positions_um"])
    potential = np.asarray(data["lfp_potential_mv"])
    if positions.dtype.kind not in "fiu" or potential.dtype.kind not in "fiu" or positions.size % 3:
        raise ConversionError("'lfp_positions_um' and 'lfp_potential_mv' must be numeric, positions in threes")
    positions = positions.astype(np.float64).reshape(-1, 3)  # formats may drop unit axes
    if potential.size != len(positions) * len(time_ms):
        raise ConversionError(f"'lfp_potential_mv' has {potential.size} values for {len(positions)} "
                              f"electrodes x {len(time_ms)} samples")
    method = data["lfp_method"]
    if not isinstance(method, str):
        raise ConversionError("'lfp_method' is not a string")
    return LFP(time_ms, positions, potential.astype(np.float64).reshape(len(positions), len(time_ms)),
               _scalar(data, "lfp_sigma", float), method)


def _trains(populations: list[str], cell_pop: np.ndarray, cell_index: np.ndarray,
            spike_cell: np.ndarray, spike_time: np.ndarray) -> dict[tuple[str, int], np.ndarray]:
    keys = list(zip([populations[k] for k in cell_pop.tolist()], cell_index.tolist()))
    if len(set(keys)) != len(keys):
        raise ConversionError("a cell (population, index) is listed twice")
    if np.any(np.diff(spike_cell) < 0):
        order = np.argsort(spike_cell, kind="stable")
        spike_cell, spike_time = spike_cell[order], spike_time[order]
    counts = np.bincount(spike_cell, minlength=len(keys))
    trains = np.split(spike_time, np.cumsum(counts)[:-1]) if keys else []
    return {key: train.copy() for key, train in zip(keys, trains)}


def _column(data: dict, key: str, kind: str, ndim: int, bound: int | None = None) -> np.ndarray:
    value = data[key]
    if not isinstance(value, np.ndarray) or value.ndim != ndim:
        raise ConversionError(f"{key!r} is not a {ndim}-D array")
    if kind == "f" and value.dtype.kind in "fiu":
        return value.astype(np.float64, copy=False)
    if kind == "i" and value.dtype.kind in "iu":
        value = value.astype(np.int64, copy=False)
        if bound is not None and value.size and (value.min() < 0 or value.max() >= bound):
            raise ConversionError(f"{key!r} has a row outside 0..{bound - 1}")
        return value
    raise ConversionError(f"{key!r} has dtype {value.dtype}")


def _strings(data: dict, key: str) -> list[str]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConversionError(f"{key!r} is not a list of strings")
    return value


def _scalar(data: dict, key: str, kind: type) -> Any:
    value = data[key]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise ConversionError(f"{key!r} is not {'a number' if kind is float else 'an integer'}")
    return kind(value)


def _settings(value: Any) -> dict[str, object]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConversionError("'settings' is not a dict with string keys")
    return value


def _hash(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConversionError("'model_hash' is not a string")
    return value
