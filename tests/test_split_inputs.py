"""Poisson inputs as an event-only generator driving their synapse (issue 23): the same results.

A ``poissonFiringSynapse`` or ``transientPoissonFiringSynapse`` is placed as an ARTIFICIAL_CELL
drawing its spike times (no work between spikes) and its synapse as a point process receiving its
events through a NetCon of delay 0 (nmlhub.lems.input_split). The reference is the whole input as
one point process (``split_inputs=False``, the form every release before used, which the
conformance tests hold to jLEMS): the split form must give the same spikes and bit-identical
traces, serially and on 2 MPI ranks. An input a recording names stays whole.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nmlhub.lems.input_split import split_input
from nmlhub.model import load
from nmlhub.neuron import mpi
from nmlhub.neuron.mechanisms import build_mechanisms
from nmlhub.neuron.simulation import NeuronSimulation

HERE = Path(__file__).resolve().parent
CELLS = 6
has_mpi = pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                             reason="no MPI library")


def _model(folder: Path) -> Path:
    """Six iafCells: Poisson inputs (weights 1 and 0.6) on cells 0-3, transient Poisson inputs on
    cells 2-5, expTwoSynapse connections with delays between them (one onto each cell, of the
    Poisson input's synapse kinetics with another gbase); v of every cell recorded."""
    rows = [(pre, post) for pre in range(CELLS) for post in range(CELLS) if (pre + 2 * post) % 3 == 0 and pre != post]
    connections = "\n".join(
        f'      <connectionWD id="{k}" preCellId="../cells[{pre}]" postCellId="../cells[{post}]" '
        f'weight="{0.5 + 0.1 * k:.1f}" delay="{1 + k % 4 * 0.75}ms"/>' for k, (pre, post) in enumerate(rows))
    poisson = "\n".join(f'      <inputW id="{k}" target="../cells[{k}]" destination="synapses" weight="{1 if k % 2 else 0.6}"/>'
                        for k in range(4))
    transient = "\n".join(f'      <input id="{k}" target="../cells[{k + 2}]" destination="synapses"/>' for k in range(4))
    (folder / "split.net.nml").write_text(f"""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="split">
  <iafCell id="iaf" leakReversal="-70mV" thresh="-50mV" reset="-70mV" C="0.2nF" leakConductance="10nS"/>
  <expTwoSynapse id="syn" gbase="5nS" erev="0mV" tauRise="0.3ms" tauDecay="3ms"/>
  <expTwoSynapse id="bkg_syn" gbase="3nS" erev="0mV" tauRise="0.3ms" tauDecay="3ms"/>
  <expTwoSynapse id="burst_syn" gbase="6nS" erev="0mV" tauRise="0.5ms" tauDecay="4ms"/>
  <poissonFiringSynapse id="bkg" averageRate="600Hz" synapse="bkg_syn" spikeTarget="./bkg_syn"/>
  <transientPoissonFiringSynapse id="burst" averageRate="600Hz" delay="40ms" duration="80ms" synapse="burst_syn"
      spikeTarget="./burst_syn"/>
  <network id="net">
    <population id="cells" component="iaf" size="{CELLS}"/>
    <projection id="proj" presynapticPopulation="cells" postsynapticPopulation="cells" synapse="syn">
{connections}
    </projection>
    <inputList id="background" population="cells" component="bkg">
{poisson}
    </inputList>
    <inputList id="bursts" population="cells" component="burst">
{transient}
    </inputList>
  </network>
</neuroml>
""")
    columns = "\n".join(f'    <OutputColumn id="v{k}" quantity="cells[{k}]/v"/>' for k in range(CELLS))
    (folder / "LEMS_split.xml").write_text(f"""<Lems>
  <Target component="sim"/>
  <Include file="Cells.xml"/>
  <Include file="Networks.xml"/>
  <Include file="Simulation.xml"/>
  <Include file="split.net.nml"/>
  <Simulation id="sim" length="150ms" step="0.025ms" target="net" seed="7">
    <OutputFile id="out" fileName="split.v.dat">
{columns}
    </OutputFile>
  </Simulation>
</Lems>
""")
    return folder / "LEMS_split.xml"


@pytest.fixture(scope="module")
def lems(tmp_path_factory) -> Path:
    return _model(tmp_path_factory.mktemp("split"))


@pytest.fixture(scope="module")
def whole(lems):
    """The reference: every input one point process, as before the split."""
    sim = NeuronSimulation(load(lems), split_inputs=False)
    results = sim.run()
    assert sim.mechanisms["bkg"].generator is None
    return results


def _same(results, reference) -> None:
    assert sorted(results.spikes) == sorted(reference.spikes)
    for cell, times in reference.spikes.items():
        assert np.array_equal(np.asarray(results.spikes[cell]), np.asarray(times)), cell
    assert sorted(results.traces) == sorted(reference.traces)
    for path, trace in reference.traces.items():
        assert np.array_equal(np.asarray(results.traces[path]), np.asarray(trace)), path


def test_poisson_inputs_split_into_an_event_only_generator_and_their_synapse(lems):
    mechanisms = build_mechanisms(load(lems), ["bkg", "burst", "syn"])
    for name in ("bkg", "burst"):
        generator, synapse = mechanisms[name].split
        assert "ARTIFICIAL_CELL" in generator.text and "BREAKPOINT" not in generator.text
        assert "random_uniform(rng_nml)" in generator.text and "net_event(t)" in generator.text
        assert "tsince" not in generator.text  # integrated every step and read by nothing: left out
        assert "POINT_PROCESS" in synapse.text and "random" not in synapse.text and "tlems" not in synapse.text
        assert set(synapse.flat.states) == {f"{name}_syn_A", f"{name}_syn_B"}
        assert [a.target for a in synapse.flat.on_event] == [f"{name}_syn_A", f"{name}_syn_B"]
    assert mechanisms["syn"].split is None  # a synapse of connections is no input


def test_an_input_whose_synapse_draws_or_whose_generator_reads_its_clock_stays_whole():
    model = load(HERE / "data" / "random_inputs" / "LEMS_random_inputs.xml")
    mechanisms = build_mechanisms(model, ["poisson", "noise"])
    assert mechanisms["poisson"].split is not None
    # uniformNoiseCurrent: its current is a state its condition redraws, on a test of tsince
    assert split_input(mechanisms["noise"].mechanism.flat) is None


def test_split_inputs_give_the_whole_inputs_spikes_and_traces(lems, whole):
    sim = NeuronSimulation(load(lems))
    results = sim.run()
    assert sim.mechanisms["bkg"].generator is not None and sim.mechanisms["burst"].generator is not None
    assert sum(len(times) for times in whole.spikes.values()) > 30  # the inputs drive the cells
    _same(results, whole)


def test_an_input_a_recording_names_stays_whole(lems, whole):
    sim = NeuronSimulation(load(lems), record=["cells/0/bkg/i"])
    results = sim.run()
    assert sim.mechanisms["bkg"].generator is None and sim.mechanisms["burst"].generator is not None
    assert np.array_equal(np.asarray(results.traces["cells[0]/v"]), np.asarray(whole.traces["cells[0]/v"]))
    current = next(trace for path, trace in results.traces.items() if path.endswith("/i"))
    assert np.max(np.abs(current)) > 0


def test_a_generator_parameter_is_set_on_the_generators(lems, whole):
    sim = NeuronSimulation(load(lems))
    assert sim.set_parameter("bkg", "averageRate", 1e-3) == 4  # hardly a spike in 150 ms
    assert sim.set_parameter("bkg", "bkg_syn_gbase", 3e-9) == 4
    quiet = sim.run()
    assert sum(len(t) for t in quiet.spikes.values()) < sum(len(t) for t in whole.spikes.values())


@has_mpi
def test_split_inputs_on_two_ranks_give_the_whole_inputs_serial_results(lems, whole, tmp_path):
    out = tmp_path / "p2.pkl"
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"), str(lems), str(out)]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    gathered = pickle.loads(out.read_bytes())
    assert gathered["nhost"] == 2
    assert {k: list(v) for k, v in gathered["spikes"].items()} == {k: list(v) for k, v in whole.spikes.items()}
    for path, trace in whole.traces.items():
        assert np.array_equal(np.asarray(gathered["traces"][path]), np.asarray(trace)), path


@pytest.fixture(scope="module")
def whole_shared(lems):
    """The reference with shared synapses: every input one point process, as before the split."""
    return NeuronSimulation(load(lems), split_inputs=False, share_synapses=True).run()


def test_with_shared_synapses_a_poisson_input_drives_the_cells_synapse_of_its_kinetics(lems, whole_shared):
    """bkg_syn is syn with 3/5 of its gbase: with shared synapses each Poisson input's generator
    drives the cell's shared syn, its events weighted 0.6 times the input's weight, and no synapse
    of its own; burst_syn (other time constants) stays its own. The same mathematics, rounded
    otherwise: traces within 1e-12 relative of the whole inputs', the same spikes (150 ms)."""
    sim = NeuronSimulation(load(lems), share_synapses=True)
    results = sim.run()
    assert sim.mechanisms["bkg"].merges == pytest.approx({"syn": 0.6}, rel=1e-15)
    assert sim.mechanisms["burst"].merges == {}
    cells = sim.instance.cells.values()
    assert all("bkg" not in cell.attached and len(cell.generators.get("bkg", [])) == (cell.index < 4) for cell in cells)
    assert sum(len(cell.attached.get("burst", [])) for cell in cells) == 4
    assert sorted(results.spikes) == sorted(whole_shared.spikes)
    assert sum(len(times) for times in whole_shared.spikes.values()) > 30
    for cell, times in whole_shared.spikes.items():
        assert np.array_equal(np.asarray(results.spikes[cell]), np.asarray(times)), cell
    for path, trace in whole_shared.traces.items():
        ours = np.asarray(results.traces[path])
        np.testing.assert_allclose(ours, np.asarray(trace), rtol=1e-12, atol=0, err_msg=path)


def test_a_merged_inputs_synapse_parameter_is_refused_not_set_on_nothing(lems):
    """Merged, a Poisson input has no synapse of its own to set its gbase on: refused in one line
    (it set none and said nothing); its generator's rate is still set on every generator."""
    from nmlhub.neuron.options import SimulationError

    sim = NeuronSimulation(load(lems), share_synapses=True)
    with pytest.raises(SimulationError, match="'bkg'.*merged.*'bkg_syn_gbase'.*split_inputs=False"):
        sim.set_parameter("bkg", "bkg_syn_gbase", 3e-9)
    assert sim.set_parameter("bkg", "averageRate", 1e-3) == 4
    unmerged = NeuronSimulation(load(lems), share_synapses=True, split_inputs=False)
    assert unmerged.set_parameter("bkg", "bkg_syn_gbase", 3e-9) == 4


def test_merging_is_checked_on_the_equations(lems):
    """Another reversal potential, or another time constant, is another synapse: not merged."""
    from nmlhub.lems.input_merge import merge_weight

    mechanisms = build_mechanisms(load(lems), ["bkg", "burst", "syn"])
    bkg_synapse, burst_synapse = mechanisms["bkg"].split[1].flat, mechanisms["burst"].split[1].flat
    shared = mechanisms["syn"].mechanism.flat
    assert merge_weight(bkg_synapse, shared) == pytest.approx(0.6, rel=1e-15)
    assert merge_weight(burst_synapse, shared) is None
    other_erev = dataclasses.replace(shared, params={**shared.params, "erev": -0.08})
    assert merge_weight(bkg_synapse, other_erev) is None


def test_a_netstim_input_whose_condition_must_be_watched_stays_whole_and_runs(tmp_path):
    """NetStim's condition (its clock past the next time AND spikes left to send) is watched, not
    foreseen: an event-only generator cannot watch (NEURON crashed in finitialize on a WATCH in an
    ARTIFICIAL_CELL, NetPyNE's tut2): it stays one point process, with the same results."""
    import neuroml

    import nmlhub

    net = nmlhub.NetworkBuilder("ns", seed=3)
    net.add(neuroml.Izhikevich2007Cell(id="rs", v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
                                       vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.netstim("bkg", synapse="ampa", rate=50, noise=0.5, start=0)
    net.population("P", cell="rs", count=4)
    net.stimulate("bkg", targets="P", weight=20)
    lems = net.save(tmp_path / "ns.net.nml", simulation=dict(duration_ms=100, dt_ms=0.025, record_v=["P[0]"],
                                                               spikes=None))
    split = NeuronSimulation(load(lems))
    split.build()
    assert split.mechanisms["bkg"].split is None
    _same(split.run(), NeuronSimulation(load(lems), split_inputs=False).run())
