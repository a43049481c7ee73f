"""Sorted distinct values, and the intersection, of 1-D arrays of integers (or floats without NaN):
what ``np.unique`` and ``np.intersect1d`` give, without their cost in a fresh process.

numpy 2.4's ``np.unique`` (which ``np.intersect1d`` and ``np.isin`` call) imports ``numpy.ma`` the
first time it is called without ``return_index``, ``return_inverse`` or ``return_counts``, to ask
whether the array is masked: a tenth of a second of CPU in every process, on every MPI rank, while
the rule expansion of a build needs only these two forms.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of ``values`` (flattened), sorted: ``np.unique(values)`` for integers."""
    ordered = np.sort(np.asarray(values).ravel())
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def intersect(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The sorted distinct values in both arrays: ``np.intersect1d(first, second)`` for integers."""
    first, second = distinct(first), distinct(second)
    if not first.size or not second.size:
        return first[:0]
    at = np.minimum(np.searchsorted(second, first), second.size - 1)
    return first[second[at] == first]
