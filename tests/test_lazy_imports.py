"""What loading and running a model imports: networkx (libNeuroML's, 20 MB) and scipy.special
(16 MB) only when used, and libNeuroML's use of networkx still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"

REPORT = """
import sys
import nmlhub
from nmlhub.neuron.simulation import NeuronSimulation
sim = NeuronSimulation(nmlhub.load(sys.argv[1]), duration_ms=5)
sim.run()
real = lambda name: type(sys.modules.get(name)).__name__ == "module"
print("networkx", real("networkx"), "scipy.special", real("scipy.special"))
"""


def imported_after_run(lems: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", REPORT, str(lems)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


def test_a_file_network_runs_without_networkx_or_scipy_special():
    assert imported_after_run(EXAMPLES / "hh_single" / "LEMS_hh_single.xml") == "networkx False scipy.special False"


def test_libneuroml_cell_graph_imports_networkx_when_used():
    code = """
import sys
import nmlhub
model = nmlhub.load(sys.argv[1])
cell = model.components["pyr_cell"].obj
assert type(sys.modules["networkx"]).__name__ != "module"
graph = cell.get_graph()
import networkx
assert type(sys.modules["networkx"]).__name__ == "module"
print(type(graph).__name__, isinstance(graph, networkx.DiGraph), graph.number_of_edges(), len(cell.morphology.segments))
"""
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "mc_network" / "LEMS_mc_network.xml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    name, is_digraph, edges, segments = proc.stdout.split()
    assert (name, is_digraph) == ("DiGraph", "True") and int(edges) == int(segments) - 1 > 0  # a tree
