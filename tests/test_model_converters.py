"""Models through every format: NeuroML XML -> JSON / pickle / MATLAB -> XML gives the same document
(canonical form: converters.canonical), each format -> XML -> the same format gives the same file,
and bad files give one clear error."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import nmlhub
from conftest import TimeBudget, core_example_names, corpus_files, corpus_files_spread, example_files, requires_corpus
from nmlhub.converters import ConversionError, convert, load, save
from nmlhub.converters.canonical import differences
from nmlhub.converters.model_tree import tree_from_xml_file

PLAIN_FORMATS = ("json", "pkl", "mat")


ALL_FORMATS = PLAIN_FORMATS + ("nml.h5",)


def _round_trip(source: Path, folder: Path) -> None:
    original = tree_from_xml_file(source)
    for ext in ALL_FORMATS:
        first = folder / f"model.{ext}"
        save(source, first)
        back = load(first)
        assert differences(original, back) == [], (source, ext)
        xml = folder / f"back_{ext}.nml"
        save(back, xml)
        assert differences(original, tree_from_xml_file(xml)) == [], (source, ext)
        second = folder / f"again.{ext}"
        save(xml, second)
        assert first.read_bytes() == second.read_bytes(), (source, ext)


@pytest.mark.parametrize("name", [n for n in core_example_names()], ids=lambda n: n)
def test_core_examples_round_trip(core_examples, name, tmp_path):
    _round_trip(core_examples / name, tmp_path)


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_bundled_examples_round_trip(path, tmp_path):
    _round_trip(path, tmp_path)


@requires_corpus
@pytest.mark.corpus
def test_corpus_round_trip(tmp_path):
    """Every corpus XML file through every format and back, within
    ``NMLHUB_CORPUS_ROUND_TRIP_BUDGET_S`` (75 s by default), files taken in turn from every repository."""
    budget = TimeBudget("NMLHUB_CORPUS_ROUND_TRIP_BUDGET_S", 75)
    files = [p for p in corpus_files_spread() if p.suffix != ".h5"]
    checked = 0
    for path in files:
        if budget.spent():
            break
        _round_trip(path, tmp_path)
        checked += 1
    assert len(files) > 100 and checked >= 20, f"{checked} of {len(files)} files within the budget"


def _corpus_hdf5_sources() -> list[Path]:
    """The corpus's NeuroML HDF5 files (written by libNeuroML): the three smallest, or every one
    with NMLHUB_FULL_ROUND_TRIP=1 (about 80 s more)."""
    files = sorted((p for p in corpus_files() if p.name.endswith(".nml.h5")), key=lambda p: p.stat().st_size)
    return files if os.environ.get("NMLHUB_FULL_ROUND_TRIP") else files[:3]


@requires_corpus
@pytest.mark.corpus
def test_corpus_hdf5_round_trip(tmp_path):
    """libNeuroML-written NeuroML HDF5 from the corpus -> every format -> the same document."""
    files = _corpus_hdf5_sources()
    assert files
    for path in files:
        tree = load(path)
        for ext in ("json", "pkl", "mat", "nml", "nml.h5"):
            target = tmp_path / f"model.{ext}"
            save(tree, target)
            assert differences(tree, load(target)) == [], (path, ext)


def test_columns_hold_large_lists(tmp_path):
    """Instances and connections are typed columns, not one dict per element."""
    tree = load(Path("nml_examples/izh_network/izh_network.net.nml"))
    blocks = [c for c in _walk(tree) if "block" in c]
    assert any(b["block"] in ("connection", "connectionWD") for b in blocks)
    for block in blocks:
        for column in block["columns"].values():
            assert any(isinstance(column.get(k), np.ndarray) for k in ("int", "float", "codes"))


def _walk(tree):
    stack = [tree["root"]]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("children", []) if "block" not in node else [])


def test_converted_model_simulates_the_same(tmp_path):
    """A model converted to JSON and back to XML runs and gives the same spikes."""
    source = Path("nml_examples/izh_network")
    folder = tmp_path / "izh"
    folder.mkdir()
    for f in source.iterdir():
        if f.suffix in (".nml", ".xml"):
            (folder / f.name).write_bytes(f.read_bytes())
    net = folder / "izh_network.net.nml"
    convert(net, tmp_path / "net.json")
    convert(tmp_path / "net.json", net)
    assert net.read_bytes() != (source / net.name).read_bytes()  # really rewritten
    a = nmlhub.simulate(nmlhub.load(source / "LEMS_izh_network.xml"))
    b = nmlhub.simulate(nmlhub.load(folder / "LEMS_izh_network.xml"))
    assert a.spikes.keys() == b.spikes.keys()
    for key in a.spikes:
        np.testing.assert_array_equal(a.spikes[key], b.spikes[key])


# ---------------------------------------------------------------- bad input

class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps({"nmlhub": {"kind": "model", "version": 1}, "data": _Exploit(marker)}))
    with pytest.raises(ConversionError, match="refused.*system"):
        load(bad)
    assert not marker.exists()


@pytest.mark.parametrize("ext", PLAIN_FORMATS)
def test_truncated_files(tmp_path, ext):
    good = tmp_path / f"m.{ext}"
    save(Path("nml_examples/izh_network/izh_network.net.nml"), good)
    bad = tmp_path / f"bad.{ext}"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ConversionError, match=str(bad.name)):
        load(bad)


@pytest.mark.parametrize("ext", PLAIN_FORMATS)
def test_not_that_format(tmp_path, ext):
    bad = tmp_path / f"bad.{ext}"
    bad.write_text("<neuroml id='x'/>")
    with pytest.raises(ConversionError, match=str(bad.name)):
        load(bad)


def test_wrong_structure_names_the_place(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"nmlhub": {"kind": "model", "version": 1}, "data": {"root": {"tag": "neuroml", '
                   '"attrs": {}, "children": [{"tag": "cell", "attrs": {"id": 3}}]}}}')
    with pytest.raises(ConversionError, match=r"bad.json.*root/neuroml\[0\].*attrs"):
        load(bad)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    with pytest.raises(ConversionError, match="not an nmlhub file"):
        load(other)


def test_unknown_extension(tmp_path):
    with pytest.raises(ConversionError, match="cannot tell the format"):
        save(Path("nml_examples/izh_network/izh_network.net.nml"), tmp_path / "x.yaml")


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    save(Path("nml_examples/izh_network/izh_network.net.nml"), target)
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        save(Path("nml_examples/hh_single/hh_single.net.nml") if Path("nml_examples/hh_single/hh_single.net.nml").exists()
             else Path("nml_examples/izh_network/LEMS_izh_network.xml"), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


# ---------------------------------------------------------------- NeuroML HDF5

def _single_network_files() -> list[Path]:
    files = [p for p in example_files() if p.suffix == ".nml"]
    files += [p for p in corpus_files() if p.suffix == ".nml"]
    found = []
    for path in files:
        tree = tree_from_xml_file(path)
        if sum(1 for c in tree["root"]["children"] if c.get("tag") == "network") == 1:
            found.append(path)
    return found


def _libneuroml_counts(doc) -> dict:
    net = doc.networks[0]
    return {"populations": {p.id: p.get_size() for p in net.populations},
            "projections": {p.id: len(p.connections) + len(p.connection_wds) for p in net.projections},
            "inputs": {i.id: len(i.input) + len(i.input_ws) for i in net.input_lists}}


def test_libneuroml_reads_nmlhub_hdf5(tmp_path):
    """libNeuroML's own HDF5 loader reads nmlhub's file with the counts of the original XML."""
    from neuroml.loaders import NeuroMLHdf5Loader, read_neuroml2_file

    # libNeuroML follows includes relative to the HDF5 file: files that include none
    no_includes = [p for p in _single_network_files() if p.stat().st_size > 200_000
                   and b"<include" not in p.read_bytes()]
    for path in [Path("nml_examples/izh_network/izh_network.net.nml")] + no_includes[:3]:
        h5 = tmp_path / "net.nml.h5"
        save(path, h5)
        theirs = NeuroMLHdf5Loader.load(str(h5))
        original = read_neuroml2_file(str(path), include_includes=False)
        assert _libneuroml_counts(theirs) == _libneuroml_counts(original), path
        pre = original.networks[0].projections[0]
        # libNeuroML (PyTables) lists an HDF5 file's projection groups by name, not in document order
        mine = {p.id: p for p in theirs.networks[0].projections}[pre.id]
        first = (pre.connection_wds or pre.connections)[0]
        other = (mine.connection_wds or mine.connections)[0]
        assert (first.get_pre_cell_id(), first.get_post_cell_id()) == (other.get_pre_cell_id(), other.get_post_cell_id())


@pytest.mark.parametrize("name", ["examples/NML2_GapJunctions.nml", "examples/NML2_GapJunctionInstances.nml",
                                  "examples/NML2_AnalogSynapses.nml"])
def test_libneuroml_reads_electrical_and_continuous_projections(core_examples, tmp_path, name):
    from neuroml.loaders import NeuroMLHdf5Loader, read_neuroml2_file

    h5 = tmp_path / "net.nml.h5"
    save(core_examples / name, h5)
    theirs = NeuroMLHdf5Loader.load(str(h5)).networks[0]
    original = read_neuroml2_file(str(core_examples / name), include_includes=False).networks[0]

    def counts(net):
        return ({p.id: len(p.electrical_connections) + len(p.electrical_connection_instances)
                 + len(p.electrical_connection_instance_ws) for p in net.electrical_projections},
                {p.id: len(p.continuous_connections) + len(p.continuous_connection_instances)
                 + len(p.continuous_connection_instance_ws) for p in net.continuous_projections})

    assert counts(theirs) == counts(original)
    with __import__("h5py").File(h5) as f:
        assert any(name.startswith("projection_") for name in f["neuroml/network"])


def test_nmlhub_reads_libneuroml_hdf5(tmp_path):
    """NeuroML HDF5 written by libNeuroML's writer reads as the same network."""
    import neuroml.utils  # noqa: F401  (libNeuroML's HDF5 writer needs it imported)
    from neuroml.loaders import read_neuroml2_file
    from neuroml.writers import NeuroMLHdf5Writer

    path = Path("nml_examples/izh_network/izh_network.net.nml")
    doc = read_neuroml2_file(str(path), include_includes=False)
    h5 = tmp_path / "theirs.nml.h5"
    NeuroMLHdf5Writer.write(doc, str(h5))
    ours = load(h5)
    original = tree_from_xml_file(path)
    # libNeuroML stores values as float32: compare counts, pairs and (rounded) weights
    from nmlhub.converters.canonical import elements

    def summary(tree):
        rows = [e for e in elements(tree) if e[2] in ("population", "projection", "connectionWD", "connection",
                                                      "input", "inputW", "inputList")]
        return [(e[2], {k: v for k, v in e[3].items() if k in ("id", "preCellId", "postCellId", "target")})
                for e in rows]

    assert summary(ours) == summary(original)
    assert nmlhub.load(h5).network().id == nmlhub.load(path).network().id


def test_hdf5_bad_files(tmp_path):
    good = tmp_path / "good.nml.h5"
    save(Path("nml_examples/izh_network/izh_network.net.nml"), good)
    truncated = tmp_path / "cut.nml.h5"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ConversionError, match="cut.nml.h5"):
        load(truncated)
    fake = tmp_path / "fake.h5"
    fake.write_text("not hdf5")
    with pytest.raises(ConversionError, match="fake.h5"):
        load(fake)


# ---------------------------------------------------------------- the streaming XML reader

def test_large_runs_are_read_in_chunks(tmp_path):
    """More elements than one chunk, with a column whose kind changes between chunks: the same
    values come back, and the columns stay typed."""
    from nmlhub.converters.tree_from_xml import _CHUNK

    n = _CHUNK + 1000
    weights = [str(k % 7) if k < _CHUNK else f"{k % 7}.25" for k in range(n)]
    rows = "\n".join(f'<connectionWD id="{k}" preCellId="../a/{k % 13}/c" postCellId="../b[{k % 5}]" '
                     f'weight="{w}" delay="{1 + k % 3}ms"/>' for k, w in enumerate(weights))
    xml = tmp_path / "big.nml"
    xml.write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="big"><network id="n">'
                   '<projection id="p" presynapticPopulation="a" postsynapticPopulation="b" synapse="s">'
                   f"{rows}</projection></network></neuroml>")
    tree = load(xml)
    block = tree["root"]["children"][0]["children"][0]["children"][0]
    assert block["block"] == "connectionWD" and block["count"] == n
    assert "int" in block["columns"]["preCellId"] and "float" in block["columns"]["weight"]
    from nmlhub.converters.model_tree import decode_column

    assert [float(w) for w in decode_column(block["columns"]["weight"])] == [float(w) for w in weights]
    assert decode_column(block["columns"]["postCellId"])[:6] == [f"../b[{k % 5}]" for k in range(6)]


def test_reader_refuses_entities(tmp_path):
    bad = tmp_path / "bad.nml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE neuroml [<!ENTITY x "boom">]><neuroml id="a">&x;</neuroml>')
    with pytest.raises(nmlhub.XmlSecurityError, match="bad.nml.*DOCTYPE"):
        load(bad)
    bad.write_text('<neuroml id="a"><notes>&undefined;</notes></neuroml>')  # no DTD: not expanded
    with pytest.raises(nmlhub.ModelError, match="bad.nml"):
        load(bad)


def test_reader_names_malformed_xml(tmp_path):
    bad = tmp_path / "bad.nml"
    bad.write_text('<neuroml id="a"><cell id="c"></neuroml>')
    with pytest.raises(nmlhub.ModelError, match=r"bad.nml:1"):
        load(bad)


# ---------------------------------------------------------------- random networks (hypothesis)

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("&<>\"' \t\n"),
                    min_size=1, max_size=30).filter(lambda t: t.strip())
_FLOATS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def _quote_attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\t", "&#9;"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def random_networks(draw) -> str:
    """NeuroML text of a random network: populations with and without locations, projections of
    connection/connectionWD (segments, fractions, delays in ms or s), input lists, notes and
    annotations with characters XML must escape."""
    pops = []
    for k in range(draw(st.integers(1, 3))):
        size = draw(st.integers(0, 12))
        located = draw(st.booleans())
        if located:
            instances = "".join(
                f'<instance id="{i}"><location x="{draw(_FLOATS)!r}" y="{draw(_FLOATS)!r}" z="{draw(_FLOATS)!r}"/></instance>'
                for i in range(size))
            pops.append((f"p{k}", size, True,
                         f'<population id="p{k}" component="c" size="{size}" type="populationList">{instances}</population>'))
        else:
            pops.append((f"p{k}", size, False, f'<population id="p{k}" component="c" size="{size}"/>'))
    body = [p[3] for p in pops]

    def cell(pop, i):
        return f"../{pop[0]}/{i}/c" if pop[2] else f"../{pop[0]}[{i}]"

    for k in range(draw(st.integers(0, 3))):
        pre, post = draw(st.sampled_from(pops)), draw(st.sampled_from(pops))
        if not pre[1] or not post[1]:
            continue
        wd, segments = draw(st.booleans()), draw(st.booleans())
        rows = []
        for i in range(draw(st.integers(1, 15))):
            attrs = f'id="{i}" preCellId="{cell(pre, draw(st.integers(0, pre[1] - 1)))}"'
            if segments:
                attrs += f' preSegmentId="{draw(st.integers(0, 5))}" preFractionAlong="{draw(st.floats(0, 1))!r}"'
            attrs += f' postCellId="{cell(post, draw(st.integers(0, post[1] - 1)))}"'
            if segments:
                attrs += f' postSegmentId="{draw(st.integers(0, 5))}" postFractionAlong="{draw(st.floats(0, 1))!r}"'
            if wd:
                unit = draw(st.sampled_from(["ms", "s"]))
                attrs += f' weight="{draw(_FLOATS)!r}" delay="{abs(draw(_FLOATS))!r}{unit}"'
            rows.append(f"<{'connectionWD' if wd else 'connection'} {attrs}/>")
        body.append(f'<projection id="proj{k}" presynapticPopulation="{pre[0]}" postsynapticPopulation="{post[0]}" '
                    f'synapse="s">{"".join(rows)}</projection>')
    for k in range(draw(st.integers(0, 2))):
        pop = draw(st.sampled_from(pops))
        if not pop[1]:
            continue
        weighted = draw(st.booleans())
        rows = "".join(
            f'<{"inputW" if weighted else "input"} id="{i}" target="{cell(pop, draw(st.integers(0, pop[1] - 1)))}" '
            f'destination="synapses"' + (f' weight="{draw(_FLOATS)!r}"' if weighted else "") + "/>"
            for i in range(draw(st.integers(1, 6))))
        body.append(f'<inputList id="in{k}" population="{pop[0]}" component="drive">{rows}</inputList>')
    note = _escape(draw(_XML_TEXT))
    label = _quote_attr(draw(_XML_TEXT))
    annotation = (f'<annotation><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                  f'<rdf:Description rdf:about="{label}"/></rdf:RDF></annotation>')
    return ('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="random">'
            f"<notes>{note}</notes>"
            '<pulseGenerator id="drive" delay="1ms" duration="2ms" amplitude="3pA"/>'
            f'<network id="net"><notes>{note}</notes>{annotation}{"".join(body)}</network></neuroml>')


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=random_networks())
@example(text=  # found by hypothesis: -0.0 came back from NeuroML HDF5 as 0
         '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="random"><network id="net">'
         '<population id="p0" component="c" size="1" type="populationList"><instance id="0">'
         '<location x="0.0" y="0.0" z="-0.0"/></instance></population></network></neuroml>')
def test_random_networks_round_trip_every_format(tmp_path, text):
    source = tmp_path / "random.nml"
    source.write_text(text, encoding="utf-8")
    original = tree_from_xml_file(source)
    for ext in ("json", "pkl", "mat", "nml.h5"):
        converted = tmp_path / f"random.{ext}"
        save(source, converted)
        back = load(converted)
        assert differences(original, back) == [], ext
        xml = tmp_path / f"back.{ext}.nml"
        save(back, xml)
        again = tmp_path / f"again.{ext}"
        save(xml, again)
        assert again.read_bytes() == converted.read_bytes(), ext


def test_nmlhub_load_reads_converted_models(tmp_path):
    """nmlhub.load takes a model saved as JSON, pickle or MATLAB like its XML, and refuses results."""
    from nmlhub.model.summary import summarize

    source = Path("nml_examples/izh_network/izh_network.net.nml")
    expected = summarize(nmlhub.load(source)).to_dict()
    for ext in ("json", "pkl", "mat"):
        converted = tmp_path / f"izh.{ext}"
        save(source, converted)
        folder_before = tmp_path.stat().st_mtime_ns
        model = nmlhub.load(converted)
        assert tmp_path.stat().st_mtime_ns == folder_before  # read in memory: no file made and removed beside it
        assert model.path == converted.resolve() and [f.path for f in model.files] == [converted.resolve()]
        got = summarize(model).to_dict()
        assert got["networks"] == expected["networks"] and got["totals"] == expected["totals"]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"izh.{e}" for e in ("json", "pkl", "mat")
                                                                   if (tmp_path / f"izh.{e}").exists())
    from nmlhub.results import Results

    results = Results(time_ms=np.arange(3.0))
    save(results, tmp_path / "run.json")
    with pytest.raises(nmlhub.ModelError, match="results, not a model"):
        nmlhub.load(tmp_path / "run.json")


def test_converted_model_messages_name_its_file(tmp_path):
    """A converted model's problems name the user's file, and a large one streams as its XML does
    (the same tables, the same Model)."""
    from nmlhub.model import xml_columns
    from nmlhub.model.summary import summarize
    from nmlhub.model.validate import validate

    doc = Path("nml_examples/izh_network/izh_network.net.nml").read_text()
    twice = doc.replace("<network ", '<pulseGenerator id="izh_net_dup" delay="0ms" duration="1ms" amplitude="0nA"/>'
                        '<pulseGenerator id="izh_net_dup" delay="0ms" duration="1ms" amplitude="0nA"/><network ', 1)
    (tmp_path / "dup.nml").write_text(twice)
    save(tmp_path / "dup.nml", tmp_path / "dup.json")
    found = [p for p in validate(tmp_path / "dup.json") if "used again" in p.message]
    assert found and all(p.file == str((tmp_path / "dup.json").resolve()) for p in found), found
    rows = "".join(f'<connectionWD id="{k}" preCellId="../p[{k % 50}]" postCellId="../p[{k * 7 % 50}]" '
                   f'weight="{k % 13 / 7}" delay="{k % 5}ms"/>\n' for k in range(xml_columns.STREAM_BYTES // 100))
    (tmp_path / "big.nml").write_text(
        '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="big">\n'
        '<expOneSynapse id="syn" gbase="1nS" erev="0mV" tauDecay="2ms"/>\n'
        '<iafCell id="iaf" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>\n'
        '<network id="net">\n<population id="p" component="iaf" size="50"/>\n'
        '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="syn">\n'
        + rows + "</projection>\n</network>\n</neuroml>\n")
    assert (tmp_path / "big.nml").stat().st_size > xml_columns.STREAM_BYTES
    save(tmp_path / "big.nml", tmp_path / "big.json")
    a, b = nmlhub.load(tmp_path / "big.nml"), nmlhub.load(tmp_path / "big.json")
    assert summarize(a).to_dict()["totals"] == summarize(b).to_dict()["totals"]
    ca, cb = a.network().projections[0].connections, b.network().projections[0].connections
    assert ca.indices == cb.indices and np.array_equal(ca.array, cb.array) and len(ca.array) == len(rows.splitlines())


def test_network_from_nmlhub_hdf5_simulates_like_its_xml(tmp_path):
    """mc_network (synapses at given segments and fractions along them) converted to NeuroML HDF5
    and run from it gives the same spikes and traces as from XML: the HDF5 columns carry the
    fractions along segments."""
    import shutil

    examples = tmp_path / "nml_examples"
    for name in ("mc_network", "hh_single"):
        shutil.copytree(Path("nml_examples") / name, examples / name)
    folder = examples / "mc_network"
    lems = next(folder.glob("LEMS_*.xml"))
    save(folder / "mc_network.net.nml", folder / "mc_network.nml.h5")
    h5_lems = folder / "LEMS_from_hdf5.xml"
    h5_lems.write_text(lems.read_text().replace("mc_network.net.nml", "mc_network.nml.h5"))
    a = nmlhub.simulate(nmlhub.load(lems))
    b = nmlhub.simulate(nmlhub.load(h5_lems))
    assert a.spike_count() > 0 and a.spikes.keys() == b.spikes.keys()
    for key in a.spikes:
        np.testing.assert_array_equal(a.spikes[key], b.spikes[key])
    for path in a.traces:
        np.testing.assert_array_equal(a.traces[path], b.traces[path])
