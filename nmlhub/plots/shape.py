"""3D shape plot: morphologies at their network positions, coloured by a value per segment."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize

from ..analysis.morphology import NetworkShapes
from .figure import axes_or_new


def shape_plot(shapes: NetworkShapes, values: np.ndarray | None = None, ax: Axes | None = None, *,
               label: str = "", cmap: str = "viridis", width_scale: float = 0.6,
               vertical: int = 1) -> Axes:
    """Draw every segment as a line in 3D (width from its diameter), coloured by ``values`` (one per
    segment, NaN drawn grey), or by cell when ``values`` is None. Cells without a morphology
    are drawn as points.

    Parameters
    ----------
    vertical
        Which coordinate (0 x, 1 y, 2 z) is drawn upwards (NeuroML cells usually grow along y).

    Returns
    -------
    Axes
        3D axes holding one Line3DCollection with a segment per segment.
    """
    from mpl_toolkits.mplot3d.art3d import Line3DCollection

    ax = axes_or_new(ax, figsize=(6.5, 6.0), projection="3d")
    order = [a for a in (0, 2, 1) if a != vertical][:2] + [vertical]
    segments = np.stack([shapes.start[:, order], shapes.end[:, order]], axis=1)
    widths = np.clip(np.nan_to_num(shapes.diameter, nan=1.0) * width_scale, 0.4, 6.0)
    lines = Line3DCollection(segments, linewidths=widths)
    if values is not None:
        values = np.asarray(values, float)
        finite = values[np.isfinite(values)]
        norm = Normalize(*(finite.min(), finite.max()) if finite.size else (0, 1))
        lines.set_array(np.ma.masked_invalid(values))
        lines.set_cmap(colormaps[cmap].with_extremes(bad="lightgrey"))
        lines.set_norm(norm)
        ax.figure.colorbar(lines, ax=ax, label=label, shrink=0.6)
    else:
        lines.set_color(colormaps["tab10"](shapes.cell % 10))
    ax.add_collection3d(lines)
    points = shapes.point_positions[:, order]
    if points.size:
        ax.scatter(points[:, 0], points[:, 1], points[:, 2], s=8, color="black")
    everything = np.vstack([segments.reshape(-1, 3), points]) if len(shapes) or points.size else np.zeros((1, 3))
    low, high = everything.min(axis=0), everything.max(axis=0)
    span = np.maximum(high - low, 1e-3 * max(float((high - low).max()), 1.0))
    for setter, lo, width in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), low, span):
        setter(lo, lo + width)
    ax.set_box_aspect(span)  # one um is as long along every axis
    names = "xyz"
    ax.set_xlabel(f"{names[order[0]]} (um)")
    ax.set_ylabel(f"{names[order[1]]} (um)")
    ax.set_zlabel(f"{names[order[2]]} (um)")
    return ax
