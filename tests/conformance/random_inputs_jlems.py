"""Run the reference engines on the OMV experiments nmlhub fails for their random inputs.

The ``.mep`` of a model driven by random inputs holds one engine's draw. This script runs jLEMS
(``jnml LEMS -nogui``, the NeuroML reference simulator), or jNeuroML's NEURON export where jLEMS
does not run the model (multi-compartment cells), on each such target, in a copy of the
target's repository (the corpus is read-only), with the file's own seed and with another seed,
and checks every listed experiment against the ``.mep`` with nmlhub's OMV comparison (the same
count, ``numpy.allclose`` with the ``.omt`` tolerance). An experiment that jLEMS fails with
another seed is decided by the random numbers drawn, not by the model.

Usage: python tests/conformance/random_inputs_jlems.py [--corpus ../shared/corpus/osb]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from nmlhub.omv.runner import TargetRun, check_experiment
from nmlhub.omv.spec import read_omt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
KNOWN = HERE.parent / "omv_known.json"
OTHER_SEED = 4321

from make_export_references import apply_random_fix  # noqa: E402


def random_input_experiments(known: dict[str, str]) -> dict[str, list[str]]:
    """``.omt`` path (relative to the corpus) -> the experiments listed for their random inputs."""
    found: dict[str, list[str]] = defaultdict(list)
    for key, reason in known.items():
        if reason.startswith("random inputs"):
            omt, experiment = key.split("::", 1)
            found[omt].append(experiment)
    return found


def _with_seed(lems: Path, seed: int) -> Path:
    """A copy of the LEMS file beside it whose Simulation draws with ``seed``."""
    text = lems.read_text()
    if re.search(r'<Simulation\b[^>]*\bseed=', text):
        text = re.sub(r'(<Simulation\b[^>]*\bseed=")[^"]*(")', rf"\g<1>{seed}\2", text, count=1)
    else:
        text = re.sub(r"<Simulation\b", f'<Simulation seed="{seed}"', text, count=1)
    copy = lems.with_name(f"seeded_{seed}_{lems.name}")
    copy.write_text(text)
    return copy


def run_reference(corpus: Path, target: Path, seed: int | None, work: Path) -> tuple[str, Path, float]:
    """jLEMS (or the NEURON export) on ``target`` in a fresh copy of its repository: engine, folder, time."""
    repo = corpus / target.relative_to(corpus).parts[0]
    copy = work / f"{repo.name}-{seed or 'file'}"
    if not copy.exists():
        shutil.copytree(repo, copy)
    lems = copy / target.relative_to(repo)
    if seed is not None:
        lems = _with_seed(lems, seed)
    started = time.monotonic()
    jlems = subprocess.run(["jnml", lems.name, "-nogui"], cwd=lems.parent, capture_output=True, text=True,
                           timeout=1800)
    engine = "jLEMS"
    if "not supported by that simulator" in jlems.stdout + jlems.stderr:
        _run_export(lems)
        engine = "NEURON export"
    elif jlems.returncode != 0:
        raise RuntimeError(f"jnml {lems.name} failed: {jlems.stdout[-500:]}")
    return engine, lems.parent, time.monotonic() - started


def _run_export(lems: Path) -> None:
    """jNeuroML's NEURON export of ``lems``, compiled (NEURON 9's random fix applied) and run."""
    folder = lems.parent
    subprocess.run(["jnml", lems.name, "-neuron", "-nogui"], cwd=folder, check=True, capture_output=True,
                   timeout=1800)
    apply_random_fix(folder)
    subprocess.run(["nrnivmodl"], cwd=folder, check=True, capture_output=True, timeout=1800)
    subprocess.run([sys.executable, lems.stem + "_nrn.py", "-nogui"], cwd=folder, check=True,
                   capture_output=True, timeout=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE.parents[2] / "shared" / "corpus" / "osb")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    listed = random_input_experiments(json.loads(KNOWN.read_text()))
    with tempfile.TemporaryDirectory(prefix="nmlhub-random-jlems-") as work:  # copies of whole repositories
        _compare_all(corpus, listed, Path(work))


def _compare_all(corpus: Path, listed: dict, work: Path) -> None:
    """Print the table's rows: each listed experiment checked against jLEMS's run, in ``work``."""
    runs: dict[tuple[Path, int | None], TargetRun] = {}
    engines: dict[Path, str] = {}
    print("| .omt | experiment | engine | the file's seed | seed 4321 |")
    print("|---|---|---|---|---|")
    for omt_name, experiments in sorted(listed.items()):
        test = read_omt(corpus / omt_name)
        cells = defaultdict(list)
        for seed in (None, OTHER_SEED):
            if (test.target, seed) not in runs:
                engines[test.target], outdir, seconds = run_reference(corpus, test.target, seed, work)
                runs[test.target, seed] = TargetRun(test.target, outdir, "", seconds)
            for experiment in test.experiments:
                if experiment.name in experiments:
                    result = check_experiment(test, experiment, runs[test.target, seed])
                    cells[experiment.name].append(f"{result.status}: {result.detail}")
        for name in experiments:
            print(f"| `{omt_name}` | {name} | {engines[test.target]} | " + " | ".join(cells[name]) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
