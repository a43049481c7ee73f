"""NeuroML morphologies in NEURON: 3D points, nseg, segment locations and biophysics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import nmlhub
from nmlhub.model.cells import cell_morphology
from nmlhub.model.segments import group_segments
from nmlhub.neuron.morphology import build, plan_sections

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


def _random_tree(rng, n):
    import neuroml

    segments = []
    for sid in range(n):
        parent = None if sid == 0 else neuroml.SegmentParent(segments=int(rng.integers(0, sid)))
        segments.append(neuroml.Segment(id=sid, parent=parent,
                                        proximal=neuroml.Point3DWithDiam(x=0, y=0, z=0, diameter=1) if sid == 0 else None,
                                        distal=neuroml.Point3DWithDiam(x=sid, y=1, z=0, diameter=1)))
    return segments


def test_path_and_subtree_groups_match_their_definition():
    """path/subTree against the definitions, checked by brute force over ancestor chains of
    random trees: subTree from A = every segment with A among its ancestors (itself included);
    path A..B = the ancestors of B up to A; subTree to B = every ancestor of B."""
    import neuroml
    import numpy as np

    rng = np.random.default_rng(7)
    for _ in range(20):
        segments = _random_tree(rng, 25)
        parent = {s.id: s.parent.segments for s in segments if s.parent is not None}

        def ancestors(sid):
            out = {sid}
            while sid in parent:
                sid = parent[sid]
                out.add(sid)
            return out

        a = int(rng.integers(0, 25))
        below = [s for s in range(25) if a in ancestors(s)]
        b = int(rng.choice(below))
        groups = [
            neuroml.SegmentGroup(id="tree", sub_trees=[neuroml.SubTree(from_=neuroml.SegmentEndPoint(segments=a))]),
            neuroml.SegmentGroup(id="path", paths=[neuroml.Path(from_=neuroml.SegmentEndPoint(segments=a),
                                                                to=neuroml.SegmentEndPoint(segments=b))]),
            neuroml.SegmentGroup(id="to", sub_trees=[neuroml.SubTree(to=neuroml.SegmentEndPoint(segments=b))]),
        ]
        morph = neuroml.Morphology(id="m", segments=segments, segment_groups=groups)
        assert group_segments(morph, "tree") == {s for s in range(25) if a in ancestors(s)}
        assert group_segments(morph, "path") == {s for s in ancestors(b) if a in ancestors(s)}
        assert group_segments(morph, "to") == ancestors(b)


NON_UNIFORM_CELL = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="nu">
    <ionChannelHH id="leak" conductance="10pS" species="non_specific"/>
    <ionChannelHH id="kHH" conductance="10pS" species="k">
        <gateHHrates id="n" instances="4">
            <forwardRate type="HHExpLinearRate" rate="0.1per_ms" midpoint="-55mV" scale="10mV"/>
            <reverseRate type="HHExpRate" rate="0.125per_ms" midpoint="-65mV" scale="-80mV"/>
        </gateHHrates>
    </ionChannelHH>
    <cell id="nu_cell">
        <morphology id="m">
            <segment id="0" name="soma"><proximal x="0" y="0" z="0" diameter="10"/><distal x="10" y="0" z="0" diameter="10"/></segment>
            <segment id="1" name="d1"><parent segment="0"/><proximal x="10" y="0" z="0" diameter="2"/><distal x="110" y="0" z="0" diameter="2"/></segment>
            <segment id="2" name="d2"><parent segment="1"/><distal x="110" y="150" z="0" diameter="1.5"/></segment>
            <segment id="3" name="d3"><parent segment="1" fractionAlong="0.5"/><proximal x="60" y="0" z="0" diameter="1"/><distal x="60" y="0" z="80" diameter="1"/></segment>
            <segmentGroup id="soma_group"><member segment="0"/></segmentGroup>
            <segmentGroup id="dend_a" neuroLexId="sao864921383"><member segment="1"/><member segment="2"/>
                <property tag="numberInternalDivisions" value="7"/></segmentGroup>
            <segmentGroup id="dend_b" neuroLexId="sao864921383"><member segment="3"/>
                <property tag="numberInternalDivisions" value="3"/></segmentGroup>
            <segmentGroup id="soma_cable" neuroLexId="sao864921383"><member segment="0"/></segmentGroup>
            <segmentGroup id="dends"><include segmentGroup="dend_a"/><include segmentGroup="dend_b"/>
                <inhomogeneousParameter id="dist" variable="p" metric="Path Length from root">
                    <proximal translationStart="10"/>
                </inhomogeneousParameter>
            </segmentGroup>
        </morphology>
        <biophysicalProperties id="bio">
            <membraneProperties>
                <channelDensity id="leakAll" ionChannel="leak" condDensity="0.3mS_per_cm2" erev="-54mV" ion="non_specific"/>
                <channelDensityNonUniform id="kGradient" ionChannel="kHH" erev="-77mV" ion="k">
                    <variableParameter parameter="condDensity" segmentGroup="dends">
                        <inhomogeneousValue inhomogeneousParameter="dist" value="30 * exp(-p / 100)"/>
                    </variableParameter>
                </channelDensityNonUniform>
                <channelPopulation id="kPop" ionChannel="kHH" number="5000" erev="-77mV" segment="0" ion="k"/>
                <specificCapacitance value="1uF_per_cm2"/>
            </membraneProperties>
            <intracellularProperties><resistivity value="0.1kohm_cm"/></intracellularProperties>
        </biophysicalProperties>
    </cell>
    <network id="net"><population id="pop" component="nu_cell" size="1"/></network>
</neuroml>"""

NON_UNIFORM_LEMS = """<Lems><Target component="sim"/><Include file="Cells.xml"/><Include file="Networks.xml"/>
<Include file="Simulation.xml"/><Include file="nu.nml"/>
<Simulation id="sim" length="1ms" step="0.025ms" target="net"/></Lems>"""


def _path_distance_um(segments, sid, fraction):
    """Path length from the root segment's proximal point to ``fraction`` along segment ``sid``,
    from the NeuroML geometry alone."""
    seg = segments[sid]
    start = seg.proximal if seg.proximal is not None else segments[int(seg.parent.segments)].distal
    length = math.dist((start.x, start.y, start.z), (seg.distal.x, seg.distal.y, seg.distal.z))
    if seg.parent is None:
        return fraction * length
    along = float(seg.parent.fraction_along if seg.parent.fraction_along is not None else 1.0)
    return _path_distance_um(segments, int(seg.parent.segments), along) + fraction * length


def test_non_uniform_density_and_channel_population(tmp_path):
    from nmlhub.neuron.simulation import NeuronSimulation

    (tmp_path / "nu.nml").write_text(NON_UNIFORM_CELL)
    (tmp_path / "LEMS_nu.xml").write_text(NON_UNIFORM_LEMS)
    sim = NeuronSimulation(nmlhub.load(tmp_path / "LEMS_nu.xml"))
    sim.build()
    cell = sim.instance.cell("pop", 0)
    bio = sim.mechanisms["nu_cell"].biophysics
    gradient = next(d for d in bio.densities if d.density_id.endswith("kGradient")).mechanism.name
    population = next(d for d in bio.densities if d.density_id.endswith("kPop")).mechanism.name
    segments = {int(s.id): s for s in bio.morphology.segments}
    checked = 0
    for section in cell.built.sections:
        for seg in section:
            sid = cell.built.segment_at(section, seg.x)
            start, end = cell.built.span[sid]
            fraction = (seg.x - start) / (end - start)
            if sid == 0:  # the gradient is on the dendrites only
                assert not hasattr(seg, f"condDensity_{gradient}")
                continue
            value = getattr(seg, f"condDensity_{gradient}")
            expected = 30 * math.exp(-(_path_distance_um(segments, sid, fraction) - 10) / 100)
            assert value == pytest.approx(expected, rel=1e-6), (section.name(), seg.x)
            checked += 1
    assert checked == 10  # 7 + 3 NEURON segments on the dendrites
    soma = cell.built.sections[0]
    total = sum(getattr(seg, f"condDensity_{population}") * seg.area() * 1e-12 for seg in soma)
    assert total == pytest.approx(5000 * 10e-12, rel=1e-9)  # number x single-channel conductance
