"""Plots of a recorded LFP (:class:`nmlhub.lfp.LFP`): traces stacked by depth, power spectra,
a spectrogram and the current-source density along a laminar probe."""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from ..analysis.spectra import spectrogram, welch_psd
from ..lfp.csd import delta_icsd, standard_csd
from ..lfp.data import LFP
from ..lfp.electrodes import ElectrodeError

_LOG = logging.getLogger(__name__)


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _by_depth(lfp: LFP, electrodes: Sequence[int] | None) -> list[int]:
    chosen = range(len(lfp.positions_um)) if electrodes is None else electrodes
    return sorted((int(k) for k in chosen), key=lambda k: (lfp.depths_um[k], k))


def lfp_traces(lfp: LFP, ax: Any = None, *, electrodes: Sequence[int] | None = None,
               spacing_mv: float | None = None, color: str = "black") -> Any:
    """The potential at each electrode over time, one trace per electrode stacked by depth
    (shallowest at the top), each labelled with its depth.

    Parameters
    ----------
    lfp
        The recorded potential.
    ax
        Axes to draw on (default: a new Figure's).
    electrodes
        Rows of ``lfp`` to draw (default: all).
    spacing_mv
        Vertical distance between traces (default: the largest peak-to-peak range).
    color
        Line colour.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7.0, 5.0))
    rows = _by_depth(lfp, electrodes)
    values = lfp.potential_mv[rows]
    centred = values - values.mean(axis=1, keepdims=True)
    if spacing_mv is None:
        spacing_mv = float(np.ptp(centred, axis=1).max()) if centred.size else 1.0
        spacing_mv = spacing_mv or 1.0
    offsets = -spacing_mv * np.arange(len(rows))
    for offset, trace in zip(offsets, centred):
        ax.plot(lfp.time_ms, trace + offset, color=color, lw=0.7)
    ax.set_yticks(offsets, [f"{lfp.depths_um[k]:.4g}" for k in rows])
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("electrode depth (um)")
    ax.set_title(f"LFP (traces {spacing_mv:.3g} mV apart, mean removed)")
    ax.set_xlim(lfp.time_ms[0], lfp.time_ms[-1])
    return ax


def lfp_psd(lfp: LFP, ax: Any = None, *, electrodes: Sequence[int] | None = None,
            resolution_hz: float | None = 10.0, max_freq_hz: float | None = 500.0) -> Any:
    """Power spectral density (Welch, :func:`nmlhub.analysis.spectra.welch_psd`) at each
    electrode, log-log, one line per electrode coloured by depth.

    Parameters
    ----------
    lfp
        The recorded potential.
    ax
        Axes to draw on (default: a new Figure's).
    electrodes
        Rows of ``lfp`` to draw (default: all).
    resolution_hz, max_freq_hz
        Frequency resolution and the highest frequency shown (Hz).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib import colormaps

    ax = _axes(ax, (6.0, 4.5))
    rows = _by_depth(lfp, electrodes)
    freq, power = welch_psd(lfp.potential_mv[rows], lfp.dt_ms, resolution_hz=resolution_hz,
                            max_freq_hz=max_freq_hz)
    colours = colormaps["viridis"](np.linspace(0.0, 0.9, max(len(rows), 1)))
    keep = freq > 0
    for k, row in enumerate(rows):
        ax.loglog(freq[keep], power[k][keep], color=colours[k], lw=1.0, label=f"{lfp.depths_um[row]:.4g} um")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power spectral density (mV$^2$/Hz)")
    ax.set_title("LFP power spectrum (Welch)")
    if len(rows) <= 16:
        ax.legend(title="depth", fontsize="x-small", ncols=2)
    return ax


def lfp_spectrogram(lfp: LFP, electrode: int = 0, ax: Any = None, *, resolution_hz: float | None = 20.0,
                    overlap: float = 0.9, max_freq_hz: float | None = 300.0) -> Any:
    """Power over time and frequency at one electrode (:func:`nmlhub.analysis.spectra.spectrogram`),
    in dB (10 log10 of mV^2/Hz), with a colour bar.

    Parameters
    ----------
    lfp
        The recorded potential.
    electrode
        Row of ``lfp``.
    ax
        Axes to draw on (default: a new Figure's).
    resolution_hz, overlap, max_freq_hz
        Frequency resolution (Hz), overlap of successive windows, highest frequency shown (Hz).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7.0, 4.0))
    freq, times, power = spectrogram(lfp.potential_mv[int(electrode)], lfp.dt_ms, resolution_hz=resolution_hz,
                                     overlap=overlap, max_freq_hz=max_freq_hz, start_ms=float(lfp.time_ms[0]))
    decibels = 10.0 * np.log10(np.maximum(power, np.finfo(float).tiny))
    mesh = ax.pcolormesh(times, freq, decibels, shading="nearest", cmap="magma")
    ax.figure.colorbar(mesh, ax=ax, label="power (dB, mV$^2$/Hz)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(f"LFP spectrogram at depth {lfp.depths_um[int(electrode)]:.4g} um")
    return ax


def csd_image(lfp: LFP, ax: Any = None, *, method: str = "standard", radius_um: float = 500.0,
              traces: bool = True) -> Any:
    """The current-source density along a laminar probe over time, sinks blue and sources red,
    depth growing downwards, with the LFP traces drawn over it.

    Parameters
    ----------
    lfp
        Potential at evenly spaced contacts along y (:func:`nmlhub.lfp.laminar_probe`).
    ax
        Axes to draw on (default: a new Figure's).
    method
        ``"standard"`` (second spatial difference, Vaknin ends) or ``"delta"`` (delta-source iCSD
        with discs of ``radius_um``): see :mod:`nmlhub.lfp.csd`.
    traces
        Draw the LFP of each contact over the image.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7.0, 5.0))
    rows = _by_depth(lfp, None)
    depths = lfp.depths_um[rows]
    potential = lfp.potential_mv[rows]
    if method == "standard":
        csd, at = standard_csd(potential, depths, lfp.sigma, vaknin=True)
    elif method == "delta":
        csd, at = delta_icsd(potential, depths, lfp.sigma, radius_um=radius_um)
    else:
        raise ValueError(f"unknown CSD method {method!r}: 'standard' or 'delta'")
    # a few spikes next to a contact would otherwise wash out the colours of everything else
    limit = float(np.percentile(np.abs(csd), 99.5)) or float(np.abs(csd).max()) or 1.0
    mesh = ax.pcolormesh(lfp.time_ms, at, csd, shading="nearest", cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.figure.colorbar(mesh, ax=ax, label="CSD (uA/mm$^3$): sink < 0 < source")
    if traces:
        centred = potential - potential.mean(axis=1, keepdims=True)
        spread = float(np.abs(centred).max()) or 1.0
        step = float(abs(depths[1] - depths[0])) if len(depths) > 1 else 1.0
        for depth, trace in zip(depths, centred):
            ax.plot(lfp.time_ms, depth - trace / spread * step * 0.45, color="black", lw=0.6)
    ax.set_ylim(at.max() + (at[1] - at[0]) / 2 if len(at) > 1 else at.max() + 1,
                at.min() - (at[1] - at[0]) / 2 if len(at) > 1 else at.min() - 1)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("depth (um)")
    ax.set_title(f"current-source density ({'standard' if method == 'standard' else 'delta iCSD'})")
    return ax


def lfp_figures(lfp: LFP, *, csd_method: str = "standard") -> dict[str, Any]:
    """The figures of ``nmlhub plot --lfp``: ``lfp_traces`` (:func:`lfp_traces`), ``lfp_csd``
    (:func:`csd_image`, when the contacts are evenly spaced along y; otherwise a warning says
    why there is none) and ``lfp_psd`` (:func:`lfp_psd`), by file name.

    Parameters
    ----------
    lfp
        The recorded potential.
    csd_method
        ``"standard"`` or ``"delta"`` (see :func:`csd_image`).

    Returns
    -------
    dict of str to matplotlib.figure.Figure
    """
    if lfp.potential_mv.shape[1] < 2:
        raise ElectrodeError("the LFP holds fewer than 2 samples: nothing to plot")
    figures = {"lfp_traces": lfp_traces(lfp).figure}
    try:
        figures["lfp_csd"] = csd_image(lfp, method=csd_method).figure
    except ElectrodeError as exc:
        _LOG.warning("no CSD plot: %s", exc)
    figures["lfp_psd"] = lfp_psd(lfp).figure
    return figures
