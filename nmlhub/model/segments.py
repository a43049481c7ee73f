"""Segment groups and path lengths of a NeuroML morphology: the model's geometry, independent
of how a simulator discretises it. Pure: no NEURON."""

from __future__ import annotations

import math
from typing import Any

from ..errors import NmlhubError


class MorphologyError(NmlhubError):
    """A morphology cannot be turned into sections."""


def group_segments(morphology: Any, group_id: str | None) -> set[int]:
    """Segment ids of a segment group (members and included groups); ``all`` or ``None`` is
    every segment unless the morphology defines a group of that name."""
    groups = {g.id: g for g in morphology.segment_groups}
    if group_id in (None, "", "all") and group_id not in groups:
        return {int(s.id) for s in morphology.segments}
    if group_id not in groups:
        raise MorphologyError(f"segment group '{group_id}' is not defined")
    found: set[int] = set()
    pending, seen = [group_id], set()
    while pending:
        gid = pending.pop()
        if gid in seen:
            continue
        seen.add(gid)
        group = groups.get(gid)
        if group is None:
            raise MorphologyError(f"segment group '{gid}' (included) is not defined")
        found |= {int(m.segments) for m in group.members}
        pending += [inc.segment_groups for inc in group.includes]
        if group.paths or group.sub_trees:
            found |= _paths_and_subtrees(morphology, group)
    return found


def _paths_and_subtrees(morphology: Any, group: Any) -> set[int]:
    """Segments of a group's ``path`` (from a segment down to another, both included) and
    ``subTree`` (a segment and everything distal to it; or, with only ``to``, the root down
    to that segment) elements."""
    parent = {int(s.id): int(s.parent.segments) for s in morphology.segments if s.parent is not None}
    children: dict[int, list[int]] = {}
    for child, par in parent.items():
        children.setdefault(par, []).append(child)

    def ancestors(sid: int) -> list[int]:
        chain = [sid]
        while chain[-1] in parent:
            chain.append(parent[chain[-1]])
        return chain

    def subtree(sid: int) -> set[int]:
        out, stack = set(), [sid]
        while stack:
            node = stack.pop()
            out.add(node)
            stack += children.get(node, [])
        return out

    found: set[int] = set()
    for path in group.paths:
        start = int(path.from_.segments) if path.from_ is not None else None
        end = int(path.to.segments) if path.to is not None else None
        if end is None:
            found |= subtree(start) if start is not None else set()
            continue
        chain = ancestors(end)
        if start is not None and start not in chain:
            raise MorphologyError(f"segment group '{group.id}': path from segment {start} to {end}: "
                                  f"{start} is not proximal to {end}")
        found |= set(chain[: chain.index(start) + 1] if start is not None else chain)
    for tree in group.sub_trees:
        if tree.from_ is not None:
            found |= subtree(int(tree.from_.segments))
        elif tree.to is not None:
            found |= set(ancestors(int(tree.to.segments)))
    return found


def path_lengths(morphology: Any) -> dict[int, tuple[float, float]]:
    """For each segment, the path length (um) from the root segment's proximal point to the
    segment's own start, and the segment's length: the geometry of the NeuroML description,
    independent of how NEURON discretises it."""
    segments = {int(s.id): s for s in morphology.segments}
    found: dict[int, tuple[float, float]] = {}

    def length(seg: Any) -> float:
        start = seg.proximal if seg.proximal is not None else segments[int(seg.parent.segments)].distal
        return point_distance(start, seg.distal)

    for sid in segments:
        chain = [sid]
        while chain[-1] not in found and segments[chain[-1]].parent is not None:
            chain.append(int(segments[chain[-1]].parent.segments))
        for node in reversed(chain):
            if node in found:
                continue
            seg = segments[node]
            if seg.parent is None:
                found[node] = (0.0, length(seg))
            else:
                parent_start, parent_length = found[int(seg.parent.segments)]
                along = float(seg.parent.fraction_along if seg.parent.fraction_along is not None else 1.0)
                found[node] = (parent_start + along * parent_length, length(seg))
    return found


def point_distance(a: Any, b: Any) -> float:
    """Euclidean distance (um) between two NeuroML points (``x``, ``y``, ``z`` attributes)."""
    return math.sqrt((float(a.x) - float(b.x)) ** 2 + (float(a.y) - float(b.y)) ** 2 + (float(a.z) - float(b.z)) ** 2)
