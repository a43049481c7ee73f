"""Where a connection's synapse lands on a morphological cell: a segment and a fraction along it,
drawn with probability proportional to segment length, optionally weighted by a 1D density profile
of normalised depth (``ynorm``, of the synapse's absolute position in the network) or of path
distance from the root (``path``, um) — the subcellular connectivity maps NetPyNE users know."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.segments import group_segments, path_lengths
from .values import RuleError


@dataclass
class SegmentTable:
    """The segments a rule may use on one morphology: ids, lengths, path distance and height (y)
    of their midpoints."""

    ids: np.ndarray
    length: np.ndarray
    mid_path: np.ndarray
    mid_y: np.ndarray


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

    mid_y = np.array([(float(proximal(segments[i]).y) + float(segments[i].distal.y)) / 2 for i in ids])
    if len(ids) == 0:
        raise RuleError(f"placement: segment groups {', '.join(groups)} hold no segment")
    return SegmentTable(ids, length, mid_path, mid_y)


def place(table: SegmentTable, placement, post_y: np.ndarray, network_height: float,
          u_segment: np.ndarray, u_fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment ids and fractions for connections onto cells of one morphology.

    ``post_y`` is each connection's post cell's y position (um); ``u_*`` uniform numbers.
    """
    weights = np.maximum(table.length, 1e-12)
    if placement.spread == "uniform":
        cumulative = np.cumsum(weights)
        k = np.searchsorted(cumulative, u_segment * cumulative[-1], side="right")
        return table.ids[np.minimum(k, len(table.ids) - 1)], u_fraction.astype(np.float32)
    if placement.spread != "profile" or placement.profile_variable not in ("ynorm", "path"):
        raise RuleError(f"placement: spread '{placement.spread}' with variable "
                        f"'{placement.profile_variable}' is not known (uniform, or profile of ynorm or path)")
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
    for y in np.unique(post_y):
        rows = np.flatnonzero(post_y == y)
        w = weights * np.interp((y + table.mid_y) / height, xs, ys, left=0.0, right=0.0)
        if w.sum() <= 0:
            raise RuleError(f"placement: the profile is zero on every allowed segment of a cell at y={y:g} um")
        cumulative = np.cumsum(w)
        k = np.searchsorted(cumulative, u_segment[rows] * cumulative[-1], side="right")
        segments[rows] = table.ids[np.minimum(k, len(table.ids) - 1)]
    return segments, u_fraction.astype(np.float32)
