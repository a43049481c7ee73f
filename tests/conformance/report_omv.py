"""The OSB section of docs/conformance.md (reference b): the results of ``nmlhub omv --json`` over
the corpus, stored by ``make_report.py --only omv``, each experiment that does not pass shown with
its cause from tests/omv_known.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import omv_proofs
import omv_survey

KNOWN = omv_proofs.KNOWN


def _relative(path: str, corpus: Path) -> str:
    try:
        return str(Path(path).relative_to(corpus))
    except ValueError:
        return path


def run_survey(jobs: int, timeout: float, folder: Path) -> Path:
    """``nmlhub omv`` over the whole corpus (skipped tests listed too); returns its JSON file (in
    ``folder``)."""
    results = folder / "survey.json"
    subprocess.run([sys.executable, "-m", "nmlhub", "omv", str(omv_survey.CORPUS), "--json", str(results),
                    "--show-skipped", "-j", str(jobs), "--timeout", f"{timeout:g}"], check=False)
    if not results.is_file():
        raise SystemExit(f"nmlhub omv wrote no {results}")
    return results


def measure(parts: list[Path], cwd: Path, jobs: int, timeout: float) -> tuple[list[dict], dict]:
    """The rows of ``nmlhub omv --json`` (the given parts, later ones overriding earlier ones for
    the same experiment, or a new run over the corpus), paths relative to the corpus, each with
    the survey's classification of its result; and the survey's counts."""
    if not parts:
        with tempfile.TemporaryDirectory(prefix="nmlhub-omv-survey-") as folder:
            return measure([run_survey(jobs, timeout, Path(folder))], cwd, jobs, timeout)
    rows = omv_survey.merge(parts, cwd)
    corpus = omv_survey.CORPUS.resolve()
    stored = [{**row, "omt": _relative(row["omt"], corpus), "target": _relative(row["target"], corpus),
               "detail": row["detail"].replace(str(corpus) + "/", ""),
               "classified": "" if row["status"] in ("pass", "skipped") else omv_survey.cause(row)}
              for row in rows]
    return stored, {"summary": omv_survey.summarize(rows), "parts": [p.name for p in parts]}


def _key(row: dict) -> str:
    return f"{row['omt']}::{row['experiment']}"


def _unchecked(row: dict) -> bool:
    return row["status"] == "skipped" or "is not there" in row["detail"]


def cause(row: dict, known: dict) -> str:
    """Why an experiment does not pass: its omv_known.json reason, else the survey's classification."""
    if _key(row) in known:
        return known[_key(row)]
    return f"not listed in tests/omv_known.json (classified: {row['classified']})"


def section(data: dict) -> list[str]:
    """The section: how it was measured, the counts, every experiment checked, the missing .mep."""
    from report_store import measured_line

    known = json.loads(KNOWN.read_text())
    lines = ["", "## OSB validation tests (.omt/.mep, reference b)", "", measured_line(data), "",
             "Every `.test*.omt` of the corpus (`../shared/corpus/osb`) whose engine nmlhub stands in for, "
             "run with `nmlhub omv` (README, \"Checking a model with OMV tests\"): expected spike times "
             "from each model's `.mep` file, compared as OSB's validation tool (omv) does: the same "
             "number of spikes and each within `1e-8 + tolerance * expected` (`numpy.allclose`, rtol = "
             "the `.omt`'s tolerance), so a tolerance of 0 asks for the very same samples as the engine "
             "that made the `.mep`. The cause of each experiment that does not pass is its reason in "
             "`tests/omv_known.json` (proofs: the sections above and below).", "",
             "```", *data.get("summary", []), "```", "",
             "| .omt | engine | experiment | result | detail | cause |", "|---|---|---|---|---|---|"]
    for row in data["rows"]:
        if _unchecked(row):
            continue
        why = "" if row["status"] == "pass" else cause(row, known)
        lines.append(f"| `{row['omt']}` | {row['engine']} | {row['experiment']} | {row['status']} | "
                     f"{row['detail'][:300].replace('|', '/')} | {why.replace('|', '/')} |")
    lines += _unproven_lines(data)
    missing = sorted({row["omt"] for row in data["rows"] if "is not there" in row["detail"]})
    if missing:
        lines += ["", "These `.omt` tests name a `.mep` the corpus snapshot does not hold (it lies in the "
                  "model's NEURON folder, not copied); their experiments are not counted (multi-compartment "
                  "ones are compared with reference (c) below):", ""]
        lines += [f"- `{omt}`" for omt in missing]
    return lines


def anchors() -> list[str]:
    """The titles (headings and bold paragraph labels) of the hand-written proofs."""
    return omv_proofs.anchors()


def points_to_proof(reason: str, titles: list[str]) -> bool:
    """Whether a reason names a section of the proofs (``docs/conformance.md, TITLE``)."""
    return omv_proofs.proof_section(reason, titles) is not None


def _unproven_lines(data: dict) -> list[str]:
    found = unproven(data)
    if not found:
        return ["", "Every experiment above that does not pass has a cause naming its proof on this page."]
    return ["", f"{len(found)} experiments above do not pass with a cause that names no proof on this page "
                "(no section of its own; `make_report.py --unproven` lists them):", "",
            *(f"- `{key}`" for key, _ in found)]


def unproven(data: dict) -> list[tuple[str, str]]:
    """Stored experiments that do not pass and whose cause names no proof in the hand-written parts."""
    known, titles = json.loads(KNOWN.read_text()), anchors()
    return [(_key(row), cause(row, known)) for row in data["rows"]
            if not _unchecked(row) and row["status"] != "pass"
            and not points_to_proof(known.get(_key(row), ""), titles)]
