"""Conformance with jNeuroML: every point-neuron case must match the stored references.

Tolerances are stated in tests/conformance/compare.py (module docstring); the references and
how they were made are described in tests/conformance/README.md. Cases nmlhub cannot run yet are
listed with their reason in tests/conformance/suite.py and expected to fail (strictly: when one
starts passing, the list must be updated).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "conformance"))

from compare import corpus_root, index, uses_corpus  # noqa: E402
from suite import NOT_YET_SUPPORTED, run_all  # noqa: E402

CORPUS_PRESENT = corpus_root().is_dir()
ALL_CASES = [case for case, entry in index().items() if entry.get("status") == "ok"]
#: Cases that can run here (those from the OSB corpus need it).
CASES = [case for case in ALL_CASES if CORPUS_PRESENT or not uses_corpus(index()[case])]


@pytest.fixture(scope="session")
def conformance_results():
    return run_all(jobs=2, cases=CASES)


def _describe(result) -> str:
    lines = [f"{result.case}: {result.status} {result.message}"]
    lines += [f"  {c.name}: nRMS {c.nrms:.3g}, shift-tolerant {c.shifted_nrms:.3g}, window {c.window:.0%}"
              for c in result.columns if not c.passed]
    lines += [f"  {s.name}: {s.matched}/{s.reference} matched, {s.ours} spikes" for s in result.spikes
              if not s.passed]
    return "\n".join(lines)


def _param(case: str):
    if case not in CASES:
        return pytest.param(case, marks=pytest.mark.skip(reason=f"OSB corpus not found at {corpus_root()}"))
    if case in NOT_YET_SUPPORTED:
        return pytest.param(case, marks=pytest.mark.xfail(reason=NOT_YET_SUPPORTED[case], strict=True))
    return case


@pytest.mark.parametrize("case", [_param(case) for case in ALL_CASES])
def test_matches_jneuroml(conformance_results, case):
    result = conformance_results[case]
    assert result.passed, _describe(result)


def test_every_reference_case_is_accounted_for():
    entries = index()
    failed_in_jnml = {c for c, e in entries.items() if e.get("status") != "ok"}
    assert set(NOT_YET_SUPPORTED) <= set(entries)
    assert failed_in_jnml.isdisjoint(NOT_YET_SUPPORTED)
