"""Strings stay strings through every model format: a value comes back as the text it was
(``Dendrite1`` is not ``Dendrite1.0``, ``0.50`` is not ``0.5``), in JSON, pickle, MATLAB and
NeuroML HDF5, and rules-built networks with population properties and segment-targeted
connections survive NeuroML HDF5 for nmlhub and for libNeuroML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nmlhub
from nmlhub.converters import load, save
from nmlhub.converters.canonical import differences, elements
from nmlhub.converters.model_tree import tree_from_xml_file

FORMATS = ("json", "pkl", "mat", "nml.h5")


def _attribute_texts(path: Path) -> list[tuple[str, str, str]]:
    """(element, attribute, text) of every attribute of an XML file, as an independent reader
    (lxml, not nmlhub's tree) sees them."""
    from lxml import etree

    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    return [(etree.QName(e).localname, k, v) for e in root.iter() if isinstance(e.tag, str) for k, v in e.attrib.items()]


@pytest.mark.parametrize("ext", FORMATS)
def test_full_cell_segment_names_stay_text(core_examples, tmp_path, ext):
    """NML2_FullCell's segments named Dendrite1, Dendrite2 come back with those names."""
    source = core_examples / "examples" / "NML2_FullCell.nml"
    save(source, tmp_path / f"cell.{ext}")
    save(load(tmp_path / f"cell.{ext}"), tmp_path / "back.nml")
    names = [v for tag, k, v in _attribute_texts(tmp_path / "back.nml") if tag == "segment" and k == "name"]
    assert names == [v for tag, k, v in _attribute_texts(source) if tag == "segment" and k == "name"]
    assert "Dendrite1" in names
    assert _attribute_texts(tmp_path / "back.nml") == _attribute_texts(source)


def test_canonical_form_compares_text_as_text():
    """The comparison that judges round trips tells spellings apart (white space of numbers aside)."""
    def doc(value: str) -> dict:
        return {"root": {"tag": "neuroml", "attrs": {}, "children": [
            {"tag": "segment", "attrs": {"id": "0", "name": value}, "children": []}]}}

    assert differences(doc("Dendrite1"), doc("Dendrite1.0"))
    assert differences(doc("0.50"), doc("0.5"))
    assert differences(doc("1ms"), doc("0.001s"))
    assert differences(doc("../p[0]"), doc("../p/0/c"))
    assert not differences(doc(" 0.5 "), doc("0.5"))
    assert not differences(doc("1.5 ms"), doc("1.5ms"))
    assert differences(doc(" text "), doc("text"))


# ---------------------------------------------------------------- generated documents

_NUMBERS = st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False)
_SPELLINGS = (repr, "{:g}".format, "{:.3f}".format, "{:e}".format, "{:.2E}".format,
              lambda x: str(int(x)), lambda x: f"{int(abs(x)) % 1000:04d}", lambda x: f"+{abs(x)!r}")


@st.composite
def spelled_numbers(draw) -> str:
    """A number as some program might write it: ``2``, ``2.0``, ``2.000``, ``2e+00``, ``0002``..."""
    return draw(st.sampled_from(_SPELLINGS))(draw(_NUMBERS))


@st.composite
def numeric_looking(draw) -> str:
    """A string that looks like a number or ends in one: ``Dendrite1``, ``e5``, ``1.``, ``x2.50``..."""
    head = draw(st.sampled_from(["", "Dendrite", "seg_", "e", "E", "x-", "a.", "1.", "ms", "-", "+", "0"]))
    tail = draw(st.sampled_from(["", "ms", "mV", ".", "e", "_b", "/cell", "]"]))
    return f"{head}{draw(spelled_numbers())}{tail}"


_TEXT = st.one_of(spelled_numbers(), numeric_looking())


def _column_texts(draw, n: int, numeric_only: bool) -> list[str]:
    """n values for one attribute of a run of elements: all of one spelling, or mixed."""
    strategy = spelled_numbers() if numeric_only else _TEXT
    if draw(st.booleans()):
        spell = draw(st.sampled_from(_SPELLINGS))
        return [spell(draw(_NUMBERS)) for _ in range(n)]
    return [draw(strategy) for _ in range(n)]


@st.composite
def numeric_documents(draw) -> str:
    """NeuroML text whose names, ids, notes, annotations, properties and numbers look numeric,
    in runs long enough to become columns, inside and outside a network."""
    n = draw(st.integers(2, 6))
    names = _column_texts(draw, n, numeric_only=False)
    segments = "".join(f'<segment id="{k}" name="{names[k]}"><proximal x="{draw(spelled_numbers())}" y="0" z="0" '
                       f'diameter="{draw(spelled_numbers())}"/></segment>' for k in range(n))
    cell = f'<cell id="{draw(numeric_looking())}"><morphology id="m">{segments}</morphology></cell>'
    xs, ys = _column_texts(draw, n, True), _column_texts(draw, n, True)
    instances = "".join(f'<instance id="{k}"><location x="{xs[k]}" y="{ys[k]}" z="0"/></instance>' for k in range(n))
    prop = f'<property tag="{draw(numeric_looking())}" value="{draw(_TEXT)}"/>'
    pops = (f'<population id="p" component="c" size="{n}" type="populationList">{prop}{instances}</population>'
            f'<population id="q" component="c" size="{draw(spelled_numbers())}"/>')
    weights, delays = _column_texts(draw, n, True), _column_texts(draw, n, True)
    fractions = _column_texts(draw, n, True)
    unit = draw(st.sampled_from(["ms", "s", " ms"]))
    rows = "".join(f'<connectionWD id="{k}" preCellId="../p/{k}/c" postCellId="../p/{(k + 1) % n}/c" '
                   f'postSegmentId="{k}" postFractionAlong="{fractions[k]}" weight="{weights[k]}" '
                   f'delay="{delays[k].lstrip("+-")}{unit}"/>' for k in range(n))
    projection = (f'<projection id="{draw(numeric_looking())}" presynapticPopulation="p" postsynapticPopulation="p" '
                  f'synapse="s"><notes>{draw(_TEXT)}</notes>{rows}</projection>')
    inputs = "".join(f'<inputW id="{k}" target="../p/{k}/c" destination="synapses" segmentId="{k}" '
                     f'weight="{weights[k]}"/>' for k in range(n))
    input_list = f'<inputList id="in" population="p" component="drive">{inputs}</inputList>'
    annotation = (f'<annotation><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                  f'<rdf:Description rdf:about="{draw(_TEXT)}">{draw(_TEXT)}</rdf:Description></rdf:RDF></annotation>')
    return ('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="numeric">'
            f"<notes>{draw(_TEXT)}</notes>{cell}"
            f'<network id="{draw(numeric_looking())}"><notes>{draw(_TEXT)}</notes>{annotation}'
            f"{pops}{projection}{input_list}</network></neuroml>")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=numeric_documents())
def test_numeric_looking_text_survives_every_format(tmp_path, text):
    source = tmp_path / "numeric.nml"
    source.write_text(text, encoding="utf-8")
    original = tree_from_xml_file(source)
    expected = _attribute_texts(source)
    for ext in FORMATS:
        converted = tmp_path / f"numeric.{ext}"
        save(source, converted)
        back = load(converted)
        assert differences(original, back) == [], ext
        xml = tmp_path / f"back.{ext}.nml"
        save(back, xml)
        assert _attribute_texts(xml) == expected, ext  # byte-equal text, judged by lxml
        assert [e[4] for e in elements(tree_from_xml_file(xml))] == [e[4] for e in elements(original)], ext


# ---------------------------------------------------------------- rules-built networks in NeuroML HDF5

def _builder():
    net = nmlhub.NetworkBuilder("fidelity", size=(200, 400, 200), seed=3)
    net.include(Path("nml_examples/mc_network/pyr_cell.cell.nml").resolve())
    import neuroml

    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.PulseGenerator(id="drive", delay="5ms", duration="50ms", amplitude="0.2nA"))
    net.population("E", cell="pyr_cell", count=6, properties={"color": "1 0 0", "region": "L2"})
    net.population("E2", cell="pyr_cell", count=4, properties={"color": "0 0 1"})
    net.connect("E", "E2", "ampa", nmlhub.Probability(0.8), weight=nmlhub.normal(1.0, 0.2, low=0),
                delay="1 + dist_3D/300", placement=nmlhub.Placement(("dendrite_group",)))
    net.stimulate("drive", targets="E", probability=1.0)
    return net


def _network_counts(model) -> dict:
    net = model.network()
    return {"populations": {p.id: p.get_size() for p in net.populations},
            "properties": {p.id: {q.tag: q.value for q in p.properties} for p in net.populations},
            "projections": {p.id: len(p.connection_wds) + len(p.connections) for p in net.projections},
            "inputs": {i.id: len(i.input) + len(i.input_ws) for i in net.input_lists}}


def test_rules_network_with_properties_and_segments_survives_hdf5(tmp_path):
    """A rules-built network (properties, connections on dendrite segments) saved expanded and
    converted to NeuroML HDF5: nmlhub.load and libNeuroML's loader see what the XML holds, and the
    document comes back as the same text."""
    from neuroml.loaders import NeuroMLHdf5Loader, read_neuroml2_file

    net = _builder()
    xml = net.save(tmp_path / "fidelity.net.nml", expanded=True)
    h5 = tmp_path / "fidelity.nml.h5"
    save(xml, h5)
    from_xml, from_h5 = _network_counts(nmlhub.load(xml)), _network_counts(nmlhub.load(h5))
    assert from_xml == from_h5
    assert from_xml["properties"]["E"] == {"color": "1 0 0", "region": "L2"}
    assert sum(from_xml["projections"].values()) > 0 and sum(from_xml["inputs"].values()) > 0
    theirs = NeuroMLHdf5Loader.load(str(h5)).networks[0]
    original = read_neuroml2_file(str(xml), include_includes=False).networks[0]
    assert {p.id: p.get_size() for p in theirs.populations} == {p.id: p.get_size() for p in original.populations}
    assert {p.id: len(p.connection_wds) for p in theirs.projections} == \
        {p.id: len(p.connection_wds) for p in original.projections}
    assert {p.id: {q.tag: q.value for q in p.properties} for p in theirs.populations} == from_xml["properties"]
    segments = [c.post_segment_id for c in original.projections[0].connection_wds]
    assert [c.post_segment_id for c in theirs.projections[0].connection_wds] == segments and any(segments)
    save(h5, tmp_path / "back.nml")
    assert _attribute_texts(tmp_path / "back.nml") == _attribute_texts(xml)


def test_rules_only_network_runs_the_same_from_hdf5(tmp_path):
    """A network saved as rules alone, converted to NeuroML HDF5: nmlhub.load reads its rules and
    the explicit input kept as XML in the file, and the run gives the same spikes as the XML."""
    import neuroml

    net = nmlhub.NetworkBuilder("rules_h5", size=(100, 100, 100), seed=4)
    net.add(neuroml.Izhikevich2007Cell(id="RS", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
                                       vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    net.add(neuroml.ExpOneSynapse(id="syn", gbase="10nS", erev="0mV", tau_decay="5ms"))
    net.add(neuroml.PulseGenerator(id="drive", delay="5ms", duration="60ms", amplitude="150pA"))
    net.population("A", cell="RS", count=5, properties={"color": "1 0 0"})
    net.population("B", cell="RS", count=3)
    net.connect("A", "B", "syn", nmlhub.Probability(0.7), weight=nmlhub.uniform(1.0, 2.0), delay=2.0)
    net.stimulate("drive", targets="A")
    xml = net.save(tmp_path / "rules_h5.net.nml")
    text = xml.read_text().replace("</network>", '<explicitInput target="B[0]" input="drive"/></network>')
    xml.write_text(text)
    h5 = tmp_path / "rules_h5.nml.h5"
    save(xml, h5)
    sim = '<Simulation id="sim" length="80ms" step="0.025ms" target="rules_h5"/>'
    for name, net_file in (("xml", xml.name), ("h5", h5.name)):
        (tmp_path / f"LEMS_{name}.xml").write_text(
            f'<Lems><Target component="sim"/><Include file="{net_file}"/>{sim}</Lems>')
    from_xml, from_h5 = nmlhub.load(tmp_path / "LEMS_xml.xml"), nmlhub.load(tmp_path / "LEMS_h5.xml")
    assert [c.id for c in from_h5.rules["rules_h5"].connections] == [c.id for c in from_xml.rules["rules_h5"].connections]
    assert len(from_h5.network().explicit_inputs) == 1
    a, b = nmlhub.simulate(from_xml), nmlhub.simulate(from_h5)
    assert a.spike_count() > 0 and a.spikes.keys() == b.spikes.keys()
    assert any(len(a.spikes[("B", k)]) for k in range(3))
    for key in a.spikes:
        np.testing.assert_array_equal(a.spikes[key], b.spikes[key])
