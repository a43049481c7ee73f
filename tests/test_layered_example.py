"""The layered cortical example built from rules (nml_examples/layered_cortex)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import nmlhub
from nmlhub.model.validate import is_valid, validate
from nmlhub.model.segments import group_segments

FOLDER = Path(__file__).resolve().parents[1] / "nml_examples" / "layered_cortex"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_layered_cortex", FOLDER / "build_layered_cortex.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_are_what_the_script_writes(tmp_path):
    net = _build_module().build()
    written = net.save(tmp_path / "layered_cortex.net.nml")
    fresh = written.read_text()  # its includes differ (relative to the folder written to)
    committed = (FOLDER / "layered_cortex.net.nml").read_text()
    assert fresh.split("<network", 1)[1] == committed.split("<network", 1)[1]
    assert is_valid(validate(FOLDER / "LEMS_layered_cortex.xml"))


def test_layered_network_runs_with_depth_rules():
    model = nmlhub.load(FOLDER / "LEMS_layered_cortex.xml")
    from nmlhub.neuron.simulation import NeuronSimulation

    sim = NeuronSimulation(model, duration_ms=150, keep_expanded=True)
    results = sim.run()
    expanded = sim.expanded
    cells = expanded.cells
    # densities grow with depth: each pyramidal layer's cell count matches its rule's integral
    for layer, (lo, hi) in {"L23": (0.1, 0.35), "L4": (0.35, 0.55), "L5": (0.55, 0.9)}.items():
        gids = cells.gids_of(f"{layer}_pyr")
        ynorm = cells.position[gids, 1] / 1000.0
        assert ynorm.min() >= lo and ynorm.max() <= hi
        volume_mm3 = 300 * 300 * (hi - lo) * 1000 * 1e-9
        expected = volume_mm3 * (1.2e3 + 1.5e3 * (lo + hi) / 2)  # linear density: its mean at mid-depth
        assert abs(len(gids) - expected) <= 1
    # L4 -> L2/3 synapses are all on the apical dendrite, inhibition on the soma
    morph = model.components["pyr_cell"].obj.morphology
    apical = group_segments(morph, "apical")
    l4 = [p for p in expanded.projections if p.rule == "L4_to_L23"]
    assert l4 and all(set(p.post_segment.tolist()) <= apical for p in l4)
    inhibitory = [p for p in expanded.projections if p.rule == "bask_to_pyr"]
    assert all(set(p.post_segment.tolist()) <= group_segments(morph, "soma_group") for p in inhibitory)
    # the drive reaches L4 and activity spreads to the other layers
    spiking = {pop for (pop, _), times in results.spikes.items() if len(times)}
    assert {"L4_pyr", "L23_pyr"} <= spiking
    assert results.spike_count() > 50
