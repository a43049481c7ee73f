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
STEP_S = 2e-5  # the step of both models


def _recorded(lems: Path) -> tuple[str, list[str], str, list[str]]:
    """The trace file and its columns' cells, the spike file and its selections, as the LEMS file names them."""
    root = etree.parse(str(lems)).getroot()
    output, events = root.find(".//OutputFile"), root.find(".//EventOutputFile")
    def ours(cell: str) -> str:  # the instance a ChildInstance makes; a population inside 'layer'
        return {"solo/cell": "solo[0]"}.get(cell, cell).replace("layer/", "layer_")

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


def test_the_same_on_two_mpi_ranks(tmp_path):
    out = tmp_path / "gathered.pkl"
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"), str(CHAIN), str(out)]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, "rb") as handle:
        gathered = pickle.load(handle)
    assert gathered["nhost"] == 2 and gathered["cells_here"] < 6
    spikes = {key: np.asarray(times) for key, times in gathered["spikes"].items()}
    traces = {key: np.asarray(values) for key, values in gathered["traces"].items()}
    _check_against_jlems(CHAIN, np.asarray(gathered["time"]), traces, spikes)


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
    ('<EventConnection from="a" to="b" receiver="synapse" delay="delay"/>',
     '<EventConnection from="a" to="b" delay="delay"/>', "<EventConnection>",
     "not supported: an <EventConnection> without a receiver"),
    ('<MultiInstantiate number="size" component="component"/>',
     '<MultiInstantiate number="size" componentType="leakyIaf"/>', "<MultiInstantiate>",
     "not supported: a <MultiInstantiate> of a componentType"),
    ('<With instance="to" as="b"/>', '<CoInstantiate at="to" component="synapse"/>', "<CoInstantiate>",
     "not supported: <CoInstantiate>"),
    ('<With instance="to" as="b"/>', '<ChildInstance component="synapse"/>', "<ChildInstance>",
     "not supported: a <ChildInstance> of 'slow', a component of category synapse"),
    ('<Children name="links" type="link"/>', '<Children name="links" type="link"/>\n'
     '    <Dynamics><StateVariable name="x" dimension="none"/></Dynamics>', "<Dynamics>",
     "not supported: the <Dynamics> of ComponentType builtNet"),
]


@pytest.mark.parametrize("old, new, element, message", REFUSED)
def test_what_is_not_read_is_refused_in_one_line_by_run_and_validate(tmp_path, old, new, element, message):
    lems, line = _variant(tmp_path, old, new, element)
    problems = validate(lems)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert any(e.startswith(f"{lems}:{line}: {element}: {message}") for e in errors), errors
    assert len(problems) == 1, [str(p) for p in problems]  # not also "the target is not a network"
    with pytest.raises(NmlhubError) as info:
        NeuronSimulation(nmlhub.load(lems)).run()
    text = str(info.value)
    assert text.startswith(f"{lems}:{line}: {element}: {message}") and "\n" not in text, text


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
