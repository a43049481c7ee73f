"""SWC morphologies as NeuroML morphologies.

Every SWC point but the root ends a segment that starts at its parent point (a dendrite or axon
leaving the soma starts with its own diameter); a root point with no child of its own type is a
spherical soma (a segment whose proximal and distal points coincide), onto whose middle its
children attach. Unbranched runs of one type are cable groups (NEURON sections); the SWC types
give the standard groups ``soma_group``, ``axon_group``, ``basal_dendrite_group``,
``apical_dendrite_group``, ``dendrite_group`` (both dendrite kinds) and ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neuroml

from ..errors import NmlhubError
from ..model.cells import CABLE_GROUP_NEUROLEX_ID


class SwcError(NmlhubError):
    """An SWC file that cannot be read as one tree of points."""


#: SWC type -> (name used for sections, group id, NeuroLex id)
SWC_TYPES = {
    1: ("soma", "soma_group", "GO:0043025"),
    2: ("axon", "axon_group", "GO:0030424"),
    3: ("dend", "basal_dendrite_group", "GO:0097440"),
    4: ("apic", "apical_dendrite_group", "GO:0097441"),
}


@dataclass
class SwcPoint:
    """One line of an SWC file."""

    id: int
    type: int
    x: float
    y: float
    z: float
    radius: float
    parent: int
    line: int


def read_swc(path: str | Path) -> list[SwcPoint]:
    """The points of an SWC file, checked: seven numbers a line, unique ids, positive radii,
    parents that exist, one root, no cycle.

    Raises
    ------
    SwcError
        Naming the file and line of the first problem.
    """
    path = Path(path)
    points: dict[int, SwcPoint] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise SwcError(f"cannot read the file: {exc.strerror}", file=path) from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 7:
            raise SwcError(f"expected 7 fields (id type x y z radius parent), found {len(fields)}",
                           file=path, line=number)
        try:
            point_id, kind, parent = int(fields[0]), int(fields[1]), int(fields[6])
            x, y, z, radius = (float(v) for v in fields[2:6])
        except ValueError:
            raise SwcError(f"not a number in '{line}'", file=path, line=number) from None
        if point_id in points:
            raise SwcError(f"point id {point_id} is used twice (first on line {points[point_id].line})",
                           file=path, line=number)
        if radius <= 0:
            raise SwcError(f"point {point_id}: radius {radius:g} is not positive", file=path, line=number)
        points[point_id] = SwcPoint(point_id, kind, x, y, z, radius, parent, number)
    if not points:
        raise SwcError("no points", file=path)
    roots = [p for p in points.values() if p.parent == -1]
    for p in points.values():
        if p.parent != -1 and p.parent not in points:
            raise SwcError(f"point {p.id}: parent {p.parent} does not exist", file=path, line=p.line)
        if p.parent == p.id:
            raise SwcError(f"point {p.id} is its own parent", file=path, line=p.line)
    if len(roots) != 1:
        where = ", ".join(f"line {p.line}" for p in roots[:5])
        raise SwcError(f"{len(roots)} root points (parent -1){': ' + where if roots else ''}; "
                       "a cell needs exactly one", file=path, line=roots[1].line if len(roots) > 1 else None)
    ordered = _tree_order(points, roots[0])
    if len(ordered) != len(points):
        stray = next(p for p in points.values() if p.id not in {q.id for q in ordered})
        raise SwcError(f"point {stray.id} is on a cycle, not connected to the root", file=path, line=stray.line)
    return ordered


def _tree_order(points: dict[int, SwcPoint], root: SwcPoint) -> list[SwcPoint]:
    children: dict[int, list[SwcPoint]] = {}
    for p in points.values():
        children.setdefault(p.parent, []).append(p)
    children[root.id] = sorted(children.get(root.id, []), key=lambda c: c.type != root.type)
    ordered, stack = [], [root]
    while stack:
        p = stack.pop()
        ordered.append(p)
        stack += reversed(children.get(p.id, []))
    return ordered


def _point(p: SwcPoint, diameter: float | None = None) -> Any:
    return neuroml.Point3DWithDiam(x=p.x, y=p.y, z=p.z, diameter=2 * p.radius if diameter is None else diameter)


def swc_morphology(path: str | Path, morphology_id: str = "morphology") -> Any:
    """A libNeuroML morphology from an SWC file (see the module docstring for the mapping).

    Raises
    ------
    SwcError
        A malformed file (see :func:`read_swc`).
    """
    points = read_swc(path)
    by_id = {p.id: p for p in points}
    root = points[0]
    children: dict[int, list[SwcPoint]] = {}
    for p in points[1:]:
        children.setdefault(p.parent, []).append(p)
    sphere = not any(c.type == root.type for c in children.get(root.id, []))
    morphology = neuroml.Morphology(id=morphology_id)
    segment_of: dict[int, int] = {}  # point id -> segment ending at it
    cables: list[tuple[int, list[int]]] = []  # (type, segment ids)
    cable_of: dict[int, int] = {}
    if sphere:
        morphology.segments.append(neuroml.Segment(id=0, name="soma_0", proximal=_point(root), distal=_point(root)))
        segment_of[root.id] = 0
        cables.append((root.type, [0]))
        cable_of[0] = 0
    first_child: dict[int, int] = {}
    for p in points[1:]:
        parent = by_id[p.parent]
        seg_id = len(morphology.segments)
        if parent.id in segment_of:
            parent_segment, fraction = segment_of[parent.id], 0.5 if (sphere and parent is root) else 1.0
        else:  # a child of the root when the root starts the soma: it attaches where the soma starts
            parent_segment, fraction = first_child.get(parent.id, seg_id), 0.0
        proximal_diameter = 2 * (parent.radius if parent.type == p.type else p.radius)
        segment = neuroml.Segment(id=seg_id, proximal=_point(parent, proximal_diameter), distal=_point(p))
        if parent_segment != seg_id:
            segment.parent = neuroml.SegmentParent(segments=parent_segment)
            if fraction != 1.0:
                segment.parent.fraction_along = repr(fraction)
        morphology.segments.append(segment)
        segment_of[p.id] = seg_id
        first_child.setdefault(parent.id, seg_id)
        siblings = children.get(parent.id, [])
        continues = (parent_segment in cable_of and fraction == 1.0 and len(siblings) == 1
                     and by_id[parent.id].type == p.type)
        if continues:
            cable = cable_of[parent_segment]
            cables[cable][1].append(seg_id)
        else:
            cable = len(cables)
            cables.append((p.type, [seg_id]))
        cable_of[seg_id] = cable
    _groups(morphology, cables)
    for segment in morphology.segments:
        kind = cables[cable_of[int(segment.id)]][0]
        segment.name = f"{SWC_TYPES.get(kind, (f'type{kind}',))[0]}_{segment.id}"
    return morphology


def _groups(morphology: Any, cables: list[tuple[int, list[int]]]) -> None:
    counts: dict[int, int] = {}
    names_by_type: dict[int, list[str]] = {}
    for kind, members in cables:
        base = SWC_TYPES.get(kind, (f"type{kind}",))[0]
        k = counts.get(kind, 0)
        counts[kind] = k + 1
        name = base if kind == 1 and k == 0 else f"{base}_{k}"
        group = neuroml.SegmentGroup(id=name, neuro_lex_id=CABLE_GROUP_NEUROLEX_ID)
        group.members += [neuroml.Member(segments=s) for s in members]
        morphology.segment_groups.append(group)
        names_by_type.setdefault(kind, []).append(name)
    for kind, names in names_by_type.items():
        _, group_id, neurolex = SWC_TYPES.get(kind, (None, f"type{kind}_group", None))
        group = neuroml.SegmentGroup(id=group_id, neuro_lex_id=neurolex)
        group.includes += [neuroml.Include(segment_groups=n) for n in names]
        morphology.segment_groups.append(group)
    dendrites = [SWC_TYPES[k][1] for k in (3, 4) if k in names_by_type]
    if dendrites:
        group = neuroml.SegmentGroup(id="dendrite_group", neuro_lex_id="GO:0030425")
        group.includes += [neuroml.Include(segment_groups=g) for g in dendrites]
        morphology.segment_groups.append(group)
    everything = neuroml.SegmentGroup(id="all")
    everything.includes += [neuroml.Include(segment_groups=n) for names in names_by_type.values() for n in names]
    morphology.segment_groups.append(everything)
