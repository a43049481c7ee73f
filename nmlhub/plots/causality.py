"""Causality plots: spectral Granger causality and transfer-entropy matrices."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from ..analysis.causality import GrangerSpectrum
from .figure import axes_or_new, population_colors


def granger_plot(spectra: Mapping[tuple[str, str], GrangerSpectrum], ax: Axes | None = None, *,
                 max_freq_hz: float | None = None) -> Axes:
    """Spectral Granger causality for pairs of signals: for each ``(a, b)`` two lines, a -> b
    (solid) and b -> a (dashed), labelled with the time-domain value."""
    ax = axes_or_new(ax)
    colors = population_colors(len(spectra))
    for (a, b), g, color in zip(spectra.keys(), spectra.values(), colors):
        ax.plot(g.freq_hz, g.x_to_y, color=color, label=f"{a} → {b} ({g.x_to_y_total:.3g})")
        ax.plot(g.freq_hz, g.y_to_x, color=color, linestyle="--", label=f"{b} → {a} ({g.y_to_x_total:.3g})")
    if spectra and max_freq_hz is not None:
        ax.set_xlim(0, max_freq_hz)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("Granger causality")
    ax.legend(fontsize="small")
    return ax


def causality_matrix_plot(values: np.ndarray, names: Sequence[str], ax: Axes | None = None, *,
                          label: str = "normalised transfer entropy", cmap: str = "magma") -> Axes:
    """A (source x target) matrix of a directed measure between signals, annotated."""
    ax = axes_or_new(ax, figsize=(5.5, 4.5))
    values = np.asarray(values, float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_ylabel("source")
    ax.set_xlabel("target")
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize="small", color="grey")
    return ax
