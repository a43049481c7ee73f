"""The NMODL nmlhub generates is byte-identical to what it generated when the hashes in
tests/data/nmodl_golden/ were made (by its make_golden.py, which says how): a refactoring of the
printer changes no generated file, on the core examples and on the OSB corpus."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import pytest

from conftest import requires_corpus, spread_by_repository

GOLDEN = Path(__file__).resolve().parent / "data" / "nmodl_golden"
sys.path.insert(0, str(GOLDEN))

import make_golden  # noqa: E402

#: The corpus part takes about 2 CPU-minutes (7.5 to 12 min on a busy 2-core machine). It compares
#: files in a fixed order, taken in turn from each repository, until this many seconds are spent (``NMLHUB_GOLDEN_BUDGET_S``; set it
#: higher to compare every file); a warning says how many were left.
CORPUS_BUDGET_S = float(os.environ.get("NMLHUB_GOLDEN_BUDGET_S", 90))


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
    root = make_golden.corpus_root()
    files = spread_by_repository(make_golden._model_files(root), lambda path: path.relative_to(root).parts[0])
    started = time.perf_counter()
    now: dict = {}
    for path in files:
        if time.perf_counter() - started > CORPUS_BUDGET_S:
            break
        now.update(make_golden.hashes([path], root))
    compared = {name: stored.get(name) for name in now}
    differences = _differences(compared, now)
    assert not differences, "\n".join(differences[:20])
    assert len(now) >= min(len(files), 50), f"only {len(now)} files compared within the budget"
    missing = sorted(set(stored) - set(now) - {str(f.relative_to(root)) for f in files[len(now):]})
    assert not missing, f"stored files the corpus no longer has: {missing[:5]}"
    if len(now) < len(files):
        warnings.warn(f"compared {len(now)} of {len(files)} corpus files within NMLHUB_GOLDEN_BUDGET_S="
                    f"{CORPUS_BUDGET_S:g} s, all equal; set it higher to compare the rest")
