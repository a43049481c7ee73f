"""Gap junctions and graded synapses in parallel runs: between cells on different ranks through
NEURON's ParallelContext transfer of membrane potentials, or, for LEMS point cells (whose v jumps
inside events, after the transfer), with coupled cells kept on one rank; and coupled networks read
from NeuroML HDF5. Always the traces of the serial run of the XML model, which
tests/test_conformance.py compares with jNeuroML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import nmlhub
from nmlhub.neuron import mpi

from test_parallel import _run

pytestmark = pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                                reason="no MPI library")

COUPLED = {  # LEMS file -> the NeuroML file it includes
    "LEMS_NML2_Ex19_GapJunctions.xml": "NML2_GapJunctions.nml",
    "LEMS_NML2_Ex19a_GapJunctionInstances.xml": "NML2_GapJunctionInstances.nml",
    "LEMS_NML2_Ex20_AnalogSynapses.xml": "NML2_AnalogSynapses.nml",
    "LEMS_NML2_Ex20a_AnalogSynapsesHH.xml": "NML2_AnalogSynapsesHH.nml",
}


def _shortened(core_examples: Path, lems: str, folder: Path, length_ms: int = 200) -> Path:
    """A copy of a core LEMS example, shortened, in a copy of the jar's example folders."""
    if not folder.exists():
        shutil.copytree(core_examples / "examples", folder / "examples")
        (folder / "LEMSexamples").mkdir()
    text = (core_examples / "LEMSexamples" / lems).read_text()
    start = text.index('length="') + len('length="')
    text = text[:start] + f"{length_ms}ms" + text[text.index('"', start):]
    (folder / "LEMSexamples" / lems).write_text(text)
    return folder / "LEMSexamples" / lems


@pytest.mark.parametrize("lems", sorted(COUPLED))
def test_coupled_cells_on_two_ranks_give_the_serial_traces(core_examples, tmp_path, lems):
    model = _shortened(core_examples, lems, tmp_path / "jar")
    serial = _run(model, tmp_path / "serial.pkl", 1)
    parallel = _run(model, tmp_path / "parallel.pkl", 2)
    assert parallel["nhost"] == 2
    if "HH" in lems:  # morphological cells: split over the ranks, coupled through the transfer
        assert parallel["cells_here"] < len(serial["spikes"])
    else:  # LEMS point cells reset v in events: coupled ones are kept on one rank
        assert parallel["cells_here"] == len(serial["spikes"])
    assert serial["traces"] and parallel["traces"] == serial["traces"]
    assert parallel["spikes"] == serial["spikes"]


@pytest.mark.parametrize("lems, read_whole", [
    # LEMS point cells: every rank reads the gap junctions to keep coupled cells together
    ("LEMS_NML2_Ex19a_GapJunctionInstances.xml", ["testGJconn"]),
    # morphological cells: each rank reads only the connections touching its cells
    ("LEMS_NML2_Ex20a_AnalogSynapsesHH.xml", []),
])
def test_coupled_network_from_hdf5_runs_like_its_xml(core_examples, tmp_path, lems, read_whole):
    include = COUPLED[lems]
    model = _shortened(core_examples, lems, tmp_path / "jar")
    nmlhub.save(tmp_path / "jar" / "examples" / include, tmp_path / "jar" / "examples" / f"{include}.h5")
    from_hdf5 = model.with_name("LEMS_from_hdf5.xml")
    from_hdf5.write_text(model.read_text().replace(f'"../examples/{include}"', f'"../examples/{include}.h5"'))
    serial = _run(model, tmp_path / "serial.pkl", 1)
    assert _run(from_hdf5, tmp_path / "h5_serial.pkl", 1)["traces"] == serial["traces"]
    parallel = _run(from_hdf5, tmp_path / "h5_parallel.pkl", 2)
    assert parallel["traces"] == serial["traces"] and parallel["tables_read_whole"] == read_whole
