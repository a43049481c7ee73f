"""`nmlhub info` on every core example, every bundled example and every corpus model, checked
against an independent lxml/h5py count of the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CORPUS, TimeBudget, core_example_names, corpus_files_spread, example_files, requires_corpus
from nmlhub.cli import main
from nmlhub.model import load
from nmlhub.model.summary import summarize
from xpath_counts import count_model

KEYS = ("cells", "populations", "projections", "connections", "inputs")


def _check(path: Path) -> None:
    summary = summarize(load(path, strict=False))
    expected = count_model(path)
    got = {k: getattr(summary.totals, k) for k in KEYS}
    assert got == {k: expected.get(k, 0) for k in KEYS}, path


@pytest.mark.parametrize("name", core_example_names())
def test_core_examples(core_examples, name):
    _check(core_examples / name)


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_bundled_examples(path):
    _check(path)


@pytest.fixture(scope="module")
def counts_budget() -> TimeBudget:
    """The corpus items of this module: 45 s by default, taken in turn from every repository."""
    return TimeBudget("NMLHUB_CORPUS_COUNTS_BUDGET_S", 45)


@requires_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_files_spread(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus(path, counts_budget):
    counts_budget.skip_if_spent()
    _check(path)


def test_info_json_and_text(capsys):
    lems = Path(__file__).resolve().parents[1] / "nml_examples/izh_network/LEMS_izh_network.xml"
    assert main(["info", "--json", str(lems)]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = count_model(lems)
    assert data["totals"]["connections"] == expected["connections"]
    assert data["simulation"]["length_ms"] > 0
    assert main(["info", str(lems)]) == 0
    text = capsys.readouterr().out
    assert f"{expected['connections']} connections" in text


@requires_corpus
@pytest.mark.corpus
def test_validate_runs_on_every_corpus_file():
    """Every problem found names its file and says what is wrong; within
    ``NMLHUB_CORPUS_VALIDATE_BUDGET_S`` (60 s by default), files taken in turn from every repository."""
    from nmlhub.neuron.validation import validate

    budget = TimeBudget("NMLHUB_CORPUS_VALIDATE_BUDGET_S", 60)
    files = corpus_files_spread()
    checked = 0
    for path in files:
        if budget.spent():
            break
        problems = validate(path)
        for problem in problems:
            assert problem.file and problem.message, (path, problem)
        checked += 1
    assert checked >= min(len(files), 100), f"only {checked} files validated within the budget"
