"""NeuroML morphologies as NEURON sections, with a two-way map between (segment, fraction along)
and (section, x)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..model.cells import CABLE_GROUP_NEUROLEX_ID
from ..model.segments import MorphologyError, point_distance


@dataclass
class SectionPlan:
    """One unbranched section: its segments in order from proximal to distal."""

    name: str
    segments: list[int]
    nseg: int = 1


@dataclass
class BuiltCell:
    """A morphology instantiated in NEURON."""

    sections: list[Any]
    section_of: dict[int, Any] = field(default_factory=dict)
    span: dict[int, tuple[float, float]] = field(default_factory=dict)

    def segment_at(self, section: Any, x: float) -> int:
        """The NeuroML segment containing position ``x`` of a section (-1 if none)."""
        if not hasattr(self, "_by_section"):
            index: dict[int, list[tuple[float, float, int]]] = {}
            for sid, sec in self.section_of.items():
                index.setdefault(id(sec), []).append((*self.span[sid], sid))
            self._by_section = index
        for start, end, sid in self._by_section.get(id(section), []):
            if start <= x <= end:
                return sid
        return -1

    def locate(self, segment: int, fraction: float = 0.5) -> tuple[Any, float]:
        """NEURON (section, x) of a point ``fraction`` along NeuroML segment ``segment``."""
        try:
            start, end = self.span[segment]
        except KeyError:
            raise MorphologyError(f"segment {segment} does not exist") from None
        return self.section_of[segment], start + fraction * (end - start)


def _nseg(group: Any) -> int:
    for prop in getattr(group, "properties", []) or []:
        if prop.tag == "numberInternalDivisions":
            return max(1, int(float(prop.value)))
    return 1


def plan_sections(morphology: Any) -> list[SectionPlan]:
    """Unbranched sections, parents before children (cable groups when the file declares them)."""
    segments = {int(s.id): s for s in morphology.segments}
    parent = {sid: int(s.parent.segments) for sid, s in segments.items() if s.parent is not None}
    depth: dict[int, int] = {}

    def depth_of(sid: int) -> None:
        path = []
        while sid in parent and sid not in depth:
            path.append(sid)
            sid = parent[sid]
        d = depth.setdefault(sid, 0)
        for node in reversed(path):
            d += 1
            depth[node] = d

    for sid in segments:
        depth_of(sid)
    cables = [g for g in morphology.segment_groups if g.neuro_lex_id == CABLE_GROUP_NEUROLEX_ID]
    plans: list[SectionPlan] = []
    if cables:
        covered: set[int] = set()
        for group in cables:
            members = sorted({int(m.segments) for m in group.members}, key=lambda s: depth[s])
            plans.append(SectionPlan(group.id, members, _nseg(group)))
            covered |= set(members)
        missing = set(segments) - covered
        if missing:
            raise MorphologyError(f"segments {sorted(missing)[:5]} belong to no cable segment group")
    else:
        # Without cable groups every segment is a section of its own, as jNeuroML's NEURON export
        # builds it (merging an unbranched chain into one section of nseg 1 made it one compartment).
        names = Counter(s.name for s in segments.values())
        for sid, segment in segments.items():
            unique = segment.name and names[segment.name] == 1
            plans.append(SectionPlan(segment.name if unique else f"seg{sid}", [sid], 1))
    plans.sort(key=lambda p: depth[p.segments[0]])
    return plans


def build(morphology: Any, name: str, offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> BuiltCell:
    """Create the sections of a morphology (3D points shifted by ``offset``)."""
    from neuron import h

    segments = {int(s.id): s for s in morphology.segments}
    built = BuiltCell([])
    ox, oy, oz = offset
    for plan in plan_sections(morphology):
        section = h.Section(name=f"{name}.{plan.name}")
        lengths = []
        first = segments[plan.segments[0]]
        proximal = first.proximal
        if proximal is None:
            if first.parent is None:
                raise MorphologyError(f"segment {first.id} has neither proximal point nor parent")
            proximal = segments[int(first.parent.segments)].distal
        points = [proximal]
        for sid in plan.segments:
            seg = segments[sid]
            start = seg.proximal if seg.proximal is not None else points[-1]
            lengths.append(point_distance(start, seg.distal))
            points.append(seg.distal)
        total = sum(lengths)
        for point in points:
            section.pt3dadd(float(point.x) + ox, float(point.y) + oy, float(point.z) + oz, float(point.diameter))
        if total <= 0:  # a sphere written as one point: a cylinder of equal area
            section.pt3dclear()
            diameter = float(first.distal.diameter)
            section.pt3dadd(float(first.distal.x) + ox - diameter / 2, float(first.distal.y) + oy,
                            float(first.distal.z) + oz, diameter)
            section.pt3dadd(float(first.distal.x) + ox + diameter / 2, float(first.distal.y) + oy,
                            float(first.distal.z) + oz, diameter)
            lengths, total = [1.0] * len(plan.segments), float(len(plan.segments))
        section.nseg = plan.nseg
        cumulative = 0.0
        for sid, length in zip(plan.segments, lengths):
            built.section_of[sid] = section
            built.span[sid] = (cumulative / total, (cumulative + length) / total)
            cumulative += length
        if first.parent is not None:
            parent_section, x = built.locate(int(first.parent.segments),
                                             float(first.parent.fraction_along if first.parent.fraction_along is not None else 1))
            section.connect(parent_section(x), 0)
        built.sections.append(section)
    return built
