"""The Open Source Brain models' own validation tests (``.test.*.omt`` with ``.mep`` expected
spike times from the model's original simulator), run with nmlhub.

An ``.omt`` names a LEMS target, and for each experiment the output file and column to read, how
to detect spikes (upward threshold crossings) and a tolerance. A spike train passes as in OSB's
model validation tool (omv): the expected number of spikes, each within
``1e-8 + tolerance * expected`` of its expected time (``numpy.allclose`` with ``rtol=tolerance``);
a tolerance of 0 therefore asks for spikes on the very same samples as the reference engine's.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent


@dataclass
class OmtExperiment:
    name: str
    file: str
    columns: tuple[int, int]
    scaling: tuple[float, float]
    threshold: float
    tolerance: float
    expected: list[float]


@dataclass
class OmtCase:
    id: str
    target: Path
    experiments: list[OmtExperiment] = field(default_factory=list)


def find_cases(corpus: Path) -> list[OmtCase]:
    """One case per distinct (target, mep) among the corpus's jNeuroML ``.omt`` files."""
    cases: dict[tuple[Path, Path], OmtCase] = {}
    corpus = corpus.resolve()
    for omt_path in sorted(corpus.rglob(".test.*.omt")):
        omt = yaml.safe_load(omt_path.read_text())
        if not isinstance(omt, dict) or "mep" not in omt or "experiments" not in omt:
            continue
        if "validate" in str(omt.get("engine", "")).lower():
            continue
        target = (omt_path.parent / str(omt["target"]).strip().strip('"')).resolve()
        mep_path = (omt_path.parent / str(omt["mep"])).resolve()
        if (target, mep_path) in cases or not target.exists() or not mep_path.exists():
            continue
        mep = yaml.safe_load(mep_path.read_text()) or {}
        case = OmtCase(f"{target.parent.relative_to(corpus)}/{target.name}", target)
        for name, exp in (omt.get("experiments") or {}).items():
            spikes = ((exp or {}).get("observables") or {}).get("spike times")
            expected = (((mep.get("experiments") or {}).get(name) or {}).get("expected") or {}).get("spike times")
            if not spikes or expected is None or "file" not in spikes:
                continue
            file = spikes["file"]
            detection = spikes.get("spike detection") or {}
            case.experiments.append(OmtExperiment(
                name, str(file["path"]), tuple(file.get("columns", [0, 1])),
                tuple(file.get("scaling", [1, 1])), float(detection.get("threshold", 0)),
                float(spikes.get("tolerance", 0)), [float(t) for t in expected]))
        if case.experiments:
            cases[(target, mep_path)] = case
    return list(cases.values())


def missing_references(corpus: Path) -> list[tuple[str, str]]:
    """(target, mep) of each jNeuroML ``.omt`` whose target exists but whose ``.mep`` the corpus
    snapshot does not hold (they point into the models' NEURON folders, not copied)."""
    corpus = corpus.resolve()
    found = {}
    for omt_path in sorted(corpus.rglob(".test.*.omt")):
        omt = yaml.safe_load(omt_path.read_text())
        if not isinstance(omt, dict) or "mep" not in omt or "validate" in str(omt.get("engine", "")).lower():
            continue
        target = (omt_path.parent / str(omt["target"]).strip().strip('"')).resolve()
        mep_path = (omt_path.parent / str(omt["mep"])).resolve()
        if target.exists() and not mep_path.exists():
            found[str(target.relative_to(corpus))] = str(omt["mep"])
    return sorted(found.items())


def detect_spikes(time: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """Spike times as OSB's model validation (omv) detects them: the time of the first sample
    above the threshold after one at or below it (no interpolation)."""
    idx = 1 + np.flatnonzero((values[:-1] <= threshold) & (values[1:] > threshold))
    return time[idx]


#: omv compares with numpy.allclose(observed, expected, rtol=tolerance), whose default absolute
#: tolerance (1e-8, in the scaled units: ms) is what a tolerance of 0 leaves: the same samples.
OMV_ABSOLUTE_TOLERANCE = 1e-8


def compare(expected: list[float], found: np.ndarray, tolerance: float) -> tuple[bool, str]:
    """omv's rule: the same number of spikes, each within ``1e-8 + tolerance * |expected|``."""
    expected_arr = np.asarray(expected, float)
    if len(found) != len(expected_arr):
        return False, f"{len(found)} spikes, expected {len(expected_arr)}"
    if len(found) == 0:
        return True, "no spikes, as expected"
    rel = np.abs(found - expected_arr) / np.maximum(np.abs(expected_arr), 1e-12)
    worst = float(rel.max())
    passed = bool(np.all(np.abs(found - expected_arr) <= OMV_ABSOLUTE_TOLERANCE + tolerance * np.abs(expected_arr)))
    shift = float(np.abs(found - expected_arr).max())
    return passed, f"max relative difference {worst:.2e}, largest shift {shift:.3g} ms (tolerance {tolerance:g})"


def run(case: OmtCase, workdir: Path, timeout: float) -> dict[str, tuple[bool, str]]:
    """Run the target with nmlhub and check every experiment; returns name -> (passed, detail)."""
    out = workdir / case.id.replace("/", "_")
    proc = subprocess.run([sys.executable, str(HERE / "run_nmlhub.py"), str(case.target), str(out)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit {proc.returncode}")
    results = {}
    for exp in case.experiments:
        path = out / exp.file
        if not path.exists():
            results[exp.name] = (False, f"output {exp.file} was not written")
            continue
        table = np.loadtxt(path)
        time = table[:, exp.columns[0]] * exp.scaling[0]
        values = table[:, exp.columns[1]] * exp.scaling[1]
        results[exp.name] = compare(exp.expected, detect_spikes(time, values, exp.threshold), exp.tolerance)
    return results
