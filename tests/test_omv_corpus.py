"""Every OMV test of the OSB corpus that nmlhub stands in for (engines jNeuroML, jNeuroML_NEURON,
jNeuroML_NetPyNE, jNeuroML_validate), run as ``nmlhub omv`` runs them.

Expected values are the models' own ``.mep`` files (spike times from each model's reference
engine) and omv's comparison (``nmlhub.omv``). Each target is one test item; an experiment fails
the item unless it passes or is listed, with its cause, in ``omv_known.json`` (written from the
corpus survey, see README "Checking a model with OMV tests"); a listed experiment that passes now
is reported as a warning, to be taken off the list. Experiments whose ``.mep`` the corpus snapshot
does not hold are skipped.

Time budget: ``NMLHUB_OMV_BUDGET_S`` seconds in all, counted from this module's first item (default
180, which keeps CI under its 45 minutes; set it higher, e.g. 7200, to run every item); simulated
targets come first, then validation tests, each the cheapest first (``conftest.run_cost``); items
left when it is spent are skipped, with the reason. The targets tests/test_osb_validation.py must
pass are run there, not again here. Each run may take ``NMLHUB_OMV_TIMEOUT_S`` (default
600).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import pytest

from nmlhub.errors import NmlhubError
from nmlhub.omv.runner import ERROR, FAIL, PASS, check_tests
from nmlhub.omv.spec import OmtTest, find_omt_files, read_omt

from conftest import CORPUS, requires_corpus, run_cost
from test_osb_validation import MUST_PASS

KNOWN = json.loads((Path(__file__).resolve().parent / "omv_known.json").read_text())
BUDGET_S = float(os.environ.get("NMLHUB_OMV_BUDGET_S", 180))
TIMEOUT_S = float(os.environ.get("NMLHUB_OMV_TIMEOUT_S", 600))


def _tests() -> list[OmtTest]:
    if not CORPUS.is_dir():
        return []
    tests = []
    for path in find_omt_files([CORPUS]):
        try:
            test = read_omt(path)
        except NmlhubError:  # an unreadable .omt is nmlhub omv's business, not this collection's
            continue
        if test.simulates or test.validates:
            tests.append(test)
    return tests


def _items() -> dict[str, list[OmtTest]]:
    """Tests grouped by what runs: a simulated target, or one validation test."""
    items: dict[str, list[OmtTest]] = {}
    for test in _tests():
        key = test.target if test.simulates else test.path
        items.setdefault(str(Path(key).relative_to(CORPUS.resolve())), []).append(test)
    return items


ITEMS = _items()


def _order(items: dict[str, list[OmtTest]]) -> list[str]:
    """Simulated targets first, then validation tests (some validate hundreds of files), each
    group the cheapest first (model text times steps: a budget then runs the most items)."""
    def cost(key: str) -> tuple[float, str]:
        return run_cost(CORPUS / key), key
    validations = [key for key, tests in items.items() if not any(test.simulates for test in tests)]
    return sorted(set(items) - set(validations) - set(MUST_PASS), key=cost) + sorted(validations, key=cost)


ORDER = _order(ITEMS)


def _key(result) -> str:
    return f"{Path(result.omt).relative_to(CORPUS.resolve())}::{result.experiment}"


@pytest.fixture(scope="module")
def omv_started() -> float:
    """When this module's first item started (collection may be long before)."""
    return time.monotonic()


@requires_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("item", ORDER)
def test_omv_experiments(item, tmp_path, omv_started):
    if time.monotonic() - omv_started > BUDGET_S:
        pytest.skip(f"the OMV corpus budget of {BUDGET_S:g} s (NMLHUB_OMV_BUDGET_S) is spent")
    tests = [t for t in ITEMS[item] if t.validates or t.mep is None or t.mep.is_file() or not t.experiments]
    if not tests:
        pytest.skip("the corpus snapshot holds none of this target's .mep files")
    results = check_tests(tests, tmp_path, timeout=TIMEOUT_S)
    unexpected = [f"{_key(r)}: {r.status}: {r.detail}" for r in results
                  if r.status in (FAIL, ERROR) and _key(r) not in KNOWN]
    fixed = [_key(r) for r in results if r.status == PASS and _key(r) in KNOWN]
    if fixed:
        warnings.warn(f"passes now, take off tests/omv_known.json: {fixed}", stacklevel=1)
    assert not unexpected, "\n".join(unexpected)
