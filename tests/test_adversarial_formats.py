"""Hostile JSON, pickle and MATLAB models: nothing they carry reaches the XML unchecked (tags,
attribute names, namespace prefixes, column types, characters XML cannot hold), no array is
allocated beyond what the file holds (dtypes from a fixed list, shapes checked, compressed MATLAB
data within a budget), and a model read from them includes no file outside its folder. Each is
refused with one error naming the file, and nothing is written."""

from __future__ import annotations

import json
import pickle
import resource
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

import nmlhub
from nmlhub.converters import ConversionError, convert, load, save
from nmlhub.converters import plain

NS = "http://www.neuroml.org/schema/neuroml2"


def _model(children: list, **root) -> dict:
    return {"root": {"tag": "neuroml", "ns": NS, "nsmap": {"": NS}, "attrs": {"id": "m"}, "children": children,
                     **root}}


def _write_json(path: Path, tree: dict) -> Path:
    path.write_text(json.dumps(plain._to_json(plain.envelope("model", tree))))
    return path


def _refused(source: Path, tmp_path: Path, match: str) -> None:
    """Reading ``source`` and converting it to XML are refused, naming the file; no XML appears."""
    with pytest.raises(ConversionError, match=match) as info:
        load(source)
    assert source.name in str(info.value)
    target = tmp_path / "out.nml"
    with pytest.raises(ConversionError, match=match):
        convert(source, target)
    assert not target.exists()


@pytest.mark.parametrize("node, match", [
    ({"tag": "cell><evil", "attrs": {}, "children": []}, "tag 'cell><evil' is not an XML name"),
    ({"tag": "cell", "attrs": {'id="a" onload': "x"}, "children": []}, "attribute name"),
    ({"tag": "cell", "attrs": {"{urn:x}a b": "x"}, "children": []}, "attribute name"),
    ({"tag": "cell", "nsmap": {'p="q" r': "urn:x"}, "attrs": {}, "children": []}, "namespace prefix"),
    ({"tag": "cell", "attrs": {"id": "a\x00b"}, "children": []}, "U\\+0000"),
    ({"tag": "notes", "attrs": {}, "text": "bell\x07", "children": []}, "U\\+0007"),
    ({"tag": "cell", "attrs": {"id": 3}, "children": []}, "map names to strings"),
])
def test_json_names_and_characters_are_checked(tmp_path, node, match):
    _refused(_write_json(tmp_path / "bad.json", _model([node])), tmp_path, match)


def test_block_names_and_values_are_checked(tmp_path):
    column = {"codes": np.array([0, 0]), "values": ["a"]}
    bad_tag = {"block": "instance/><x", "count": 2, "columns": {"id": column}, "children": []}
    _refused(_write_json(tmp_path / "tag.json", _model([bad_tag])), tmp_path, "not an XML name")
    bad_name = {"block": "instance", "count": 2, "columns": {'id="1" x': column}, "children": []}
    _refused(_write_json(tmp_path / "name.json", _model([bad_name])), tmp_path, "attribute name")
    values = {"block": "instance", "count": 2, "columns": {"id": {"codes": np.array([0, 0]), "values": [{"x": 1}]}},
              "children": []}
    _refused(_write_json(tmp_path / "values.json", _model([values])), tmp_path, "must be a string")


def test_pickle_column_of_strings_typed_int_is_refused(tmp_path):
    """A pickle can hold a numpy array of any dtype: a column typed int holding strings is refused."""
    injected = np.array(['0"/><evil a="', "1"])
    block = {"block": "instance", "count": 2, "children": [],
             "columns": {"id": {"int": injected, "prefix": "", "suffix": ""}}}
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(plain.envelope("model", _model([block])), protocol=5))
    _refused(path, tmp_path, "malformed column")


def test_namespace_without_prefix_is_one_error(tmp_path):
    node = {"tag": "cell", "ns": "urn:nowhere", "attrs": {}, "children": []}
    path = _write_json(tmp_path / "ns.json", _model([node]))
    with pytest.raises(ConversionError, match="ns.nml.*no prefix in scope"):
        convert(path, tmp_path / "ns.nml")
    assert not (tmp_path / "ns.nml").exists()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_json_array_dtype_comes_from_a_fixed_list(tmp_path):
    """A 19 KB JSON naming dtype (16000,16000)f8 (6 GB) is refused at once, nothing allocated."""
    envelope = plain.envelope("model", _model([]))
    envelope["data"]["root"]["children"] = [{"block": "instance", "count": 2, "children": [], "columns": {
        "id": {"int": {"__ndarray__": [0] * 3000, "dtype": "(16000,16000)f8", "shape": [3000]},
               "prefix": "", "suffix": ""}}}]
    path = tmp_path / "bomb.json"
    path.write_text(json.dumps(envelope))
    before, start = _peak_mb(), time.perf_counter()
    _refused(path, tmp_path, r"dtype '\(16000,16000\)f8' is not one nmlhub writes")
    assert time.perf_counter() - start < 5 and _peak_mb() - before < 200
    envelope["data"]["root"]["children"][0]["columns"]["id"]["int"] = {"__ndarray__": [0, 1], "dtype": "i8",
                                                                       "shape": [4000000, 4000000]}
    path.write_text(json.dumps(envelope))
    _refused(path, tmp_path, "does not hold its 2 values")


def _matlab_with(path: Path, data: dict) -> Path:
    import scipy.io

    scipy.io.savemat(path, {"nmlhub": plain._to_mat({"kind": "model", "version": 1}), "data": data},
                     long_field_names=True, do_compression=True)
    return path


def test_matlab_array_dtype_and_shape_are_checked(tmp_path):
    array = plain._to_mat(np.arange(3.0))
    array["nmlhub_dtype"] = "(16000,16000)f8"
    _refused(_matlab_with(tmp_path / "dtype.mat", {"root": plain._to_mat({"tag": "neuroml", "x": 1}),
                                                   "extra": array}),
             tmp_path, "not one nmlhub writes")
    array = plain._to_mat(np.arange(3.0))
    array["nmlhub_shape"] = np.array([[40000, 40000]], dtype=np.int64)
    _refused(_matlab_with(tmp_path / "shape.mat", {"root": plain._to_mat({"tag": "neuroml"}), "extra": array}),
             tmp_path, "does not hold its 3 values")


def test_matlab_compressed_bomb_is_refused_before_reading(tmp_path):
    """A small MATLAB file whose compressed element inflates to 300 MB of zeros is refused while
    counting the inflated bytes (nothing kept), before scipy allocates them."""
    packer = zlib.compressobj(9)
    block = bytes(1 << 20)
    stream = b"".join(packer.compress(block) for _ in range(300)) + packer.flush()
    header = b"MATLAB 5.0 MAT-file".ljust(116) + bytes(8) + struct.pack("<H", 0x0100) + b"IM"
    path = tmp_path / "bomb.mat"
    path.write_bytes(header + struct.pack("<II", 15, len(stream)) + stream)
    assert path.stat().st_size < 400_000
    before, start = _peak_mb(), time.perf_counter()
    _refused(path, tmp_path, "expands to more than")
    assert time.perf_counter() - start < 20 and _peak_mb() - before < 200


def test_models_of_plain_formats_include_only_files_beside_them(tmp_path):
    """nmlhub.load of a JSON model follows includes beside or below it, and refuses one that leads
    out of its folder (or is absolute), naming it, before reading anything."""
    secret = tmp_path / "secret.nml"
    secret.write_text(f'<neuroml xmlns="{NS}" id="secret"><pulseGenerator id="p" delay="0ms" duration="1ms" '
                      'amplitude="1nA"/></neuroml>')
    folder = tmp_path / "model"
    (folder / "cells").mkdir(parents=True)
    (folder / "cells" / "c.nml").write_text(secret.read_text().replace('"secret"', '"c"').replace('"p"', '"q"'))
    good = _write_json(folder / "good.json", _model([{"tag": "include", "attrs": {"href": "cells/c.nml"},
                                                      "children": []}]))
    assert "q" in nmlhub.load(good).components
    for href in ("../secret.nml", str(secret), "cells/../../secret.nml"):
        bad = _write_json(folder / "bad.json", _model([{"tag": "include", "attrs": {"href": href}, "children": []}]))
        with pytest.raises(ConversionError, match="outside the folder") as info:
            nmlhub.load(bad)
        assert "bad.json" in str(info.value) and href in str(info.value)


def test_legitimate_files_still_read(tmp_path):
    """The checks leave nmlhub's own files alone: a network through every plain format."""
    source = Path("nml_examples/izh_network/izh_network.net.nml")
    for ext in ("json", "pkl", "mat"):
        save(source, tmp_path / f"m.{ext}")
        save(load(tmp_path / f"m.{ext}"), tmp_path / f"back_{ext}.nml")
        assert (tmp_path / f"back_{ext}.nml").read_bytes() == (tmp_path / "back_json.nml").read_bytes()


# ---------------------------------------------------------------- nmlhub convert runs the model checker

_HEADER = f'<neuroml xmlns="{NS}" id="t">\n'
_COMPONENTS = ('<expOneSynapse id="syn" gbase="1nS" erev="0mV" tauDecay="2ms"/>\n'
               '<iafCell id="iaf" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>\n'
               '<pulseGenerator id="pg" delay="10ms" duration="10ms" amplitude="0.1nA"/>\n')
_POPULATION = '<population id="p" component="iaf" size="3"/>\n'
_PROJECTION = '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="syn">\n'
_BROKEN = {
    "unknown_population": ('<inputList id="il" population="q" component="pg">\n'
                           '<input id="0" target="../q[0]" destination="synapses"/>\n</inputList>\n',
                           7, "inputList il: population 'q' is not in network net"),
    "nan_weight": (_PROJECTION + '<connectionWD id="0" preCellId="../p[0]" postCellId="../p[1]" weight="NaN" '
                   'delay="1ms"/>\n</projection>\n', 7, "projection pr connection 0: weight nan is not a finite number"),
    "cell_out_of_range": (_PROJECTION + '<connection id="0" preCellId="../p[0]" postCellId="../p[7]"/>\n'
                          '</projection>\n', 7, "projection pr connection 0: cell index out of range"),
}


def _broken_model(folder: Path, case: str) -> Path:
    path = folder / f"{case}.nml"
    path.write_text(_HEADER + _COMPONENTS + '<network id="net">\n' + _POPULATION + _BROKEN[case][0]
                    + "</network>\n</neuroml>\n")
    return path


@pytest.mark.parametrize("case", sorted(_BROKEN))
@pytest.mark.parametrize("source_ext", ["nml", "json"])
def test_convert_refuses_what_validate_refuses(tmp_path, capsys, case, source_ext):
    """`nmlhub convert` of a model with an error `validate` reports exits 1 with validate's first
    message (file:line: element: message), writes nothing, and converts it with --no-check."""
    from nmlhub.cli import main
    from nmlhub.model.validate import validate

    source = _broken_model(tmp_path, case)
    written = source
    if source_ext == "json":
        source = tmp_path / f"{case}.json"
        save(written, source)  # the API's save does not check
        written = tmp_path / "written.nml"  # the XML convert writes: its lines are the ones a message names
        assert main(["convert", str(source), str(written), "--no-check"]) == 0
    expected = [str(p) for p in validate(written) if p.severity == "error"]
    _, line, fragment = _BROKEN[case]
    message = next(e for e in expected if fragment in e).removeprefix(f"{written}:")  # line: element: message
    target = tmp_path / "out.nml.h5"
    capsys.readouterr()
    assert main(["convert", str(source), str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"nmlhub: error: {source}:{message}"), (err, expected)
    assert message.startswith(f"{line + (source_ext == 'json')}: ")  # the XML convert writes has a declaration
    assert not target.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith((".", "out"))]
    assert main(["convert", str(source), str(target), "--no-check"]) == 0
    assert target.is_file()


def test_convert_checks_only_models(tmp_path, capsys):
    """A valid model converts as before; results are not models and are not checked."""
    from nmlhub.cli import main

    source = tmp_path / "ok.nml"
    source.write_text(_HEADER + _COMPONENTS + '<network id="net">\n' + _POPULATION + "</network>\n</neuroml>\n")
    assert main(["convert", str(source), str(tmp_path / "ok.json")]) == 0
    assert main(["convert", str(tmp_path / "ok.json"), str(tmp_path / "again.nml")]) == 0
    assert main(["convert", str(source), str(tmp_path / "direct.nml")]) == 0
    assert (tmp_path / "again.nml").read_bytes() == (tmp_path / "direct.nml").read_bytes()
