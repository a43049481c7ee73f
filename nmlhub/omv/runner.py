"""Run the targets of ``.omt`` tests with nmlhub and check each experiment as omv does.

Each target runs once, in a fresh ``python -m nmlhub run`` process (NEURON keeps one model per
process), writing its outputs into a scratch folder; every ``.omt`` naming that target is then
checked against those outputs. Targets of ``jNeuroML_validate`` tests are validated instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import NmlhubError
from .observables import (Comparison, compare_rate, compare_spike_times, observed_spike_rate,
                          observed_spike_times)
from .spec import Experiment, OmtTest

PASS, FAIL, ERROR, SKIPPED = "pass", "fail", "error", "skipped"
#: the clocks an input with a start and a stop may act on (``nmlhub run --input-clock``), the default first
INPUT_CLOCKS = ("jlems", "neuron")


@dataclass(frozen=True)
class TargetRun:
    """The outcome of running (or validating) one target: ``error`` is empty when it ran."""

    target: Path
    outdir: Path
    error: str
    seconds: float


@dataclass(frozen=True)
class ExperimentResult:
    """One experiment's verdict (``pass``, ``fail``, ``error`` or ``skipped``) and its details."""

    omt: Path
    engine: str
    target: Path
    experiment: str
    status: str
    detail: str


def run_target(target: Path, outdir: Path, timeout: float | None = None,
               input_clock: str = INPUT_CLOCKS[0]) -> TargetRun:
    """Run a LEMS file with ``nmlhub run`` in a fresh process, outputs under ``outdir``, its
    inputs with a start and a stop on ``input_clock`` (``jlems`` or ``neuron``)."""
    started = time.monotonic()
    outdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "nmlhub", "run", str(target), "--outdir", str(outdir), "--no-progress",
               "--input-clock", input_clock]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=target.parent, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired:
        return TargetRun(target, outdir, f"did not finish within {timeout:g} s", time.monotonic() - started)
    error = ""
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        error = lines[-1].removeprefix("nmlhub: error: ") if lines else f"exit status {proc.returncode}"
    return TargetRun(target, outdir, error, time.monotonic() - started)


def validate_files(test: OmtTest) -> TargetRun:
    """Validate a validation test's files as ``jnml -validate`` does (each named file, not the
    files it includes), with ``nmlhub validate``'s checks; ``error`` names the first error found
    (or the first file missing)."""
    from ..neuron.validation import validate

    started = time.monotonic()
    files = test.validation_targets()
    errors: list[str] = []
    for path in files:
        if not path.is_file():
            errors.append(f"{path}: file not found")
            continue
        try:
            # jnml -validate checks the files it is given, not the files they include
            errors.extend(str(p) for p in validate(path) if p.severity == "error" and _in_file(p.file, path))
        except NmlhubError as exc:
            errors.append(str(exc))
        except Exception as exc:  # reported as the test's failure, never as a traceback
            errors.append(f"{path}: internal error: {type(exc).__name__}: {exc}")
    error = f"{len(errors)} validation error(s) in {len(files)} file(s), first: {errors[0]}" if errors else ""
    return TargetRun(test.target, test.path.parent, error, time.monotonic() - started)


def _in_file(problem_file: str | None, path: Path) -> bool:
    return problem_file is None or Path(problem_file).resolve() == path


def output_path(observed: Path, target: Path, outdir: Path) -> Path:
    """Where nmlhub wrote a file that the model would write at ``observed`` (beside its LEMS file)."""
    relative = os.path.relpath(observed, target.parent)
    return Path(os.path.normpath(outdir / relative))


def check_experiment(test: OmtTest, experiment: Experiment, run: TargetRun) -> ExperimentResult:
    """Compare one experiment's observed values (from the run's outputs) with the expected ones."""

    def result(status: str, detail: str) -> ExperimentResult:
        return ExperimentResult(test.path, test.engine, test.target, experiment.name, status, detail)

    if experiment.problem:
        return result(ERROR, experiment.problem)
    if run.error:
        return result(ERROR, run.error)
    observation = experiment.observation
    assert observation is not None
    produced = output_path(observation.path, test.target, run.outdir)
    if not produced.is_file():
        return result(FAIL, f"the run wrote no {os.path.relpath(observation.path, test.target.parent)}")
    try:
        from dataclasses import replace

        local = replace(observation, path=produced)
        if experiment.observable == "spike rate":
            comparison: Comparison = compare_rate(observed_spike_rate(local), experiment.expected,
                                                  experiment.tolerance)
        else:
            comparison = compare_spike_times(observed_spike_times(local), experiment.expected,
                                             experiment.tolerance)
    except (ValueError, IndexError, OSError) as exc:
        return result(ERROR, f"cannot read {produced.name}: {exc}")
    return result(PASS if comparison.passed else FAIL, comparison.detail)


def check_tests(tests: list[OmtTest], workdir: Path, *, timeout: float | None = None, jobs: int = 1,
                report=None, input_clock: str = INPUT_CLOCKS[0]) -> list[ExperimentResult]:
    """Run every distinct target once and check every experiment of every test.

    Parameters
    ----------
    tests
        The ``.omt`` tests (see :func:`nmlhub.omv.spec.read_omt`).
    workdir
        A scratch folder; each target's outputs go into a subfolder of it.
    timeout
        Seconds allowed to each run.
    jobs
        Targets run at the same time.
    report
        Called with each test's list of results as soon as they are known.
    input_clock
        The clock of inputs with a start and a stop in every run: ``jlems`` or ``neuron``
        (``nmlhub run --input-clock``).

    Returns
    -------
    list of ExperimentResult
        In the order of ``tests``; tests of engines nmlhub does not stand in for are ``skipped``.
    """
    simulated = sorted({t.target for t in tests if _needs_run(t)})
    folders = {target: workdir / f"run{k:03d}" for k, target in enumerate(simulated)}

    def one(target: Path) -> tuple[Path, TargetRun]:
        if not target.is_file():
            return target, TargetRun(target, folders[target], f"{target}: file not found", 0.0)
        return target, run_target(target, folders[target] / "out", timeout, input_clock)

    runs: dict[Path, TargetRun] = {}
    results: list[ExperimentResult] = []
    pending = list(tests)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for target, run in pool.map(one, simulated):
            runs[target] = run
            ready = [t for t in pending if _is_ready(t, runs)]
            for test in ready:
                pending.remove(test)
                checked = _check_test(test, runs)
                results.extend(checked)
                if report is not None:
                    report(checked)
    for test in pending:
        checked = _check_test(test, runs)
        results.extend(checked)
        if report is not None:
            report(checked)
    return results


def _needs_run(test: OmtTest) -> bool:
    return test.simulates and (not test.experiments or any(not e.problem for e in test.experiments))


def _is_ready(test: OmtTest, runs: dict) -> bool:
    return not _needs_run(test) or test.target in runs


def _check_test(test: OmtTest, runs: dict) -> list[ExperimentResult]:
    if test.validates:
        run = validate_files(test)
        return [ExperimentResult(test.path, test.engine, test.target, "validate",
                                 FAIL if run.error else PASS, run.error or "valid")]
    if not test.simulates:
        return [ExperimentResult(test.path, test.engine, test.target, "-", SKIPPED,
                                 f"engine {test.engine} is not one nmlhub stands in for")]
    run = runs.get(test.target, TargetRun(test.target, test.target.parent, "not run", 0.0))
    if not test.experiments:
        return [ExperimentResult(test.path, test.engine, test.target, "run", ERROR if run.error else PASS,
                                 run.error or f"ran in {run.seconds:.1f} s (no experiments to compare)")]
    return [check_experiment(test, e, run) for e in test.experiments]
