"""Metrics of one run, computed from its results: named metrics (``rate``, ``isi_cv``,
``synchrony``, ``spike_count``, from :mod:`nmlhub.analysis.spikes`) and the user's own functions
(``"module:function"`` or ``"file.py:function"``).

Every named metric gives a value for all cells together (``rate``) and one per population
(``rate.Exc``).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..analysis import spikes as spike_analysis
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


def _per_population(results: Results, name: str, measure: Callable[[Any], float],
                    start_ms: float | None, stop_ms: float | None) -> dict[str, float]:
    """``measure`` of the spike table of all cells (``name``) and of each population (``name.POP``)."""
    if start_ms is not None and stop_ms is not None and not stop_ms > start_ms:
        raise BatchError(f"metric {name}: stop_ms ({stop_ms}) must be after start_ms ({start_ms})")
    table = spike_analysis.results_spike_table(results, start_ms=start_ms, stop_ms=stop_ms)
    values = {name: measure(table)}
    values.update({f"{name}.{pop}": measure(table.select([pop])) for pop in table.populations})
    return values


def _mean_or_nan(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def spike_count(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
                stop_ms: float | None = None) -> dict[str, float]:
    """Number of spikes in [start_ms, stop_ms), of all cells and per population."""
    return _per_population(results, "spike_count", lambda t: float(t.times_ms.size), start_ms, stop_ms)


def rate(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
         stop_ms: float | None = None) -> dict[str, float]:
    """Mean firing rate (Hz) over cells (silent cells included) in [start_ms, stop_ms)."""
    return _per_population(results, "rate", lambda t: _mean_or_nan(spike_analysis.firing_rates(t)),
                           start_ms, stop_ms)


def isi_cv(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
           stop_ms: float | None = None, min_spikes: int = 3) -> dict[str, float]:
    """Mean coefficient of variation of the inter-spike intervals of cells with at least
    ``min_spikes`` spikes (NaN when no cell has that many)."""
    return _per_population(results, "isi_cv",
                           lambda t: _mean_or_nan(spike_analysis.isi_cv(t, min_spikes=min_spikes)),
                           start_ms, stop_ms)


def synchrony(results: Results, context: RunContext | None = None, *, start_ms: float | None = None,
              stop_ms: float | None = None, bin_ms: float = 5.0) -> dict[str, float]:
    """Golomb's synchrony measure chi of spike counts in bins of ``bin_ms``
    (:func:`nmlhub.analysis.spikes.golomb_synchrony`; NaN when no cell's count varies)."""
    return _per_population(results, "synchrony", lambda t: spike_analysis.golomb_synchrony(t, bin_ms),
                           start_ms, stop_ms)


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


def _takes_spike_table(function: Callable[..., Any]) -> bool:
    """Whether ``function`` is an analysis function of a spike table (first parameter ``table``,
    as :mod:`nmlhub.analysis.spikes` writes them)."""
    import inspect

    try:
        parameters = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False
    return bool(parameters) and parameters[0] == "table"


def _table_metric(results: Results, metric: Metric, function: Callable[..., Any]) -> dict[str, float]:
    """A spike-table function (e.g. ``nmlhub.analysis.spikes:count_correlation``) of all cells and
    of each population; per-cell arrays are averaged over their finite values."""
    options = dict(metric.options)
    start, stop = options.pop("start_ms", None), options.pop("stop_ms", None)

    def measure(table: Any) -> float:
        value = function(table, **options)
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
            return _mean_or_nan(value.astype(float))
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return float(value)
        raise BatchError(f"metric {metric.name!r}: {metric.function} returned a {type(value).__name__}; "
                         "a metric needs a number or an array of numbers")

    return _per_population(results, metric.name, measure, start, stop)


def compute(results: Results, metrics: list[Metric], context: RunContext | None = None,
            base: Path | None = None) -> dict[str, float]:
    """Every metric of a run, flattened to name -> number.

    A function returning a number gives one value named after the metric; one returning a
    mapping gives ``metric.key`` values (``metric`` alone for the key ``""``). A function of a
    spike table (first parameter ``table``: any of :mod:`nmlhub.analysis.spikes`) is given the
    run's table, of all cells and of each population (``metric``, ``metric.POP``).

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
        function = load_function(metric.function, base)
        if _takes_spike_table(function):
            values.update(_table_metric(results, metric, function))
            continue
        result = function(results, context, **dict(metric.options))
        items = result.items() if isinstance(result, Mapping) else [("", result)]
        for key, value in items:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise BatchError(f"metric {metric.name!r} returned {value!r} for {key or 'its value'}; "
                                 "metrics are numbers")
            values[f"{metric.name}.{key}" if key else metric.name] = float(value)
    return values
