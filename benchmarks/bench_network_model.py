"""The benchmark E/I network of ../shared/bench as nmlhub rules (used by network_bench.py).

N single-compartment HH cells (80 % E, 20 % I; soma L = diam = 18.8 um; NEURON's hh densities and
kinetics, as the NeuroML channels of nml_examples/hh_single) uniformly in a 1000 um cube, each
ordered pair connected with p = K/N (no autapses); expTwoSynapse E (0.1/5 ms, 0 mV, 0.5 nS) and I
(0.5/10 ms, -80 mV, 8 nS); delay 1 + dist_3D/500 ms; one Poisson input (20 Hz, 0.3 nS) per cell,
starting 1 ms late as the script's NetStims reach their cells through NetCons of delay 1 ms
(``bkg_delay``); 6.3 degC. Usage: python bench_network_model.py N FOLDER [TSTOP_MS]  -> FOLDER/LEMS_bench.xml
"""

from __future__ import annotations

import sys
from pathlib import Path

import neuroml

import nmlhub

REPO = Path(__file__).resolve().parents[1]
K = 100
#: The script's ``bkg_delay``: its Poisson NetStims' events reach the cells 1 ms after they are drawn.
BACKGROUND_DELAY_MS = 1.0


def hh_cell() -> neuroml.Cell:
    """One 18.8 um x 18.8 um compartment with NEURON's hh channel densities."""
    cell = neuroml.Cell(id="hh_bench")
    soma = neuroml.Segment(id=0, name="soma",
                           proximal=neuroml.Point3DWithDiam(x=0, y=0, z=0, diameter=18.8),
                           distal=neuroml.Point3DWithDiam(x=18.8, y=0, z=0, diameter=18.8))
    group = neuroml.SegmentGroup(id="soma_group", members=[neuroml.Member(segments=0)])
    cell.morphology = neuroml.Morphology(id="m", segments=[soma], segment_groups=[group])
    membrane = neuroml.MembraneProperties(
        channel_densities=[
            neuroml.ChannelDensity(id="na", ion_channel="Na", cond_density="120 mS_per_cm2", erev="50mV", ion="na"),
            neuroml.ChannelDensity(id="k", ion_channel="K", cond_density="36 mS_per_cm2", erev="-77mV", ion="k"),
            neuroml.ChannelDensity(id="leak", ion_channel="leak", cond_density="0.3 mS_per_cm2",
                                   erev="-54.3mV", ion="non_specific")],
        spike_threshes=[neuroml.SpikeThresh(value="10mV")],
        specific_capacitances=[neuroml.SpecificCapacitance(value="1 uF_per_cm2")],
        init_memb_potentials=[neuroml.InitMembPotential(value="-65mV")])
    cell.biophysical_properties = neuroml.BiophysicalProperties(
        id="bio", membrane_properties=membrane,
        intracellular_properties=neuroml.IntracellularProperties(resistivities=[neuroml.Resistivity(value="35.4 ohm_cm")]))
    return cell


def build(n: int, seed: int = 1) -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("bench", size=(1000.0, 1000.0, 1000.0), seed=seed, temperature="6.3 degC")
    for name in ("Na", "K", "leak"):
        net.include(REPO / "nml_examples" / "hh_single" / f"{name}.channel.nml")
    net.add(hh_cell())
    net.add(neuroml.ExpTwoSynapse(id="exc", gbase="0.5nS", erev="0mV", tau_rise="0.1ms", tau_decay="5ms"))
    net.add(neuroml.ExpTwoSynapse(id="inh", gbase="8nS", erev="-80mV", tau_rise="0.5ms", tau_decay="10ms"))
    net.add(neuroml.ExpTwoSynapse(id="bkg_syn", gbase="0.3nS", erev="0mV", tau_rise="0.1ms", tau_decay="5ms"))
    net.add(neuroml.PoissonFiringSynapse(id="bkg", average_rate="20 Hz", synapse="bkg_syn", spike_target="./bkg_syn"))
    n_e = int(round(0.8 * n))
    net.population("E", cell="hh_bench", count=n_e)
    net.population("I", cell="hh_bench", count=n - n_e)
    net.connect("E", ["E", "I"], "exc", nmlhub.Probability(K / n), delay="1 + dist_3D/500", id="E_all")
    net.connect("I", ["E", "I"], "inh", nmlhub.Probability(K / n), delay="1 + dist_3D/500", id="I_all")
    net.stimulate("bkg", targets=["E", "I"], id="background", delay=BACKGROUND_DELAY_MS)
    return net


if __name__ == "__main__":
    n, folder = int(sys.argv[1]), Path(sys.argv[2])
    tstop = float(sys.argv[3]) if len(sys.argv) > 3 else 1000.0
    lems = build(n).save(folder / "bench.net.nml",
                         simulation=dict(duration_ms=tstop, dt_ms=0.025, record_v=["E[0]", "I[0]"], spikes=None))
    print(lems)
