"""The Open Source Brain models' own validation tests (.omt/.mep in ../shared/corpus/osb).

Expected spike times come from each model's original simulator or OSB's reference runs; the
tolerance is the one each .omt states (relative, ``numpy.allclose`` as omv compares). The targets
below are run with ``nmlhub omv``'s runner (``nmlhub.omv``); every experiment of theirs must pass,
except those listed with their proven cause in tests/omv_known.json (tolerance 0, which only the
engine that made the ``.mep`` meets). All the corpus's tests are run by tests/test_omv_corpus.py and
reported in docs/conformance.md (python tests/conformance/make_report.py --only omv).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmlhub.errors import NmlhubError
from nmlhub.omv.runner import PASS, check_tests
from nmlhub.omv.spec import find_omt_files, read_omt

from conftest import CORPUS, requires_corpus

KNOWN = json.loads((Path(__file__).resolve().parent / "omv_known.json").read_text())

MUST_PASS = [
    "ACnet2/neuroConstruct/generatedNeuroML2/LEMS_ACnet2_LowDt.xml",
    "GranuleCell/neuroConstruct/generatedNeuroML2/LEMS_GranuleCell_LowDt.xml",
    "IzhikevichModel/NeuroML2/LEMS_2007Cells.xml",
    "MiglioreEtAl14_OlfactoryBulb3D/NeuroML2/Channels/test/LEMS_OlfactoryTest_12.xml",
    "MiglioreEtAl14_OlfactoryBulb3D/NeuroML2/Channels/test/LEMS_OlfactoryTest_35.xml",
]


def _tests_of(target: Path) -> list:
    tests = []
    for path in find_omt_files([target.parent]):
        try:
            test = read_omt(path)
        except NmlhubError:
            continue
        if test.simulates and test.target == target and test.mep is not None and test.mep.is_file():
            tests.append(test)
    return tests


@requires_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("case_id", MUST_PASS)
def test_osb_validation(case_id, tmp_path):
    tests = _tests_of((CORPUS / case_id).resolve())
    assert tests, f"no .omt with its .mep names {case_id}"
    results = check_tests(tests, tmp_path, timeout=600)
    keys = {f"{Path(r.omt).relative_to(CORPUS.resolve())}::{r.experiment}": r for r in results}
    failed = {key: r.detail for key, r in keys.items() if r.status != PASS and key not in KNOWN}
    assert not failed, failed
    assert any(r.status == PASS for r in results)
