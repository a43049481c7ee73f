"""Cells written in code (``NetworkBuilder.cell``, :class:`nmlhub.rules.cells.CellSpec`): the
NeuroML cell they write, and its behaviour against the same cell built directly in NEURON."""

from __future__ import annotations

import json
import subprocess
import sys

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.rules.cells import CellSpec, Section
from nmlhub.rules.values import RuleError

SECTIONS = {
    "soma": {"length": 18.8, "diam": 18.8, "ra": 123.0, "mechanisms": {"hh": {"gnabar": 0.12, "gkbar": 0.036,
                                                                             "gl": 0.003, "el": -70}}},
    "dend": {"length": 150.0, "diam": 5.0, "ra": 150.0, "nseg": 3, "parent": "soma",
             "mechanisms": {"pas": {"g": 3.57e-5, "e": -70}}},
}

# The same cell built by hand in NEURON (hh's rate tables off: nmlhub computes rates exactly).
NEURON_SCRIPT = """
import json, sys
from neuron import h
h.load_file("stdrun.hoc")
soma, dend = h.Section(name="soma"), h.Section(name="dend")
soma.L = soma.diam = 18.8; soma.Ra = 123.0
soma.insert("hh")  # NEURON's default hh parameters
dend.L, dend.diam, dend.Ra, dend.nseg = 150.0, 5.0, 150.0, 3
dend.insert("pas"); dend.g_pas, dend.e_pas = 3.57e-5, -70
dend.connect(soma(1), 0)
h.usetable_hh = 0
stim = h.IClamp(soma(0.5)); setattr(stim, "del", 20); stim.dur, stim.amp = 100, 0.2
times = h.Vector(); nc = h.NetCon(soma(0.5)._ref_v, None, sec=soma); nc.threshold = 0; nc.record(times)
h.celsius = 6.3; h.dt = 0.01; h.finitialize(-65); h.continuerun(150)
print(json.dumps(list(times)))
"""


def test_builder_cell_writes_a_neuroml_cell_with_its_sections():
    net = nmlhub.NetworkBuilder("code", temperature="6.3 degC")
    cell = net.cell("pyr", SECTIONS, section_lists={"dendrites": ["dend"]}, threshold=0.0)
    assert isinstance(cell, neuroml.Cell) and cell in net.components
    groups = {g.id: g for g in cell.morphology.segment_groups}
    assert {"soma", "dend", "all", "soma_group", "dendrite_group", "dendrites"} <= set(groups)
    assert [p.value for p in groups["dend"].properties] == ["3"]  # nseg
    soma_seg, dend_seg = cell.morphology.segments
    assert dend_seg.parent.segments == soma_seg.id and float(dend_seg.parent.fraction_along) == 1.0
    assert float(dend_seg.distal.x) - float(soma_seg.distal.x) == pytest.approx(150.0)
    densities = {d.ion_channel: d for d in cell.biophysical_properties.membrane_properties.channel_densities}
    # channels are named after their cell (as import-cell names them), so cells never clash
    assert densities["pyr_hh_na"].cond_density == "0.12 S_per_cm2"
    assert densities["pyr_pas"].segment_groups == "dendrites"
    assert {c.id for c in net.components} >= {"pyr_hh_na", "pyr_hh_k", "pyr_hh_leak", "pyr_pas"}
    net.cell("pyr2", SECTIONS)
    ids = [getattr(c, "id", None) for c in net.components]
    assert len(ids) == len(set(ids)) and "pyr2_hh_na" in ids


@pytest.mark.parametrize("sections, message", [
    ({"soma": {"length": -1}}, "positive length"),
    ({"soma": {}, "dend": {"parent": "axon"}}, "parent 'axon' is not a section"),
    ({"soma": {}, "dend": {}}, "2 sections without a parent"),
    ({"soma": {"mechanisms": {"kdr": {}}}}, "mechanism 'kdr'"),
    ({"soma": {"lenght": 10}}, "section 'soma'.*lenght"),
])
def test_bad_sections_are_refused(sections, message):
    with pytest.raises(RuleError, match=message):
        nmlhub.NetworkBuilder("bad").cell("c", sections)


def test_cell_in_code_fires_as_the_same_cell_built_in_neuron(tmp_path):
    net = nmlhub.NetworkBuilder("one", size=(10, 10, 10), temperature="6.3 degC")
    net.cell("pyr", {**SECTIONS, "soma": {**SECTIONS["soma"], "mechanisms": {"hh": {}}}})  # hh's defaults
    net.add(neuroml.PulseGenerator(id="step", delay="20ms", duration="100ms", amplitude="0.2nA"))
    net.population("P", cell="pyr", count=1)
    net.stimulate("step", targets="P")
    ours = nmlhub.simulate(net, duration_ms=150.0, dt_ms=0.01).spikes[("P", 0)]
    done = subprocess.run([sys.executable, "-c", NEURON_SCRIPT], capture_output=True, text=True, check=True)
    theirs = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    assert len(theirs) >= 5
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours, theirs, atol=0.3)


def test_cell_spec_keeps_other_mechanisms_as_mod_references(tmp_path):
    import os
    from pathlib import Path

    from neuroml.writers import NeuroMLWriter

    mod = Path(__file__).parent / "data" / "import_cell" / "mods" / "kslow.mod"
    spec = CellSpec("k", {"soma": Section(length=20, diam=20, mechanisms={"hh": {}, "kslow": {"gbar": 0.003}})},
                    mod_files={"kslow": mod})
    NeuroMLWriter.write(spec.to_document(tmp_path), str(tmp_path / "k.cell.nml"))
    text = (tmp_path / "k.cell.nml").read_text()
    assert os.path.relpath(mod, tmp_path) in text and "0.003" in text
    with pytest.raises(RuleError, match="mechanism 'kslow'"):
        CellSpec("k", {"soma": Section(mechanisms={"kslow": {}})})
