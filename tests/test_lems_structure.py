"""Networks a model's own ComponentTypes build with LEMS ``<Structure>`` (issue 16 item 1), run as
jLEMS runs them: compared with jLEMS's own output (tests/data/lems_structure/reference/, made by
tests/data/lems_structure/make_references.py), serially and on 2 MPI ranks; what nmlhub cannot read
is refused by ``run`` and ``validate`` in one line naming the file, the line and the element."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

import nmlhub
from nmlhub.errors import NmlhubError
from nmlhub.model.validate import validate
from nmlhub.neuron import mpi
from nmlhub.neuron.simulation import NeuronSimulation

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "lems_structure"
CHAIN = DATA / "LEMS_structure_chain.xml"
PATTERN = DATA / "LEMS_structure_pattern.xml"
NESTED = DATA / "LEMS_structure_nested.xml"
DIRECT = DATA / "LEMS_structure_direct.xml"
INLINE = DATA / "LEMS_structure_inline.xml"
SINGLE_INLINE = DATA / "LEMS_structure_single_inline.xml"
STEP_S = 2e-5  # the step of both models


def _recorded(lems: Path) -> tuple[str, list[str], str, list[str]]:
    """The trace file and its columns' cells, the spike file and its selections, as the LEMS file names them."""
    root = etree.parse(str(lems)).getroot()
    output, events = root.find(".//OutputFile"), root.find(".//EventOutputFile")
    def ours(cell: str) -> str:  # the instance a ChildInstance makes; a population inside 'layer'
        return {"solo/cell": "solo[0]", "solo/component": "solo[0]"}.get(cell, cell).replace("layer/", "layer_")

    columns = [ours(c.get("quantity").removesuffix("/v")) for c in output.iter("OutputColumn")]
    selections = [ours(e.get("select")) for e in events.iter("EventSelection")]
    return output.get("fileName"), columns, events.get("fileName"), selections


def _check_against_jlems(lems: Path, time_ms: np.ndarray, traces: dict[str, np.ndarray],
                         spikes: dict[tuple[str, int], np.ndarray]) -> None:
    trace_file, columns, spike_file, selections = _recorded(lems)
    reference = np.loadtxt(DATA / "reference" / trace_file)
    rows = np.loadtxt(DATA / "reference" / spike_file, ndmin=2)
    reference_spikes = {cell: rows[rows[:, 0] == k, 1] for k, cell in enumerate(selections)}
    assert np.allclose(time_ms * 1e-3, reference[:, 0], atol=1e-12)
    for cell, expected in reference_spikes.items():
        population, index = cell[:-1].split("[")
        mine = np.asarray(spikes.get((population, int(index)), []))
        assert len(mine) == len(expected) >= 3, cell
        assert np.max(np.abs(mine * 1e-3 - expected)) < STEP_S / 2, cell
    for column, cell in enumerate(columns, start=1):
        difference = np.abs(traces[f"{cell}/v"] - reference[:, column])
        # at the sample of a cell's own spike jLEMS shows the reset, nmlhub the value before it
        # (docs/conformance.md "Event timing"): every other sample agrees
        others = np.ones(len(difference), bool)
        others[np.rint(reference_spikes[cell] / STEP_S).astype(int)] = False
        assert np.max(difference[others]) < 1e-6, cell
        assert not others.all()


def test_multiinstantiate_foreach_with_and_eventconnection_match_jlems():
    """Three cells of a LEMS-defined IaF type and one more made by MultiInstantiate, a spike source
    fanned out to them by nested ForEach, a chain of With-named connections, each through a
    synapse with a delay: the same spikes as jLEMS at its step and the same traces."""
    model = nmlhub.load(CHAIN)
    network = model.network()
    assert [(p.id, p.component, p.size) for p in network.populations] == [
        ("src", "clock", 2), ("cells", "cellB", 3), ("driven", "cellA", 1)]
    assert sum(len(p.connection_wds) for p in network.projections) == 6 + 2 + 1
    results = NeuronSimulation(model).run()
    _check_against_jlems(CHAIN, results.time_ms, results.traces, results.spikes)


def test_lems_connectivity_pattern_with_assigned_weight_and_inputs_matches_jlems():
    """LEMS's own EventConnectivity: a Child pattern reaching the populations as ../source and
    ../target, receiver ../synapse, weight from an <Assign>; inputs as EventConnections from an
    instance to itself; a ChildInstance (jLEMS's path solo/cell is solo[0])."""
    model = nmlhub.load(PATTERN)
    network = model.network()
    assert [c.weight for p in network.projections for c in p.connection_wds] == [3.0] * 4
    assert [(i.target, i.input) for i in network.explicit_inputs] == [
        ("pre[0]", "step"), ("pre[1]", "late"), ("solo[0]", "step")]
    assert model.simulation.outputs[0].columns[-1].quantity == "solo[0]/v"
    results = NeuronSimulation(model).run()
    _check_against_jlems(PATTERN, results.time_ms, results.traces, results.spikes)


def test_populations_deeper_than_the_targets_children_match_jlems():
    """The chain model's groups inside a 'layer' component (jLEMS's paths layer/cells[0], a link
    from the net into the layer): the same network, the same agreement with jLEMS."""
    model = nmlhub.load(NESTED)
    assert [p.id for p in model.network().populations] == ["layer_src", "layer_cells", "driven"]
    assert model.simulation.outputs[0].columns[0].quantity == "layer_cells[0]/v"
    results = NeuronSimulation(model).run()
    _check_against_jlems(NESTED, results.time_ms, results.traces, results.spikes)


def test_eventconnections_without_a_receiver_go_into_the_target_cell_and_match_jlems():
    """jLEMS sends the events of an EventConnection without a receiver into the target itself (its
    in port, here named by targetPort through an attribute, or its first): the cell's OnEvent
    acts on each, after the connection's delay; an <Assign> there is ignored, as in jLEMS."""
    model = nmlhub.load(DIRECT)
    network = model.network()
    rows = {p.postsynaptic_population: (p.synapse, [(c.weight, c.delay) for c in p.connection_wds])
            for p in network.projections}
    assert rows == {"cells": ("kick", [(1.0, "1.5ms")]), "slow": ("kickSlow", [(1.0, "0.5ms")]),
                    "relay": ("follower", [(1.0, "2.0ms")])}
    results = NeuronSimulation(model).run()
    _check_against_jlems(DIRECT, results.time_ms, results.traces, results.spikes)


def test_cells_written_inline_in_their_group_match_jlems():
    """A <Child name="component"> of each group holds its cell, written inline as jLEMS reads it;
    MultiInstantiate's component names it (jLEMS: the component's child before its references).
    The instances nmlhub places are of that component, known by '<group>_component'."""
    model = nmlhub.load(INLINE)
    assert [(p.id, p.component, p.size) for p in model.network().populations] == [
        ("src", "clock", 2), ("cells", "cells_component", 3), ("driven", "driven_component", 1)]
    assert model.components["cells_component"].category == "cell"
    results = NeuronSimulation(model).run()
    _check_against_jlems(INLINE, results.time_ms, results.traces, results.spikes)


def test_a_childinstance_of_a_cell_written_inline_matches_jlems():
    """jLEMS names the one instance a ChildInstance makes by the ChildInstance's component
    attribute (solo/component) as well as by the component's id: both are nmlhub's solo[0]."""
    model = nmlhub.load(SINGLE_INLINE)
    assert ("solo", "solo_component", 1) in [(p.id, p.component, p.size) for p in model.network().populations]
    assert model.simulation.outputs[0].columns[-1].quantity == "solo[0]/v"
    results = NeuronSimulation(model).run()
    _check_against_jlems(SINGLE_INLINE, results.time_ms, results.traces, results.spikes)


def test_an_inline_component_nmlhub_cannot_tell_apart_is_refused(tmp_path):
    lems = _changed(tmp_path, '<component type="leakyIaf" tau="20ms"', '<component type="leakyIaf" tau="10ms" '
                    'vRest="-70mV" thresh="-50mV" reset="-70mV" C="100pF" iBias="0nA"/>\n        '
                    '<component type="leakyIaf" tau="20ms"', source=INLINE)
    _refused_in_one_line(lems, _lines_of(lems, "<MultiInstantiate", after='<ComponentType name="group">'),
                         "<MultiInstantiate>", "not supported: 'component', a <Child> of 'cells' that is not one "
                         "component written inline there")


def test_a_reference_to_a_component_written_inside_the_network_is_an_error_as_in_jlems(tmp_path):
    """jLEMS resolves a ComponentReference among the top-level components only ("No component
    found: cellB"), whatever children lists the network declares."""
    lems = _changed(tmp_path, [
        ('<leakyIaf id="cellB" tau="20ms" vRest="-65mV" thresh="-52mV" reset="-68mV" C="200pF" iBias="0nA"/>\n', ''),
        ('<builtNet id="net">\n', '<builtNet id="net">\n    <leakyIaf id="cellB" tau="20ms" vRest="-65mV" '
         'thresh="-52mV" reset="-68mV" C="200pF" iBias="0nA"/>\n'),
        ('<Children name="links" type="link"/>', '<Children name="links" type="link"/>\n'
         '    <Children name="cellTypes" type="baseCellMembPot"/>')])
    _refused_in_one_line(lems, _lines_of(lems, "<MultiInstantiate"), "<MultiInstantiate>",
                         "'component' names 'cellB', a component written inside 'net': jLEMS resolves a reference "
                         "among the model's top-level components only")


def test_an_inline_component_named_like_another_is_an_error(tmp_path):
    lems = _changed(tmp_path, '<component type="leakyIaf" tau="20ms"', '<component id="clock" type="leakyIaf" '
                    'tau="20ms"', source=INLINE)
    _refused_in_one_line(lems, _lines_of(lems, "<MultiInstantiate", after='<ComponentType name="group">'),
                         "<MultiInstantiate>", "the component written inline in 'cells' is named 'clock', like "
                         "another component of the model")


@pytest.mark.parametrize("lems", [CHAIN, DIRECT], ids=["receivers", "without_receivers"])
def test_the_same_on_two_mpi_ranks(tmp_path, lems):
    out = tmp_path / "gathered.pkl"
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"), str(lems), str(out)]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, "rb") as handle:
        gathered = pickle.load(handle)
    cells = sum(p.size for p in nmlhub.load(lems).network().populations)
    assert gathered["nhost"] == 2 and gathered["cells_here"] < cells
    spikes = {key: np.asarray(times) for key, times in gathered["spikes"].items()}
    traces = {key: np.asarray(values) for key, values in gathered["traces"].items()}
    _check_against_jlems(lems, np.asarray(gathered["time"]), traces, spikes)


def _variant(tmp_path: Path, old: str, new: str, element: str = "") -> tuple[Path, int]:
    """The chain model with ``old`` replaced by ``new``, and the line of the row of ``new`` that
    holds ``element`` (its first row without one)."""
    text = CHAIN.read_text()
    assert old in text
    text = text.replace(old, new)
    lems = tmp_path / CHAIN.name
    lems.write_text(text)
    rows = new.strip().splitlines()
    marker = next((row for row in rows if element and element[:-1] in row), rows[0]).strip()
    line = next(k for k, row in enumerate(text.splitlines(), 1) if marker in row)
    return lems, line


REFUSED = [
    ('<MultiInstantiate number="size" component="component"/>',
     '<MultiInstantiate number="size" componentType="leakyIaf"/>', None, "<MultiInstantiate>",
     "not supported: a <MultiInstantiate> of a componentType"),
    ('<With instance="to" as="b"/>', '<CoInstantiate at="to" component="synapse"/>', None, "<CoInstantiate>",
     "not supported: <CoInstantiate>: no engine runs it, so no reference exists"),
    ('<With instance="to" as="b"/>', '<ChildInstance component="synapse"/>', None, "<ChildInstance>",
     "not supported: a <ChildInstance> of 'slow', a component of category synapse"),
    ('<Children name="links" type="link"/>', '<Children name="links" type="link"/>\n'
     '    <Dynamics><StateVariable name="x" dimension="none"/></Dynamics>', None, "<Dynamics>",
     "not supported: the <Dynamics> of ComponentType builtNet"),
    ('<With instance="to" as="b"/>', '<Tunnel name="t" endA="a" endB="b" componentA="synapse" '
     'componentB="synapse"/><With instance="to" as="b"/>', None, "<Tunnel>", "not supported: <Tunnel> in a <Structure>"),
    ('<Children name="links" type="link"/>', '<Children name="links" type="link"/>\n'
     '    <Structure><MultiInstantiate number="size" component="component"/></Structure>', "<Structure><Multi",
     "<MultiInstantiate>",
     "not supported: a <MultiInstantiate> in the simulation's target 'net' itself"),
    ('<MultiInstantiate number="size" component="component"/>', '<MultiInstantiate number="size" '
     'component="component"/><ChildInstance component="component"/>', None, "<ChildInstance>",
     "not supported: a second <ChildInstance> in 'src'"),
    ('<EventConnection from="a" to="b" receiver="synapse" delay="delay"/>',
     '<MultiInstantiate number="delay" component="synapse"/>', 'number="delay"', "<MultiInstantiate>",
     "not supported: <MultiInstantiate> inside a <ForEach>"),
    ('from="cells[0]" to="cells[1]"', 'from="cells[0]/x" to="cells[1]"', '<With instance="from"', "<With>",
     "not supported: the path 'cells[0]/x' (it reaches inside an instance)"),
    ('from="cells[0]" to="cells[1]"', 'from="cells" to="cells[1]"', '<With instance="from"', "<With>",
     "not supported: <With instance='from'> naming 'cells', not one instance of a population"),
    ('from="cells[0]" to="cells[1]"', 'from="l12[0]" to="cells[1]"', '<With instance="from"', "<With>",
     "not supported: the path 'l12[0]': 'l12' is not a population"),
    ('source="src" target="cells"', 'source="l01" target="cells"', '<ForEach instances="source"', "<ForEach>",
     "not supported: <ForEach instances='l01'> over 'l01', which is not a population"),
    ('receiver="synapse" delay="delay"/>', 'receiver="x/synapse" delay="delay"/>', "x/synapse", "<EventConnection>",
     "not supported: the reference 'x/synapse'"),
    ('receiverContainer="destination"', 'receiverContainer="destination" sourcePort="destination"',
     "sourcePort=", "<EventConnection>", "not supported: sourcePort 'synapses'"),
    ('receiver="synapse" delay="delay"/>',
     'receiver="synapse" delay="delay"><Assign property="gbase" value="1"/></EventConnection>',
     "gbase", "<EventConnection>", "not supported: <Assign property='gbase'> in an <EventConnection>"),
    ([('<Path name="to"/>\n    <Text name="destination"/>\n    <ComponentReference name="synapse" type="baseSynapse"/>',
       '<Path name="to"/>\n    <Text name="destination"/>\n    <Child name="synapse" type="baseSynapse"/>'),
      ('synapse="slow" delay="2ms"/>', 'delay="2ms"><synapse type="expOneSynapse" gbase="20nS" erev="0mV" '
       'tauDecay="5ms"/></link>')],
     "receiverContainer=", "<EventConnection>",
     "not supported: the receiver 'synapse' written inline (a <Child> of 'l01'): no engine runs it"),
]

#: Structures jLEMS stops on as well: errors of the model, in one line with jLEMS's reason.
WRONG = [
    ('<EventConnection from="a" to="b" receiver="synapse" delay="delay"/>',
     '<EventConnection from="a" to="b" delay="delay"/>', '<EventConnection from="a" to="b" delay="delay"/>',
     "an <EventConnection> without a receiver sends the events into the target itself, and its type leakyIaf "
     "has no in <EventPort> (jLEMS stops: no input ports)"),
    ('destination="synapses" synapse="slow" delay="2ms"', 'destination="synapsez" synapse="slow" delay="2ms"',
     "receiverContainer=", "receiverContainer 'synapsez' names no <Attachments> of the target's type leakyIaf "
     "(it has 'synapses'; jLEMS stops with a NullPointerException)"),
    ('<Attachments name="synapses" type="basePointCurrent"/>', '<Attachments name="synapses" '
     'type="basePointCurrent"/><Attachments name="others" type="basePointCurrent"/>', "receiver=\"synapse\" delay",
     "the receiver joins the target's <Attachments>, and its type leakyIaf has several <Attachments> ('synapses', "
     "'others'): name one with receiverContainer"),
    ('receiverContainer="destination"', 'receiverContainer="destination" targetPort="destination"',
     "receiverContainer=", "targetPort 'synapses': the receiver's type expOneSynapse has no in <EventPort> of "
     "that name (it has 'in')"),
]


def _lines_of(lems: Path, marker: str, after: str = "") -> int:
    """The line of the first row holding ``marker`` (at or after the first row holding ``after``)."""
    rows = lems.read_text().splitlines()
    start = next(k for k, row in enumerate(rows) if after in row)
    return next(k for k, row in enumerate(rows[start:], start + 1) if marker in row)


def _changed(tmp_path: Path, changes: "str | list[tuple[str, str]]", new: str | None = None,
             source: Path = CHAIN) -> Path:
    """A copy of ``source`` with each (old, new) change made."""
    text = source.read_text()
    for old, replacement in ([(changes, new)] if isinstance(changes, str) else changes):
        assert old in text, old
        text = text.replace(old, replacement)
    lems = tmp_path / source.name
    lems.write_text(text)
    return lems


def _refused_in_one_line(lems: Path, line: int, element: str, message: str) -> None:
    """``validate`` reports the problem alone, ``run`` stops on it: both in one line naming the
    file, the line and the element."""
    problems = validate(lems)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert any(e.startswith(f"{lems}:{line}: {element}: {message}") for e in errors), errors
    # not also "the target is not a network" (warnings, e.g. of attributes a variant left undeclared, may come too)
    assert len(errors) == 1, errors
    with pytest.raises(NmlhubError) as info:
        NeuronSimulation(nmlhub.load(lems)).run()
    text = str(info.value)
    assert text.startswith(f"{lems}:{line}: {element}: {message}") and "\n" not in text, text


@pytest.mark.parametrize("old, new, marker, element, message", REFUSED[:-1])
def test_what_is_not_read_is_refused_in_one_line_by_run_and_validate(tmp_path, old, new, marker, element, message):
    lems, line = _variant(tmp_path, old, new, element)
    _refused_in_one_line(lems, _lines_of(lems, marker) if marker else line, element, message)


def test_an_eventconnection_without_receiver_into_one_of_several_ports_is_refused(tmp_path):
    """nmlhub's cell mechanism runs every OnEvent of the cell on any event (jLEMS the port's)."""
    lems = _changed(tmp_path, '<EventPort name="in" direction="in"/>',
                    '<EventPort name="in" direction="in"/><EventPort name="other" direction="in"/>', source=DIRECT)
    _refused_in_one_line(lems, _lines_of(lems, '<EventConnection from="a" to="b" delay="delay">'),
                         "<EventConnection>", "not supported: an <EventConnection> without a receiver into one of "
                         "the in ports of kickCell ('in', 'other')")


def test_a_receiver_written_inline_is_refused(tmp_path):
    """jLEMS also makes such a child an instance inside its holder, where a synapse fails to start."""
    changes, marker, element, message = REFUSED[-1]
    lems = _changed(tmp_path, changes)
    _refused_in_one_line(lems, _lines_of(lems, marker), element, message)


def test_a_population_named_like_another_is_refused(tmp_path):
    lems = _changed(tmp_path, '<group id="driven" component="cellA" size="1"/>',
                    '<group id="driven" component="cellA" size="1"/><group id="layer_src" component="clock" '
                    'size="1"/>', source=NESTED)
    _refused_in_one_line(lems, _lines_of(lems, '<MultiInstantiate number="size"'), "<MultiInstantiate>",
                         "not supported: the population 'layer_src', named 'layer_src' like another")


def test_an_eventconnection_end_that_is_not_one_instance_is_refused(tmp_path):
    lems = _changed(tmp_path, '<EventConnection from="a" to="b" receiver="synapse" delay="delay"/>',
                    '<EventConnection from="src" to="b" receiver="synapse" delay="delay"/>')
    _refused_in_one_line(lems, _lines_of(lems, 'from="src" to="b"'), "<EventConnection>",
                         "not supported: <EventConnection> end 'src', which no <ForEach> or <With> names as one "
                         "instance")


def test_a_receiver_port_other_than_in_is_refused(tmp_path):
    """nmlhub's synapse mechanisms take their events on 'in' (a port the type has, else an error)."""
    lems = _changed(tmp_path, [
        ('<ComponentType name="group">', '<ComponentType name="twoPortSynapse" extends="expOneSynapse">\n'
         '    <EventPort name="alt" direction="in"/>\n</ComponentType>\n<ComponentType name="group">'),
        ('<expOneSynapse id="slow"', '<twoPortSynapse id="slow"'),
        ('<Text name="destination"/>', '<Text name="destination"/><Text name="port"/>'),
        ('receiverContainer="destination"', 'receiverContainer="destination" targetPort="port"'),
        ('destination="synapses" synapse="slow" delay="2ms"', 'destination="synapses" port="alt" synapse="slow" '
         'delay="2ms"')])
    _refused_in_one_line(lems, _lines_of(lems, 'targetPort="port"'), "<EventConnection>",
                         "not supported: targetPort 'alt' (nmlhub delivers events to the receiver's 'in' port)")


def test_an_input_with_a_weight_is_refused(tmp_path):
    lems = _changed(tmp_path, '<EventConnection from="a" to="a" receiver="input"/>',
                    '<EventConnection from="a" to="a" receiver="input"><Assign property="weight" value="2"/>'
                    '</EventConnection>', source=PATTERN)
    _refused_in_one_line(lems, _lines_of(lems, 'receiver="input"'), "<EventConnection>",
                         "not supported: an input (an <EventConnection> from an instance to itself) with a weight")


@pytest.mark.parametrize("old, new, marker, message", WRONG)
def test_what_jlems_stops_on_is_an_error_in_one_line_with_jlems_reason(tmp_path, old, new, marker, message):
    lems = _changed(tmp_path, old, new)
    _refused_in_one_line(lems, _lines_of(lems, marker), "<EventConnection>", message)


def test_a_target_port_naming_nothing_is_an_error(tmp_path):
    lems = _changed(tmp_path, 'port="in" delay="2ms"', 'port="out" delay="2ms"', source=DIRECT)
    _refused_in_one_line(lems, _lines_of(lems, 'targetPort="port"'), "<EventConnection>",
                         "targetPort 'out' of an <EventConnection> without a receiver: the target's type kickCell "
                         "has no in <EventPort> of that name (it has 'in')")


def test_a_neuroml_population_inside_a_network_lems_builds_is_refused(tmp_path):
    lems, _ = _variant(tmp_path, '<group id="driven" component="cellA" size="1"/>',
                       '<group id="driven" component="cellA" size="1"/><population id="p" component="cellA" size="2"/>')
    line = next(k for k, row in enumerate(lems.read_text().splitlines(), 1) if '<builtNet id="net">' in row)
    with pytest.raises(NmlhubError) as info:
        NeuronSimulation(nmlhub.load(lems)).run()
    assert str(info.value).startswith(f"{lems}:{line}: <population id='p'>: not supported: a NeuroML <population>")


def test_an_eventconnection_from_an_instance_to_itself_through_a_synapse_is_an_autapse(tmp_path):
    """jLEMS sends the instance's own spikes to the synapse made on it; an input (not a synapse)
    there is NeuroML's explicitInput instead."""
    lems, _ = _variant(tmp_path, 'from="cells[1]" to="cells[2]"', 'from="cells[2]" to="cells[2]"')
    network = nmlhub.load(lems).network()
    rows = [(c.pre_cell_id, c.post_cell_id, c.delay) for p in network.projections for c in p.connection_wds]
    assert ("../cells/2/cellB", "../cells/2/cellB", "0.5ms") in rows and not network.explicit_inputs


def test_a_path_naming_nothing_is_an_error_naming_it(tmp_path):
    lems, line = _variant(tmp_path, 'from="cells[0]" to="cells[1]"', 'from="cells[0]" to="cels[1]"')
    line = next(k for k, row in enumerate(lems.read_text().splitlines(), 1) if '<With instance="to"' in row)
    errors = [str(p) for p in validate(lems) if p.severity == "error"]
    assert any(e.startswith(f"{lems}:{line}: <With>: the path 'cels[1]' names nothing") for e in errors), errors


def test_an_index_beyond_the_population_is_an_error(tmp_path):
    lems, _ = _variant(tmp_path, 'from="cells[1]" to="cells[2]"', 'from="cells[1]" to="cells[3]"')
    with pytest.raises(NmlhubError, match=r"the path 'cells\[3\]': 'cells' has 3 instances"):
        NeuronSimulation(nmlhub.load(lems)).run()


def test_the_lems_file_is_valid(tmp_path):
    shutil.copy(CHAIN, tmp_path)
    assert not [p for p in validate(tmp_path / CHAIN.name) if p.severity == "error"]
