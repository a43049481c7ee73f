"""What jLEMS refuses or runs otherwise, which nmlhub runs: `validate` and `run` say so (issue 16).

Each claim about jLEMS is asked of jLEMS (``jnml FILE -nogui``) where ``jnml`` is beside this
Python; what it printed is kept in tests/data/validate/jlems_said.txt (make_jlems_outputs.py).
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nmlhub.model.validate import is_valid, validate

DATA = Path(__file__).parent / "data" / "validate"
JNML = Path(sys.executable).parent / "jnml"
WITHOUT_ATTACHMENTS = DATA / "LEMS_extends_without_attachments.xml"
INCLUDE = DATA / "LEMS_include_attribute.xml"
ATTACHMENTS = '<Attachments name="synapses" type="basePointCurrent"/>'


def jlems(folder: Path, path: Path) -> str:
    """What jLEMS prints running ``path`` (copied into ``folder``)."""
    if not JNML.is_file():
        pytest.skip("no jnml beside this Python")
    if path.parent != folder:
        shutil.copy(path, folder / path.name)
    run = subprocess.run([str(JNML), path.name, "-nogui"], cwd=folder, capture_output=True, text=True, timeout=300)
    return run.stdout + run.stderr


def said(name: str) -> str:
    return next(line for line in (DATA / "jlems_said.txt").read_text().splitlines()
                if line.split(":")[0].split(" ")[0] == name)


def line_of(path: Path, text: str) -> int:
    return next(k for k, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def warnings_of(path: Path, fragment: str) -> list[str]:
    return [str(p) for p in validate(path) if p.severity == "warning" and fragment in p.message]


# -- a type that does not declare its base type's Attachments ------------------------------------

def test_a_type_without_attachments_of_its_own_is_warned_at_its_definition():
    problems = validate(WITHOUT_ATTACHMENTS)
    assert is_valid(problems), [str(p) for p in problems]
    line = line_of(WITHOUT_ATTACHMENTS, '<ComponentType name="myIaf"')
    assert warnings_of(WITHOUT_ATTACHMENTS, "Attachments") == [
        f"{WITHOUT_ATTACHMENTS}:{line}: ComponentType myIaf: warning: jLEMS refuses this file: projection pr "
        f"attaches to population p of cell 'cell', and ComponentType myIaf declares no <Attachments> itself "
        f"('No attachments list in cell[myIaf]'); jLEMS does not inherit those of iafCell, which nmlhub uses "
        f"(declare {ATTACHMENTS} in myIaf for jLEMS)"]


def test_jlems_refuses_a_type_without_attachments_of_its_own(tmp_path):
    assert "No attachments list in cell[myIaf]" in said(WITHOUT_ATTACHMENTS.name)
    assert "ConnectionError: No attachments list in cell[myIaf]" in jlems(tmp_path, WITHOUT_ATTACHMENTS)


@pytest.mark.parametrize("keep", ["explicitInput", "projection", "electricalProjection", "nothing"])
def test_whatever_attaches_is_named_and_nothing_attached_is_not_warned(tmp_path, keep):
    """jLEMS refuses an input, a synapse or a gap junction alike (asked for the gap junction: the
    first two are the file above), and runs the file when nothing is attached."""
    text = WITHOUT_ATTACHMENTS.read_text()
    network = text[text.index("<network"):text.index("</network>")]
    kept = {"explicitInput": '<explicitInput target="p[0]" input="pg"/>',
            "projection": network[network.index("<projection"):network.index("</projection>") + 13],
            "electricalProjection": '<electricalProjection id="ep" presynapticPopulation="p" postsynapticPopulation="p">'
                                    '<electricalConnection id="0" preCell="0" postCell="1" synapse="gj"/>'
                                    '</electricalProjection>',
            "nothing": ""}[keep]
    body = '<network id="net">\n<population id="p" component="cell" size="2"/>\n' + kept + "\n"
    text = text.replace(network, body).replace('<network id="net">', '<gapJunction id="gj" conductance="1nS"/>\n'
                                              '<network id="net">', 1)
    path = tmp_path / "LEMS_variant.xml"
    path.write_text(text)
    found = warnings_of(path, "No attachments list")
    if keep == "nothing":
        assert found == []
    else:
        assert len(found) == 1 and f"{keep} " in found[0], found
    if keep == "electricalProjection":
        assert "No attachments list in cell[myIaf]" in jlems(tmp_path, path)


def test_declaring_the_attachments_silences_the_warning_and_jlems_runs_it(tmp_path):
    path = tmp_path / "LEMS_declared.xml"
    path.write_text(WITHOUT_ATTACHMENTS.read_text().replace(
        '<Parameter name="label" dimension="none"/>', f'<Parameter name="label" dimension="none"/>{ATTACHMENTS}'))
    assert warnings_of(path, "Attachments") == []
    assert "Finished reading, building, running" in jlems(tmp_path, path)


def test_a_type_whose_chain_declares_no_attachments(tmp_path):
    """No type of the chain declares Attachments: jLEMS refuses it the same way."""
    path = tmp_path / "LEMS_none.xml"
    path.write_text(WITHOUT_ATTACHMENTS.read_text().replace(
        '<ComponentType name="myIaf" extends="iafCell" description="iafCell with a label">\n'
        '        <Parameter name="label" dimension="none"/>',
        '<ComponentType name="myIaf" extends="baseCellMembPot">\n'
        '        <Parameter name="label" dimension="none"/><Parameter name="leakReversal" dimension="voltage"/>'
        '<Parameter name="thresh" dimension="voltage"/><Parameter name="reset" dimension="voltage"/>'
        '<Parameter name="C" dimension="capacitance"/><Parameter name="leakConductance" dimension="conductance"/>'
        '<Dynamics><StateVariable name="v" dimension="voltage" exposure="v"/>'
        '<TimeDerivative variable="v" value="leakConductance * (leakReversal - v) / C"/>'
        '<OnStart><StateAssignment variable="v" value="leakReversal"/></OnStart>'
        '<OnCondition test="v .gt. thresh"><StateAssignment variable="v" value="reset"/><EventOut port="spike"/>'
        '</OnCondition></Dynamics>'))
    found = warnings_of(path, "No attachments list")
    assert len(found) == 1 and "nmlhub runs it, adding what is attached to the cell's v through NEURON" in found[0]
    assert "No attachments list in cell[myIaf]" in jlems(tmp_path, path)


def test_run_warns_of_a_type_without_attachments_of_its_own(caplog, tmp_path):
    import nmlhub

    shutil.copy(WITHOUT_ATTACHMENTS, tmp_path)
    with caplog.at_level(logging.WARNING):
        nmlhub.simulate(str(tmp_path / WITHOUT_ATTACHMENTS.name))
    assert sum("No attachments list in cell[myIaf]" in r.getMessage() for r in caplog.records) == 1


# -- a type without Dynamics of its own ----------------------------------------------------------

def test_a_type_without_dynamics_runs_its_base_types_dynamics_as_jlems_does(tmp_path):
    """jLEMS runs iafCell's whole Dynamics for a type extending it without Dynamics (two levels
    too): its OnStart and its reset and spike. nmlhub kept only the variables (pylems does not
    merge a base type's event handlers): v started at 0 and never spiked."""
    from nmlhub.cli import main

    shutil.copy(DATA / "LEMS_extends_without_dynamics.xml", tmp_path)
    assert main(["run", str(tmp_path / "LEMS_extends_without_dynamics.xml")]) == 0
    ours = np.loadtxt(tmp_path / "extends_without_dynamics.dat")
    reference = np.loadtxt(DATA / "extends_without_dynamics.dat")
    assert ours.shape == reference.shape
    for k in (1, 2):
        assert np.sum(np.diff(reference[:, k]) < -0.01) >= 2  # the reference spikes (resets)
        np.testing.assert_allclose(ours[:, k], reference[:, k], atol=1e-6)


# -- an attribute LEMS does not define on <Include> ----------------------------------------------

def test_an_include_with_another_attribute_is_warned():
    line = line_of(INCLUDE, 'hrf="Networks.xml"')
    problems = validate(INCLUDE)
    assert is_valid(problems), [str(p) for p in problems]
    assert warnings_of(INCLUDE, "Include") == [
        f"{INCLUDE}:{line}: <Include>: warning: jLEMS refuses this file: it reads the attributes of <Include> as one "
        f"path ('Networks.xmlhrf=Networks.xml') and finds no such file; nmlhub includes 'Networks.xml' and "
        f"ignores 'hrf' (write only file=...)"]


def test_jlems_refuses_an_include_with_another_attribute(tmp_path):
    expected = "Can't find file at path: Networks.xmlhrf=Networks.xml"
    assert expected in said(INCLUDE.name)
    assert expected in jlems(tmp_path, INCLUDE)
    path = tmp_path / "LEMS_first.xml"  # the other order: jLEMS reads 'xfile=Networks.xml'
    path.write_text(INCLUDE.read_text().replace('file="Networks.xml" hrf="Networks.xml"', 'hrf="x" file="Networks.xml"'))
    assert "('xfile=Networks.xml')" in warnings_of(path, "Include")[0]
    assert "Can't find file at path: xfile=Networks.xml" in jlems(tmp_path, path)


def test_an_include_by_href_alone_is_read_by_both(tmp_path):
    path = tmp_path / "LEMS_href.xml"
    path.write_text(INCLUDE.read_text().replace('file="Networks.xml" hrf="Networks.xml"', 'href="Networks.xml"'))
    assert warnings_of(path, "Include") == []
    assert "Finished reading, building, running" in jlems(tmp_path, path)


def _neuroml_include(tmp_path: Path) -> Path:
    (tmp_path / "cells.nml").write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="c">\n'
                                        '<iafCell id="iaf" leakReversal="-40mV" thresh="-50mV" reset="-70mV" '
                                        'C="1nF" leakConductance="20nS"/>\n</neuroml>\n')
    (tmp_path / "net.nml").write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="n">\n'
                                      '<include href="cells.nml" foo="1"/>\n<network id="net">'
                                      '<population id="p" component="iaf" size="1"/></network>\n</neuroml>\n')
    path = tmp_path / "LEMS_nml.xml"
    path.write_text('<Lems>\n<Target component="sim"/>\n<Include file="Cells.xml"/>\n<Include file="Networks.xml"/>\n'
                    '<Include file="Simulation.xml"/>\n<Include file="net.nml"/>\n'
                    '<Simulation id="sim" length="10ms" step="0.05ms" target="net"/>\n</Lems>\n')
    return path


def test_a_neuroml_include_with_another_attribute_is_a_schema_error(tmp_path):
    """NeuroML's <include href=...> with another attribute: the schema refuses it (validate's error,
    not repeated as a warning), and so does jLEMS (it reads 'cells.nmlfoo=1')."""
    path = _neuroml_include(tmp_path)
    assert [str(p) for p in validate(path) if "cells.nmlfoo" in p.message] == []
    errors = [str(p) for p in validate(path) if p.severity == "error"]
    assert errors == [f"{tmp_path / 'net.nml'}:2: schema: Element 'include', attribute 'foo': The attribute 'foo' "
                      f"is not allowed."]
    assert "Can't find file at path: cells.nmlfoo=1" in jlems(tmp_path, path)


def test_run_warns_of_a_neuroml_include_with_another_attribute(caplog, tmp_path):
    """run, which does not apply the schema, ran it without a word; now it warns, once, at the line."""
    import nmlhub

    path = _neuroml_include(tmp_path)
    with caplog.at_level(logging.WARNING):
        nmlhub.simulate(str(path))
    said = [r.getMessage() for r in caplog.records if "as one path" in r.getMessage()]
    assert said == [f"{tmp_path / 'net.nml'}:2: <include>: warning: jLEMS refuses this file: it reads the attributes "
                    f"of <include> as one path ('cells.nmlfoo=1') and finds no such file; nmlhub includes "
                    f"'cells.nml' and ignores 'foo' (write only href=...)"]


def test_run_warns_of_an_include_with_another_attribute(caplog, tmp_path):
    import nmlhub

    shutil.copy(INCLUDE, tmp_path)
    with caplog.at_level(logging.WARNING):
        nmlhub.simulate(str(tmp_path / INCLUDE.name))
    assert sum("reads the attributes of <Include> as one path" in r.getMessage() for r in caplog.records) == 1


# -- dynamics jLEMS cannot read: event ports, assignments to derived variables, '>' ----------------

def _script():
    spec = importlib.util.spec_from_file_location("make_jlems_outputs", DATA / "make_jlems_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
VARIANTS = SCRIPT.VARIANTS
EXPECTED = {  # what validate says, and what jLEMS said (jlems_said.txt)
    "onevent_out_port": ("<OnEvent port='spike'> names an EventPort of direction 'out' (jLEMS needs direction "
                         "'in'); nmlhub runs it on every event the cell receives", "this.eventPort\" is null"),
    "onevent_no_port": ("<OnEvent port='nope'> names no EventPort of the type", "this.eventPort\" is null"),
    "eventout_in_port": ("<EventOut port='in'> names an EventPort of direction 'in' (jLEMS needs direction 'out'); "
                         "nmlhub sends the event out all the same", "this.r_eventPort\" is null"),
    "eventout_no_port": ("<EventOut port='nope'> names no EventPort of the type", "this.r_eventPort\" is null"),
    "assign_derived": ("<StateAssignment variable='drive'> assigns a variable that is not a StateVariable",
                       "Can't find state variable drive"),
    "symbol_comparison": ("condition 'v > th' compares with '>', which jLEMS cannot parse (write '.gt.')",
                          "ParseError:  too many children left in container"),
}


def test_the_base_of_the_dynamics_variants_is_run_by_jlems_and_not_warned(tmp_path):
    base = DATA / "LEMS_dynamics_base.xml"
    assert [str(p) for p in validate(base) if p.severity != "info"] == []
    assert "Finished reading, building, running" in said(base.name)
    assert set(VARIANTS) == set(EXPECTED) | {"requirement_unprovided"}


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_dynamics_jlems_refuses_are_warned_at_their_line(tmp_path, variant):
    path = tmp_path / f"LEMS_dynamics_{variant}.xml"
    path.write_text(SCRIPT.variant_text(variant))
    message, jlems_message = EXPECTED[variant]
    line = line_of(path, VARIANTS[variant][0][1])
    found = warnings_of(path, "jLEMS refuses this file")
    assert len(found) == 1 and message in found[0] and found[0].startswith(f"{path}:{line}: <"), found
    assert found[0].endswith("(in type leaky)")
    assert is_valid(validate(path))
    assert jlems_message in said(path.name)
    if variant in ("onevent_out_port", "assign_derived"):  # jLEMS asked again for two of them
        assert jlems_message in jlems(tmp_path, path)


def test_run_warns_of_dynamics_jlems_refuses(caplog, tmp_path):
    import nmlhub

    path = tmp_path / "LEMS_dynamics_symbol_comparison.xml"
    path.write_text(SCRIPT.variant_text("symbol_comparison"))
    with caplog.at_level(logging.WARNING):
        nmlhub.simulate(str(path))
    assert sum("which jLEMS cannot parse" in r.getMessage() for r in caplog.records) == 1


def test_a_cell_requirement_nothing_provides_is_refused_in_one_line(tmp_path):
    """A population's cell requiring a variable nothing provides: jLEMS stops (NaN); nmlhub's run
    crashed NEURON (segmentation fault, exit 139, no message) and validate called the file valid."""
    path = tmp_path / "LEMS_dynamics_requirement_unprovided.xml"
    path.write_text(SCRIPT.variant_text("requirement_unprovided"))
    line = line_of(path, '<ComponentType name="leaky"')
    expected = (f"{path}:{line}: ComponentType leaky: cell 'cell' of "
                f"population p requires 'vext' (a <Requirement> of ComponentType leaky), which nothing provides to a "
                f"cell of a population: jLEMS stops ('Problem while trying to return a value for variable vext: NaN') "
                f"and nmlhub cannot run it")
    from nmlhub.neuron.validation import validate as validate_for_run

    assert [str(p) for p in validate_for_run(path) if p.severity == "error"] == [expected]
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(path), "--outdir", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and run.stderr.strip().splitlines()[-1] == f"nmlhub: error: {expected}", run.stderr
    assert "trying to return a value for variable vext: NaN" in " ".join(
        line for line in (DATA / "jlems_said.txt").read_text().splitlines() if "requirement_unprovided" in line)
