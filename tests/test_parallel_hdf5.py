"""Parallel runs of a network stored in NeuroML HDF5: each rank reads only the connections and
inputs onto its own cells, and spikes detected away from the soma keep the same gids on every rank,
so the answer is the serial one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import nmlhub
from nmlhub.neuron import mpi

from test_parallel import _run

EXAMPLES = Path(__file__).resolve().parent.parent / "nml_examples"

pytestmark = pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                                reason="no MPI library")


@pytest.fixture(scope="module")
def hdf5_network(tmp_path_factory) -> Path:
    """mc_network in NeuroML HDF5, with 1 ms delays, its pyramidal cells' spikes detected on a
    dendrite (segment 1 at 0.7) rather than at the soma."""
    root = tmp_path_factory.mktemp("hdf5_network")
    shutil.copytree(EXAMPLES / "hh_single", root / "hh_single")
    folder = root / "mc"
    folder.mkdir()
    for cell in ("pyr_cell.cell.nml", "bask_cell.cell.nml"):
        shutil.copy(EXAMPLES / "mc_network" / cell, folder / cell)
    text = (EXAMPLES / "mc_network" / "mc_network.net.nml").read_text()
    moved = re.sub(r'(preCellId="\.\./pyr/\d/pyr_cell") preSegmentId="0" preFractionAlong="0\.5"',
                   r'\1 preSegmentId="1" preFractionAlong="0.7"', text)
    assert moved.count('preSegmentId="1"') >= 10
    # spikes between ranks need delays of at least a step
    moved, count = re.subn(r'<connection (id="\d+".*?)/>', r'<connectionWD \1 weight="1" delay="1ms"/>', moved)
    assert count == moved.count("<connectionWD ")
    (folder / "mc_network.net.nml").write_text(moved)
    nmlhub.save(folder / "mc_network.net.nml", folder / "mc_network.net.nml.h5")
    lems = (EXAMPLES / "mc_network" / "LEMS_mc_network.xml").read_text()
    (folder / "LEMS_h5.xml").write_text(lems.replace('"mc_network.net.nml"', '"mc_network.net.nml.h5"'))
    return folder / "LEMS_h5.xml"


def test_ranks_read_only_their_part_and_give_the_serial_answer(hdf5_network, tmp_path):
    serial = _run(hdf5_network, tmp_path / "serial.pkl", 1)
    assert sum(len(v) for v in serial["spikes"].values()) > 20
    for ranks, extra in ((2, ()), (3, ("--balance",))):
        parallel = _run(hdf5_network, tmp_path / f"p{ranks}.pkl", ranks, *extra)
        assert parallel["nhost"] == ranks
        assert parallel["tables_read_whole"] == []
        assert parallel["connections_here"] < serial["connections_here"]
        assert parallel["spikes"] == serial["spikes"]
        assert parallel["traces"] == serial["traces"]


def test_spikes_detected_on_a_dendrite_change_the_answer(hdf5_network):
    """The moved detection sites matter (so the test above exercises them)."""
    moved = nmlhub.simulate(hdf5_network)
    text = hdf5_network.read_text().replace('"mc_network.net.nml.h5"', '"soma.net.nml.h5"')
    (hdf5_network.parent / "LEMS_soma.xml").write_text(text)
    at_soma = (hdf5_network.parent / "mc_network.net.nml").read_text()
    at_soma = at_soma.replace('preSegmentId="1" preFractionAlong="0.7"', 'preSegmentId="0" preFractionAlong="0.5"')
    (hdf5_network.parent / "soma.net.nml").write_text(at_soma)
    nmlhub.save(hdf5_network.parent / "soma.net.nml", hdf5_network.parent / "soma.net.nml.h5")
    original = nmlhub.simulate(hdf5_network.parent / "LEMS_soma.xml")
    assert {k: v.tolist() for k, v in moved.spikes.items()} != {k: v.tolist() for k, v in original.spikes.items()}


def test_weighted_inputs_and_connections_from_hdf5_on_two_ranks(tmp_path):
    """izh_network (inputW weights, connectionWD weights and delays) from NeuroML HDF5 gives the
    spikes of its XML, serially and on 2 ranks (HDF5 input weights were once all read as 1)."""
    folder = tmp_path / "izh"
    shutil.copytree(EXAMPLES / "izh_network", folder)
    nmlhub.save(folder / "izh_network.net.nml", folder / "izh_network.net.nml.h5")
    lems = (folder / "LEMS_izh_network.xml").read_text()
    (folder / "LEMS_h5.xml").write_text(lems.replace('"izh_network.net.nml"', '"izh_network.net.nml.h5"'))
    reference = _run(folder / "LEMS_izh_network.xml", tmp_path / "xml.pkl", 1)
    assert sum(len(v) for v in reference["spikes"].values()) > 100
    for ranks in (1, 2):
        from_hdf5 = _run(folder / "LEMS_h5.xml", tmp_path / f"h5_{ranks}.pkl", ranks)
        assert from_hdf5["spikes"] == reference["spikes"] and from_hdf5["traces"] == reference["traces"]
