"""NetPyNE's synapse and input placement imported (``loc``, ``synsPerConn``, ``subConnParams``
with 1D and 2D maps, ``sec`` lists and section lists for stimulation), checked against the
positions NetPyNE's own rules give (computed here from the geometry), and what is still not
translated refused naming the part."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nmlhub
from nmlhub.importers.netpyne import NetPyNEError, import_netpyne
from nmlhub.model.cells import cell_morphology
from nmlhub.rules.expand import expand
from nmlhub.rules.placement import segment_table

from test_netpyne_import import _pyr_params, _write


def _params(**extra) -> dict:
    params = _pyr_params(popParams={"S": {"cellType": "PYR", "numCells": 20}, "M": {"cellType": "PYR", "numCells": 30}},
                         **extra)
    params["cellParams"]["PYR"]["secs"]["dend"]["geom"]["pt3d"] = [[18.8, 0, 0, 5], [118.8, 0, 0, 5],
                                                                  [168.8, 0, 0, 5]]
    params["cellParams"]["PYR"]["secs"]["apic"] = {"geom": {"diam": 2.0, "L": 40.0, "Ra": 150.0},
                                                  "topol": {"parentSec": "soma", "parentX": 0.0, "childX": 0}}
    params["cellParams"]["PYR"]["secLists"] = {"dendrites": ["dend", "apic"]}
    return params


def _expanded(params: dict, folder, name: str = "m"):
    result = import_netpyne(_write(folder, params, {"duration": 10}), folder / f"{name}.net.nml")
    model = nmlhub.load(result.lems)
    rules = model.rules[name]
    morphologies = {p.cell: cell_morphology(model.components[p.cell].obj, model.components) for p in rules.populations}
    return rules, morphologies, expand(rules, morphologies)


def _conn(**rule) -> dict:
    return {"c": {"preConds": {"pop": "S"}, "postConds": {"pop": "M"}, "convergence": 4, "weight": 0.01,
                  "synMech": "exc", **rule}}


def test_loc_on_a_section_is_exact(tmp_path):
    """loc 0.75 of the dendrite (100 um then 50 um of pt3d): 112.5 um along, a quarter into the
    second segment; loc 1.0 its far end, as NetPyNE puts tut3's synapses."""
    for loc, where in ((0.75, (2, 0.25)), (1.0, (2, 1.0))):
        _, _, full = _expanded(_params(connParams=_conn(sec="dend", loc=loc)), tmp_path)
        (proj,) = full.projections
        assert set(proj.post_segment.tolist()) == {where[0]}
        np.testing.assert_allclose(proj.post_fraction, where[1], rtol=1e-6)


def test_loc_on_a_section_list_picks_a_section_per_connection(tmp_path):
    rules, morphologies, full = _expanded(_params(connParams=_conn(sec="dendrites", loc=1.0)), tmp_path)
    (proj,) = full.projections
    apic = segment_table(morphologies["PYR"], ("apic",)).ids
    assert rules.connections[0].placement.segment_groups == ("dend", "apic")
    ends = proj.post_segment
    assert set(ends.tolist()) == {2, int(apic[-1])} and np.all(proj.post_fraction == 1.0)
    assert abs(np.mean(ends == 2) - 0.5) < 5 * np.sqrt(0.25 / len(ends))  # each section half the time


def test_syns_per_conn_spreads_synapses_evenly_each_with_the_weight(tmp_path):
    """synsPerConn 3 on the 150 um dendrite: synapses at 25, 75 and 125 um, the weight each."""
    _, _, full = _expanded(_params(connParams=_conn(sec="dend", synsPerConn=3)), tmp_path)
    (proj,) = full.projections
    assert len(proj) == 30 * 4 * 3
    expected = [(1, 0.25), (1, 0.75), (2, 0.5)]
    assert list(zip(proj.post_segment.tolist(), np.round(proj.post_fraction.astype(float), 6).tolist())) == expected * 120
    assert np.all(proj.weight == 0.01)


def test_loc_lists_place_each_synapse_or_pair_with_the_sections(tmp_path):
    """synsPerConn 2 with loc [0.2, 0.9] on the dendrite: 30 and 135 um along it; loc [1.0, 0.5]
    with sec [dend, apic]: the dendrite's end or the apical section's middle, each half the time."""
    _, _, full = _expanded(_params(connParams=_conn(sec="dend", loc=[0.2, 0.9], synsPerConn=2)), tmp_path)
    (proj,) = full.projections
    expected = [(1, 0.3), (2, 0.7)]
    assert list(zip(proj.post_segment.tolist(), np.round(proj.post_fraction.astype(float), 6).tolist())) == expected * 120
    rules, morphologies, full = _expanded(_params(connParams=_conn(sec=["dend", "apic"], loc=[1.0, 0.5])),
                                          tmp_path, "m2")
    assert rules.connections[0].placement.loc == (1.0, 0.5)
    (proj,) = full.projections
    apic = int(segment_table(morphologies["PYR"], ("apic",)).ids[0])
    spots = list(zip(proj.post_segment.tolist(), np.round(proj.post_fraction.astype(float), 6).tolist()))
    assert set(spots) == {(2, 1.0), (apic, 0.5)}
    assert abs(spots.count((2, 1.0)) / len(spots) - 0.5) < 5 * np.sqrt(0.25 / len(spots))


def test_sub_conn_params_2d_map_is_the_rules_placement(tmp_path):
    """A 2Dmap over the dendrite (x from the soma, depth with fixedSomaY): synapses only where
    the map is not zero (beyond x = 100 um), in proportion to length there."""
    density = {"type": "2Dmap", "gridX": [0, 99, 100, 200], "gridY": [-100, 100],
               "gridValues": [[0, 0], [0, 0], [1, 1], [1, 1]], "fixedSomaY": 0}
    params = _params(connParams=_conn(sec="dend"),
                     subConnParams={"map": {"preConds": {"pop": "S"}, "postConds": {"pop": "M"}, "sec": "dend",
                                            "density": density}})
    rules, _, full = _expanded(params, tmp_path)
    placement = rules.connections[0].placement
    assert placement.spread == "map2d" and placement.fixed_soma_y == 0 and placement.grid_values[2] == (1, 1)
    (proj,) = full.projections
    # the dendrite's first segment (18.8..118.8 um, middle 68.8) is in the zero part
    assert set(proj.post_segment.tolist()) == {2}
    density_1d = {"type": "1Dmap", "gridY": [-100, 100], "gridValues": [1, 1]}
    params["subConnParams"]["map"]["density"] = density_1d
    rules, _, full = _expanded(params, tmp_path, "m1")
    counts = np.bincount(full.projections[0].post_segment, minlength=3)[1:]
    assert abs(counts[0] / counts.sum() - 100 / 150) < 5 * np.sqrt((2 / 9) / counts.sum())


def test_stimulation_on_a_section_list_and_delay(tmp_path):
    params = _params(stimSourceParams={"bkg": {"type": "NetStim", "rate": 10, "noise": 0, "start": 2}},
                     stimTargetParams={"bkg->M": {"source": "bkg", "conds": {"pop": "M"}, "sec": "dendrites",
                                                  "loc": 0.5, "weight": 0.01, "delay": 3, "synMech": "exc"}})
    rules, morphologies, full = _expanded(params, tmp_path)
    (stim,) = rules.stimulations
    assert stim.segment_groups == ("dend", "apic") and stim.loc == 0.5
    (inputs,) = full.inputs
    apic = segment_table(morphologies["PYR"], ("apic",))
    # the middle of the dendrite (75 um: segment 1 at 0.75) or of the apical section
    assert set(zip(inputs.segment.tolist(), np.round(inputs.fraction, 6).tolist())) <= {(1, 0.75), (int(apic.ids[0]), 0.5)}
    assert len(set(inputs.segment.tolist())) == 2
    # NetPyNE's delay is its NetCon's: the NetStim starts 3 ms later (the train shifted whole)
    text = (tmp_path / "m.components.xml").read_text()
    assert 'start="5.0ms"' in text


def test_stimulation_of_a_cell_list(tmp_path):
    params = _params(stimSourceParams={"step": {"type": "IClamp", "del": 1, "dur": 1, "amp": 0.1}},
                     stimTargetParams={"step->M": {"source": "step", "conds": {"pop": "M", "cellList": [2, 5, 29]},
                                                   "sec": "dend", "loc": 0.75}})
    _, _, full = _expanded(params, tmp_path)
    (inputs,) = full.inputs
    assert inputs.population == "M" and inputs.cell.tolist() == [2, 5, 29]
    assert set(inputs.segment.tolist()) == {2}


@pytest.mark.parametrize("change, message", [
    (dict(stimSourceParams={"step": {"type": "IClamp", "del": 1, "dur": 1, "amp": 0.1}},
          stimTargetParams={"t": {"source": "step", "conds": {"pop": ["S", "M"], "cellList": [1]}}}),
     "cellList is imported with conditions naming one population"),
    (dict(connParams=_conn(sec="dend", loc=[0.1, 0.2])), "2 loc values for 1 segment groups"),
    (dict(connParams=_conn(sec="dend", loc=[0.1, 0.2], synsPerConn=3)), "takes a list of 3 loc values"),
    (dict(connParams=_conn(sec="nowhere", loc=0.3)), "no section or section list 'nowhere'"),
    (dict(connParams=_conn(), subConnParams={"x": {"preConds": {"pop": "S"}, "postConds": {"pop": "M"},
                                                   "density": {"type": "distance", "ref_sec": "soma"}}}),
     "density type 'distance' is not imported"),
    (dict(connParams=_conn(), subConnParams={"x": {"preConds": {"pop": "S"}, "postConds": {"pop": "M"},
                                                   "groupSynMechs": ["exc"], "density": "uniform"}}),
     "groupSynMechs"),
])
def test_what_is_not_translated_is_refused(change, message, tmp_path):
    with pytest.raises(NetPyNEError, match=message):
        import_netpyne(_write(tmp_path, _params(**change), {"duration": 10}), tmp_path / "x.net.nml")
    assert not (tmp_path / "x.net.nml").exists()
