"""nmlhub.rules.distinct against numpy's own np.unique and np.intersect1d, and a cached build of a
rules network on 2 MPI ranks that imports neither numpy.ma nor pylems's object model (each a tenth
of a second of CPU on every rank of every run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nmlhub.rules.distinct import distinct, intersect

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("size", [0, 1, 2, 17, 1000])
def test_the_same_values_as_numpy(size):
    rng = np.random.default_rng(size)
    for dtype in (np.int32, np.int64, float):
        a = rng.integers(-50, 50, size).astype(dtype)
        b = rng.integers(-20, 80, size // 2 + 3).astype(dtype)
        assert np.array_equal(distinct(a), np.unique(a)) and distinct(a).dtype == np.unique(a).dtype
        assert np.array_equal(intersect(a, b), np.intersect1d(a, b))
        assert np.array_equal(intersect(b, a[:0]), np.intersect1d(b, a[:0]))


_BUILD = """
import sys
from nmlhub.model import load
from nmlhub.neuron import mpi
from nmlhub.neuron.simulation import NeuronSimulation
mpi.init()
sim = NeuronSimulation(load(sys.argv[1]), share_synapses=True)
sim.build()
if sim.rank == 0:
    print("IMPORTED", "numpy.ma" in sys.modules, "lems.model.component" in sys.modules)
sim.finish()
"""


def test_a_cached_build_imports_neither_numpy_ma_nor_pylems(tmp_path):
    from nmlhub.neuron import mpi

    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_network_model.py"), "100",
                    str(tmp_path / "net"), "5"], check=True, capture_output=True)
    script = tmp_path / "build.py"
    script.write_text(_BUILD)
    command = ["mpiexec", "-n", "2", sys.executable, str(script), str(tmp_path / "net" / "LEMS_bench.xml")]
    runs = [subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=300)
            for _ in range(2)]  # the first fills the caches
    lines = [line.split() for line in runs[1].stdout.splitlines() if line.startswith("IMPORTED")]
    assert runs[1].returncode == 0, runs[1].stderr[-2000:]
    assert lines == [["IMPORTED", "False", "False"]]
