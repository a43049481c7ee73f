"""Spectrum plots: power spectral densities and spectrograms."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes

from .figure import axes_or_new, population_colors


def psd_plot(freq_hz: np.ndarray, power: np.ndarray, ax: Axes | None = None, *,
             labels: Sequence[str] | None = None, unit: str = "", log: bool = True) -> Axes:
    """Power spectral density (one line per row of ``power``), on a log power axis by default."""
    ax = axes_or_new(ax)
    power = np.atleast_2d(power)
    labels = list(labels) if labels is not None else [None] * power.shape[0]
    for row, label, color in zip(power, labels, population_colors(power.shape[0])):
        ax.plot(freq_hz, row, label=label, color=color, linewidth=1.2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel(f"power ({unit}²/Hz)" if unit else "power density")
    ax.set_xlim(freq_hz[0], freq_hz[-1])
    if any(labels):
        ax.legend(fontsize="small")
    return ax


def spectrogram_plot(freq_hz: np.ndarray, time_ms: np.ndarray, power: np.ndarray, ax: Axes | None = None, *,
                     log: bool = True, cmap: str = "magma") -> Axes:
    """Spectrogram (frequency over time, colour = power, in dB when ``log``)."""
    ax = axes_or_new(ax)
    values = 10 * np.log10(np.maximum(power, np.finfo(float).tiny)) if log else power
    mesh = ax.pcolormesh(time_ms, freq_hz, values, shading="nearest", cmap=cmap)
    ax.figure.colorbar(mesh, ax=ax, label="power (dB)" if log else "power")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("frequency (Hz)")
    return ax
