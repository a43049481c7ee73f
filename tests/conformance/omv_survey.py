"""Classify the results of ``nmlhub omv`` over the OSB corpus, print the counts and (with
``--known``) write tests/omv_known.json: every experiment that does not pass, with its cause (a
reason already in the file is kept, so the hand-written proofs survive a new survey).

Usage::

    nice nmlhub omv ../shared/corpus/osb --timeout 600 --json survey.json --show-skipped
    python tests/conformance/omv_survey.py survey.json [rerun.json ...] [--known tests/omv_known.json]
    python tests/conformance/omv_survey.py survey.out --cwd FOLDER   # its printed lines, run in FOLDER

Later files override earlier ones for the same ``.omt`` and experiment (a rerun of some targets).
The run of the survey itself is not part of pytest (tests/test_omv_corpus.py runs the same tests
within a time budget).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import Counter
from pathlib import Path

import omv_proofs

CORPUS = Path(os.environ.get("NMLHUB_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus")) / "osb"

#: (pattern on the detail, cause) for experiments that could not be checked or whose run failed
RUN_CAUSES = [
    (r"its \.mep .* is not there", "the corpus snapshot lacks the .mep"),
    (r"^\S*\*\S*: file not found|file not found", "the corpus snapshot lacks files the test names"),
    (r"did not finish within", "timeout"),
    (r"is not a finite number", "v overflows: the explicit step is unstable at the file's step "
                                "(docs/conformance.md, Mitral cells)"),
    (r"nrnivmodl", "generated NMODL does not compile"),
    (r"not supported", "refused: not supported"),
    (r"is not a path nmlhub can record", "refused: recording path not supported"),
    (r"cannot be placed in a network", "refused: component cannot be placed in a network"),
    (r"ModuleNotFoundError", "survey artefact: nmlhub was being edited during the run"),
    (r"PreSyn already associated", "internal error: spike sources on several segments of one cell "
                                   "(PreSyn gid; issue 24 item 4)"),
    (r"internal error", "internal error"),
    (r"not found", "an included file not found"),
]


def cause(row: dict) -> str:
    """The cause of a result that is not a pass, in a few words."""
    detail = row["detail"]
    if row["experiment"] == "validate":
        if "file not found" in detail:
            return "validate: the corpus snapshot lacks files the test names"
        if "schema:" in detail:
            return "validate: schema errors in the named files (jnml -validate reports them too)"
        return "validate: semantic check"
    if row["status"] == "error":
        for pattern, words in RUN_CAUSES:
            if re.search(pattern, detail):
                return words
        return "other error"
    if re.search(r"\d+ spikes, expected \d+", detail):
        if has_random_inputs(Path(row["target"])):
            return "random inputs: each engine draws its own random numbers (docs/conformance.md)"
        return "spike count differs"
    if detail.endswith("tolerance 0"):
        return ("spike times: tolerance 0 asks for the very samples of the engine that made the .mep "
                "(docs/conformance.md, Tolerance 0)")
    return "spike times beyond the tolerance"


_RANDOM = re.compile(r"<(poissonFiringSynapse|transientPoissonFiringSynapse|spikeGeneratorPoisson|"
                     r"spikeGeneratorRandom|SpikeSourcePoisson|ouCurrentSource\w*)\b|random\(")
_INCLUDE = re.compile(r"<[Ii]nclude\s+(?:file|href)\s*=\s*\"([^\"]+)\"")


def has_random_inputs(target: Path, seen: set | None = None) -> bool:
    """Whether a LEMS/NeuroML file or any file it includes draws random numbers (Poisson inputs,
    random spike generators, ``random()`` in an expression)."""
    seen = set() if seen is None else seen
    if target in seen or not target.is_file() or target.stat().st_size > 20_000_000:
        return False
    seen.add(target)
    text = target.read_text(errors="replace")
    if _RANDOM.search(text):
        return True
    return any(has_random_inputs((target.parent / name.lstrip("/")).resolve(), seen)
               for name in _INCLUDE.findall(text))


_PRINTED = re.compile(r"^(PASS|FAIL|ERROR|SKIPPED)\s+(\S+\.omt) \[([^\]]+)\] (.*?): (.*)$")


def rows_from_output(printed: Path, cwd: Path) -> list[dict]:
    """The JSON rows of ``nmlhub omv``'s printed lines (``cwd``: the folder it ran in), for a survey
    stopped before it wrote its JSON; each row's target read from its ``.omt``."""
    from nmlhub.errors import NmlhubError
    from nmlhub.omv.spec import read_omt

    rows, targets = [], {}
    for line in printed.read_text().splitlines():
        match = _PRINTED.match(line)
        if not match:
            continue
        status, omt, engine, experiment, detail = match.groups()
        omt = str((cwd / omt).resolve())
        if omt not in targets:
            try:
                targets[omt] = str(read_omt(Path(omt)).target)
            except NmlhubError:
                targets[omt] = ""
        rows.append({"omt": omt, "engine": engine, "target": targets[omt], "experiment": experiment,
                     "status": status.lower(), "detail": detail})
    return rows


def merge(files: list[Path], cwd: Path = Path.cwd()) -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}
    for file in files:
        found = json.loads(file.read_text()) if file.suffix == ".json" else rows_from_output(file, cwd)
        for row in found:
            if row["omt"].endswith(".omt"):
                rows[(row["omt"], row["experiment"])] = row
    return sorted(rows.values(), key=lambda r: (r["omt"], r["experiment"]))


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(CORPUS.resolve()))
    except ValueError:
        return path


def markdown(rows: list[dict], summary: list[str], note: str = "") -> str:
    """The survey as a page: the counts, then one row per experiment that was checked, each that
    does not pass with the section proving its cause."""
    known, titles = omv_proofs.read_known(), omv_proofs.titles()
    lines = ["# OMV tests of the OSB corpus run with nmlhub", "",
             "Written by `tests/conformance/omv_survey.py` from `nmlhub omv ../shared/corpus/osb` "
             "(see README, \"Checking a model with OMV tests\"). The cause of each experiment that does "
             "not pass is the section of docs/conformance.md that proves it on the smallest model that "
             "shows it, named by the experiment's reason in tests/omv_known.json (the table kept with "
             "the proofs' sources, tests/conformance/omv_proofs.py); an experiment with no such section "
             "is marked `unproven`, with what its message alone says.", "",
             *([note, ""] if note else []), "```", *summary, "```", "",
             "| .omt | engine | experiment | result | cause | detail |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "skipped":
            continue
        detail = r["detail"].replace("|", "/").replace(str(CORPUS.resolve()) + "/", "")[:300]
        why = "" if r["status"] == "pass" else explained(r, known, titles)
        lines.append(f"| `{_relative(r['omt'])}` | {r['engine']} | {r['experiment']} | {r['status']} | "
                     f"{why} | {detail} |")
    return "\n".join(lines) + "\n"


def explained(row: dict, known: dict[str, str], titles: list[str]) -> str:
    """Why an experiment does not pass: the section proving it (from its reason in the table
    ``known``), else ``unproven`` and the classification of its message."""
    omt = _relative(row["omt"])
    title = omv_proofs.proven_cause(omt, row["experiment"], known, titles)
    if title is None:
        return f"unproven (its message: {cause(row)})"
    return f"docs/conformance.md, \"{title if len(title) <= 90 else title[:89] + '…'}\""


def summarize(rows: list[dict]) -> list[str]:
    """The survey's counts: .omt files, targets tried and run, experiments passed, and those that
    do not pass by the section proving their cause."""
    known, titles = omv_proofs.read_known(), omv_proofs.titles()
    checked = [r for r in rows if r["status"] != "skipped"]
    omts = {r["omt"] for r in rows}
    no_reference = [r for r in checked if "is not there" in r["detail"]]
    counted = [r for r in checked if r not in no_reference]
    passed = sum(r["status"] == "pass" for r in counted)
    targets = {r["target"] for r in counted if r["experiment"] != "validate"}
    ran = {r["target"] for r in counted if r["experiment"] != "validate" and r["status"] in ("pass", "fail")}
    refused = {r["target"] for r in counted if r["status"] == "error" and r["experiment"] != "validate"}
    return [
        f".omt files: {len(omts)} ({len(omts) - len({r['omt'] for r in checked})} of other engines, skipped)",
        f"targets tried: {len(targets)}; run: {len(ran)}; refused or failed to run: {len(refused)}; "
        f"validation tests: {sum(r['experiment'] == 'validate' for r in counted)}",
        f"experiments: {passed} passed of {len(counted)} (+{len(no_reference)} whose .mep the snapshot lacks)",
        *(f"  {count:4d}  {words}" for words, count in
          Counter(explained(r, known, titles) for r in counted if r["status"] != "pass").most_common())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+",
                        help="nmlhub omv --json files, or its printed lines (any other suffix)")
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="where nmlhub omv ran (for printed lines)")
    parser.add_argument("--known", type=Path, help="write the experiments that do not pass, with causes")
    parser.add_argument("--note", default="", help="a paragraph for the page: how and when it was measured")
    parser.add_argument("--markdown", type=Path, help="write the counts and every result as a Markdown page")
    args = parser.parse_args()
    rows = merge(args.results, args.cwd)
    counted = [r for r in rows if r["status"] != "skipped" and "is not there" not in r["detail"]]
    summary = summarize(rows)
    print("\n".join(summary))
    if args.markdown:
        args.markdown.write_text(markdown(rows, summary, args.note))
        print(f"wrote {args.markdown}")
    if args.known:
        write_known(args.known, counted)


def write_known(path: Path, counted: list[dict]) -> None:
    """Write every experiment that does not pass with its cause, keeping the reasons already in
    ``path`` (the proven causes written by hand) and giving new ones the classified cause."""
    previous = json.loads(path.read_text()) if path.is_file() else {}
    known = {}
    for r in sorted(counted, key=lambda r: (r["omt"], r["experiment"])):
        key = f"{Path(r['omt']).relative_to(CORPUS.resolve())}::{r['experiment']}"
        if r["status"] != "pass":
            known[key] = previous.get(key) or cause(r)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(known, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)
    kept = sum(1 for key in known if key in previous)
    print(f"wrote {path} ({len(known)} entries, {kept} reasons kept, {len(known) - kept} new)")


if __name__ == "__main__":
    main()
