"""Simulation time of one multi-compartment model with nmlhub against jNeuroML's NEURON export.

The export (``jnml LEMS -neuron -nogui``: a Python script and NMODL files, compiled with
``nrnivmodl``) is made once in a scratch copy of the model's files; then the export and nmlhub
(the NEURON engine) each run the model in a fresh process, interleaved, ``--repeats`` times. Each
run prints the CPU seconds of its simulation alone (the export's ``run()``, which also writes its
small output files; nmlhub's ``run()`` after ``build()``); the medians and their ratio are printed.
``--before DIR`` also runs nmlhub from another source tree (e.g. ``git archive main | tar -x -C DIR``),
put first on ``PYTHONPATH``, to measure a change.

Usage: python benchmarks/multicompartment_bench.py [LEMS_FILE] [--duration-ms D] [--repeats 3]
       [--before DIR]
(default: the corpus's MiglioreEtAl14 LEMS_2MC_2GC_Odor.test.xml, 2 mitral and 2 granule cells)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "conformance"))

from make_export_references import copy_with_includes  # noqa: E402

CORPUS = Path(os.environ.get("NMLHUB_CORPUS", HERE.parents[1] / "shared" / "corpus"))
DEFAULT = CORPUS / "osb" / "MiglioreEtAl14_OlfactoryBulb3D" / "NeuroML2" / "Networks" / "LEMS_2MC_2GC_Odor.test.xml"

EXPORT_RUN = """
import atexit, json, re, runpy, sys, time
script, duration = sys.argv[1], float(sys.argv[2])
text = open(script).read()
dt = float(re.search(r"NeuronSimulation\(tstop=[^,]+, dt=([^,]+),", text).group(1))
seed = int(re.search(r"NeuronSimulation\(tstop=[^,]+, dt=[^,]+, seed=([0-9]+)", text).group(1))
namespace = runpy.run_path(script, run_name="nmlhub_bench")
sim = namespace["NeuronSimulation"](tstop=duration, dt=dt, seed=seed)
cpu = time.process_time()
# the export's run() saves its results and quits Python
atexit.register(lambda: print("RESULT_JSON " + json.dumps(dict(cpu_simulate_s=time.process_time() - cpu)), flush=True))
sim.run()
"""

NMLHUB_RUN = """
import json, sys, time
from nmlhub.model import load
from nmlhub.neuron.simulation import NeuronSimulation
sim = NeuronSimulation(load(sys.argv[1]), duration_ms=float(sys.argv[2]))
sim.build()
cpu = time.process_time()
results = sim.run()
print("RESULT_JSON " + json.dumps(dict(cpu_simulate_s=time.process_time() - cpu,
                                       spikes=results.spike_count())), flush=True)
"""


def copy_model(lems: Path, scratch: Path) -> Path:
    """The LEMS file and every local file it includes, copied with their layout; the copy's path."""
    _, folder = copy_with_includes(lems, scratch)
    return folder / lems.name


def make_export(lems: Path) -> Path:
    """jNeuroML's NEURON export of the model beside it, compiled; the export's Python script."""
    work = lems.parent
    subprocess.run(["jnml", lems.name, "-neuron", "-nogui"], cwd=work, check=True, capture_output=True)
    subprocess.run([str(Path(sys.executable).parent / "nrnivmodl")], cwd=work, check=True, capture_output=True)
    return work / f"{lems.stem}_nrn.py"


def timed(code: str, args: list[str], cwd: Path, pythonpath: str | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT_JSON ")), None)
    if line is None:
        raise SystemExit(f"run failed in {cwd}:\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT_JSON "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lems", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--duration-ms", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="also run nmlhub from this source tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nmlhub-mcbench-") as scratch:
        lems = copy_model(args.lems.resolve(), Path(scratch))
        script = make_export(lems)
        runs: dict[str, list[float]] = {"export": [], "nmlhub": []}
        if args.before:
            runs["nmlhub before"] = []
        spikes = {}
        duration = str(args.duration_ms)
        for _ in range(args.repeats):
            runs["export"].append(timed(EXPORT_RUN, [str(script), duration], lems.parent)["cpu_simulate_s"])
            for name in [n for n in runs if n != "export"]:
                tree = str(args.before.resolve()) if name == "nmlhub before" else None
                result = timed(NMLHUB_RUN, [str(lems), duration], Path(scratch), tree)
                runs[name].append(result["cpu_simulate_s"])
                spikes[name] = result["spikes"]
    print(f"{args.lems.name}, {args.duration_ms:g} ms simulated, CPU seconds of the simulation "
          f"(median of {args.repeats}, interleaved runs)")
    export = statistics.median(runs["export"])
    for name, values in runs.items():
        median = statistics.median(values)
        extra = f"  spikes {spikes[name]}" if name in spikes else ""
        print(f"  {name:14s} {median:8.2f} s  ({', '.join(f'{v:.2f}' for v in values)})  "
              f"ratio to the export {median / export:.2f}{extra}")


if __name__ == "__main__":
    main()
