"""The Open Source Brain models' own validation tests (.omt/.mep in ../shared/corpus/osb).

Expected spike times come from each model's original simulator or OSB's reference runs; the
tolerance is the one each .omt states (relative, see tests/conformance/omt.py). Cases whose .omt
states tolerance 0 (exact agreement with the engine that made the .mep) and those nmlhub does not
match yet are listed in docs/conformance.md (python tests/conformance/make_report.py); the cases
below must pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import CORPUS, requires_corpus

sys.path.insert(0, str(Path(__file__).resolve().parent / "conformance"))

import omt  # noqa: E402

MUST_PASS = [
    "ACnet2/neuroConstruct/generatedNeuroML2/LEMS_ACnet2_LowDt.xml",
    "GranuleCell/neuroConstruct/generatedNeuroML2/LEMS_GranuleCell_LowDt.xml",
    "IzhikevichModel/NeuroML2/LEMS_2007Cells.xml",
    "MiglioreEtAl14_OlfactoryBulb3D/NeuroML2/Channels/test/LEMS_OlfactoryTest_12.xml",
    "MiglioreEtAl14_OlfactoryBulb3D/NeuroML2/Channels/test/LEMS_OlfactoryTest_35.xml",
]


@requires_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("case_id", MUST_PASS)
def test_osb_validation(case_id, tmp_path):
    cases = {c.id: c for c in omt.find_cases(CORPUS)}
    case = cases[case_id]
    results = omt.run(case, tmp_path, timeout=600)
    failed = {name: detail for name, (ok, detail) in results.items() if not ok}
    assert not failed, failed
    assert results
