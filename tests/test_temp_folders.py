"""Temporary folders nmlhub makes are removed when done, also when the work fails.

``NetworkBuilder.to_model`` left one ``nmlhub-builder-*`` folder in the temporary directory per
call (136 of them in /tmp after a day of tests); pylems' scratch folder stayed until the flattener
was collected. Each test points Python's temporary directory at a folder of its own and counts
what is left there. The conformance scripts left theirs too (``nmlhub-export-*`` from
``make_report.py --only export``, ``nmlhub-random-jlems-*`` holding copies of whole corpus
repositories, ``nmlhub-omv-survey-*``, ``input-clock-*``): every ``mkdtemp`` of the repository is
now removed by the function that makes it.
"""

from __future__ import annotations

import ast
import gc
import warnings
import tempfile
from pathlib import Path

import neuroml
import pytest

import nmlhub
from nmlhub.rules.values import RuleError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def small_builder(cell: str = "izh") -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("tiny", size=(100.0, 100.0, 100.0), seed=3)
    net.add(neuroml.Izhikevich2007Cell(id="izh", C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV",
                                       d="100pA"))
    net.add(neuroml.ExpOneSynapse(id="syn", gbase="1nS", erev="0mV", tau_decay="5ms"))
    net.population("A", cell=cell, count=3)
    net.connect("A", "A", "syn", nmlhub.AllToAll(), weight=1.0)
    return net


def left_in(folder: Path) -> list[str]:
    gc.collect()
    return sorted(p.name for p in folder.iterdir())


def test_to_model_folder_lives_with_the_model(scratch):
    model = small_builder().to_model()
    assert [p.name for p in scratch.iterdir()][0].startswith("nmlhub-builder-")
    assert Path(model.path).is_file()  # the model's files are there while it is used
    assert len(model.network("tiny").populations) == 1
    del model
    assert left_in(scratch) == []


def test_to_model_leaves_nothing_when_saving_fails(scratch):
    with pytest.raises(RuleError, match="cell 'ghost' is not defined"):
        small_builder(cell="ghost").to_model(expanded=True)
    assert left_in(scratch) == []


def test_to_model_leaves_nothing_when_loading_fails(scratch, tmp_path):
    broken = tmp_path / "broken.nml"
    broken.write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="b">\n<iafCell id="x"\n')
    net = small_builder()
    net.include(broken)
    with pytest.raises(nmlhub.NmlhubError, match="broken.nml"):
        net.to_model()
    assert left_in(scratch) == []


def test_simulating_a_builder_leaves_nothing(scratch):
    results = nmlhub.simulate(small_builder(), duration_ms=5.0, dt_ms=0.025)
    assert results is not None
    assert left_in(scratch) == []


def _functions_making_folders(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, source) of each function of ``path`` that calls ``mkdtemp``."""
    text = path.read_text()
    with warnings.catch_warnings():  # a file's own invalid escapes are not this test's business
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            calls = [c for c in ast.walk(node) if isinstance(c, ast.Call)
                     and getattr(c.func, "attr", getattr(c.func, "id", None)) == "mkdtemp"]
            if calls:
                found.append((node.name, calls[0].lineno, ast.get_source_segment(text, node) or ""))
    return found


def test_every_mkdtemp_is_removed_by_the_function_that_makes_it():
    """A folder from ``mkdtemp`` is removed (``rmtree``, or ``weakref.finalize`` for one that
    lives with an object) in the function that makes it; otherwise ``TemporaryDirectory``."""
    files = [p for folder in ("nmlhub", "converters", "tests", "benchmarks") for p in (REPO / folder).rglob("*.py")]
    leaking = [f"{path.relative_to(REPO)}:{line} {name}" for path in files
               for name, line, source in _functions_making_folders(path)
               if "rmtree" not in source and "finalize" not in source]
    assert leaking == []


def test_measuring_the_export_section_leaves_nothing(scratch, monkeypatch):
    """``make_report.py --only export`` left one ``nmlhub-export-*`` folder per measurement."""
    monkeypatch.syspath_prepend(str(REPO / "tests" / "conformance"))
    import export_compare
    import make_report

    def compare_case(case, entry, repo, corpus, work, timeout):
        (work / case).mkdir()
        raise RuntimeError("no nmlhub here")

    monkeypatch.setattr(export_compare, "index", lambda: {"a": {"status": "ok"}, "b": {"status": "failed"}})
    monkeypatch.setattr(export_compare, "compare_case", compare_case)
    rows = make_report.measure_export(1, [])
    assert [r["case"] for r in rows] == ["a", "b"] and "no nmlhub here" in rows[0]["error"]
    assert left_in(scratch) == []


def test_measuring_the_omv_section_leaves_nothing(scratch, monkeypatch):
    """``make_report.py --only omv`` without parts runs the survey into a folder of its own."""
    monkeypatch.syspath_prepend(str(REPO / "tests" / "conformance"))
    import report_omv

    seen = []

    def survey_run(command, check=False):
        results = Path(command[command.index("--json") + 1])
        results.write_text("[]")
        seen.append(results)

    monkeypatch.setattr(report_omv.subprocess, "run", survey_run)
    monkeypatch.setattr(report_omv.omv_survey, "merge", lambda parts, cwd: [])
    monkeypatch.setattr(report_omv.omv_survey, "summarize", lambda rows: {})
    report_omv.measure([], Path.cwd(), 1, 1.0)
    assert seen and seen[0].parent.parent == scratch
    assert left_in(scratch) == []
