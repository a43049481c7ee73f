"""Power spectra of sampled signals (traces, population rates, LFP): Welch's method and spectrograms.

Time steps are given in ms, as everywhere in nmlhub; frequencies come back in Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import signal as _signal

from .errors import AnalysisError


def _prepare(values: np.ndarray, dt_ms: float) -> tuple[np.ndarray, float]:
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or values.shape[-1] < 2:
        raise AnalysisError("a spectrum needs a signal of at least 2 samples")
    if not np.isfinite(dt_ms) or dt_ms <= 0:
        raise AnalysisError(f"the time step must be positive, not {dt_ms} ms")
    return values, 1000.0 / float(dt_ms)


def _segment_length(n: int, fs_hz: float, nperseg: int | None, resolution_hz: float | None) -> int:
    if nperseg is None:
        nperseg = int(round(fs_hz / resolution_hz)) if resolution_hz else 256
    return max(2, min(int(nperseg), n))


def welch_psd(signal: np.ndarray, dt_ms: float, *, nperseg: int | None = None,
              resolution_hz: float | None = None, overlap: float = 0.5, detrend: str | bool = "constant",
              window: str = "hann", max_freq_hz: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of a signal by Welch's method (averaged windowed periodograms).

    Parameters
    ----------
    signal
        Samples along the last axis; any leading axes (channels, cells) get a spectrum each.
    dt_ms
        Sampling interval (ms).
    nperseg
        Samples per segment (default: from ``resolution_hz``, else 256; at most the signal length).
    resolution_hz
        Frequency resolution wanted (segment length ``1 / resolution_hz``), if ``nperseg`` is not given.
    overlap
        Fraction of a segment shared with the next (0 <= overlap < 1).
    detrend
        ``"constant"`` (remove each segment's mean), ``"linear"`` or ``False``.
    window
        A window name scipy knows (``"hann"``, ``"hamming"``, ...).
    max_freq_hz
        Keep frequencies up to this one only.

    Returns
    -------
    freq_hz, power
        Frequencies (Hz) and power density (signal units squared per Hz), one-sided, so that the
        integral of ``power`` over ``freq_hz`` is the signal's variance.

    Examples
    --------
    >>> t = np.arange(0, 2000, 0.5)                      # ms
    >>> f, p = welch_psd(np.sin(2 * np.pi * 40 * t / 1000), 0.5, resolution_hz=2)
    >>> float(f[np.argmax(p)])
    40.0
    """
    values, fs = _prepare(signal, dt_ms)
    if not 0 <= overlap < 1:
        raise AnalysisError(f"overlap must be in [0, 1), not {overlap}")
    n = _segment_length(values.shape[-1], fs, nperseg, resolution_hz)
    freq, power = _signal.welch(values, fs=fs, window=window, nperseg=n, noverlap=int(overlap * n),
                                detrend=detrend, scaling="density", axis=-1)
    return _crop(freq, power, max_freq_hz)


@dataclass(frozen=True)
class SpectrumOptions:
    """How a signal is cut into segments for a spectrum: the keyword arguments of
    :func:`welch_psd` (and of :func:`spectrogram`), with their defaults."""

    nperseg: int | None = None
    resolution_hz: float | None = None
    overlap: float = 0.5
    window: str = "hann"
    detrend: str | bool = "constant"
    max_freq_hz: float | None = None


def spectrogram(signal: np.ndarray, dt_ms: float, *, start_ms: float = 0.0,
                **options: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectral density over time (short-time Fourier transform of overlapping segments).

    Parameters
    ----------
    signal
        Samples along the last axis (leading axes give a spectrogram each).
    dt_ms
        Sampling interval (ms).
    start_ms
        Time of the first sample, added to the segment times.
    **options
        ``nperseg``, ``resolution_hz``, ``overlap``, ``window``, ``detrend``, ``max_freq_hz``: as
        for :func:`welch_psd` (see :class:`SpectrumOptions`).

    Returns
    -------
    freq_hz, time_ms, power
        Frequencies (Hz), segment centres (ms) and power density with shape
        ``(..., len(freq_hz), len(time_ms))``.
    """
    unknown = sorted(set(options) - {f.name for f in fields(SpectrumOptions)})
    if unknown:
        raise TypeError(f"spectrogram() got an unexpected keyword argument '{unknown[0]}'")
    opts = SpectrumOptions(**options)
    values, fs = _prepare(signal, dt_ms)
    if not 0 <= opts.overlap < 1:
        raise AnalysisError(f"overlap must be in [0, 1), not {opts.overlap}")
    n = _segment_length(values.shape[-1], fs, opts.nperseg, opts.resolution_hz)
    freq, times_s, power = _signal.spectrogram(values, fs=fs, window=opts.window, nperseg=n,
                                               noverlap=int(opts.overlap * n), detrend=opts.detrend,
                                               scaling="density", axis=-1, mode="psd")
    keep = slice(None) if opts.max_freq_hz is None else freq <= opts.max_freq_hz
    return freq[keep], start_ms + times_s * 1000.0, power[..., keep, :]


def peak_frequency(freq_hz: np.ndarray, power: np.ndarray, *, min_freq_hz: float = 0.0) -> float:
    """The frequency of the largest power at or above ``min_freq_hz`` (Hz) of a 1-D spectrum;
    NaN when there is no power."""
    freq_hz = np.asarray(freq_hz)
    power = np.asarray(power)
    if power.shape != freq_hz.shape:
        raise AnalysisError("peak_frequency takes one spectrum, the shape of its frequencies")
    keep = freq_hz >= min_freq_hz
    if not keep.any() or not np.any(power[keep] > 0):
        return float("nan")
    return float(freq_hz[keep][np.argmax(power[keep])])


def _crop(freq: np.ndarray, power: np.ndarray, max_freq_hz: float | None) -> tuple[np.ndarray, np.ndarray]:
    if max_freq_hz is None:
        return freq, power
    keep = freq <= max_freq_hz
    return freq[keep], power[..., keep]
