"""A batch's metrics over its parameters: 1D curves, 2D heatmaps (matplotlib Figures, Agg) and a
table of the best runs."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

import numpy as np

from .index import Index
from .spec import BatchError

_LEADING_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def numeric(values: np.ndarray) -> np.ndarray | None:
    """A parameter column as numbers (quantities such as ``"100pA"`` by their number), or None
    when some value has no number."""
    if values.dtype != object:
        return values.astype(float)
    out = []
    for value in values:
        match = _LEADING_NUMBER.match(str(value))
        if not match:
            return None
        out.append(float(match.group(0)))
    return np.asarray(out)


def _axis(index: Index, name: str) -> tuple[np.ndarray, list[Any]]:
    """Each run's position on a parameter's axis and the axis's distinct values (sorted)."""
    if name not in index.params:
        raise BatchError(f"no parameter {name!r} in this batch (parameters: {', '.join(index.params)})")
    column = index.params[name]
    values = numeric(column)
    if values is None:
        labels = sorted(set(map(str, column)))
        return np.asarray([labels.index(str(v)) for v in column], dtype=float), labels
    return values, sorted(set(values.tolist()))


def _selection(index: Index, fixed: Mapping[str, Any]) -> np.ndarray:
    keep = index.done().copy()
    for name, wanted in fixed.items():
        if name not in index.params:
            raise BatchError(f"--fix {name}: no such parameter (parameters: {', '.join(index.params)})")
        column = index.params[name]
        values = numeric(column)
        try:
            target = float(_LEADING_NUMBER.match(str(wanted)).group(0)) if values is not None else None
        except AttributeError:
            target = None
        if values is not None and target is not None:
            keep &= np.isclose(values, target, rtol=1e-9, atol=0.0)
        else:
            keep &= np.asarray([str(v) == str(wanted) for v in column])
    return keep


def metric_grid(index: Index, metric: str, x: str, y: str | None = None,
                fixed: Mapping[str, Any] | None = None) -> tuple[list[Any], list[Any] | None, np.ndarray]:
    """The metric's mean over done runs at each value of ``x`` (and ``y``), other parameters
    fixed at ``fixed`` or averaged over.

    Returns
    -------
    (x values, y values or None, array)
        The array is ``len(x)`` long, or ``len(y) × len(x)`` for two parameters; NaN where no
        done run has a finite value.
    """
    if metric not in index.metrics:
        raise BatchError(f"no metric {metric!r} (metrics: {', '.join(index.metrics)})")
    keep = _selection(index, fixed or {}) & np.isfinite(index.metrics[metric])
    xpos, xs = _axis(index, x)
    if y is None:
        grid = np.full(len(xs), math.nan)
        for i, value in enumerate(xs):
            rows = keep & (xpos == (i if isinstance(value, str) else value))
            if rows.any():
                grid[i] = float(np.mean(index.metrics[metric][rows]))
        return xs, None, grid
    ypos, ys = _axis(index, y)
    grid = np.full((len(ys), len(xs)), math.nan)
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            rows = (keep & (xpos == (i if isinstance(xv, str) else xv))
                    & (ypos == (j if isinstance(yv, str) else yv)))
            if rows.any():
                grid[j, i] = float(np.mean(index.metrics[metric][rows]))
    return xs, ys, grid


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plot_metric(index: Index, metric: str, x: str | None = None, y: str | None = None,
                fixed: Mapping[str, Any] | None = None) -> Any:
    """A 1D curve of ``metric`` over ``x``, or a heatmap over ``x`` and ``y`` (other parameters
    fixed by ``fixed`` or averaged); returns a matplotlib Figure (Agg, nothing shown).

    Examples
    --------
    >>> fig = plot_metric(index, "rate.Exc", x="RS.a", y="drive_E.amplitude")  # doctest: +SKIP
    >>> fig.savefig("heatmap.png")  # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    x = x or next(iter(index.params), None)
    if x is None:
        raise BatchError("this batch has no parameters to plot over")
    xs, ys, grid = metric_grid(index, metric, x, y, fixed)
    others = [p for p in index.params if p not in (x, y) and p not in (fixed or {})]
    note = ", ".join(f"{k} = {v}" for k, v in (fixed or {}).items())
    if others:
        note = ", ".join(filter(None, [note, "mean over " + ", ".join(others)]))
    fig = Figure(figsize=(5.2, 4.0) if y else (5.2, 3.6))
    ax = fig.add_subplot()
    if y is None:
        positions = np.arange(len(xs)) if isinstance(xs[0], str) else np.asarray(xs, dtype=float)
        ax.plot(positions, grid, "o-")
        if isinstance(xs[0], str):
            ax.set_xticks(positions, xs)
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
    else:
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(xs)), [_label(v) for v in xs])
        ax.set_yticks(range(len(ys)), [_label(v) for v in ys])
        for (j, i), value in np.ndenumerate(grid):
            text = "failed" if not math.isfinite(value) else f"{value:.3g}"
            ax.text(i, j, text, ha="center", va="center", fontsize=8,
                    color="white" if not math.isfinite(value) or value < np.nanmean(grid) else "black")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(image, ax=ax, label=metric)
    ax.set_title(metric + (f"\n({note})" if note else ""), fontsize=9)
    fig.tight_layout()
    return fig


def best_runs(index: Index, metric: str, n: int = 10, lowest: bool = False,
              fixed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The ``n`` done runs (among those with the parameters in ``fixed`` at their values) with the
    highest (or lowest) finite ``metric``: run, parameters, metric."""
    if metric not in index.metrics:
        raise BatchError(f"no metric {metric!r} (metrics: {', '.join(index.metrics)})")
    values = index.metrics[metric]
    candidates = np.flatnonzero(_selection(index, fixed or {}) & np.isfinite(values))
    order = candidates[np.argsort(values[candidates], kind="stable")]
    if not lowest:
        order = order[::-1]
    return [{"run": index.runs[i], **{p: v[i] for p, v in index.params.items()}, metric: float(values[i])}
            for i in order[:n]]


def format_table(rows: list[dict[str, Any]], metric: str) -> str:
    """Rows of :func:`best_runs` as an aligned text table."""
    if not rows:
        return f"no done run has a value of {metric}"
    columns = list(rows[0])
    cells = [[_label(row[c]) if not isinstance(row[c], np.floating) else _label(float(row[c])) for c in columns]
             for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
