"""Build the layered cortical example from rules, save it as NeuroML (rules in annotations) with a
LEMS simulation, and optionally run it.

Layers by normalised depth (ynorm): L2/3 0.1-0.35, L4 0.35-0.55, L5 0.55-0.9. Pyramidal cells
(the multi-compartment ``pyr_cell`` of ../mc_network) get a density that varies with depth; basket
cells a fixed count per layer. Connection probability falls with vertical distance; L4 -> L2/3
synapses land on the apical dendrite by a depth profile (most of them near the top of the cortex),
the others uniformly on the dendrites by length. Background Poisson input drives L4.

Usage: python build_layered_cortex.py [--run]
"""

from __future__ import annotations

import sys
from pathlib import Path

import neuroml

import nmlhub

HERE = Path(__file__).resolve().parent


def build() -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("layered_cortex", size=(300.0, 1000.0, 300.0), seed=2026,
                                temperature="6.3 degC")
    net.include(HERE.parent / "mc_network" / "pyr_cell.cell.nml")
    net.include(HERE.parent / "mc_network" / "bask_cell.cell.nml")
    net.add(neuroml.ExpTwoSynapse(id="AMPA", gbase="2nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.ExpTwoSynapse(id="GABA", gbase="3nS", erev="-80mV", tau_rise="1ms", tau_decay="15ms"))
    net.add(neuroml.PoissonFiringSynapse(id="background", average_rate="150 Hz", synapse="AMPA",
                                         spike_target="./AMPA"))

    layers = {"L23": (0.1, 0.35), "L4": (0.35, 0.55), "L5": (0.55, 0.9)}
    for name, depth in layers.items():
        # pyramidal cells per mm3, denser towards the middle layers
        net.population(f"{name}_pyr", cell="pyr_cell", density="1.2e3 + 1.5e3*ynorm", ynorm_range=depth)
        net.population(f"{name}_bask", cell="bask_cell", count=4, ynorm_range=depth)

    apical_top = nmlhub.Placement(("apical",), "profile", "ynorm", ((0.0, 1.0), (0.25, 1.0), (0.4, 0.1), (1.0, 0.0)))
    dendrites = nmlhub.Placement(("dendrite_group",))
    pyramids = [f"{layer}_pyr" for layer in layers]
    baskets = [f"{layer}_bask" for layer in layers]
    net.connect("L4_pyr", "L23_pyr", "AMPA", nmlhub.Probability("0.4*exp(-dist_y/150)"), weight=1.0,
                delay="1 + dist_3D/300", placement=apical_top, id="L4_to_L23")
    net.connect("L23_pyr", "L5_pyr", "AMPA", nmlhub.Probability("0.3*exp(-dist_y/250)"),
                weight=nmlhub.normal(1.0, 0.2, low=0.2), delay="1 + dist_3D/300", placement=dendrites,
                id="L23_to_L5")
    net.connect(pyramids, baskets, "AMPA", nmlhub.Convergence(6), weight=1.0, delay="1 + dist_3D/300",
                id="pyr_to_bask")
    net.connect(baskets, pyramids, "GABA", nmlhub.Probability("0.5*exp(-dist_3D/200)"), weight=1.0,
                delay=1.0, placement=nmlhub.Placement(("soma_group",)), id="bask_to_pyr")
    net.stimulate("background", targets="L4_pyr", id="drive_L4")
    return net


def main() -> None:
    net = build()
    lems = net.save(HERE / "layered_cortex.net.nml",
                    simulation=dict(duration_ms=300, dt_ms=0.025, record_v=["L4_pyr[0]", "L23_pyr[0]", "L5_pyr[0]"],
                                    spikes="layered_cortex.spikes.dat", seed=1))
    print(f"wrote {lems}")
    if "--run" in sys.argv:
        results = nmlhub.simulate(lems)
        print(f"{results.spike_count()} spikes")


if __name__ == "__main__":
    main()
