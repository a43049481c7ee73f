"""A component without the ``<Child>`` its type's select reads: jLEMS refuses it, nmlhub read 0.

What jLEMS did with each file is in tests/data/validate/jlems_said.txt (make_jlems_outputs.py,
CHILD_VARIANTS); its output for the file with the child is child_base.dat.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from nmlhub.model.validate import is_valid
from nmlhub.neuron.validation import validate

DATA = Path(__file__).parent / "data" / "validate"
BASE = DATA / "LEMS_child_base.xml"


def _script():
    spec = importlib.util.spec_from_file_location("make_jlems_outputs", DATA / "make_jlems_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()


def said(name: str) -> str:
    return next(line for line in (DATA / "jlems_said.txt").read_text().splitlines() if line.split(":")[0].split(" ")[0] == name)


def variant(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"LEMS_child_{name}.xml"
    path.write_text(SCRIPT.variant_text(name, BASE.name))
    return path


def expected_error(path: Path) -> str:
    line = next(k for k, text in enumerate(path.read_text().splitlines(), 1) if '<parted id="cell"' in text)
    return (f"{path}:{line}: cannot generate a NEURON mechanism for <parted id='cell'>: component 'cell' (parted) "
            f"has no child 'leak' (a <Child> of type leakPart), which select 'leak/rate' reads: jLEMS refuses it "
            f"('seeking child instance leak ... but there are no children') and nmlhub would read 0; add "
            f"<leak type=...> to the component")


def test_a_missing_child_the_select_reads_is_an_error_of_validate(tmp_path):
    """validate called the file valid, and run read the child's rate as 0 (v stayed at 0)."""
    path = variant(tmp_path, "missing")
    problems = validate(path)
    assert [str(p) for p in problems if p.severity == "error"] == [expected_error(path)]
    assert not is_valid(problems)
    assert "seeking child instance leak in cell[parted] but there are no children" in said(path.name)


def test_run_refuses_a_missing_child_in_one_line(tmp_path):
    path = variant(tmp_path, "missing")
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(path), "--outdir", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert run.stderr.strip().splitlines()[-1] == f"nmlhub: error: {expected_error(path)}"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_missing_grandchild_a_path_reads_is_an_error_too(tmp_path):
    """select="inner/leak/rate" through an <inner/> without its leak: jLEMS refuses it, nmlhub read 0."""
    path = variant(tmp_path, "deep_missing")
    line = next(k for k, text in enumerate(path.read_text().splitlines(), 1) if '<parted id="cell"' in text)
    assert [str(p) for p in validate(path) if p.severity == "error"] == [
        f"{path}:{line}: cannot generate a NEURON mechanism for <parted id='cell'>: component 'inner' (bag) has no "
        f"child 'leak' (a <Child> of type leakPart), which select 'inner/leak/rate' reads: jLEMS refuses it "
        f"('seeking child instance leak ... but there are no children') and nmlhub would read 0; add "
        f"<leak type=...> to the component"]
    assert "seeking child instance leak in null[bag] but there are no children" in said(path.name)


def test_a_missing_child_nothing_reads_is_valid_as_jlems_runs_it(tmp_path):
    path = variant(tmp_path, "missing_unread")
    assert [str(p) for p in validate(path) if p.severity != "info"] == []
    assert "exit 0: Finished reading, building, running" in said(path.name)


def test_the_child_is_read_as_jlems_reads_it(tmp_path):
    """The file with its child: nmlhub's v equals jLEMS's (v relaxing to e at the child's rate)."""
    from nmlhub.cli import main

    shutil.copy(BASE, tmp_path)
    assert [str(p) for p in validate(tmp_path / BASE.name) if p.severity != "info"] == []
    assert main(["run", str(tmp_path / BASE.name)]) == 0
    ours = np.loadtxt(tmp_path / "child_base.dat")
    reference = np.loadtxt(DATA / "child_base.dat")
    assert ours.shape == reference.shape
    assert reference[-1, 1] < -0.03  # the reference relaxed towards e = -40 mV
    np.testing.assert_allclose(ours[:, 1], reference[:, 1], atol=1e-6)


def test_child_elements_jlems_cannot_place_are_warned(tmp_path):
    """jLEMS matches a child element to a <Child> by its element name only, else to a <Children>
    by its type, and refuses any other ('No such children list for type'); nmlhub ran both files
    without a word (the first as the file with its child, the second ignoring the stray cell)."""
    found = {}
    for name in ("by_id", "stray"):
        path = variant(tmp_path, name)
        problems = validate(path)
        assert is_valid(problems)
        found[name] = [str(p) for p in problems if p.severity == "warning"]
        child_type = {"by_id": "leakPart", "stray": "iafCell"}[name]
        assert f"No such children list for type: ({child_type}) in parted" in said(path.name)
    line = SCRIPT.variant_text("by_id", BASE.name).splitlines().index('        <leakPart id="leak" g="0.1per_ms"/>') + 1
    assert found["by_id"] == [
        f"{tmp_path / 'LEMS_child_by_id.xml'}:{line}: <leakPart id='leak'>: warning: jLEMS refuses this file: "
        f"<leakPart id='leak'> fills no <Child> of ComponentType parted (matched by the element's name) nor a "
        f"<Children> of its type ('No such children list for type: (leakPart) in parted'); nmlhub reads it as the "
        f"Child 'leak' (its id) (write it as <leak type=\"leakPart\" .../>)"]
    stray = [w for w in found["stray"] if "<iafCell id='stray'>" in w]
    assert len(stray) == 1 and stray[0].endswith("nmlhub builds it without reading it (take it out)")
    # built as a child of the cell, the stray iafCell's dv/dt reads an input sum of its own, which
    # nmlhub refuses (tests/test_input_sum_uses.py); no other warning
    assert all("reads the sum of the attached inputs (stray_iSyn)" in w for w in found["stray"] if w not in stray)
    assert [str(p) for p in validate(BASE) if p.severity != "info"] == []


def test_run_warns_of_a_child_element_jlems_cannot_place(tmp_path, caplog):
    import logging

    import nmlhub

    path = variant(tmp_path, "by_id")
    with caplog.at_level(logging.WARNING):
        nmlhub.simulate(str(path))
    assert sum("No such children list for type: (leakPart)" in r.getMessage() for r in caplog.records) == 1
