"""The weight of a connection or input that gives none, and a weight of 0 (issue 16, session 15,
docs/osb_outside_corpus.md "Session 15"): found on llandsmeer/GlomerularGapJunctionsNeuroML's
`Sim.xml`, whose graded synapse declares `<Property name="weight" defaultValue="2"/>` and is used by a
plain `continuousConnection`. jLEMS keeps a Property's default where nothing assigns it; nmlhub
used 1. Each model here has its jLEMS reference (tests/data/outside_corpus/networks/
make_references_s15.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import neuroml
import numpy as np

from nmlhub.model.coupled import coupled_rows

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "networks"
REFERENCE = DATA / "reference"


def _run(lems: str, outdir: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(DATA / lems), "--outdir", str(outdir)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr


def test_a_connection_or_input_without_weight_keeps_the_components_default(tmp_path):
    """A graded synapse (weight default 2) on a plain continuousConnection, a gap junction (default 3)
    on a plain electricalConnection, an event synapse (default 2) on a plain connection, an input
    (default 2) as an explicitInput and as a plain input: each acts with its default, as in jLEMS
    (nmlhub gave each weight 1: B and C moved by half and a third of jLEMS's amount, and A, losing
    less through C, spiked 0.05 to 0.5 ms early)."""
    _run("LEMS_property_default.xml", tmp_path)
    ours, jlems = np.loadtxt(tmp_path / "property_default.dat"), np.loadtxt(REFERENCE / "property_default.dat")
    assert ours.shape == jlems.shape
    # A (driven), B (graded), C (gap), E[0] and E[1] (inputs): to jLEMS's output precision
    for column in (1, 2, 3, 5, 6):
        np.testing.assert_allclose(ours[:, column], jlems[:, column], rtol=0, atol=1e-7)
    # D (event synapse, kicked at A's spikes through a connection of delay 0): within 1e-5 V of 8.4 mV
    np.testing.assert_allclose(ours[:, 4], jlems[:, 4], rtol=0, atol=2e-5)
    for column in (2, 3, 4, 5, 6):
        assert np.ptp(jlems[:, column]) > 3e-4  # every target moves


def test_a_weight_of_zero_couples_nothing(tmp_path):
    """electricalConnectionInstanceW and continuousConnectionInstanceW with weight="0" couple
    nothing in jLEMS; nmlhub read 0 as "no weight" and coupled them at full strength."""
    _run("LEMS_zero_weight.xml", tmp_path)
    ours, jlems = np.loadtxt(tmp_path / "zero_weight.dat"), np.loadtxt(REFERENCE / "zero_weight.dat")
    assert ours.shape == jlems.shape
    assert np.ptp(jlems[:, 2]) == 0 and np.ptp(jlems[:, 4]) == 0  # weight 0: B[0], C[0] stay at rest
    np.testing.assert_allclose(ours[:, :4], jlems[:, :4], rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours[:, 4:], jlems[:, 4:], rtol=0, atol=2e-6)  # C[1]: 0.36 mV range


def test_coupled_rows_keep_a_zero_weight_and_mark_a_missing_one():
    """The rows of a projection: 0 stays 0; a connection without weight is NaN (its components'
    own defaults), read as 1 by the analyses."""
    proj = neuroml.ElectricalProjection(id="p", presynaptic_population="A", postsynaptic_population="B")
    proj.electrical_connection_instance_ws.append(neuroml.ElectricalConnectionInstanceW(
        id=0, pre_cell="../A/0/iaf", post_cell="../B/0/iaf", synapse="gap", weight="0"))
    proj.electrical_connection_instance_ws.append(neuroml.ElectricalConnectionInstanceW(
        id=1, pre_cell="../A/0/iaf", post_cell="../B/1/iaf", synapse="gap", weight="0.5"))
    proj.electrical_connection_instances.append(neuroml.ElectricalConnectionInstance(
        id=2, pre_cell="../A/0/iaf", post_cell="../B/1/iaf", synapse="gap"))
    rows = coupled_rows(proj, electrical=True)
    weights = dict(zip(rows.columns.post_cell.tolist(), rows.weight.tolist()))
    assert sorted(rows.weight[~np.isnan(rows.weight)].tolist()) == [0.0, 0.5]
    assert np.isnan(rows.weight).sum() == 1 and weights[0] == 0.0
    assert sorted(rows.weights_or_one().tolist()) == [0.0, 0.5, 1.0]
