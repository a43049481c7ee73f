#!/usr/bin/env python
"""One model, three engines: jLEMS (``jnml``), pyNeuroML's NEURON export (``jnml -neuron``) and
nmlhub, and how far apart their spike times are (docs/conformance.md, "Tolerance 0").

Run by hand, from the repository (needs ``jnml``, Java and NEURON's ``nrnivmodl``)::

    python tests/conformance/three_engines.py [LEMS_FILE SPIKES_FILE [STEP ...]] [--threshold=MV]

(by default nml_examples/hh_single/LEMS_hh_single.xml, hh_single.spikes.dat, steps 0.01ms 0.001ms)

Each engine runs a copy of the model and every file it includes (neighbouring folders too); the
export's Poisson-input .mod files get the NEURON 9 fix of make_export_references.py; the spike times of SPIKES_FILE (an
``EventOutputFile``, or a trace whose crossings of 0 mV, or of ``--threshold=MV``, are the spikes,
as omv detects them) are printed side by side with the largest difference between each pair of
engines, absolute (ms) and relative (as omv compares them:
``numpy.allclose(ours, expected, rtol=tolerance)``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_export_references import apply_random_fix, copy_with_includes, describe_outputs, find_simulation  # noqa: E402


#: the step of a ``<Simulation>`` (or of a ``<Component type="Simulation">``)
_SIMULATION_STEP = re.compile(r'(<(?:Simulation\b|Component\b[^>]*\btype="Simulation")[^>]*\bstep=")[^"]*"')


def _jnml() -> str:
    beside = Path(sys.executable).parent / "jnml"
    return str(beside) if beside.is_file() else "jnml"


def _spikes(folder: Path, name: str, threshold_mv: float = 0.0) -> np.ndarray:
    """Spike times (ms): the events of an event file (TIME_ID or ID_TIME, in s), or the first
    samples at or above the threshold of a trace file (time, v in SI), as omv detects them."""
    table = np.loadtxt(folder / name, ndmin=2)
    if not table.size:
        return np.zeros(0)
    integral = [bool(np.all(table[:, k] == np.round(table[:, k]))) for k in (0, 1)]
    if integral[0] != integral[1]:
        return np.sort(table[:, 1] if integral[0] else table[:, 0]) * 1e3
    v = table[:, 1] - threshold_mv * 1e-3
    crossings = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0)) + 1
    return table[crossings, 0] * 1e3


def run(lems: Path, spikes_file: str, step: str, threshold_mv: float = 0.0) -> dict[str, np.ndarray]:
    """Spike times (ms) of ``spikes_file`` from each engine, the simulation's step set to ``step``."""
    commands = {
        "jLEMS": [_jnml(), lems.name, "-nogui"],
        # the export, compiled and run as its own script (``-run`` needs NEURON_HOME)
        "NEURON export": [_jnml(), lems.name, "-neuron", "-nogui"],
        "nmlhub": [sys.executable, "-m", "nmlhub", "run", lems.name, "--no-progress"],
    }
    found = {}
    with tempfile.TemporaryDirectory(prefix="three-engines-") as scratch:
        for engine, command in commands.items():
            # the model and every file it includes, neighbouring folders too, as the export
            # references are made (make_export_references.py)
            files, folder = copy_with_includes(lems, Path(scratch) / engine.replace(" ", "_"))
            for output in describe_outputs(find_simulation(files)[0]):
                (folder / output["fileName"]).parent.mkdir(parents=True, exist_ok=True)
            copy = folder / lems.name
            copy.write_text(_SIMULATION_STEP.sub(rf'\g<1>{step}"', copy.read_text()))
            try:
                subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=1800)
                if engine == "NEURON export":
                    apply_random_fix(folder)  # jNeuroML's Poisson inputs and NEURON 9
                    for then in (["nrnivmodl"], [sys.executable, f"{lems.stem}_nrn.py", "-nogui"]):
                        subprocess.run(then, cwd=folder, check=True, capture_output=True, timeout=1800)
            except subprocess.CalledProcessError as exc:  # jLEMS refuses multi-compartment cells
                print(f"  {engine}: failed ({' '.join(map(str, exc.cmd[:3]))} exit {exc.returncode})")
                continue
            found[engine] = _spikes(folder, spikes_file, threshold_mv)
    return found


def main() -> None:
    options = [a for a in sys.argv[1:] if a.startswith("--threshold=")]
    args = [a for a in sys.argv[1:] if a not in options]
    threshold_mv = float(options[-1].split("=", 1)[1]) if options else 0.0
    lems = Path(args[0] if args else REPO / "nml_examples/hh_single/LEMS_hh_single.xml").resolve()
    spikes_file = args[1] if len(args) > 1 else "hh_single.spikes.dat"
    for step in args[2:] or ["0.01ms", "0.001ms"]:
        print(f"step {step}")
        found = run(lems, spikes_file, step, threshold_mv)
        for engine, times in found.items():
            print(f"  {engine:14s} {len(times):3d} spikes: {' '.join(f'{t:.5f}' for t in times)}")
        engines = list(found)
        for i, a in enumerate(engines):
            for b in engines[i + 1:]:
                if len(found[a]) != len(found[b]):
                    print(f"  {a} vs {b}: {len(found[a])} vs {len(found[b])} spikes")
                    continue
                diff = np.abs(found[a] - found[b])
                print(f"  {a} vs {b}: largest difference {diff.max():.5f} ms, relative "
                      f"{(diff / np.abs(found[b])).max():.2e}")


if __name__ == "__main__":
    main()
