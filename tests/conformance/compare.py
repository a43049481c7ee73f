"""Compare nmlhub's output of a case with the stored jNeuroML reference.

Tolerances (stated here, used by tests/test_conformance.py and the report):

* traces: the RMS difference, over the stored reference samples, divided by the reference
  column's range, must be at most ``TRACE_NRMS`` (both simulators are first-order in time but
  integrate differently, and a spike one step earlier or later is a large pointwise error);
  RMS and max errors are reported in SI units.
* spikes: in order, each spike within ``max(SPIKE_TOL_MS, dt)`` of the reference, up to the
  first divergence; a case passes when the spike counts agree within ``COUNT_TOL`` (relative)
  and at least the first ``MIN_MATCHED`` spikes (or all, if fewer) match.
* models driven by random inputs draw other random numbers than jLEMS: only their spike counts
  are compared, within ``STOCHASTIC_COUNT_TOL``.
* divergence-prone models (chaotic regimes): the traces of an output file are compared up to the
  first reference sample where a membrane potential column (``.../v``) differs by more than
  ``DIVERGENCE`` of its range (after the spike-shift tolerance); the compared window must cover at
  least ``MIN_WINDOW`` of the run, and its length is reported.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REFERENCE = HERE / "reference"

TRACE_NRMS = 0.05
SPIKE_TOL_MS = 0.1
COUNT_TOL = 0.05
MIN_MATCHED = 5
STOCHASTIC_COUNT_TOL = 0.25
DIVERGENCE = 0.10
MIN_WINDOW = 0.5

_CELL = re.compile(r"^(?P<pop>[^/\[\]]+)(?:\[(?P<i1>\d+)\]|/(?P<i2>\d+)(?:/[^/]+)?)$")


def index() -> dict:
    return json.loads((REFERENCE / "index.json").read_text())


@dataclass
class ColumnResult:
    name: str
    rms: float
    max_error: float
    nrms: float
    passed: bool
    shifted_nrms: float = float("nan")
    window: float = 1.0


@dataclass
class SpikeResult:
    name: str
    reference: int
    ours: int
    matched: int
    first_divergence_ms: float | None
    passed: bool


@dataclass
class CaseResult:
    case: str
    status: str  # passed, failed, error, skipped
    message: str = ""
    columns: list[ColumnResult] = field(default_factory=list)
    spikes: list[SpikeResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


#: Where the references recorded the corpus (relative to the repo), and where it is here.
CORPUS_IN_INDEX = "../shared/corpus/osb/"


def corpus_root() -> Path:
    """The OSB corpus: $NMLHUB_CORPUS/osb, else ../shared/corpus/osb next to the repo."""
    base = os.environ.get("NMLHUB_CORPUS")
    return (Path(base) / "osb") if base else (REPO / CORPUS_IN_INDEX).resolve()


def uses_corpus(entry: dict) -> bool:
    return entry["lems"].startswith(CORPUS_IN_INDEX)


def locate(entry: dict, jar_root: Path) -> Path | None:
    lems = entry["lems"]
    if lems.startswith("jar:"):
        return jar_root / lems[4:]
    if uses_corpus(entry):
        path = corpus_root() / lems[len(CORPUS_IN_INDEX):]
    else:
        path = (REPO / lems).resolve()
    return path if path.exists() else None


def extract_jar(target: Path) -> Path:
    import pyneuroml

    jar = sorted((Path(pyneuroml.__file__).parent / "lib").glob("jNeuroML*.jar"))[-1]
    with zipfile.ZipFile(jar) as archive:
        for name in archive.namelist():
            if name.startswith(("examples/", "LEMSexamples/")) and not name.endswith("/"):
                archive.extract(name, target)
    return target


def is_stochastic(lems: Path) -> bool:
    """True when the model's inputs draw random numbers (Poisson sources and the like)."""
    import nmlhub

    model = nmlhub.load(lems)
    needed = set()
    for net in model.document.networks:
        needed |= {p.component for p in net.populations} | {i.component for i in net.input_lists}
        needed |= {e.input for e in net.explicit_inputs}
    for comp in needed:
        record = model.components.get(comp)
        if record and any("oisson" in t or "Random" in t for t in model.type_chain(record.type)):
            return True
    return False


def run_case(case: str, entry: dict, jar_root: Path, workdir: Path, timeout: float = 900) -> CaseResult:
    if entry.get("status") != "ok":
        return CaseResult(case, "skipped", f"no reference: jNeuroML {entry.get('status')}")
    lems = locate(entry, jar_root)
    if lems is None:
        return CaseResult(case, "skipped", f"model not found: {entry['lems']}")
    out = workdir / case
    proc = subprocess.run([sys.executable, str(HERE / "run_nmlhub.py"), str(lems), str(out)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        message = lines[-1] if lines else f"exit {proc.returncode}"
        message = message.replace(str(jar_root) + "/", "jar:").replace(str(REPO) + "/", "")
        return CaseResult(case, "error", message)
    ours = np.load(out / "nmlhub_results.npz")
    reference = np.load(REFERENCE / entry["npz"])
    stochastic = is_stochastic(lems)
    result = compare(case, entry, ours, reference, stochastic=stochastic)
    if stochastic:
        result.message = "random inputs: traces reported, spike counts compared"
    return result


def compare(case: str, entry: dict, ours, reference, stochastic: bool) -> CaseResult:
    result = CaseResult(case, "passed")
    time_s = ours["time_ms"] * 1e-3
    step_ms = float(np.median(np.diff(ours["time_ms"]))) if len(time_s) > 1 else 0.0
    # The first divergence of any membrane potential ends the comparison of every trace.
    end_time = None
    for output in entry["outputs"]:
        if output["kind"] == "trace":
            table = reference[f"trace:{output['fileName']}"]
            cut, _ = _until_divergence(table, output["columns"], ours, time_s, step_ms, stochastic)
            if len(cut) < len(table):
                end_time = min(end_time, cut[-1, 0]) if end_time is not None else cut[-1, 0]
    for output in entry["outputs"]:
        key = f"{output['kind'] == 'trace' and 'trace' or 'events'}:{output['fileName']}"
        if output["kind"] == "trace":
            table = reference[f"trace:{output['fileName']}"]
            full_span = table[-1, 0] - table[0, 0]
            if end_time is not None:
                table = table[table[:, 0] <= end_time]
            window = float((table[-1, 0] - table[0, 0]) / full_span) if full_span > 0 else 1.0
            for k, column in enumerate(output["columns"]):
                name = f"{output['fileName']}:{column['id']}"
                ours_key = f"trace:{column['quantity']}"
                if ours_key not in ours:  # a cell as the target: nmlhub records it as its one instance
                    ours_key = f"trace:{entry['sim_target']}[0]/{column['quantity']}"
                if ours_key not in ours:  # a network written inside the target: its paths are the network's
                    ours_key = f"trace:{column['quantity'].split('/', 1)[-1]}"
                if ours_key not in ours:
                    result.columns.append(ColumnResult(name, np.nan, np.nan, np.nan, False))
                    continue
                ref_t, ref_v = table[:, 0], table[:, k + 1]
                full = ours[ours_key]
                mine = np.interp(ref_t, time_s, full)
                diff = mine - ref_v
                rms = float(np.sqrt(np.mean(diff ** 2)))
                span = float(np.ptp(ref_v)) or max(abs(float(ref_v[0])), 1e-30)
                nrms = rms / span
                shifted = _shift_tolerant_error(ref_t, ref_v, time_s, full, max(SPIKE_TOL_MS, step_ms) * 1e-3)
                shifted_nrms = float(np.sqrt(np.mean(shifted ** 2))) / span
                passed = (shifted_nrms <= TRACE_NRMS and window >= MIN_WINDOW) or stochastic
                result.columns.append(ColumnResult(name, rms, float(np.max(np.abs(diff))), nrms,
                                                   bool(passed), shifted_nrms, window))
        else:
            events = reference[key]
            fmt = output.get("format", "TIME_ID")
            times = events[:, 0] if fmt == "TIME_ID" else events[:, 1]
            ids = events[:, 1] if fmt == "TIME_ID" else events[:, 0]
            truncated = f"events_total:{output['fileName']}" in reference
            for selection in output.get("selections", []):
                match = _CELL.match(selection["select"]) or _CELL.match(selection["select"].split("/", 1)[-1])
                if match is None:
                    continue
                idx = match.group("i1") if match.group("i1") is not None else match.group("i2")
                mine = ours.get(f"spikes:{match.group('pop')}/{idx}") if hasattr(ours, "get") else None
                mine = ours[f"spikes:{match.group('pop')}/{idx}"] if f"spikes:{match.group('pop')}/{idx}" in ours else np.zeros(0)
                ref = np.sort(times[ids == float(selection["id"])]) * 1e3
                if truncated:
                    mine = mine[mine <= times.max() * 1e3]
                result.spikes.append(_compare_spikes(f"{output['fileName']}:{selection['id']}",
                                                     ref, np.asarray(mine), step_ms, stochastic))
    if any(not c.passed for c in result.columns) or any(not s.passed for s in result.spikes):
        result.status = "failed"
    return result


def _until_divergence(table: np.ndarray, columns: list, ours, time_s: np.ndarray, step_ms: float,
                      stochastic: bool) -> tuple[np.ndarray, float]:
    """The reference rows before the first divergence of a membrane potential, and the fraction
    of the run they cover."""
    if stochastic or len(table) < 2:
        return table, 1.0
    end = len(table)
    for k, column in enumerate(columns):
        key = f"trace:{column['quantity']}"
        if not column["quantity"].endswith("/v") or key not in ours:
            continue
        error = _shift_tolerant_error(table[:, 0], table[:, k + 1], time_s, ours[key],
                                      max(SPIKE_TOL_MS, step_ms) * 1e-3)
        span = float(np.ptp(table[:, k + 1])) or 1.0
        bad = np.flatnonzero(error > DIVERGENCE * span)
        if len(bad):
            end = min(end, int(bad[0]))
    window = (table[end - 1, 0] - table[0, 0]) / (table[-1, 0] - table[0, 0]) if end > 1 else 0.0
    return table[:max(end, 1)], float(window)


def _shift_tolerant_error(ref_t: np.ndarray, ref_v: np.ndarray, time_s: np.ndarray,
                          values: np.ndarray, tol_s: float) -> np.ndarray:
    """Per reference sample, the smallest difference to our trace within +-tol_s in time, so that
    a spike shifted by the allowed spike tolerance is not counted as a trace error."""
    if len(time_s) < 2:
        return np.interp(ref_t, time_s, values) - ref_v
    dt = float(np.median(np.diff(time_s)))
    m = max(0, int(np.ceil(tol_s / dt - 1e-9)))
    centre = np.clip(np.searchsorted(time_s, ref_t), 0, len(time_s) - 1)
    best = np.abs(values[centre] - ref_v)
    for shift in range(-m, m + 1):
        idx = np.clip(centre + shift, 0, len(time_s) - 1)
        best = np.minimum(best, np.abs(values[idx] - ref_v))
    return best


def _compare_spikes(name: str, ref: np.ndarray, mine: np.ndarray, step_ms: float,
                    stochastic: bool) -> SpikeResult:
    tol = max(SPIKE_TOL_MS, step_ms)
    n = min(len(ref), len(mine))
    matched = 0
    divergence = None
    while matched < n and abs(ref[matched] - mine[matched]) <= tol:
        matched += 1
    if matched < n:
        divergence = float(ref[matched])
    count_ok = abs(len(ref) - len(mine)) <= max(1, (STOCHASTIC_COUNT_TOL if stochastic else COUNT_TOL) * len(ref))
    if stochastic:
        passed = count_ok
    else:
        passed = count_ok and matched >= min(MIN_MATCHED, len(ref))
    return SpikeResult(name, len(ref), len(mine), matched, divergence, passed)
