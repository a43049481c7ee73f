"""Include resolution, LEMS simulation settings and HDF5 loading."""

from __future__ import annotations

from pathlib import Path

import pytest

import nmlhub
from nmlhub import ModelError

NML = '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="{id}">{body}</neuroml>'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def nml(doc_id: str, body: str = "") -> str:
    return NML.format(id=doc_id, body=body)


def test_nested_relative_includes_each_file_once(tmp_path):
    write(tmp_path / "channels/na.channel.nml", nml("na", '<ionChannelHH id="na" conductance="10pS" species="na"/>'))
    # Two cells include the same channel file through different relative paths (a diamond).
    write(tmp_path / "cells/a.cell.nml", nml("a", '<include href="../channels/na.channel.nml"/>'
                                                  '<izhikevich2007Cell id="A" C="100pF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" vpeak="35mV" a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>'))
    write(tmp_path / "cells/b.cell.nml", nml("b", '<include href="../channels/na.channel.nml"/>'
                                                  '<iafCell id="B" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>'))
    top = write(tmp_path / "net.nml", nml("net", '<include href="cells/a.cell.nml"/><include href="cells/b.cell.nml"/>'
                                                   '<network id="n"><population id="p" component="A" size="3"/></network>'))
    model = nmlhub.load(top)
    names = [f.path.name for f in model.files]
    assert names == ["net.nml", "a.cell.nml", "na.channel.nml", "b.cell.nml"]
    assert model.components["na"].location.file.endswith("channels/na.channel.nml")
    assert model.components["A"].category == "cell"
    assert model.components["B"].location.line == 1
    assert model.components["na"].category == "ion_channel"
    assert [c.id for c in model.document.izhikevich2007_cells] == ["A"]
    assert model.document.includes == []


def test_cyclic_include_is_refused(tmp_path):
    write(tmp_path / "a.nml", nml("a", '<include href="sub/b.nml"/>'))
    write(tmp_path / "sub/b.nml", nml("b", '<include href="../a.nml"/>'))
    with pytest.raises(ModelError, match=r"cyclic include: a\.nml -> b\.nml -> a\.nml") as info:
        nmlhub.load(tmp_path / "a.nml")
    assert info.value.file.endswith("b.nml") and info.value.line == 1


def test_missing_include_strict_and_lenient(tmp_path):
    top = write(tmp_path / "a.nml", nml("a", '\n<include href="nothere.nml"/>'))
    with pytest.raises(ModelError, match="nothere.nml' not found") as info:
        nmlhub.load(top)
    assert info.value.line == 2
    model = nmlhub.load(top, strict=False)
    assert len(model.problems) == 1 and "nothere.nml" in str(model.problems[0])


def test_core_type_includes_are_skipped(tmp_path):
    lems = write(tmp_path / "LEMS_x.xml", """<Lems>
  <Target component="sim1"/>
  <Include file="NeuroMLCoreDimensions.xml"/>
  <Include file="Cells.xml"/>
  <Include file="../NeuroML2CoreTypes/Networks.xml"/>
  <Include file="Simulation.xml"/>
  <Include file="net.nml"/>
  <Simulation id="sim1" length="0.5s" step="0.025ms" target="n" seed="7">
    <Display id="d" title="v" timeScale="1ms" xmin="0" xmax="500" ymin="-80" ymax="40">
      <Line id="l" quantity="p/0/A/v" scale="1mV" color="#000000" timeScale="1ms"/>
    </Display>
    <OutputFile id="of" fileName="v.dat"><OutputColumn id="v0" quantity="p/0/A/v"/></OutputFile>
    <EventOutputFile id="ev" fileName="s.spikes" format="ID_TIME">
      <EventSelection id="0" select="p/0/A" eventPort="spike"/>
    </EventOutputFile>
  </Simulation>
</Lems>""")
    write(tmp_path / "net.nml", nml("net", '<iafCell id="A" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>'
                                            '<network id="n"><population id="p" component="A" size="2"/></network>'))
    model = nmlhub.load(lems)
    assert [f.path.name for f in model.files] == ["LEMS_x.xml", "net.nml"]
    sim = model.simulation
    assert sim is not None and sim.id == "sim1"
    assert sim.length_ms == pytest.approx(500.0) and sim.step_ms == pytest.approx(0.025)
    assert (sim.target, sim.seed) == ("n", 7)
    assert sim.outputs[0].file_name == "v.dat" and sim.outputs[0].columns[0].quantity == "p/0/A/v"
    assert sim.event_outputs[0].format == "ID_TIME"
    assert sim.event_outputs[0].selections[0].event_port == "spike"
    assert sim.displays[0].lines[0].scale == "1mV" and sim.displays[0].xmax == 500
    assert model.network().id == "n"


def test_simulation_step_with_wrong_dimension(tmp_path):
    lems = write(tmp_path / "LEMS_bad.xml", '<Lems>\n<Simulation id="s" length="1s" step="1mV" target="n"/></Lems>')
    with pytest.raises(nmlhub.UnitError, match=r"LEMS_bad.xml:2: Simulation s attribute step: '1mV' has dimension voltage, expected time"):
        nmlhub.load(lems)


def test_user_component_types_and_lems_components(tmp_path):
    top = write(tmp_path / "LEMS_c.xml", """<Lems>
  <ComponentType name="myCell" extends="baseCellMembPot" description="demo">
    <Parameter name="tau" dimension="time"/>
  </ComponentType>
  <myCell id="c1" tau="10ms"/>
  <Component id="c2" type="myCell" tau="5ms"/>
</Lems>""")
    model = nmlhub.load(top)
    ct = model.component_types["myCell"]
    assert ct.extends == "baseCellMembPot" and ct.parameters == {"tau": "time"}
    assert ct.location.line == 2 and "<Parameter" in ct.xml
    assert model.components["c1"].category == "cell"
    assert model.components["c2"].obj.type == "myCell"
    assert model.components["c2"].obj.parameters == {"tau": "5ms"}


def test_malformed_value_names_the_element(tmp_path):
    top = write(tmp_path / "n.nml", nml("n", '\n\n<network id="net"><population id="p" component="x" size="many"/></network>'))
    with pytest.raises(ModelError) as info:
        nmlhub.load(top)
    assert info.value.line == 3 and "network" in str(info.value)


def test_hdf5_written_by_libneuroml_and_included_from_xml(tmp_path):
    import neuroml
    import neuroml.utils  # noqa: F401  (libNeuroML's HDF5 writer needs it imported)
    from neuroml.writers import NeuroMLHdf5Writer

    doc = neuroml.NeuroMLDocument(id="h5net")
    net = neuroml.Network(id="net")
    doc.networks.append(net)
    pop = neuroml.Population(id="p", component="A", size=4, type="populationList")
    for i in range(4):
        pop.instances.append(neuroml.Instance(id=i, location=neuroml.Location(x=i, y=0, z=0)))
    net.populations.append(pop)
    proj = neuroml.Projection(id="pr", presynaptic_population="p", postsynaptic_population="p", synapse="syn")
    for i, (a, b) in enumerate([(0, 1), (1, 2), (3, 0)]):
        proj.connection_wds.append(neuroml.ConnectionWD(id=i, pre_cell_id=f"../p/{a}/A", post_cell_id=f"../p/{b}/A",
                                                        weight=0.5 * i, delay="2ms"))
    net.projections.append(proj)
    h5 = tmp_path / "net.nml.h5"
    NeuroMLHdf5Writer.write(doc, str(h5))
    write(tmp_path / "cells.nml", nml("cells", '<expOneSynapse id="syn" gbase="1nS" erev="0mV" tauDecay="2ms"/>'
                                               '<iafCell id="A" leakReversal="-65mV" thresh="-50mV" reset="-65mV" C="1nF" leakConductance="10nS"/>'))
    top = write(tmp_path / "top.nml", nml("top", '<include href="cells.nml"/><include href="net.nml.h5"/>'))
    model = nmlhub.load(top)
    assert [f.kind for f in model.files] == ["neuroml", "neuroml", "hdf5"]
    net = model.network("net")
    assert len(net.populations[0].instances) == 4
    from nmlhub.model.columns import projection_columns

    cols = projection_columns(net.projections[0])
    assert cols.pre_cell.tolist() == [0, 1, 3] and cols.post_cell.tolist() == [1, 2, 0]
    from nmlhub.model.validate import validate

    assert [p for p in validate(top) if p.severity == "error"] == []
