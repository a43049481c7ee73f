"""Figures without pyplot: a Figure on the Agg canvas, population colours, and saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..analysis.errors import AnalysisError

FORMATS = ("png", "svg", "pdf")


def new_figure(figsize: tuple[float, float] = (7.0, 4.5)) -> Figure:
    """A Figure attached to an Agg canvas (no window, no global pyplot state)."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.5), **subplot: Any) -> Axes:
    """``ax``, or the axes of a new figure (``subplot`` keywords such as ``projection="3d"``)."""
    if ax is not None:
        return ax
    return new_figure(figsize).add_subplot(**subplot)


def population_colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinct colours (matplotlib's tab10, then tab20, then a continuous map)."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](k) for k in range(n)]
    if n <= 20:
        return [colormaps["tab20"](k) for k in range(n)]
    return [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]


def save(fig: Figure, path: str | Path, fmt: str | None = None, dpi: int = 150) -> Path:
    """Write a figure as PNG, SVG or PDF (by ``fmt`` or the file's extension)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        raise AnalysisError(f"cannot write a figure as '{fmt}'; formats: {', '.join(FORMATS)}")
    if path.suffix.lstrip(".").lower() != fmt:
        path = path.with_name(path.name + f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=dpi)
    return path
