"""A NeuroML cell's morphology as SWC text (the morphology format SONATA circuits reference).

Each segment ends at an SWC point (its distal point); a segment whose proximal point is not its
parent's distal point (the root, or a branch leaving the parent part way along) starts at a point
of its own. SWC types come from the segment groups a segment belongs to: soma (1), axon (2),
apical dendrite (4), any other (3, basal dendrite). Coordinates and radii in um, written exactly
(Python's shortest repr).
"""

from __future__ import annotations

from typing import Any

_TYPES = (("soma", 1), ("axon", 2), ("apical", 4))


def _types(cell: Any) -> dict[int, int]:
    """SWC type of each segment id, from the names of the groups holding it."""
    kinds: dict[int, int] = {}
    for group in getattr(cell.morphology, "segment_groups", []) or []:
        code = next((c for word, c in _TYPES if word in group.id.lower()), None)
        if code is None:
            continue
        try:
            members = cell.get_all_segments_in_group(group.id)
        except Exception:  # a group naming a missing one: the segments keep another type
            continue
        for seg in members:
            kinds.setdefault(int(seg), code)
    return kinds


def swc_text(cell: Any) -> str:
    """SWC lines (id type x y z radius parent) of a libNeuroML ``Cell``'s morphology."""
    segments = {int(s.id): s for s in cell.morphology.segments}
    kinds = _types(cell)
    lines = [f"# SWC of NeuroML cell {cell.id} (written by nmlhub)"]
    distal_point: dict[int, int] = {}

    def add(point: Any, kind: int, parent: int) -> int:
        number = len(lines)
        values = (float(point.x), float(point.y), float(point.z), float(point.diameter) / 2)
        lines.append(f"{number} {kind} " + " ".join(repr(v) for v in values) + f" {parent}")
        return number

    for seg_id in _parents_first(segments):
        seg = segments[seg_id]
        kind = kinds.get(seg_id, 3)
        parent = seg.parent.segments if seg.parent is not None else None
        start = distal_point.get(int(parent), -1) if parent is not None else -1
        fraction = float(getattr(seg.parent, "fraction_along", 1.0) or 1.0) if seg.parent is not None else 1.0
        if seg.proximal is not None and (start < 0 or fraction != 1.0 or not _same(seg.proximal, segments[int(parent)].distal)):
            start = add(seg.proximal, kind, start)
        distal_point[seg_id] = add(seg.distal, kind, start)
    return "\n".join(lines) + "\n"


def _same(a: Any, b: Any) -> bool:
    return all(float(getattr(a, k)) == float(getattr(b, k)) for k in ("x", "y", "z", "diameter"))


def _parents_first(segments: dict[int, Any]) -> list[int]:
    """Segment ids ordered so that each parent comes before its children."""
    children: dict[int, list[int]] = {}
    roots = []
    for seg_id, seg in segments.items():
        if seg.parent is None or int(seg.parent.segments) not in segments:
            roots.append(seg_id)
        else:
            children.setdefault(int(seg.parent.segments), []).append(seg_id)
    order, stack = [], sorted(roots, reverse=True)
    while stack:
        seg_id = stack.pop()
        order.append(seg_id)
        stack.extend(sorted(children.get(seg_id, []), reverse=True))
    return order
