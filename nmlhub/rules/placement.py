"""Where a connection's synapse lands on a morphological cell: a segment and a fraction along it,
drawn with probability proportional to segment length, optionally weighted by a 1D density profile
of normalised depth (``ynorm``, of the synapse's absolute position in the network) or of path
distance from the root (``path``, um), or by a 2D density map over horizontal distance from the
soma and depth (``map2d``) — the subcellular connectivity maps NetPyNE users know; or at an exact
place: ``loc``, a fraction of the way along a segment group, and several synapses per connection
spread evenly along the groups (NetPyNE's ``loc`` and ``synsPerConn``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.segments import group_segments, path_lengths
from .values import RuleError
from .distinct import distinct


@dataclass
class SegmentTable:
    """The segments a rule may use on one morphology: ids, lengths, path distance and height (y)
    of their midpoints, and their midpoints' x and y relative to the root segment's midpoint (the
    soma's centre)."""

    ids: np.ndarray
    length: np.ndarray
    mid_path: np.ndarray
    mid_y: np.ndarray
    soma_x: np.ndarray | None = None
    soma_y: np.ndarray | None = None


def segment_table(morphology, groups: tuple[str, ...]) -> SegmentTable:
    """The segments of ``groups`` of a morphology (an unknown group is an error)."""
    members: set[int] = set()
    for group in groups:
        try:
            members |= group_segments(morphology, group)
        except Exception as exc:
            raise RuleError(f"placement: {exc}") from None
    lengths = path_lengths(morphology)
    segments = {int(s.id): s for s in morphology.segments}
    ids = np.array(sorted(members), dtype=np.int64)
    length = np.array([lengths[i][1] for i in ids])
    mid_path = np.array([lengths[i][0] + lengths[i][1] / 2 for i in ids])

    def proximal(seg):
        return seg.proximal if seg.proximal is not None else segments[int(seg.parent.segments)].distal

    def mid(seg, axis: str) -> float:
        return (float(getattr(proximal(seg), axis)) + float(getattr(seg.distal, axis))) / 2

    mid_y = np.array([mid(segments[i], "y") for i in ids])
    if len(ids) == 0:
        raise RuleError(f"placement: segment groups {', '.join(groups)} hold no segment")
    root = next(s for s in morphology.segments if s.parent is None)
    soma_x = np.array([mid(segments[i], "x") for i in ids]) - mid(root, "x")
    return SegmentTable(ids, length, mid_path, mid_y, soma_x, mid_y - mid(root, "y"))


def locate_along(table: SegmentTable, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment ids and fractions of points ``positions`` (0..1) of the way along a table's
    segments taken in order of path distance (one section's segments, or several sections'
    end to end)."""
    order = np.argsort(table.mid_path, kind="stable")
    length = table.length[order]
    ends = np.cumsum(length)
    target = np.clip(np.asarray(positions, dtype=float), 0.0, 1.0) * ends[-1]
    k = np.minimum(np.searchsorted(ends, target, side="left"), len(order) - 1)
    start = ends[k] - length[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(length[k] > 0, (target - start) / length[k], 0.5)
    return table.ids[order][k], np.clip(fraction, 0.0, 1.0).astype(np.float32)


def at_loc(morphology, locations, pick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments and fractions of synapses or inputs at ``locations[pick[i]]``, (group, loc)
    pairs: ``loc`` of the way along the group."""
    spots = [locate_along(segment_table(morphology, (group,)), np.array([loc])) for group, loc in locations]
    return (np.array([int(s[0]) for s, _ in spots], np.int32)[pick],
            np.array([float(f[0]) for _, f in spots], np.float32)[pick])


def drawn(u: np.ndarray, n: int) -> np.ndarray:
    """Indices in 0..n-1 drawn uniformly with the uniform numbers ``u``."""
    return np.minimum((np.asarray(u) * n).astype(np.int64), n - 1)


def evenly_spread(table: SegmentTable, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Segments and fractions of ``n`` synapses spread evenly along a table's segments end to
    end, at the middles of ``n`` equal stretches (as NetPyNE spreads ``synsPerConn`` synapses)."""
    return locate_along(table, (np.arange(n) + 0.5) / n)


def map_density(placement, table: SegmentTable, soma_y: float) -> np.ndarray:
    """Each segment's relative density from a 2D map (bilinear between grid points, the edge
    values beyond the grid) at its midpoint: x relative to the soma, y the depth of the
    midpoint for a soma at ``soma_y`` (the placement's ``fixed_soma_y`` when it has one)."""
    from scipy.interpolate import RegularGridInterpolator

    gx, gy = np.asarray(placement.grid_x, float), np.asarray(placement.grid_y, float)
    values = np.asarray(placement.grid_values, float)
    if gx.ndim != 1 or gy.ndim != 1 or values.shape != (len(gx), len(gy)) or len(gx) < 2 or len(gy) < 2 \
            or np.any(np.diff(gx) <= 0) or np.any(np.diff(gy) <= 0) or np.any(values < 0):
        raise RuleError(f"placement: a 2D map needs increasing grid_x and grid_y (two or more each) and "
                        f"grid_values of shape ({len(gx)}, {len(gy)}) that are not negative")
    y0 = soma_y if placement.fixed_soma_y is None else float(placement.fixed_soma_y)
    x = np.clip(table.soma_x, gx[0], gx[-1])
    y = np.clip(table.soma_y + y0, gy[0], gy[-1])
    return RegularGridInterpolator((gx, gy), values)(np.column_stack([x, y]))


def place(table: SegmentTable, placement, post_y: np.ndarray, network_height: float,
          u_segment: np.ndarray, u_fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment ids and fractions for connections onto cells of one morphology.

    ``post_y`` is each connection's post cell's y position (um); ``u_*`` uniform numbers.
    """
    weights = np.maximum(table.length, 1e-12)
    if placement.spread == "map2d":
        return _place_on_map(table, placement, post_y, weights, u_segment, u_fraction)
    if placement.spread == "uniform":
        cumulative = np.cumsum(weights)
        k = np.searchsorted(cumulative, u_segment * cumulative[-1], side="right")
        return table.ids[np.minimum(k, len(table.ids) - 1)], u_fraction.astype(np.float32)
    if placement.spread != "profile" or placement.profile_variable not in ("ynorm", "path"):
        raise RuleError(f"placement: spread '{placement.spread}' with variable "
                        f"'{placement.profile_variable}' is not known (uniform, map2d, or profile of ynorm or path)")
    xs = np.array([p[0] for p in placement.profile], dtype=float)
    ys = np.array([p[1] for p in placement.profile], dtype=float)
    if len(xs) < 2 or np.any(np.diff(xs) <= 0) or np.any(ys < 0):
        raise RuleError("placement: a profile needs two or more points with increasing positions "
                        "and densities that are not negative")
    if placement.profile_variable == "path":
        w = weights * np.interp(table.mid_path, xs, ys, left=0.0, right=0.0)
        if w.sum() <= 0:
            raise RuleError("placement: the profile is zero on every allowed segment")
        cumulative = np.cumsum(w)
        k = np.searchsorted(cumulative, u_segment * cumulative[-1], side="right")
        return table.ids[np.minimum(k, len(table.ids) - 1)], u_fraction.astype(np.float32)
    segments = np.empty(len(post_y), dtype=np.int64)
    height = network_height if network_height > 0 else 1.0
    for y in distinct(post_y):
        rows = np.flatnonzero(post_y == y)
        w = weights * np.interp((y + table.mid_y) / height, xs, ys, left=0.0, right=0.0)
        if w.sum() <= 0:
            raise RuleError(f"placement: the profile is zero on every allowed segment of a cell at y={y:g} um")
        cumulative = np.cumsum(w)
        k = np.searchsorted(cumulative, u_segment[rows] * cumulative[-1], side="right")
        segments[rows] = table.ids[np.minimum(k, len(table.ids) - 1)]
    return segments, u_fraction.astype(np.float32)


def _place_on_map(table: SegmentTable, placement, post_y: np.ndarray, weights: np.ndarray,
                  u_segment: np.ndarray, u_fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments drawn with probability proportional to length times the 2D map's density."""
    segments = np.empty(len(post_y), dtype=np.int64)
    for y in distinct(post_y) if placement.fixed_soma_y is None else [None]:
        rows = np.arange(len(post_y)) if y is None else np.flatnonzero(post_y == y)
        w = weights * map_density(placement, table, 0.0 if y is None else float(y))
        if w.sum() <= 0:
            where = "" if y is None else f" of a cell at y={y:g} um"
            raise RuleError(f"placement: the 2D map is zero on every allowed segment{where}")
        cumulative = np.cumsum(w)
        k = np.searchsorted(cumulative, u_segment[rows] * cumulative[-1], side="right")
        segments[rows] = table.ids[np.minimum(k, len(table.ids) - 1)]
    return segments, u_fraction.astype(np.float32)
