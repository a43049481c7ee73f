"""The Open Source Brain models' own validation tests (``.test.*.omt`` with ``.mep`` expected
spike times from the model's original simulator), run with nmlhub, for the conformance report
and tests/test_osb_validation.py.

Reading the tests, running their targets and comparing as OSB's validation tool (omv) does is
nmlhub's own (``nmlhub.omv``, the ``nmlhub omv`` command); this module only groups the corpus's
tests into cases: one per distinct (target, mep).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nmlhub.errors import ModelError
from nmlhub.omv.runner import PASS, check_experiment, run_target
from nmlhub.omv.spec import Experiment, OmtTest, find_omt_files, read_omt


@dataclass
class OmtCase:
    id: str
    target: Path
    test: OmtTest

    @property
    def experiments(self) -> list[Experiment]:
        return [e for e in self.test.experiments if not e.problem]


def _tests(corpus: Path) -> list[OmtTest]:
    tests = []
    for path in find_omt_files([corpus]):
        try:
            test = read_omt(path)
        except ModelError:
            continue
        if not test.validates and test.mep is not None:
            tests.append(test)
    return tests


def find_cases(corpus: Path) -> list[OmtCase]:
    """One case per distinct (target, mep) among the corpus's ``.omt`` files (not validate-only)."""
    corpus = corpus.resolve()
    cases: dict[tuple[Path, Path], OmtCase] = {}
    for test in _tests(corpus):
        key = (test.target, test.mep)
        if key in cases or not test.target.exists() or not test.mep.exists():
            continue
        case = OmtCase(f"{test.target.parent.relative_to(corpus)}/{test.target.name}", test.target, test)
        if case.experiments:
            cases[key] = case
    return list(cases.values())


def missing_references(corpus: Path) -> list[tuple[str, str]]:
    """(target, mep) of each ``.omt`` whose target exists but whose ``.mep`` the corpus snapshot
    does not hold (they point into the models' NEURON folders, not copied)."""
    corpus = corpus.resolve()
    found = {str(t.target.relative_to(corpus)): os.path.relpath(t.mep, t.path.parent)
             for t in _tests(corpus) if t.target.exists() and not t.mep.exists()}
    return sorted(found.items())


def run(case: OmtCase, workdir: Path, timeout: float) -> dict[str, tuple[bool, str]]:
    """Run the target with nmlhub and check every experiment; returns name -> (passed, detail)."""
    outcome = run_target(case.target, workdir / case.id.replace("/", "_"), timeout)
    if outcome.error:
        raise RuntimeError(outcome.error)
    results = {}
    for experiment in case.experiments:
        result = check_experiment(case.test, experiment, outcome)
        results[experiment.name] = (result.status == PASS, result.detail)
    return results
