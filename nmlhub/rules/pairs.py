"""Values of pairs of cells that rules use: positions and distances of (pre, post) gid pairs, and
the repeat index that tells a pair's multapses apart."""

from __future__ import annotations

import numpy as np

from .layout import CellTable
from .values import POSITION_NAMES


def repeat_index(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """For rows sorted by pair: 0 for a pair's first connection, 1 for its second (a multapse),
    ...; so random values can be drawn per connection, not per pair."""
    if len(pre) == 0:
        return np.zeros(0, np.int64)
    same = np.zeros(len(pre), bool)
    same[1:] = (pre[1:] == pre[:-1]) & (post[1:] == post[:-1])
    starts = np.maximum.accumulate(np.where(~same, np.arange(len(pre)), 0))
    return np.arange(len(pre)) - starts


def pair_environment(cells: CellTable, pre: np.ndarray, post: np.ndarray,
                     names: set[str] | frozenset[str] = POSITION_NAMES) -> dict[str, np.ndarray]:
    """The values of ``names`` (see :data:`POSITION_NAMES`) for pairs of gids."""
    env: dict[str, np.ndarray] = {}
    axes = {"x": 0, "y": 1, "z": 2}
    size = np.where(np.asarray(cells.size) > 0, cells.size, 1.0)

    def coord(gids: np.ndarray, axis: str, normalised: bool) -> np.ndarray:
        values = cells.position[gids, axes[axis]]
        return values / size[axes[axis]] if normalised else values

    def diff(axis: str, normalised: bool) -> np.ndarray:
        return np.abs(coord(pre, axis, normalised) - coord(post, axis, normalised))

    for name in names:
        side, _, rest = name.partition("_")
        if side in ("pre", "post"):
            env[name] = coord(pre if side == "pre" else post, rest[0], rest.endswith("norm"))
        elif rest in ("x", "y", "z", "xnorm", "ynorm", "znorm"):
            env[name] = diff(rest[0], rest.endswith("norm"))
        else:
            normalised = "norm" in rest
            axes_used = "xyz" if rest.endswith("3D") else "xz"
            env[name] = np.sqrt(sum(diff(a, normalised) ** 2 for a in axes_used))
    return env
