"""Compare nmlhub with jNeuroML's NEURON export (reference c: a second opinion for
multi-compartment models, stored by make_export_references.py in reference_export/).

For every recorded membrane potential: the number of upward 0 mV crossings (the export's counted
at full resolution when it was run), how many of the export's spike times nmlhub reproduces
within 1 ms (the stored export traces are thinned, so times are known to about a tenth of a ms),
and the first time the two disagree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference_export"
MATCH_MS = 1.0


@dataclass
class ExportRow:
    case: str
    column: str
    reference_spikes: int
    our_spikes: int
    matched: int
    first_difference_ms: float | None


def crossings(time_ms: np.ndarray, v: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    idx = np.flatnonzero((v[:-1] < threshold) & (v[1:] >= threshold))
    t0, t1, v0, v1 = time_ms[idx], time_ms[idx + 1], v[idx], v[idx + 1]
    return t0 + (threshold - v0) / (v1 - v0) * (t1 - t0)


def _matched(reference: np.ndarray, ours: np.ndarray) -> tuple[int, float | None]:
    matched, first = 0, None
    for k in range(max(len(reference), len(ours))):
        if k < len(reference) and k < len(ours) and abs(reference[k] - ours[k]) <= MATCH_MS:
            matched += 1
        elif first is None:
            candidates = [x[k] for x in (reference, ours) if k < len(x)]
            first = float(min(candidates))
    return matched, first


def index() -> dict:
    return json.loads((REFERENCE / "index.json").read_text())


def lems_path(entry: dict, repo: Path, corpus: Path) -> Path:
    lems = entry["lems"]
    return corpus / lems[len("corpus:"):] if lems.startswith("corpus:") else repo / lems


def compare_case(case: str, entry: dict, repo: Path, corpus: Path, workdir: Path, timeout: float) -> list[ExportRow]:
    """Run the case with nmlhub and compare every recorded membrane potential."""
    lems = lems_path(entry, repo, corpus)
    out = workdir / case
    proc = subprocess.run([sys.executable, str(HERE / "run_nmlhub.py"), str(lems), str(out)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("INFO")]
        raise RuntimeError(lines[-1] if lines else f"exit {proc.returncode}")
    stored = np.load(REFERENCE / entry["npz"])
    rows = []
    for output in entry.get("outputs", []):
        if output.get("kind") != "trace":
            continue
        ours_file = out / output["fileName"]
        key = f"trace:{output['fileName']}"
        if not ours_file.exists() or key not in stored:
            continue
        ours = np.atleast_2d(np.loadtxt(ours_file))
        reference = stored[key]
        for k, column in enumerate(output["columns"], start=1):
            if not column["quantity"].endswith("/v"):
                continue
            ref_spikes = crossings(reference[:, 0] * 1000, reference[:, k] * 1000)
            our_spikes = crossings(ours[:, 0] * 1000, ours[:, k] * 1000)
            count = (output.get("v_crossings") or {}).get(column["id"], len(ref_spikes))
            matched, first = _matched(ref_spikes, our_spikes)
            rows.append(ExportRow(case, f"{output['fileName']}:{column['id']}", int(count), len(our_spikes),
                                  matched, first))
    return rows
