"""Every LEMS simulation file of the corpus, not only the OMV targets: load, validate and run each
for a short time, and say what happened.

A LEMS simulation file is an ``*.xml`` whose root is ``<Lems>`` and which holds a ``<Simulation>``
(or a ``<Component type="Simulation">``).
Each one is validated (``nmlhub validate``) and run (``nmlhub run --duration``, the file's length
or ``SHORT_MS`` if shorter) in fresh processes with a timeout, then classified:

- ``ran``: the run finished;
- ``refused``: it stopped with a one-line ``not supported: ...`` error;
- ``error``: it stopped with another error (a file the snapshot lacks, a model error...);
- ``timeout``: it did not finish in time.

Whatever the class, a message that is a Python traceback, a PyLEMS message, an exit status of a
tool (``nrnivmodl``), an internal error, or a line that names no file, or no line nor element, is a
*defect* (issue 16: "No error anywhere in that run is a PyLEMS message, a Python traceback or an
nrnivmodl exit status").

Usage::

    NMLHUB_CORPUS=/work/shared/corpus nice python tests/conformance/lems_survey.py \\
        --json lems_survey.json --markdown docs/lems_survey.md

tests/test_corpus_lems_files.py runs the same files within a time budget.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

#: the whole corpus (every repository of it), not only its OSB models
CORPUS_ROOT = Path(os.environ.get("NMLHUB_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus"))
#: simulated time of each run (ms), the file's own length when shorter
SHORT_MS = 20.0
RAN, REFUSED, ERROR, TIMEOUT, NOT_SURVEYED = "ran", "refused", "error", "timeout", "not surveyed"

#: (pattern on the message or its process's output, what makes it a defect)
DEFECTS = [
    (r"Traceback \(most recent call last\)", "a Python traceback"),
    (r"PyLEMS|pylems|not yet implemented|Unable to resolve|Parse error when parsing", "a PyLEMS message"),
    (r"exit status|returned non-zero", "an exit status"),
    (r"internal error", "an internal error"),
]
_FILE = re.compile(r"[^\s:'\"]+\.(?:xml|nml|h5|mod|omt|mep)\b")
_LINE = re.compile(r"\.(?:xml|nml|h5|mod)(?::\d+)+:")
_ELEMENT = re.compile(r"<\w+|\b\w+ '[^']+'|'[^']+'")


@dataclass(frozen=True)
class FileResult:
    """What happened to one LEMS file: ``status`` (ran, refused, error, timeout), its one-line
    ``message``, the validation's summary, the ``defect`` in that message (empty when it is a
    clean line) and the seconds the run took."""

    file: str
    status: str
    message: str
    validation: str
    defect: str
    seconds: float


def is_lems_simulation(path: Path) -> bool:
    """True for an XML file whose root is ``<Lems>`` holding a ``<Simulation>``."""
    from nmlhub.xmlsafe import parse_xml_file

    try:
        root = parse_xml_file(path).getroot()
    except Exception:  # not XML nmlhub reads: not a LEMS file of the survey
        return False
    if not isinstance(root.tag, str) or etree.QName(root).localname != "Lems":
        return False
    return any(_is_simulation(e) for e in root.iter())


def _is_simulation(element: etree._Element) -> bool:
    """``<Simulation>``, or ``<Component type="Simulation">``."""
    if not isinstance(element.tag, str):
        return False
    name = etree.QName(element).localname
    return name == "Simulation" or (name == "Component" and element.get("type") == "Simulation")


def lems_simulation_files(root: Path = CORPUS_ROOT) -> list[Path]:
    """Every LEMS simulation file under ``root``, sorted."""
    return sorted(p for p in root.rglob("*.xml") if is_lems_simulation(p))


def short_duration_ms(path: Path) -> float:
    """``SHORT_MS``, or the file's ``<Simulation length>`` when it is shorter."""
    from nmlhub.units import UnitRegistry
    from nmlhub.xmlsafe import parse_xml_file

    for element in parse_xml_file(path).getroot().iter():
        if _is_simulation(element):
            try:
                return min(SHORT_MS, UnitRegistry.core().parse(element.get("length", "")).to("ms"))
            except Exception:  # the run itself reports a bad length
                return SHORT_MS
    return SHORT_MS


def defect(message: str, output: str = "") -> str:
    """Why ``message`` (a run's or validation's error line; ``output``, all its process printed) is
    not a clean one-line error, or ``""`` when it is."""
    for pattern, words in DEFECTS:
        if re.search(pattern, message) or re.search(pattern, output):
            return words
    if not _FILE.search(message):
        return "names no file"
    if not (_LINE.search(message) or _ELEMENT.search(message)):
        return "names neither a line nor an element"
    return ""


_VALIDATION = "nmlhub-survey-validation: "


def _child(path: Path, duration_ms: float, outdir: Path) -> int:
    """In the fresh process of one file: validate it (its verdict on one marked line), then run it."""
    import contextlib
    import io

    from nmlhub.cli import main as nmlhub

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        status = nmlhub(["validate", path.name, "--no-warnings"])
    lines = [line for line in printed.getvalue().splitlines() if line.strip()]
    summary = lines[-1].removeprefix(f"{path.name}: ") if lines else f"exit status {status}"
    if len(lines) > 1:
        summary += f", first: {lines[0]}"
    print(_VALIDATION + summary.replace("\n", " "), flush=True)
    return nmlhub(["run", path.name, "--duration", f"{duration_ms:g}", "--outdir", str(outdir), "--no-progress"])


def survey_file(path: Path, workdir: Path, timeout: float = 300.0, root: Path = CORPUS_ROOT) -> FileResult:
    """Validate and run one LEMS file for a short time (in a fresh process), and classify the result."""
    started = time.monotonic()
    name = str(path.relative_to(root))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path.resolve()),
               f"{short_duration_ms(path):g}", str(workdir)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=path.parent,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired as exc:
        printed = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return FileResult(name, TIMEOUT, f"did not finish within {timeout:g} s", _validation(printed), "",
                          time.monotonic() - started)
    seconds = time.monotonic() - started
    validation = _validation(proc.stdout)
    validation_defect = defect(validation.split(", first: ", 1)[-1]) if ", first: " in validation else ""
    if proc.returncode == 0:
        found = defect("", proc.stderr) if "Traceback" in proc.stderr else ""
        return FileResult(name, RAN, "", validation, found or validation_defect, seconds)
    message = _last_line(proc.stderr) or f"exit status {proc.returncode}"
    status = REFUSED if "not supported" in message else ERROR
    return FileResult(name, status, message, validation,
                      defect(message, proc.stdout + proc.stderr) or validation_defect, seconds)


def _validation(printed: str) -> str:
    found = [line.removeprefix(_VALIDATION) for line in printed.splitlines() if line.startswith(_VALIDATION)]
    return found[0] if found else "not reached"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].removeprefix("nmlhub: error: ").strip() if lines else ""


def counts(results: list[FileResult]) -> str:
    """The survey's counts, as the README and docs/lems_survey.md give them."""
    status = Counter(r.status for r in results)
    defects = sum(1 for r in results if r.defect)
    return (f"LEMS simulation files: {len(results)}; ran: {status[RAN]}; refused (not supported): "
            f"{status[REFUSED]}; other errors: {status[ERROR]}; timeouts: {status[TIMEOUT]}; "
            f"{f'not surveyed: {status[NOT_SURVEYED]}; ' if status[NOT_SURVEYED] else ''}"
            f"defects (traceback, PyLEMS message, exit status, line without file or element): {defects}")


def markdown(results: list[FileResult], command: str, note: str = "") -> str:
    """docs/lems_survey.md: the counts, then every file with its result and message."""
    rows = "\n".join(
        f"| `{r.file}` | {r.status} | {_cell(r.message)} | {_cell(r.validation)} | {_cell(r.defect)} | {_seconds(r.seconds)} |"
        for r in results)
    return f"""# Every LEMS simulation file of the corpus, run with nmlhub

Written by `tests/conformance/lems_survey.py` ({datetime.now(timezone.utc):%Y-%m-%d}): every `*.xml` of
`../shared/corpus` whose root is `<Lems>` with a `<Simulation>` (or a `<Component type="Simulation">`), validated with `nmlhub validate` and
run with `nmlhub run --duration` (the file's length, or {SHORT_MS:g} ms if shorter), each in a fresh
process. *ran*: the run finished; *refused*: a one-line `not supported: ...` error; *error*: another
one-line error; a *defect* is a message that is a traceback, a PyLEMS message, a tool's exit status,
an internal error or a line naming no file, or neither a line nor an element. Messages name files
relative to each file's folder or in full, as nmlhub prints them. `tests/test_corpus_lems_files.py`
runs the same within a time budget.

Command: `{command}`{chr(10) * 2 + note if note else ""}

```
{counts(results)}
```

| file | result | message | validation | defect | run s |
|---|---|---|---|---|---|
{rows}
"""


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f}" if seconds else "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace(str(CORPUS_ROOT) + "/", "") or "-"


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child(Path(argv[1]), float(argv[2]), Path(argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=CORPUS_ROOT, help="the corpus (default: $NMLHUB_CORPUS)")
    parser.add_argument("--only", default="", help="only the files whose path contains this")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed to each run")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="files run at the same time")
    parser.add_argument("--json", type=Path, help="write every result here (read back with --from-json)")
    parser.add_argument("--from-json", type=Path, nargs="*", default=[],
                        help="results of earlier surveys (later ones override earlier, file by file)")
    parser.add_argument("--part", default="1/1", help="K/N: only every N-th file, from the K-th")
    parser.add_argument("--skip", type=Path, nargs="*", default=[], help="skip the files these JSON results hold")
    parser.add_argument("--run", action="store_true", help="run the files even with --from-json")
    parser.add_argument("--note", default="", help="a paragraph for the page: how and when it was measured")
    parser.add_argument("--missing", action="store_true", help="list the files no result covers, as not surveyed")
    parser.add_argument("--markdown", type=Path, help="write docs/lems_survey.md here")
    args = parser.parse_args(argv)
    results: dict[str, FileResult] = {}
    for earlier in args.from_json:
        results.update({r["file"]: FileResult(**r) for r in json.loads(earlier.read_text())})
    if args.run or not args.from_json:
        done = set(results)
        for earlier in args.skip:
            done |= {r["file"] for r in json.loads(earlier.read_text())}
        part, parts = (int(n) for n in args.part.split("/"))
        files = [p for k, p in enumerate(p for p in lems_simulation_files(args.root) if args.only in str(p))
                 if k % parts == part - 1 and str(p.relative_to(args.root)) not in done]
        with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for result in pool.map(lambda k: survey_file(files[k], Path(scratch) / f"run{k:03d}", args.timeout,
                                                         args.root), range(len(files))):
                results[result.file] = result
                print(f"{result.status:8s} {result.file}: {result.message or result.validation}"
                      f"{'  DEFECT: ' + result.defect if result.defect else ''}", flush=True)
                if args.json:
                    _write(args.json, json.dumps([asdict(r) for r in results.values()], indent=1))
    if args.missing:
        for path in lems_simulation_files(args.root):
            name = str(path.relative_to(args.root))
            results.setdefault(name, FileResult(name, NOT_SURVEYED, "", "", "", 0.0))
    ordered = [results[k] for k in sorted(results)]
    print(counts(ordered))
    if args.markdown:
        shown = [a for k, a in enumerate(argv) if a != "--note" and (k == 0 or argv[k - 1] != "--note")]
        command = " ".join(["python", "tests/conformance/lems_survey.py", *shown])
        _write(args.markdown, markdown(ordered, command, args.note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
