"""Directed interactions between two signals (population rates, binned spike trains, traces):
spectral Granger causality (Geweke) from a bivariate autoregressive model, and normalised
transfer entropy of discretised signals. Significance comes from surrogates: the source
circularly shifted in time against the target, which keeps each signal's own structure and
removes their coupling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import AnalysisError


def _pair(x: np.ndarray, y: np.ndarray, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.size != y.size:
        raise AnalysisError(f"the two signals differ in length ({x.size} and {y.size} samples)")
    if x.size < min_length:
        raise AnalysisError(f"signals of {x.size} samples are too short (at least {min_length})")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise AnalysisError("the signals contain NaN or infinite values")
    return x, y


def _lagged(z: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets ``z[:, t]`` and regressors ``z[:, t-1] .. z[:, t-order]`` as rows."""
    n = z.shape[1]
    target = z[:, order:].T
    design = np.hstack([z[:, order - lag:n - lag].T for lag in range(1, order + 1)])
    return target, design


def _least_squares(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares coefficients by the normal equations (the design is a few lags of demeaned
    signals: small and well conditioned), or by SVD when they are singular."""
    try:
        return np.linalg.solve(design.T @ design, design.T @ target)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(design, target, rcond=None)[0]


@dataclass(frozen=True)
class VarModel:
    """A vector autoregressive model ``z_t = sum_k A_k z_{t-k} + e_t`` fitted by least squares.

    Attributes
    ----------
    coefficients
        ``(order, d, d)``: ``A_1 .. A_order``.
    noise_covariance
        ``(d, d)`` covariance of the residuals ``e_t``.
    """

    coefficients: np.ndarray
    noise_covariance: np.ndarray

    @property
    def order(self) -> int:
        """Number of lags."""
        return int(self.coefficients.shape[0])


def fit_var(signals: np.ndarray, order: int) -> VarModel:
    """Fit a VAR model of ``order`` lags to ``signals`` (``(d, n_samples)``, each demeaned first)."""
    z = np.asarray(signals, dtype=float)
    z = z - z.mean(axis=1, keepdims=True)
    d = z.shape[0]
    if order < 1 or z.shape[1] <= order * (d + 1) + 1:
        raise AnalysisError(f"cannot fit {order} lags to {z.shape[1]} samples")
    target, design = _lagged(z, order)
    coef = _least_squares(design, target)
    residuals = target - design @ coef
    cov = residuals.T @ residuals / residuals.shape[0]
    coefficients = coef.T.reshape(d, order, d).transpose(1, 0, 2)
    return VarModel(coefficients, cov)


def select_order(signals: np.ndarray, max_order: int = 20) -> int:
    """The VAR order (1..max_order) with the smallest Bayesian information criterion."""
    z = np.asarray(signals, dtype=float)
    d, n = z.shape
    best, best_bic = 1, np.inf
    for order in range(1, max_order + 1):
        if n <= order * (d + 1) + 1:
            break
        cov = fit_var(z[:, max_order - order:] if n > 2 * max_order else z, order).noise_covariance
        sign, logdet = np.linalg.slogdet(cov)
        if sign <= 0:
            break
        effective = n - max_order
        bic = logdet + np.log(effective) * order * d * d / effective
        if bic < best_bic:
            best, best_bic = order, bic
    return best


def transfer_function(model: VarModel, freq_hz: np.ndarray, dt_ms: float) -> np.ndarray:
    """``H(f) = (I - sum_k A_k exp(-2 pi i f k dt))^-1`` at each frequency: ``(n_freq, d, d)``."""
    lags = np.arange(1, model.order + 1)
    phase = np.exp(-2j * np.pi * np.outer(freq_hz, lags) * dt_ms / 1000.0)     # (n_freq, order)
    a = np.eye(model.coefficients.shape[1])[None] - np.einsum("fk,kij->fij", phase, model.coefficients)
    return np.linalg.inv(a)


@dataclass(frozen=True)
class GrangerSpectrum:
    """Spectral Granger causality between two signals x and y.

    Attributes
    ----------
    freq_hz
        Frequencies (Hz), 0 to Nyquist.
    x_to_y, y_to_x
        Geweke's causality at each frequency (natural log units).
    x_to_y_total, y_to_x_total
        Time-domain Granger causality, ``ln(var(restricted residual) / var(full residual))``,
        from separate restricted regressions of the same order.
    order
        The VAR order used.
    """

    freq_hz: np.ndarray
    x_to_y: np.ndarray
    y_to_x: np.ndarray
    x_to_y_total: float
    y_to_x_total: float
    order: int


def _restricted_variance(z: np.ndarray, order: int) -> float:
    target, design = _lagged(z[None] - z.mean(), order)
    coef = _least_squares(design, target)
    residual = target - design @ coef
    return float(np.mean(residual ** 2))


def granger_causality(x: np.ndarray, y: np.ndarray, dt_ms: float, *, order: int | None = None,
                      max_order: int = 20, n_freq: int = 256) -> GrangerSpectrum:
    """Spectral Granger causality (Geweke 1982) between two signals sampled every ``dt_ms``.

    A bivariate VAR model is fitted by least squares (``order`` lags, or the order with the least
    BIC up to ``max_order``); its transfer function ``H`` and noise covariance ``S`` give the
    spectral matrix ``P = H S H*`` and

    ``I_{y->x}(f) = ln(P_xx / (P_xx - (S_yy - S_xy**2 / S_xx) |H_xy|**2))``

    (and symmetrically ``I_{x->y}``). Averaged over 0..Nyquist it approaches the time-domain
    causality (Geweke's decomposition).

    Parameters
    ----------
    x, y
        Equal-length signals (e.g. population rates from
        :func:`~nmlhub.analysis.spikes.population_rate`).
    dt_ms
        Sampling step (ms).
    """
    x, y = _pair(x, y, 10)
    scale = np.array([x.std(), y.std()])
    if not (scale > 0).all():
        raise AnalysisError("a constant signal has no Granger causality")
    z = np.vstack([x, y]) / scale[:, None]
    order = int(order) if order is not None else select_order(z, max_order)
    model = fit_var(z, order)
    freq = np.linspace(0.0, 500.0 / dt_ms, n_freq)
    h = transfer_function(model, freq, dt_ms)
    s = model.noise_covariance
    p = np.einsum("fij,jk,flk->fil", h, s, h.conj())
    pxx, pyy = p[:, 0, 0].real, p[:, 1, 1].real
    y_to_x = np.log(pxx / (pxx - (s[1, 1] - s[0, 1] ** 2 / s[0, 0]) * np.abs(h[:, 0, 1]) ** 2))
    x_to_y = np.log(pyy / (pyy - (s[0, 0] - s[0, 1] ** 2 / s[1, 1]) * np.abs(h[:, 1, 0]) ** 2))
    total_x_to_y = float(np.log(_restricted_variance(z[1], order) / s[1, 1]))
    total_y_to_x = float(np.log(_restricted_variance(z[0], order) / s[0, 0]))
    return GrangerSpectrum(freq, x_to_y, y_to_x, total_x_to_y, total_y_to_x, order)


def discretise(signal: np.ndarray, n_bins: int = 2) -> np.ndarray:
    """Symbols ``0..n_bins-1`` of a signal by its quantiles (equal-occupancy bins); spike counts
    with ``n_bins=2`` become silent (0) / active (1) where the median is 0."""
    values = np.asarray(signal, dtype=float).ravel()
    if n_bins < 2:
        raise AnalysisError("discretising needs at least 2 bins")
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="left").astype(np.int64)  # a value on an edge goes below


def _state_counts(columns: list[np.ndarray]) -> np.ndarray:
    """How often each joint state (row of the integer columns) occurs."""
    code = np.zeros(columns[0].size, dtype=np.int64)
    states = 1
    for column in columns:
        base = int(column.max()) + 1 if column.size else 1
        if states * base >= 2 ** 62:  # re-number the states seen so far to keep codes small
            code = np.unique(code, return_inverse=True)[1].ravel().astype(np.int64)
            states = int(code.max()) + 1
        code = code * base + column
        states *= base
    if states <= 4 * code.size + 1024:
        counts = np.bincount(code, minlength=states)
    else:
        counts = np.unique(code, return_counts=True)[1]
    return counts[counts > 0]


def _entropy(columns: list[np.ndarray]) -> float:
    """Plug-in entropy (bits) of the joint state of integer columns."""
    counts = _state_counts(columns)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _history(s: np.ndarray, k: int, n: int) -> list[np.ndarray]:
    """Columns ``s[t], s[t-1], ..., s[t-k+1]`` for t = k-1 .. k-1+n-1."""
    return [s[k - 1 - j:k - 1 - j + n] for j in range(k)]


def transfer_entropy_bits(source: np.ndarray, target: np.ndarray, k: int = 1) -> tuple[float, float]:
    """Transfer entropy from ``source`` to ``target`` (integer symbols) with history length ``k``,
    and the target's conditional entropy ``H(Y_t+1 | Y_t^(k))``, both in bits.

    ``TE = H(Y+, Y^k) - H(Y^k) - H(Y+, Y^k, X^k) + H(Y^k, X^k)`` (Schreiber 2000), with
    probabilities estimated by counting (plug-in).
    """
    x = np.asarray(source).astype(np.int64).ravel()
    y = np.asarray(target).astype(np.int64).ravel()
    if x.size != y.size:
        raise AnalysisError(f"the two signals differ in length ({x.size} and {y.size} samples)")
    if k < 1 or x.size <= k + 1:
        raise AnalysisError(f"history length {k} needs more than {k + 1} samples")
    n = y.size - k
    future = y[k:]
    y_past = _history(y, k, n)
    x_past = _history(x, k, n)
    if min(x.min(), y.min()) < 0:
        raise AnalysisError("transfer entropy symbols must be non-negative integers")
    h_yp = _entropy(y_past)
    h_fyp = _entropy([future] + y_past)
    h_ypxp = _entropy(y_past + x_past)
    h_all = _entropy([future] + y_past + x_past)
    return max(h_fyp - h_yp - h_all + h_ypxp, 0.0), h_fyp - h_yp


def circular_surrogates(statistic: Callable[[np.ndarray, np.ndarray], float], x: np.ndarray, y: np.ndarray,
                        *, n_surrogates: int = 100, seed: int = 0, min_shift: int | None = None) -> np.ndarray:
    """``statistic(x shifted, y)`` for ``n_surrogates`` random circular shifts of x by at least
    ``min_shift`` samples (default a tenth of the length): the statistic's distribution without
    coupling."""
    x = np.asarray(x)
    n = x.size
    min_shift = max(1, n // 10) if min_shift is None else int(min_shift)
    if n - 2 * min_shift < 1:
        raise AnalysisError(f"signals of {n} samples are too short for shifts of {min_shift}")
    shifts = np.random.default_rng(seed).integers(min_shift, n - min_shift + 1, n_surrogates)
    return np.array([statistic(np.roll(x, int(s)), y) for s in shifts])


@dataclass(frozen=True)
class TransferEntropy:
    """Transfer entropy from a source to a target.

    Attributes
    ----------
    te_bits
        Transfer entropy (bits).
    nte
        Normalised transfer entropy (Gourevitch & Eggermont 2007):
        ``(TE - mean surrogate TE) / H(Y+ | Y^k)``; about 0 without coupling, at most 1.
    surrogate_mean, threshold
        Mean and ``quantile`` of the surrogates' TE (bits); the coupling is significant when
        ``te_bits > threshold``.
    conditional_entropy_bits
        ``H(Y+ | Y^k)``.
    """

    te_bits: float
    nte: float
    surrogate_mean: float
    threshold: float
    conditional_entropy_bits: float

    @property
    def significant(self) -> bool:
        """TE above the surrogates' threshold."""
        return self.te_bits > self.threshold


def transfer_entropy(source: np.ndarray, target: np.ndarray, *, k: int = 1, n_bins: int | None = None,
                     n_surrogates: int = 50, quantile: float = 0.95, seed: int = 0) -> TransferEntropy:
    """Normalised transfer entropy from ``source`` to ``target``.

    Parameters
    ----------
    source, target
        Integer symbols (binned spike trains: 0/1 or counts) or, with ``n_bins``, any signals to
        discretise by quantiles (:func:`discretise`).
    k
        History length (samples) of both signals.
    n_surrogates, quantile, seed
        Circularly shifted sources (:func:`circular_surrogates`) for the bias correction and the
        significance threshold.
    """
    if n_bins is not None:
        source, target = discretise(source, n_bins), discretise(target, n_bins)
    else:
        source = np.asarray(source)
        target = np.asarray(target)
        if not (np.issubdtype(source.dtype, np.integer) and np.issubdtype(target.dtype, np.integer)):
            raise AnalysisError("transfer entropy takes integer symbols; give n_bins to discretise signals")
    te, h_cond = transfer_entropy_bits(source, target, k)
    surrogates = circular_surrogates(lambda s, t: transfer_entropy_bits(s, t, k)[0], source, target,
                                     n_surrogates=n_surrogates, seed=seed)
    mean = float(surrogates.mean())
    nte = (te - mean) / h_cond if h_cond > 0 else float("nan")
    return TransferEntropy(te, nte, mean, float(np.quantile(surrogates, quantile)), h_cond)


def granger_threshold(x: np.ndarray, y: np.ndarray, dt_ms: float, *, order: int, n_surrogates: int = 50,
                      quantile: float = 0.95, seed: int = 0) -> float:
    """The ``quantile`` of time-domain Granger causality x -> y over circularly shifted x: the
    level an uncoupled pair reaches by chance."""
    def statistic(a: np.ndarray, b: np.ndarray) -> float:
        return granger_causality(a, b, dt_ms, order=order, n_freq=2).x_to_y_total

    return float(np.quantile(circular_surrogates(statistic, x, y, n_surrogates=n_surrogates, seed=seed),
                             quantile))
