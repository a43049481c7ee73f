"""What OSB models write that jNeuroML reads: ``<include file=...>``, include paths with a leading
``/`` (the including file's folder), a ``channelPopulation`` without ``segment`` on a one-segment cell.
"""

from __future__ import annotations

import numpy as np
import pytest

import nmlhub
import nmlhub.cli
from nmlhub.errors import ModelError, NmlhubError

CHANNEL = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="ch">
    <ionChannelHH id="leak" conductance="10pS" species="non_specific"/>
</neuroml>"""

CELL = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="c">
    <include {attr}="{path}"/>
    <cell id="one">
        <morphology id="m">
            <segment id="0" name="soma"><proximal x="0" y="0" z="0" diameter="10"/><distal x="10" y="0" z="0" diameter="10"/></segment>
            {extra}
        </morphology>
        <biophysicalProperties id="bio">
            <membraneProperties>
                <channelPopulation id="leakPop" ionChannel="leak" number="3000" erev="-54mV" ion="non_specific"/>
                <specificCapacitance value="1uF_per_cm2"/>
            </membraneProperties>
            <intracellularProperties><resistivity value="0.1kohm_cm"/></intracellularProperties>
        </biophysicalProperties>
    </cell>
    <network id="net"><population id="pop" component="one" size="1"/></network>
</neuroml>"""

LEMS = """<Lems><Target component="sim"/><Include file="Cells.xml"/><Include file="Networks.xml"/>
<Include file="Simulation.xml"/><Include file="cell.nml"/>
<Simulation id="sim" length="1ms" step="0.025ms" target="net"/></Lems>"""

SECOND_SEGMENT = ('<segment id="1" name="d"><parent segment="0"/>'
                  '<distal x="60" y="0" z="0" diameter="2"/></segment>')


def _model_folder(tmp_path, attr="href", path="channels/leak.channel.nml", extra=""):
    (tmp_path / "channels").mkdir()
    (tmp_path / "channels" / "leak.channel.nml").write_text(CHANNEL)
    (tmp_path / "cell.nml").write_text(CELL.format(attr=attr, path=path, extra=extra))
    (tmp_path / "LEMS_cell.xml").write_text(LEMS)
    return tmp_path


@pytest.mark.parametrize("attr, path", [("href", "channels/leak.channel.nml"),
                                        ("file", "channels/leak.channel.nml"),
                                        ("href", "/channels/leak.channel.nml"),
                                        ("file", "/channels/leak.channel.nml")])
def test_include_file_attribute_and_leading_slash_read_as_jneuroml_does(tmp_path, attr, path):
    model = nmlhub.load(_model_folder(tmp_path, attr, path) / "LEMS_cell.xml")
    assert "leak" in model.components
    assert model.components["leak"].location.file == str((tmp_path / "channels" / "leak.channel.nml").resolve())


def test_a_leading_slash_include_still_missing_says_how_it_was_read(tmp_path):
    folder = _model_folder(tmp_path, "href", "/channels/nosuch.channel.nml")
    with pytest.raises(ModelError) as info:
        nmlhub.load(folder / "LEMS_cell.xml")
    message = str(info.value)
    assert message.startswith(f"{folder / 'cell.nml'}:2: <include>: included file '/channels/nosuch.channel.nml'")
    assert "leading '/'" in message and str(folder / "channels" / "nosuch.channel.nml") in message


def test_channel_population_without_segment_on_a_one_segment_cell(tmp_path):
    from nmlhub.neuron.simulation import NeuronSimulation

    sim = NeuronSimulation(nmlhub.load(_model_folder(tmp_path) / "LEMS_cell.xml"))
    sim.build()
    cell = sim.instance.cell("pop", 0)
    bio = sim.mechanisms["one"].biophysics
    mechanism = next(d for d in bio.densities if d.density_id.endswith("leakPop")).mechanism.name
    total = sum(getattr(seg, f"condDensity_{mechanism}") * seg.area() * 1e-12
                for section in cell.built.sections for seg in section)
    assert total == pytest.approx(3000 * 10e-12, rel=1e-9)  # number x single-channel conductance


def test_channel_population_without_segment_on_several_segments_is_refused(tmp_path):
    from nmlhub.neuron.simulation import NeuronSimulation

    model = nmlhub.load(_model_folder(tmp_path, extra=SECOND_SEGMENT) / "LEMS_cell.xml")
    with pytest.raises(NmlhubError, match="channelPopulation 'leakPop' names no segment, and the cell has 2"):
        NeuronSimulation(model).build()


def test_an_include_is_also_looked_for_in_the_folders_of_files_read_before(tmp_path):
    # jLEMS's FileInclusionReader: a file found in channels/ makes channels/ a search folder
    folder = _model_folder(tmp_path)
    (folder / "channels" / "more.nml").write_text(CHANNEL.replace('id="leak"', 'id="more"').replace('id="ch"', 'id="m"'))
    (folder / "LEMS_cell.xml").write_text(LEMS.replace('<Include file="cell.nml"/>',
                                                       '<Include file="cell.nml"/><Include file="more.nml"/>'))
    model = nmlhub.load(folder / "LEMS_cell.xml")
    assert model.components["more"].location.file == str((folder / "channels" / "more.nml").resolve())
    (folder / "LEMS_cell.xml").write_text(LEMS.replace('<Include file="cell.nml"/>', '<Include file="gone.nml"/>'))
    with pytest.raises(ModelError, match="'gone.nml' not found .* in the folders of the files read before"):
        nmlhub.load(folder / "LEMS_cell.xml")


def test_a_component_written_before_its_type_is_defined_gets_the_types_category(tmp_path):
    # LEMS lets a file use a ComponentType above its definition (MiglioreEtAl14's FI.synapse.xml)
    (tmp_path / "syn.nml").write_text("""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="s">
    <mySynapse id="syn" tauRise="1 ms" tauDecay="10 ms" gbase="1 nS" erev="-80 mV"/>
    <ComponentType name="mySynapse" extends="expTwoSynapse"/>
</neuroml>""")
    model = nmlhub.load(tmp_path / "syn.nml")
    assert model.components["syn"].category == "synapse"


def test_a_network_defined_in_lems_runs_with_the_temperature_its_holder_sets(core_examples, tmp_path):
    """Ex17: the simulation targets a tissue (a LEMS type of the model's own) holding a NeuroML
    network; the network runs, the tissue's dynamics set NEURON's celsius where jLEMS changes the
    temperature (the comparison with jLEMS is sem_lems_network in test_lems_semantics.py)."""
    from nmlhub.lems.lems_network import holder_dynamics, temperature_schedule, trajectory
    from nmlhub.neuron.simulation import NeuronSimulation

    lems = core_examples / "LEMSexamples" / "LEMS_NML2_Ex17_Tissue.xml"
    model = nmlhub.load(lems)
    assert (model.simulation.target, model.simulation.holder) == ("net1", "slice")
    assert model.network().id == "net1"
    values = trajectory(holder_dynamics(model, "slice"), model.simulation.length_ms, model.simulation.step_ms)
    start, changes = temperature_schedule(values, model.simulation.step_ms)
    # the tissue: 22 degC, then 16 degC once t > changeTime (500 ms), i.e. from the step after 500 ms
    assert start == pytest.approx(22.0) and len(changes) == 1
    assert changes[0][1] == pytest.approx(16.0) and 500.0 <= changes[0][0] <= 500.0 + model.simulation.step_ms
    results = NeuronSimulation(model, duration_ms=520.0).run()
    kelvin = results.traces["temperature"]
    after = results.time_ms >= changes[0][0] - 1e-9  # jLEMS records the new value at that step
    assert np.all(kelvin[~after] == pytest.approx(295.15)) and np.all(kelvin[after] == pytest.approx(289.15))
    assert np.ptp(results.traces["hhpop[0]/v"]) > 0.05  # it spikes


HOLDER = """<Lems><Target component="sim"/><Include file="Cells.xml"/><Include file="Networks.xml"/>
<Include file="Simulation.xml"/>
<ComponentType name="warmTissue"><Child name="network" type="network"/>
  <Exposure name="temperature" dimension="temperature"/>
  <Dynamics><StateVariable name="temperature" dimension="temperature" exposure="temperature"/>
  {dynamics}</Dynamics></ComponentType>
<iafCell id="iaf" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>
<warmTissue id="tissue">
  <network id="net"><population id="pop" component="iaf" size="1"/></network>
</warmTissue>
<Simulation id="sim" length="1ms" step="0.025ms" target="tissue"/></Lems>"""


@pytest.mark.parametrize("dynamics, construct", [
    ('<OnStart><StateAssignment variable="temperature" value="pop[0]/v"/></OnStart>', "expression 'pop[0]/v'"),
    ('<OnEvent port="in"><StateAssignment variable="temperature" value="300K"/></OnEvent>', "<OnEvent>"),
    ('<OnStart><StateAssignment variable="temperature" value="hot"/></OnStart>', "'hot' (not a parameter"),
])
def test_a_network_holder_whose_dynamics_nmlhub_cannot_run_is_refused_in_one_line(tmp_path, dynamics, construct):
    from nmlhub.neuron.simulation import NeuronSimulation

    lems = tmp_path / "LEMS_holder.xml"
    lems.write_text(HOLDER.format(dynamics=dynamics))
    line = next(k for k, text in enumerate(lems.read_text().splitlines(), 1) if '<warmTissue id="tissue">' in text)
    with pytest.raises(NmlhubError) as info:  # by run and validate alike (lems/support.py)
        NeuronSimulation(nmlhub.load(lems)).build()
    message = str(info.value)
    assert message.startswith(f"{lems}:{line}: <warmTissue id='tissue'>: not supported: ") and "\n" not in message
    assert construct in message


def _jnml() -> str | None:
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "jnml"
    found = str(beside) if beside.is_file() else shutil.which("jnml")
    return found if found and shutil.which("java") else None


@pytest.mark.skipif(_jnml() is None, reason="jnml or java not available")
def test_a_lems_cell_type_extending_no_neuroml_cell_runs_in_a_network_as_jlems_runs_it(tmp_path):
    """A population of a LEMS-defined type (Hindmarsh-Rose, extending nothing) runs as in jLEMS
    (run here, ~8 s): the same trace to 1e-6 and the same events."""
    import shutil
    import subprocess
    from pathlib import Path

    import numpy as np

    source = Path(__file__).resolve().parent / "data" / "LEMS_lems_cell_type.xml"
    for name in ("jlems", "nmlhub"):
        (tmp_path / name).mkdir()
        shutil.copy(source, tmp_path / name / source.name)
    subprocess.run([_jnml(), source.name, "-nogui"], cwd=tmp_path / "jlems", check=True,
                   capture_output=True, timeout=300)
    assert nmlhub.cli.main(["run", str(tmp_path / "nmlhub" / source.name), "--no-progress"]) == 0
    ours, theirs = (np.loadtxt(tmp_path / name / "hr.dat") for name in ("nmlhub", "jlems"))
    assert ours.shape == theirs.shape
    assert np.abs(ours[:, 1] - theirs[:, 1]).max() < 1e-6 * np.ptp(theirs[:, 1])
    spikes = [np.loadtxt(tmp_path / name / "hr.spikes", ndmin=2) for name in ("nmlhub", "jlems")]
    assert len(spikes[1]) > 10 and np.array_equal(spikes[0], spikes[1])


def test_a_simulation_of_one_cell_runs_the_cell_on_its_own(tmp_path):
    """As jLEMS does: the cell's own paths (``v``) are recorded from its one instance."""
    from nmlhub.neuron.simulation import NeuronSimulation

    folder = _model_folder(tmp_path)
    (folder / "LEMS_cell.xml").write_text(LEMS.replace('target="net"', 'target="one"').replace(
        "</Simulation>", "").replace('step="0.025ms" target="one"/>', 'step="0.025ms" target="one">'
        '<OutputFile id="f" fileName="one.dat"><OutputColumn id="v" quantity="0/v"/></OutputFile></Simulation>'))
    model = nmlhub.load(folder / "LEMS_cell.xml")
    assert model.simulation.target == "one_network"
    assert model.simulation.outputs[0].columns[0].quantity == "one[0]/0/v"
    results = NeuronSimulation(model).run()
    assert list(results.traces) == ["one[0]/0/v"] and len(results.time_ms) == 41


def test_a_simulation_of_one_channel_is_refused_in_one_line(tmp_path):
    from nmlhub.errors import UnsupportedComponentError
    from nmlhub.neuron.simulation import NeuronSimulation

    folder = _model_folder(tmp_path)
    (folder / "LEMS_cell.xml").write_text(LEMS.replace('target="net"', 'target="leak"'))
    with pytest.raises(UnsupportedComponentError) as info:
        NeuronSimulation(nmlhub.load(folder / "LEMS_cell.xml")).run()
    assert str(info.value).startswith(f"{folder / 'channels' / 'leak.channel.nml'}:2: <ionChannelHH id='leak'>: "
                                      "not supported: the simulation's target is this ionChannelHH, not a network")


BUILT_BY_LEMS = """<Lems><Target component="sim"/><Include file="Cells.xml"/><Include file="Networks.xml"/>
<Include file="Simulation.xml"/>
<ComponentType name="myPop">
  <ComponentReference name="component" type="Component"/>
  <Parameter name="size" dimension="none"/>
  <Structure><MultiInstantiate number="size" component="component"/></Structure>
</ComponentType>
<ComponentType name="myNet"><Children name="populations" type="myPop"/></ComponentType>
<iafCell id="iaf" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>
<myNet id="net"><myPop id="pop" component="iaf" size="3"/></myNet>
<Simulation id="sim" length="1ms" step="0.025ms" target="net">
  <OutputFile id="o" fileName="o.dat"><OutputColumn id="v" quantity="pop[0]/v"/></OutputFile>
</Simulation></Lems>"""


def test_a_network_lems_builds_with_multiinstantiate_runs_as_that_network(tmp_path):
    """Not run as a cell (it once failed recording 'net[0]/pop[0]/v'): the population the
    <MultiInstantiate> makes is the network's (tests/test_lems_structure.py compares such networks
    with jLEMS)."""
    from nmlhub.model.validate import validate
    from nmlhub.neuron.simulation import NeuronSimulation

    lems = tmp_path / "LEMS_built.xml"
    lems.write_text(BUILT_BY_LEMS)
    assert not [p for p in validate(lems) if p.severity == "error"]
    model = nmlhub.load(lems)
    assert [(p.id, p.component, p.size) for p in model.network().populations] == [("pop", "iaf", 3)]
    results = NeuronSimulation(model).run()
    assert list(results.traces) == ["pop[0]/v"] and results.traces["pop[0]/v"][0] == pytest.approx(-0.065)
