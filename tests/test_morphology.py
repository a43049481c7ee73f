"""NeuroML morphologies in NEURON: 3D points, nseg, segment locations and biophysics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import nmlhub
from nmlhub.model.cells import cell_morphology
from nmlhub.neuron.morphology import build, group_segments, plan_sections

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"


def _morphology(cell_id: str):
    model = nmlhub.load(EXAMPLES / "mc_network" / "LEMS_mc_network.xml")
    return model, cell_morphology(model.component(cell_id), model.components)


@pytest.mark.parametrize("cell_id", ["pyr_cell", "bask_cell"])
def test_sections_follow_the_segments(cell_id):
    model, morph = _morphology(cell_id)
    built = build(morph, f"test_{cell_id}", offset=(10.0, 20.0, 30.0))
    segments = {int(s.id): s for s in morph.segments}
    assert set(built.section_of) == set(segments)
    for sid, seg in segments.items():
        section, x = built.locate(sid, 1.0)  # the distal end of each segment is a 3D point
        n = int(section.n3d())
        points = [(section.x3d(i), section.y3d(i), section.z3d(i)) for i in range(n)]
        expected = (float(seg.distal.x) + 10.0, float(seg.distal.y) + 20.0, float(seg.distal.z) + 30.0)
        assert any(all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(p, expected)) for p in points), sid
    for plan in plan_sections(morph):
        assert built.section_of[plan.segments[0]].nseg == plan.nseg


def test_nseg_follows_number_internal_divisions():
    model, morph = _morphology("pyr_cell")
    declared = {}
    for group in morph.segment_groups:
        for prop in group.properties or []:
            if prop.tag == "numberInternalDivisions":
                declared[group.id] = int(prop.value)
    assert declared, "the example should declare numberInternalDivisions"
    plans = {p.name: p for p in plan_sections(morph)}
    for group_id, n in declared.items():
        assert plans[group_id].nseg == n


def test_child_sections_attach_where_their_parent_segment_ends():
    model, morph = _morphology("pyr_cell")
    built = build(morph, "attach")
    for seg in morph.segments:
        if seg.parent is None:
            continue
        section = built.section_of[int(seg.id)]
        parent_section = built.section_of[int(seg.parent.segments)]
        if section is parent_section:
            continue
        assert section.parentseg().sec == parent_section
        _, x = built.locate(int(seg.parent.segments), float(seg.parent.fraction_along or 1))
        assert section.parentseg().x == pytest.approx(x)


def test_segment_groups_resolve_members_and_includes():
    model, morph = _morphology("pyr_cell")
    everything = {int(s.id) for s in morph.segments}
    assert group_segments(morph, "all") == everything
    for group in morph.segment_groups:
        members = group_segments(morph, group.id)
        assert members <= everything
        assert {int(m.segments) for m in group.members} <= members
