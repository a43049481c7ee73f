"""docs/conformance.md is assembled from stored sections (tests/conformance/report_<section>.json),
each saying when and at which commit it was measured; a failing OMV experiment's cause counts as
proven only when it names a section of the hand-written proofs."""

from __future__ import annotations

import sys
from pathlib import Path

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
sys.path.insert(0, str(CONFORMANCE))

import make_report  # noqa: E402
import report_omv  # noqa: E402
from report_store import SECTIONS, read_section  # noqa: E402


def test_the_page_says_when_each_stored_section_was_measured():
    page = "\n".join(make_report.assemble())
    stored = [read_section(s) for s in SECTIONS]
    assert any(stored)
    for data in filter(None, stored):
        assert f"Measured on {data['measured']} at commit {data['commit']}" in page
        assert data["rows"]


def test_a_cause_is_proven_only_by_a_section_that_exists():
    titles = report_omv.anchors()
    assert report_omv.points_to_proof("tolerance 0 (docs/conformance.md, Tolerance 0)", titles)
    assert report_omv.points_to_proof("(docs/conformance.md, 'Event timing'); and more", titles)
    assert not report_omv.points_to_proof("random inputs (docs/conformance.md)", titles)
    assert not report_omv.points_to_proof("(docs/conformance.md, A section nobody wrote)", titles)
    assert not report_omv.points_to_proof("spike count differs", titles)


def test_re_measuring_some_cases_keeps_the_others_and_says_when(tmp_path, monkeypatch):
    import report_store

    monkeypatch.setattr(report_store, "store_path", lambda section: tmp_path / f"report_{section}.json")
    first = {"measured": "2026-01-01 00:00 UTC", "commit": "aaaaaaa", "branch": "b", "dirty": False, "command": "c"}
    report_store.write_section("export", [{"case": "x", "n": 1}, {"case": "y", "n": 2}, {"case": "y", "n": 3}], first)
    again = {**first, "measured": "2026-02-02 00:00 UTC", "commit": "bbbbbbb"}
    report_store.update_section("export", [{"case": "y", "n": 4}], again, ["y"])
    data = report_store.read_section("export")
    assert data["rows"] == [{"case": "x", "n": 1}, {"case": "y", "n": 4}]
    assert data["measured"] == "2026-01-01 00:00 UTC"
    line = report_store.measured_line(data)
    assert "Measured on 2026-01-01 00:00 UTC at commit aaaaaaa" in line
    assert "`y` on 2026-02-02 00:00 UTC at commit bbbbbbb" in line


def test_a_new_survey_keeps_the_hand_written_reasons_of_omv_known(tmp_path):
    import json

    import omv_survey

    known = tmp_path / "omv_known.json"
    known.write_text(json.dumps({"M/.test.omt::a": "proven (docs/conformance.md, Tolerance 0)"}))
    corpus = omv_survey.CORPUS.resolve()
    row = dict(omt=str(corpus / "M" / ".test.omt"), target=str(corpus / "M" / "absent.xml"),
               engine="jNeuroML_NEURON", detail="3 spikes, expected 4")
    omv_survey.write_known(known, [dict(row, experiment="a", status="fail"),
                                   dict(row, experiment="b", status="fail"),
                                   dict(row, experiment="c", status="pass")])
    written = json.loads(known.read_text())
    assert written["M/.test.omt::a"] == "proven (docs/conformance.md, Tolerance 0)"
    assert written["M/.test.omt::b"] == omv_survey.cause(dict(row, experiment="b", status="fail"))
    assert "M/.test.omt::c" not in written


def test_the_survey_names_the_section_proving_each_cause_and_marks_the_others_unproven(tmp_path, monkeypatch):
    import json

    import omv_proofs
    import omv_survey

    known = tmp_path / "omv_known.json"
    known.write_text(json.dumps({
        "M/.test.omt::a": "24 spikes, 0.5 ms late (docs/conformance.md, ACnet2 MediumNet (Pyramidal0, Pyramidal1))",
        "M/.test.omt::b": "spike count differs (docs/conformance.md, A section nobody wrote)"}))
    monkeypatch.setattr(omv_proofs, "KNOWN", known)
    corpus = omv_survey.CORPUS.resolve()
    row = dict(omt=str(corpus / "M" / ".test.omt"), target=str(corpus / "M" / "absent.xml"),
               engine="jNeuroML_NEURON", status="fail",
               detail="24 spikes, largest relative difference 0.00121 (spike 23: 472.22, expected 471.65), "
                      "tolerance 4.24043e-05")
    rows = [dict(row, experiment=name) for name in "abc"]
    page = omv_survey.markdown(rows, omv_survey.summarize(rows))
    section = ('docs/conformance.md, "ACnet2 MediumNet (Pyramidal0, Pyramidal1): the export\'s step error, '
               'spread by the network"')
    assert f"| a | fail | {section} |" in page
    assert "| b | fail | unproven (its message: spike times beyond the tolerance) |" in page
    assert "| c | fail | unproven (its message: spike times beyond the tolerance) |" in page
    assert f"     1  {section}" in page and "     2  unproven (its message: spike times beyond the tolerance)" in page
