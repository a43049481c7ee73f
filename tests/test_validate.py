"""`nmlhub validate`: schema and semantic checks, reported as file:line: element: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLES, example_files
from nmlhub.cli import main
from nmlhub.model.validate import is_valid, validate

HEADER = '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="t">\n'
CELL = ('<expOneSynapse id="syn" gbase="1nS" erev="0mV" tauDecay="2ms"/>\n'
        '<iafCell id="iaf" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>\n'
        '<pulseGenerator id="pg" delay="10ms" duration="10ms" amplitude="0.1nA"/>\n')


def model(tmp_path: Path, network: str, extra: str = CELL) -> Path:
    path = tmp_path / "m.nml"
    path.write_text(HEADER + extra + '<network id="net">\n' + network + "</network>\n</neuroml>\n")
    return path


def errors(path: Path) -> list[str]:
    return [str(p) for p in validate(path) if p.severity == "error"]


def test_a_consistent_model_is_valid(tmp_path):
    path = model(tmp_path, '<population id="p" component="iaf" size="3"/>\n'
                           '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="syn">\n'
                           '<connection id="0" preCellId="../p[0]" postCellId="../p[2]"/>\n</projection>\n'
                           '<inputList id="il" population="p" component="pg">\n'
                           '<input id="0" target="../p[1]" destination="synapses"/>\n</inputList>\n')
    assert errors(path) == []


@pytest.mark.parametrize(
    "network, line, fragment",
    [
        ('<population id="p" component="ghost" size="3"/>\n', 6, "population p: component 'ghost' is not defined"),
        ('<population id="p" component="iaf" size="3"/>\n'
         '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="q" synapse="syn"/>\n',
         7, "projection pr: postsynaptic population 'q' is not in network net"),
        ('<population id="p" component="iaf" size="3"/>\n'
         '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="nosyn">\n'
         '<connection id="0" preCellId="../p[0]" postCellId="../p[1]"/>\n</projection>\n',
         7, "projection pr: synapse 'nosyn' is not defined"),
        ('<population id="p" component="iaf" size="3"/>\n'
         '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="syn">\n'
         '<connection id="0" preCellId="../p[0]" postCellId="../p[7]"/>\n</projection>\n',
         7, "projection pr connection 0: cell index out of range"),
        ('<population id="p" component="iaf" size="3"/>\n'
         '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="syn">\n'
         '<connection id="0" preCellId="../p[0]" postCellId="../p[1]" postSegmentId="4"/>\n</projection>\n',
         7, "post segment 4 does not exist in cell 'iaf'"),
        ('<population id="p" component="iaf" size="3"/>\n'
         '<inputList id="il" population="p" component="pg">\n'
         '<input id="0" target="../p[5]" destination="synapses"/>\n</inputList>\n',
         7, "inputList il input 0: target cell 5 is not in p"),
        ('<population id="p" component="iaf" size="3"/>\n'
         '<inputList id="il" population="p" component="nopg">\n</inputList>\n',
         7, "input component 'nopg' is not defined"),
    ],
)
def test_dangling_references(tmp_path, network, line, fragment):
    path = model(tmp_path, network)
    found = errors(path)
    assert any(fragment in e for e in found), found
    assert any(e.startswith(f"{path}:{line}: ") for e in found if fragment in e), found


def test_segment_ids_of_a_morphology(tmp_path):
    cell = ('<cell id="mc"><morphology id="m">'
            '<segment id="0" name="soma"><proximal x="0" y="0" z="0" diameter="10"/><distal x="10" y="0" z="0" diameter="10"/></segment>'
            '<segment id="1" name="dend"><parent segment="0"/><distal x="110" y="0" z="0" diameter="2"/></segment>'
            '</morphology></cell>\n' + CELL)
    cell = CELL.split("\n", 1)[0] + "\n" + cell.replace(CELL.split("\n", 1)[0] + "\n", "")
    ok = model(tmp_path, '<population id="p" component="mc" size="2"/>\n'
                         '<projection id="pr" presynapticPopulation="p" postsynapticPopulation="p" synapse="syn">\n'
                         '<connection id="0" preCellId="../p[0]" postCellId="../p[1]" postSegmentId="1"/>\n'
                         '<connection id="1" preCellId="../p[0]" postCellId="../p[1]" postSegmentId="2"/>\n'
                         '</projection>\n', extra=cell)
    found = errors(ok)
    assert len(found) == 1 and "connection 1: post segment 2 does not exist in cell 'mc'" in found[0]


def test_schema_errors_have_lines(tmp_path):
    path = tmp_path / "s.nml"
    path.write_text(HEADER + '<iafCell id="x" thresh="-50mV"/>\n</neuroml>\n')
    found = errors(path)
    assert found and all(e.startswith(f"{path}:2: schema:") for e in found)


def test_simulation_target_and_recorded_cells(tmp_path):
    model(tmp_path, '<population id="p" component="iaf" size="2"/>\n')
    lems = tmp_path / "LEMS_t.xml"
    lems.write_text('<Lems>\n<Include file="m.nml"/>\n<Simulation id="s" length="10ms" step="0.1ms" target="net">\n'
                    '<OutputFile id="o" fileName="v.dat"><OutputColumn id="c" quantity="p/4/iaf/v"/></OutputFile>\n'
                    '</Simulation>\n<Simulation id="s2" length="10ms" step="0.1ms" target="nonet"/>\n</Lems>\n')
    found = errors(lems)
    assert any("output column 'p/4/iaf/v' refers to cell 4" in e for e in found)
    assert any(e.startswith(f"{lems}:6: Simulation s2: target 'nonet'") for e in found)


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_bundled_examples_are_valid(path):
    problems = validate(path)
    assert is_valid(problems), [str(p) for p in problems]


def test_cli_exit_codes(tmp_path, capsys):
    good = EXAMPLES / "izh_network/LEMS_izh_network.xml"
    assert main(["validate", str(good)]) == 0
    bad = model(tmp_path, '<population id="p" component="ghost" size="3"/>\n')
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:6: population p: component 'ghost' is not defined in the model" in out
    assert main(["validate", str(tmp_path / "missing.nml")]) == 2


def test_wrong_dimensions_name_element_and_attribute(tmp_path):
    path = tmp_path / "u.nml"
    path.write_text(
        HEADER
        + '<ionChannelHH id="na" conductance="10pS" species="na">\n'
          '<gateHHrates id="m" instances="3">\n'
          '<forwardRate type="HHExpLinearRate" rate="1mV" midpoint="-40mV" scale="10mV"/>\n'
          '<reverseRate type="HHExpRate" rate="4per_ms" midpoint="-65mV" scale="-18mV"/>\n'
          '</gateHHrates>\n</ionChannelHH>\n'
          '<pulseGenerator id="pg" delay="10ms" duration="10 furlongs" amplitude="10mV"/>\n</neuroml>\n'
    )
    found = errors(path)
    assert f"{path}:4: <forwardRate id=''> attribute rate: '1mV' has dimension voltage, expected per_time" in found
    assert f"{path}:8: <pulseGenerator id='pg'> attribute amplitude: '10mV' has dimension voltage, expected current" in found
    assert any(e.startswith(f"{path}:8: <pulseGenerator id='pg'> attribute duration: unknown unit 'furlongs'") for e in found)


def test_user_component_type_dimensions(tmp_path):
    path = tmp_path / "LEMS_u.xml"
    path.write_text('<Lems>\n<ComponentType name="myRate"><Parameter name="k" dimension="per_time"/></ComponentType>\n'
                    '<myRate id="r1" k="3per_s"/>\n<myRate id="r2" k="3 mV"/>\n</Lems>\n')
    found = errors(path)
    assert found == [f"{path}:4: <myRate id='r2'> attribute k: '3 mV' has dimension voltage, expected per_time"]


def test_a_component_of_a_type_defined_nowhere_is_an_error(tmp_path, capsys):
    """A LEMS component whose type neither the files nor the core types define (jLEMS refuses the
    file; OSB's MorrisLecarModel writes one) makes the model invalid, at its line: it was a
    warning ("nmlhub run cannot run this model") and the file was called valid."""
    path = tmp_path / "LEMS_undefined.xml"
    path.write_text('<Lems>\n<Target component="sim"/>\n<Include file="Cells.xml"/>\n<Include file="Networks.xml"/>\n'
                    '<Include file="Simulation.xml"/>\n<morrisLecarLikeCell id="ml1" C="1nF"/>\n'
                    '<network id="net"><population id="pop" component="ml1" size="1"/></network>\n'
                    '<Simulation id="sim" length="10ms" step="0.01ms" target="net"/>\n</Lems>\n')
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:6: <morrisLecarLikeCell id='ml1'>: not supported: type 'morrisLecarLikeCell' is defined by no" in out
    assert "INVALID (1 errors, 0 warnings)" in out
