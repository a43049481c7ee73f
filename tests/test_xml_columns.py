"""Large connection and input lists of XML networks read as tables (nmlhub/model/xml_columns.py):
the same connections, weights, delays and inputs as libNeuroML's objects, and the same run."""

from __future__ import annotations

import numpy as np
import pytest

import nmlhub
from nmlhub.model import load, xml_columns
from nmlhub.model.columns import input_part, projection_part

from conftest import EXAMPLES

N_CELLS = 40


@pytest.fixture(params=["parsed", "streamed"])
def reading(request, monkeypatch) -> str:
    """Tables taken from the parsed tree, or while lxml streams the file (as for large files)."""
    monkeypatch.setattr(xml_columns, "STREAM_BYTES", 0 if request.param == "streamed" else 10**15)
    return request.param


def _network(rng: np.random.Generator, rows: int) -> str:
    def connection_wd(k: int) -> str:
        unit, scale = ("ms", 1.0) if k % 3 else ("s", 0.001)
        return (f'<connectionWD id="{k}" preCellId="../A/{rng.integers(N_CELLS)}/cell" '
                f'postCellId="../B/{rng.integers(N_CELLS)}/cell" preSegmentId="{rng.integers(3)}" '
                f'preFractionAlong="{rng.uniform():.6f}" postSegmentId="{rng.integers(3)}" '
                f'postFractionAlong="{rng.uniform():.6f}" weight="{rng.uniform(0, 2):.6f}" '
                f'delay="{rng.uniform(1, 5) * scale:.6g}{unit}"/>')

    plain = "".join(f'<connection id="{k}" preCellId="../B/{k % N_CELLS}/cell" postCellId="../A/{(3 * k) % N_CELLS}/cell"/>'
                    for k in range(rows))
    # rows naming another population than the projection's: left to libNeuroML as written
    misnamed = "".join(f'<connection id="{k}" preCellId="../B/{k % N_CELLS}/cell" postCellId="../B/{k % N_CELLS}/cell"/>'
                       for k in range(rows))
    inputs = "".join(f'<inputW id="{k}" target="../A/{k % N_CELLS}/cell" destination="synapses" '
                     f'segmentId="{k % 2}" fractionAlong="{rng.uniform():.4f}" weight="{rng.uniform(0, 3):.5f}"/>'
                     for k in range(rows))
    return f"""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="doc">
  <izhikevich2007Cell id="cell" C="100pF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" vpeak="35mV"
      a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>
  <expTwoSynapse id="syn" gbase="1nS" erev="0mV" tauRise="0.5ms" tauDecay="5ms"/>
  <pulseGenerator id="drive" delay="10ms" duration="50ms" amplitude="100pA"/>
  <network id="net">
    <population id="A" component="cell" size="{N_CELLS}"/>
    <population id="B" component="cell" size="{N_CELLS}"/>
    <projection id="AB" presynapticPopulation="A" postsynapticPopulation="B" synapse="syn">
      {"".join(connection_wd(k) for k in range(rows))}
    </projection>
    <projection id="BA" presynapticPopulation="B" postsynapticPopulation="A" synapse="syn">{plain}</projection>
    <projection id="misnamed" presynapticPopulation="B" postsynapticPopulation="A" synapse="syn">{misnamed}</projection>
    <inputList id="drive_A" population="A" component="drive">{inputs}</inputList>
  </network>
</neuroml>"""


def test_tables_equal_libneuroml_objects(tmp_path, reading):
    path = tmp_path / "net.nml"
    path.write_text(_network(np.random.default_rng(3), 2 * xml_columns.MIN_ROWS + 7))
    tables = load(path).network()
    objects = load(path, keep_trees=True).network()  # nmlhub validate's load keeps every row as an object
    kinds = {p.id: type(p.connections).__name__ for p in tables.projections}
    assert kinds == {"AB": "ConnectionList", "BA": "ConnectionList", "misnamed": "list"}
    assert type(tables.input_lists[0].input).__name__ == "InputsList"
    units = load(path).units
    for fast, slow in zip(tables.projections, objects.projections):
        (fc, fw, fd), (sc, sw, sd) = projection_part(fast, units), projection_part(slow, units)
        for name in ("pre_cell", "post_cell", "pre_segment", "post_segment"):
            assert np.array_equal(getattr(fc, name), getattr(sc, name)), name
        assert np.allclose(fc.fractions(), sc.fractions(), rtol=0, atol=1e-12)
        assert np.allclose(fw, sw, rtol=1e-12) and np.allclose(fd, sd, rtol=1e-12)
    (fi, fw), (si, sw) = input_part(tables.input_lists[0]), input_part(objects.input_lists[0])
    assert np.array_equal(fi.target_cell, si.target_cell) and np.array_equal(fi.segment, si.segment)
    assert np.allclose(fi.fraction, si.fraction) and np.allclose(fw, sw)


def test_a_network_read_as_tables_runs_like_its_objects(monkeypatch, reading):
    lems = EXAMPLES / "izh_network" / "LEMS_izh_network.xml"
    as_objects = nmlhub.simulate(lems)
    monkeypatch.setattr(xml_columns, "MIN_ROWS", 1)
    model = load(lems)
    assert all(type(p.connections).__name__ == "ConnectionList" for p in model.network().projections)
    as_tables = nmlhub.simulate(model)
    assert {k: v.tolist() for k, v in as_tables.spikes.items()} == {k: v.tolist() for k, v in as_objects.spikes.items()}
    assert sum(len(v) for v in as_objects.spikes.values()) > 100


@pytest.mark.parametrize("bad", ['delay="3 furlongs"', 'weight="heavy"'])
@pytest.mark.parametrize("row", [0, "last"])
def test_a_bad_value_is_met_as_libneuroml_meets_it(tmp_path, monkeypatch, reading, bad, row):
    """A row with a value that is not a plain number leaves its list to libNeuroML, so the error
    (or the object read) is what it was without tables; streamed, also when earlier blocks of the
    list had already become a table."""
    rows = 2 * xml_columns.MIN_ROWS + 7
    text = _network(np.random.default_rng(4), rows)
    name = bad.split("=")[0]
    where = text.index("<connectionWD") if row == 0 else text.rindex("<connectionWD")
    start = text.index(f' {name}="', where)
    end = text.index('"', start + len(name) + 3) + 1
    path = tmp_path / "net.nml"
    path.write_text(text[:start] + " " + bad + text[end:])

    def outcome() -> str:
        try:
            projection = next(p for p in load(path).network().projections if p.id == "AB")
        except nmlhub.ModelError as exc:
            return f"error: {exc}"
        return f"{type(projection.connection_wds).__name__} of {len(projection.connection_wds)}"

    with_tables = outcome()
    monkeypatch.setattr(xml_columns, "MIN_ROWS", 10**9)
    assert with_tables == outcome()
    assert with_tables.startswith("error: ") or with_tables == f"list of {rows}"


def test_a_streamed_file_with_a_doctype_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xml_columns, "STREAM_BYTES", 0)
    text = _network(np.random.default_rng(5), 10)
    path = tmp_path / "net.nml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE neuroml [<!ENTITY big "x">]>\n' + text)
    with pytest.raises(nmlhub.XmlSecurityError, match="DOCTYPE"):
        load(path)


def test_streaming_drops_the_rows_from_the_tree(tmp_path):
    path = tmp_path / "net.nml"
    path.write_text(_network(np.random.default_rng(6), 2 * xml_columns.MIN_ROWS + 7))
    units = load(path).units
    tree, tables = xml_columns.parse_streaming(path, 10**9, units)
    assert not any(e.tag.endswith(("connectionWD", "inputW")) for e in tree.iter() if isinstance(e.tag, str))
    (network_tables,) = tables.values()
    assert sorted((t.kind, t.element_id, len(t.array)) for t in network_tables) == [
        ("inputList", "drive_A", 2 * xml_columns.MIN_ROWS + 7), ("projection", "AB", 2 * xml_columns.MIN_ROWS + 7),
        ("projection", "BA", 2 * xml_columns.MIN_ROWS + 7)]


def test_a_truncated_streamed_file_names_the_problem(tmp_path, monkeypatch):
    monkeypatch.setattr(xml_columns, "STREAM_BYTES", 0)
    text = _network(np.random.default_rng(7), xml_columns.MIN_ROWS)
    path = tmp_path / "net.nml"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(nmlhub.ModelError, match="truncated|not well-formed"):
        load(path)
