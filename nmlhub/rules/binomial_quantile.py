"""The binomial quantile (inverse CDF) in numpy alone.

Rules that draw connection counts call it once per rule; importing ``scipy.special`` for it cost
0.4 s of every such build (its array-API layer), more than the rest of a 1,000-cell network's
Python work. The CDF is summed from the probability mass function, built outward from the mode by
the ratio of neighbouring terms and normalised by its own sum, so no term needs a gamma function
and the relative error stays near the rounding of a few thousand products.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 4096
_NEGLIGIBLE = 1e-320  # below the smallest normal double: the terms beyond change no sum


def binomial_quantile(u: np.ndarray, n: np.ndarray | int, p: float) -> np.ndarray:
    """The smallest k with P(X <= k) >= u for X ~ binomial(n, p), as ``scipy.stats.binom.ppf``
    gives it (-1 for u = 0).

    Parameters
    ----------
    u : array of float
        Probabilities in [0, 1).
    n : int or array of int
        Numbers of trials (>= 0), broadcast against ``u``.
    p : float
        Success probability, 0 <= p <= 1.

    Returns
    -------
    numpy.ndarray of int64, shaped like ``u``.
    """
    u = np.asarray(u, dtype=float)
    trials = np.broadcast_to(np.asarray(n, dtype=np.int64), u.shape)
    counts = np.empty(u.shape, np.int64)
    values, which = np.unique(trials, return_inverse=True)
    which = which.reshape(u.shape)
    for index, n_value in enumerate(values):
        rows = which == index
        counts[rows] = _quantile_for(u[rows], int(n_value), float(p))
    counts[u <= 0] = -1
    return counts


def _quantile_for(u: np.ndarray, n: int, p: float) -> np.ndarray:
    if n == 0 or p <= 0.0:
        return np.zeros(u.shape, np.int64)
    if p >= 1.0:
        return np.full(u.shape, n, np.int64)
    lowest, mass = _mass_around_mode(n, p)
    counts = np.empty(u.shape, np.int64)
    # Each side summed from its small end: the lower half by the CDF, the upper half by the
    # survival function, whose 1 - u is exact for u >= 1/2 (as a complement would be).
    lower = u < 0.5
    cdf = np.cumsum(mass)
    counts[lower] = np.searchsorted(cdf / cdf[-1], u[lower], side="left")
    tail = np.cumsum(mass[::-1])  # tail[r]: the mass of the last r + 1 terms
    survival_reversed = np.concatenate([[0.0], tail[:-1]]) / tail[-1]
    above = np.searchsorted(survival_reversed, 1.0 - u[~lower], side="right") - 1
    counts[~lower] = len(mass) - 1 - above
    return lowest + counts


def _mass_around_mode(n: int, p: float) -> tuple[int, np.ndarray]:
    """(k of the first term, the terms of the mass function relative to the mode's), over every k
    whose term is not negligible."""
    mode = min(int(np.floor((n + 1) * p)), n)
    odds = p / (1.0 - p)
    below = _terms_from_mode(mode, n, step=-1, ratio=lambda k: k / ((n - k + 1) * odds))
    above = _terms_from_mode(mode, n, step=1, ratio=lambda k: (n - k) * odds / (k + 1))
    mass = np.concatenate([below[::-1], [1.0], above])
    return mode - len(below), mass


def _terms_from_mode(mode: int, n: int, step: int, ratio) -> np.ndarray:
    """The terms at mode+step, mode+2 step, ... (relative to the mode's), up to the end of [0, n]
    or until negligible. ``ratio(k)`` is term(k + step) / term(k)."""
    chunks = []
    last, k = 1.0, mode
    while last > _NEGLIGIBLE and 0 <= k + step <= n:
        end = max(k - _CHUNK, 0) if step < 0 else min(k + _CHUNK, n)
        ks = np.arange(k, end, step, dtype=float)
        terms = last * np.cumprod(ratio(ks))
        chunks.append(terms)
        last, k = terms[-1], end
    return np.concatenate(chunks) if chunks else np.zeros(0)
