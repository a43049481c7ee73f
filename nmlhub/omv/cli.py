"""``nmlhub omv PATH...``: run OSB model-validation tests (``.test*.omt``) with nmlhub."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..argtypes import positive_int
from ..errors import NmlhubError
from .runner import ERROR, FAIL, INPUT_CLOCKS, PASS, SKIPPED, ExperimentResult, check_tests
from .spec import find_omt_files, read_omt

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub) -> None:
    """Register ``omv`` on the ``nmlhub`` command's subparsers."""
    omv = sub.add_parser("omv", help="run OSB model-validation tests (.test*.omt) with nmlhub")
    omv.add_argument("paths", type=Path, nargs="+", help=".omt files, or folders searched for .test*.omt")
    omv.add_argument("-j", "--jobs", type=positive_int, default=1, help="targets run at the same time")
    omv.add_argument("--timeout", type=float, metavar="S", help="seconds allowed to each target's run")
    omv.add_argument("--keep", type=Path, metavar="DIR",
                     help="write the runs' outputs under DIR and keep them (default: a temporary folder)")
    omv.add_argument("--json", type=Path, metavar="FILE", help="also write every result to FILE as JSON")
    omv.add_argument("--show-skipped", action="store_true",
                     help="also list tests of engines nmlhub does not stand in for")
    omv.add_argument("--input-clock", choices=INPUT_CLOCKS, default=INPUT_CLOCKS[0],
                     help="passed to every run (nmlhub run --input-clock): inputs with a start and a stop "
                          "act on jLEMS's clock (default) or on the NEURON export's")


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    """Find, run and check the tests; print one line per experiment and a summary."""
    missing = [p for p in args.paths if not p.exists()]
    for path in missing:
        print(f"nmlhub: error: {path}: file not found", file=sys.stderr)
    if missing:
        return EXIT_USAGE
    files = find_omt_files(list(args.paths))
    if not files:
        print(f"nmlhub: error: no .test*.omt files in {', '.join(map(str, args.paths))}", file=sys.stderr)
        return EXIT_USAGE
    tests, unreadable = [], []
    for path in files:
        try:
            tests.append(read_omt(path))
        except NmlhubError as exc:
            unreadable.append(ExperimentResult(path, "?", path, "-", ERROR, str(exc)))
    clock = args.input_clock
    for result in unreadable:
        _print(result, clock)

    def show(results: list[ExperimentResult]) -> None:
        for result in results:
            if result.status != SKIPPED or args.show_skipped:
                _print(result, clock)
        sys.stdout.flush()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="nmlhub-omv-"))
    try:
        results = unreadable + check_tests(tests, workdir, timeout=args.timeout, jobs=args.jobs, report=show,
                                           input_clock=clock)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, ERROR, SKIPPED)}
    checked = counts[PASS] + counts[FAIL] + counts[ERROR]
    print(f"{len(files)} .omt files, {checked} experiments: {counts[PASS]} passed, {counts[FAIL]} failed, "
          f"{counts[ERROR]} could not be checked; {counts[SKIPPED]} tests skipped (other engines)")
    if args.json:
        _write_json(args.json, results, clock)
    return EXIT_OK if checked and counts[FAIL] == counts[ERROR] == 0 else EXIT_FAILED


def _print(result: ExperimentResult, input_clock: str) -> None:
    """One experiment's line; a run on another clock than jLEMS's for inputs says so."""
    clock = f" (input clock: {input_clock})" if input_clock != INPUT_CLOCKS[0] and result.status != SKIPPED else ""
    print(f"{result.status.upper():7} {_shown(result.omt)} [{result.engine}] {result.experiment}{clock}: "
          f"{result.detail}")


def _write_json(path: Path, results: list[ExperimentResult], input_clock: str) -> None:
    from ..results import write_atomic_text

    rows = [{"omt": str(r.omt), "engine": r.engine, "target": str(r.target), "experiment": r.experiment,
             "status": r.status, "detail": r.detail, "input_clock": input_clock} for r in results]
    write_atomic_text(path, json.dumps(rows, indent=1))
