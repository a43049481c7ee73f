"""Metrics of one run, computed from its results: named metrics (``rate``, ``isi_cv``,
``synchrony``, ``spike_count``) and the user's own functions (``"module:function"``).

Every named metric gives a value for all cells together (``rate``) and one per population
(``rate.Exc``). (These small vectorised functions stand on their own; nmlhub's analysis package
was not committed when they were written.)
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..results import Results
from .spec import BatchError, Metric


@dataclass(frozen=True)
class RunContext:
    """What a metric function may want to know about its run besides the results.

    Attributes
    ----------
    params
        The run's parameter values (path -> value).
    seed
        The run's seed.
    folder
        The run's folder.
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    folder: Path | None = None


def _window(results: Results, start_ms: float | None, stop_ms: float | None) -> tuple[float, float]:
    start = 0.0 if start_ms is None else float(start_ms)
    stop = float(results.duration_ms) if stop_ms is None else float(stop_ms)
    if not stop > start:
        raise BatchError(f"metric window: stop ({stop} ms) must be after start ({start} ms)")
    return start, stop


def _populations(results: Results) -> dict[str, list[np.ndarray]]:
    groups: dict[str, list[np.ndarray]] = {}
    for (population, _cell), times in sorted(results.spikes.items()):
        groups.setdefault(population, []).append(np.asarray(times, dtype=float))
    return groups


def _per_population(results: Results, name: str, measure: Callable[[list[np.ndarray]], float]) -> dict[str, float]:
    groups = _populations(results)
    values = {name: measure([t for trains in groups.values() for t in trains])}
    values.update({f"{name}.{pop}": measure(trains) for pop, trains in groups.items()})
    return values


def _clip(trains: list[np.ndarray], start: float, stop: float) -> list[np.ndarray]:
    return [t[(t >= start) & (t < stop)] for t in trains]


def spike_count(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
                stop_ms: float | None = None) -> dict[str, float]:
    """Number of spikes in [start_ms, stop_ms), of all cells and per population."""
    start, stop = _window(results, start_ms, stop_ms)
    return _per_population(results, "spike_count",
                           lambda trains: float(sum(len(t) for t in _clip(trains, start, stop))))


def rate(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
         stop_ms: float | None = None) -> dict[str, float]:
    """Mean firing rate (Hz) over cells (silent cells included) in [start_ms, stop_ms)."""
    start, stop = _window(results, start_ms, stop_ms)
    seconds = (stop - start) / 1000.0

    def measure(trains: list[np.ndarray]) -> float:
        if not trains:
            return math.nan
        return sum(len(t) for t in _clip(trains, start, stop)) / (len(trains) * seconds)

    return _per_population(results, "rate", measure)


def isi_cv(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
           stop_ms: float | None = None, min_spikes: int = 3) -> dict[str, float]:
    """Mean coefficient of variation of the inter-spike intervals of cells with at least
    ``min_spikes`` spikes (NaN when no cell has that many)."""
    start, stop = _window(results, start_ms, stop_ms)

    def measure(trains: list[np.ndarray]) -> float:
        cvs = []
        for t in _clip(trains, start, stop):
            if len(t) >= max(min_spikes, 3):
                isi = np.diff(np.sort(t))
                cvs.append(float(np.std(isi) / np.mean(isi)) if np.mean(isi) > 0 else math.nan)
        return float(np.mean(cvs)) if cvs else math.nan

    return _per_population(results, "isi_cv", measure)


def binned_counts(trains: list[np.ndarray], start: float, stop: float, bin_ms: float) -> np.ndarray:
    """Spike counts per cell (rows) and time bin (columns) of width ``bin_ms`` from ``start``."""
    edges = start + bin_ms * np.arange(int(math.ceil((stop - start) / bin_ms)) + 1)
    return np.array([np.histogram(t, edges)[0] for t in trains], dtype=float).reshape(len(trains), -1)


def synchrony(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
              stop_ms: float | None = None, bin_ms: float = 5.0) -> dict[str, float]:
    """Golomb's synchrony measure chi on binned spike counts: the standard deviation of the
    population-mean count over time, divided by the root mean variance of the cells' counts
    (0: independent, 1: identical). NaN when no cell's count varies."""
    start, stop = _window(results, start_ms, stop_ms)

    def measure(trains: list[np.ndarray]) -> float:
        if not trains:
            return math.nan
        counts = binned_counts(trains, start, stop, bin_ms)
        mean_var = float(np.mean(np.var(counts, axis=1)))
        if mean_var == 0:
            return math.nan
        return math.sqrt(float(np.var(counts.mean(axis=0))) / mean_var)

    return _per_population(results, "synchrony", measure)


NAMED: dict[str, Callable[..., dict[str, float]]] = {
    "spike_count": spike_count, "rate": rate, "isi_cv": isi_cv, "synchrony": synchrony,
}


def load_function(reference: str, base: Path | None = None) -> Callable[..., Any]:
    """The function ``"module:function"`` or ``"path/to/file.py:function"`` names (a relative
    file is looked for under ``base``).

    Raises
    ------
    BatchError
        The module, file or function cannot be found.
    """
    module_name, _, attribute = reference.rpartition(":")
    if not module_name or not attribute:
        raise BatchError(f"metric function {reference!r}: write it as 'module:function' or 'file.py:function'")
    try:
        if module_name.endswith(".py"):
            file = Path(module_name)
            if not file.is_absolute() and base is not None:
                file = base / file
            if not file.is_file():
                raise BatchError(f"metric function {reference!r}: file {file} not found")
            spec = importlib.util.spec_from_file_location(f"nmlhub_batch_metric_{file.stem}", file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BatchError(f"metric function {reference!r}: cannot import {module_name}: {exc}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise BatchError(f"metric function {reference!r}: {module_name} has no function {attribute}")
    return function


def compute(results: Results, metrics: list[Metric], context: RunContext | None = None,
            base: Path | None = None) -> dict[str, float]:
    """Every metric of a run, flattened to name -> number.

    A function returning a number gives one value named after the metric; one returning a
    mapping gives ``metric.key`` values (``metric`` alone for the key ``""``).

    Raises
    ------
    BatchError
        An unknown metric, or a function returning something else than numbers.
    """
    context = context or RunContext()
    values: dict[str, float] = {}
    for metric in metrics:
        if metric.function is None:
            if metric.name not in NAMED:
                raise BatchError(f"unknown metric {metric.name!r} (named metrics: {', '.join(NAMED)}; "
                                 "or give function: 'module:function')")
            values.update(NAMED[metric.name](results, context, **dict(metric.options)))
            continue
        result = load_function(metric.function, base)(results, context, **dict(metric.options))
        items = result.items() if isinstance(result, Mapping) else [("", result)]
        for key, value in items:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise BatchError(f"metric {metric.name!r} returned {value!r} for {key or 'its value'}; "
                                 "metrics are numbers")
            values[f"{metric.name}.{key}" if key else metric.name] = float(value)
    return values
