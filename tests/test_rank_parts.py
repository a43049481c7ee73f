"""Per-rank results (``nmlhub run --gather none``) with real MPI (mpiexec -n 2): each rank writes
its own part, and ``nmlhub convert`` merges the parts into the file a gathered run writes, dataset
for dataset and attribute for attribute; a missing or foreign part is a one-line error naming it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from nmlhub.converters import ConversionError, load, merge_rank_parts
from nmlhub.neuron import mpi

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "nml_examples"
IZH = EXAMPLES / "izh_network" / "LEMS_izh_network.xml"

pytestmark = pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                                reason="no MPI library")


def _nmlhub(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600,
                          env=mpi.environment())
    if ok:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _same_hdf5(a: Path, b: Path) -> None:
    """Every dataset and attribute of two HDF5 files equal (values, shapes, dtypes, order)."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert sorted(fa) == sorted(fb)
        for key in fa:
            x, y = fa[key][()], fb[key][()]
            assert x.dtype == y.dtype and x.shape == y.shape, key
            assert (list(x) == list(y)) if x.dtype.kind == "O" else np.array_equal(x, y), key
        assert dict(fa.attrs.items()).keys() == dict(fb.attrs.items()).keys()
        for key, value in fa.attrs.items():
            assert np.array_equal(value, fb.attrs[key]), key


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """izh_network on 2 ranks, gathered (``gathered.h5``) and per rank (``parts/izh_network.rank<k>.h5``)."""
    root = tmp_path_factory.mktemp("rank_parts")
    _nmlhub("run", str(IZH), "-n", "2", "--no-progress", "--outdir", str(root / "out"),
            "--output", str(root / "gathered.h5"))
    proc = _nmlhub("run", str(IZH), "-n", "2", "--no-progress", "--outdir", str(root / "parts"), "--gather", "none")
    assert "izh_network.rank0.h5" in proc.stdout and "izh_network.rank1.h5" in proc.stdout
    assert not list((root / "parts").glob("*.dat"))  # rank 0 gathered nothing to write them from
    return root


def test_merged_parts_equal_the_gathered_file(two_runs, tmp_path):
    parts = two_runs / "parts"
    with h5py.File(parts / "izh_network.rank0.h5", "r") as f0, h5py.File(parts / "izh_network.rank1.h5", "r") as f1:
        counts = (len(f0["cell_index"]), len(f1["cell_index"]))
    assert counts[0] > 0 and counts[1] > 0  # each rank wrote only its own cells
    gathered = load(two_runs / "gathered.h5")
    assert sum(counts) == len(gathered.spikes) and gathered.spike_count() > 100
    # from either part, the whole run
    _nmlhub("convert", str(parts / "izh_network.rank1.h5"), str(tmp_path / "merged.h5"))
    _same_hdf5(two_runs / "gathered.h5", tmp_path / "merged.h5")
    # and into any results format
    _nmlhub("convert", str(parts / "izh_network.rank0.h5"), str(tmp_path / "merged.json"))
    merged = load(tmp_path / "merged.json")
    assert list(merged.spikes) == list(gathered.spikes)
    assert all(np.array_equal(merged.spikes[k], gathered.spikes[k]) for k in gathered.spikes)
    assert list(merged.traces) == list(gathered.traces)


def test_a_missing_part_is_named(two_runs, tmp_path):
    shutil.copy(two_runs / "parts" / "izh_network.rank0.h5", tmp_path / "run.rank0.h5")
    proc = _nmlhub("convert", str(tmp_path / "run.rank0.h5"), str(tmp_path / "merged.h5"), ok=False)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'run.rank1.h5'}: missing" in proc.stderr
    assert not (tmp_path / "merged.h5").exists()


def test_a_part_of_another_run_is_named(two_runs, tmp_path):
    other = tmp_path / "other"
    _nmlhub("run", str(IZH), "-n", "2", "--no-progress", "--outdir", str(other), "--gather", "none",
            "--duration", "100")
    for k in (0, 1):
        shutil.copy(two_runs / "parts" / f"izh_network.rank{k}.h5", tmp_path / f"run.rank{k}.h5")
    shutil.copy(other / "izh_network.rank1.h5", tmp_path / "run.rank1.h5")
    proc = _nmlhub("convert", str(tmp_path / "run.rank0.h5"), str(tmp_path / "merged.h5"), ok=False)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert f"{tmp_path / 'run.rank1.h5'}: belongs to another run" in proc.stderr
    # the same rank twice
    with pytest.raises(ConversionError, match="rank0.h5.*1 ranks? .*|none of rank 1"):
        merge_rank_parts([tmp_path / "run.rank0.h5", tmp_path / "run.rank0.h5"])


def test_a_part_read_as_results_says_to_merge(two_runs):
    with pytest.raises(ConversionError, match=r"rank1\.h5: holds rank 1's part of a run on 2 ranks; merge"):
        load(two_runs / "parts" / "izh_network.rank1.h5")


def test_python_api_writes_and_merges_parts(two_runs, tmp_path):
    """Under mpiexec, NeuronSimulation(gather="none") returns each rank's own cells; save_rank_part
    and merge_rank_parts give the gathered run's results."""
    script = (
        "import sys\n"
        "from nmlhub.model import load\n"
        "from nmlhub.neuron.simulation import NeuronSimulation\n"
        "sim = NeuronSimulation(load(sys.argv[1]), gather='none')\n"
        "results = sim.run()\n"
        "print('cells', sim.rank, len(results.spikes), sim.save_rank_part(results, sys.argv[2]))\n"
        "sim.finish()\n")
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, "-c", script, str(IZH), str(tmp_path / "api.h5")]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    merged, gathered = merge_rank_parts(tmp_path / "api.rank0.h5"), load(two_runs / "gathered.h5")
    assert list(merged.spikes) == list(gathered.spikes)
    assert all(np.array_equal(merged.spikes[k], gathered.spikes[k]) for k in gathered.spikes)
    assert list(merged.traces) == list(gathered.traces)
    assert all(np.array_equal(merged.traces[k], gathered.traces[k]) for k in gathered.traces)
    assert merged.settings == gathered.settings


def test_a_serial_run_writes_one_part(tmp_path):
    """Without MPI, --gather none writes the whole run as rank 0's part; merged, it is the file
    --output writes."""
    _nmlhub("run", str(IZH), "--no-progress", "--duration", "200", "--outdir", str(tmp_path / "g"),
            "--output", str(tmp_path / "gathered.h5"))
    _nmlhub("run", str(IZH), "--no-progress", "--duration", "200", "--outdir", str(tmp_path / "p"),
            "--gather", "none", "--output", str(tmp_path / "run.h5"))
    assert (tmp_path / "run.rank0.h5").is_file() and not (tmp_path / "run.h5").exists()
    _nmlhub("convert", str(tmp_path / "run.rank0.h5"), str(tmp_path / "merged.h5"))
    _same_hdf5(tmp_path / "gathered.h5", tmp_path / "merged.h5")
