"""The NMODL nmlhub generates is byte-identical to what it generated when the hashes in
tests/data/nmodl_golden/ were made (by its make_golden.py, which says how): a refactoring of the
printer changes no generated file, on the core examples and on the OSB corpus."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from conftest import requires_corpus

GOLDEN = Path(__file__).resolve().parent / "data" / "nmodl_golden"
sys.path.insert(0, str(GOLDEN))

import make_golden  # noqa: E402

#: The corpus part takes about 2 CPU-minutes (7.5 to 12 min on a busy 2-core machine); past this
#: it fails.
CORPUS_BUDGET_S = 1800


def _differences(stored: dict, now: dict) -> list[str]:
    return [f"{name}: stored {stored.get(name)!r}, now {now.get(name)!r}"
            for name in sorted(set(stored) | set(now)) if stored.get(name) != now.get(name)]


def test_core_examples_generate_the_stored_nmodl():
    stored = json.loads((GOLDEN / "core.json").read_text())
    now = make_golden.core_hashes()
    assert sum(isinstance(v, dict) and len(v) > 0 for v in now.values()) > 30  # most examples generate
    differences = _differences(stored, now)
    assert not differences, "\n".join(differences[:20])


@requires_corpus
@pytest.mark.corpus
def test_corpus_models_generate_the_stored_nmodl():
    stored = json.loads((GOLDEN / "corpus.json").read_text())
    started = time.perf_counter()
    now = make_golden.corpus_hashes()
    elapsed = time.perf_counter() - started
    differences = _differences(stored, now)
    assert not differences, "\n".join(differences[:20])
    assert elapsed < CORPUS_BUDGET_S, f"took {elapsed:.0f} s (budget {CORPUS_BUDGET_S} s)"
