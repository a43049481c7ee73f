"""Counter-based random numbers: a uniform number is a hash of (stream key, integers), so any
subset of the numbers a rule uses can be computed alone, vectorised, in any order, on any rank.

The hash is the splitmix64 finaliser applied in a chain over the integers; the stream key comes
from SHA-256 of the stream's names (network seed, rule id, purpose).
"""

from __future__ import annotations

import numpy as np

from .binomial_quantile import binomial_quantile
from .layout import stream_key

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * _C1
    x = (x ^ (x >> np.uint64(27))) * _C2
    return x ^ (x >> np.uint64(31))


def uniforms(key: int, *columns: np.ndarray | int) -> np.ndarray:
    """Uniform numbers in [0, 1), one per row of the (broadcast) integer columns."""
    with np.errstate(over="ignore"):
        x = np.uint64(key)
        for k, column in enumerate(columns):
            c = np.asarray(column).astype(np.uint64)
            x = _mix(x ^ (c + _GOLDEN * np.uint64(k + 1)))
        bits = _mix(x) >> np.uint64(11)
    return bits.astype(np.float64) * (1.0 / 9007199254740992.0)


def key(*parts: object) -> int:
    """The key of a stream named by ``parts``."""
    return stream_key(*parts)


def binomial(key_: int, owners: np.ndarray, n: np.ndarray | int, p: float) -> np.ndarray:
    """One binomial(n, p) count per owner, by inverse CDF of the owner's uniform number."""
    u = uniforms(key_, owners, 0)
    return binomial_quantile(u, n, p)


def sample_distinct(key_: int, owners: np.ndarray, counts: np.ndarray, n: int,
                    excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each owner, ``counts[i]`` distinct indices in ``range(n)``, none equal to
    ``excluded[i]`` (-1: none): the first distinct values of the owner's sequence of uniform draws,
    which makes a uniformly random subset.

    Returns
    -------
    (owner_rows, indices)
        ``owner_rows`` indexes ``owners``; rows are grouped by owner, indices ascending.
    """
    counts = np.asarray(counts, dtype=np.int64)
    excluded = np.full(len(owners), -1, np.int64) if excluded is None else np.asarray(excluded, np.int64)
    available = n - (excluded >= 0)
    if np.any(counts > available):
        raise ValueError("more distinct indices asked than there are")
    rows_out, idx_out = [], []
    dense = counts * 4 > available
    # Owners asking for much of the range: rank every index by its uniform number.
    for row in np.flatnonzero(dense):
        u = uniforms(key_, owners[row], np.arange(n), 1)
        if excluded[row] >= 0:
            u[excluded[row]] = np.inf
        chosen = np.sort(np.argpartition(u, counts[row] - 1)[: counts[row]]) if counts[row] else np.zeros(0, np.int64)
        rows_out.append(np.full(len(chosen), row, np.int64))
        idx_out.append(chosen.astype(np.int64))
    sparse = np.flatnonzero(~dense & (counts > 0))
    kept_rows, kept_idx = _first_distinct_draws(key_, owners[sparse], counts[sparse], n, excluded[sparse])
    rows_out.append(sparse[kept_rows])
    idx_out.append(kept_idx)
    rows = np.concatenate(rows_out)
    idx = np.concatenate(idx_out)
    order = np.argsort(rows * n + idx)
    return rows[order], idx[order]


def _first_distinct_draws(key_: int, owners: np.ndarray, wanted: np.ndarray, n: int,
                          excluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For owners asking for little of the range: the first ``wanted[i]`` distinct values of
    owner i's sequence of uniform draws (scaled to ``range(n)``, ``excluded[i]`` skipped), drawn
    in rounds until each has enough. Returns (owner rows, indices), grouped by owner in draw order."""
    kept_rows = np.zeros(0, np.int64)
    kept_idx = np.zeros(0, np.int64)
    kept_counter = np.zeros(0, np.int64)
    next_counter = np.zeros(len(owners), np.int64)
    pending = np.arange(len(owners))
    need = wanted.copy()
    while len(pending):
        extra = need[pending] + 2 + need[pending] // 8
        rows = np.repeat(pending, extra)
        counter = np.repeat(next_counter[pending] - (np.cumsum(extra) - extra), extra) + np.arange(len(rows))
        next_counter[pending] += extra
        idx = np.minimum((uniforms(key_, owners[rows], counter, 2) * n).astype(np.int64), n - 1)
        ok = idx != excluded[rows]
        rows, idx, counter = rows[ok], idx[ok], counter[ok]
        if len(kept_rows):  # earlier rounds' draws come first within each owner
            rows = np.concatenate([kept_rows, rows])
            idx = np.concatenate([kept_idx, idx])
            counter = np.concatenate([kept_counter, counter])
            order = np.argsort(rows * (int(next_counter.max()) + 1) + counter, kind="stable")
            rows, idx, counter = rows[order], idx[order], counter[order]
        # the first draw of each (owner, index): rows are grouped by owner in draw order
        _, first = np.unique(rows * n + idx, return_index=True)
        first.sort()
        rows, idx, counter = rows[first], idx[first], counter[first]
        have = np.bincount(rows, minlength=len(owners))
        rank = np.arange(len(rows)) - np.repeat(np.cumsum(have) - have, have)
        keep = rank < wanted[rows]
        kept_rows, kept_idx, kept_counter = rows[keep], idx[keep], counter[keep]
        need = wanted - np.bincount(kept_rows, minlength=len(owners))
        pending = np.flatnonzero(need > 0)
    return kept_rows, kept_idx


def sample_with_replacement(key_: int, owners: np.ndarray, counts: np.ndarray, n: int,
                            excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each owner, ``counts[i]`` indices in ``range(n)`` drawn with replacement, skipping
    ``excluded[i]``. Rows grouped by owner, indices ascending."""
    counts = np.asarray(counts, dtype=np.int64)
    excluded = np.full(len(owners), -1, np.int64) if excluded is None else np.asarray(excluded, np.int64)
    rows = np.repeat(np.arange(len(owners)), counts)
    counter = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    has_excluded = excluded[rows] >= 0
    m = n - has_excluded
    idx = np.minimum((uniforms(key_, owners[rows], counter, 3) * m).astype(np.int64), m - 1)
    idx = np.where(has_excluded & (idx >= excluded[rows]), idx + 1, idx)
    order = np.argsort(rows * n + idx, kind="stable")
    return rows[order], idx[order]
