"""LEMS semantics as jLEMS computes them (issue 24): small models of our own, each with a stored
jLEMS reference (tests/conformance/semantics/, made by tests/conformance/make_references.py
``--only sem_...``), compared with the conformance tolerances of tests/conformance/compare.py."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "conformance"))

from compare import index, run_case  # noqa: E402

REFUSED = Path(__file__).resolve().parent / "conformance" / "semantics" / "refused"
SEMANTICS = sorted(case for case in index() if case.startswith("sem_"))


def _describe(result) -> str:
    lines = [f"{result.case}: {result.status} {result.message}"]
    lines += [f"  {c.name}: nRMS {c.nrms:.3g}, shift-tolerant {c.shifted_nrms:.3g}" for c in result.columns
              if not c.passed]
    lines += [f"  {s.name}: {s.matched}/{s.reference} matched, {s.ours} spikes" for s in result.spikes
              if not s.passed]
    return "\n".join(lines)


@pytest.mark.parametrize("case", SEMANTICS)
def test_matches_jlems(case, tmp_path):
    result = run_case(case, index()[case], Path(tempfile.gettempdir()), tmp_path)
    assert result.status == "passed", _describe(result)


def test_construct_pylems_cannot_read_is_refused_in_one_line_by_run_and_validate(tmp_path):
    """A DerivedVariable inside an OnCondition (jLEMS runs it; pylems cannot read it): `run` and
    `validate` both name the file, the line and the construct, in one line."""
    lems = REFUSED / "LEMS_dv_in_condition.xml"
    line = next(k for k, text in enumerate(lems.read_text().splitlines(), 1) if "<DerivedVariable" in text)
    expected = f"{lems}:{line}: <DerivedVariable>: ComponentType oddCell: <DerivedVariable> inside <OnCondition>"
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    errors = [text for text in run.stderr.splitlines() if text.startswith("nmlhub: error")]
    assert run.returncode != 0 and len(errors) == 1 and len(errors[0]) < 200 + len(str(lems)), run.stderr
    assert expected in errors[0]
    validate = subprocess.run([sys.executable, "-m", "nmlhub", "validate", str(lems)],
                              capture_output=True, text=True, timeout=300)
    assert validate.returncode == 1 and expected in validate.stdout, validate.stdout + validate.stderr


@pytest.mark.parametrize("case", SEMANTICS)
def test_models_that_run_are_valid(case):
    """`validate` agrees with `run`: the models nmlhub and jLEMS run have no errors."""
    from nmlhub.model.validate import is_valid, validate

    problems = validate(Path(__file__).resolve().parents[1] / index()[case]["lems"])
    assert is_valid(problems), "\n".join(str(p) for p in problems)


def test_two_input_sums_in_a_cell_without_membrane_dynamics_are_refused():
    """Each collection's sum would need its own measurement: refused in one line, not summed."""
    from nmlhub.lems import expr as ex
    from nmlhub.lems.flatten import TranslationError
    from nmlhub.lems.nmodl import mechanism_for
    from nmlhub.lems.translate import FlatComponent

    flat = FlatComponent(type="twoInputs", states=["U"], derived=[("a", ex.Num(0.0)), ("b", ex.Num(0.0))],
                         time_derivatives={None: {"U": ex.BinOp("+", ex.Name("a"), ex.Name("b"))}},
                         external={"a": "none", "b": "none"})
    with pytest.raises(TranslationError, match="twoInputs: more than one input sum"):
        mechanism_for(flat, "cell")
    flat.external = {"a": "none"}
    assert "isum_nml" in mechanism_for(flat, "cell").text


def test_assigning_a_v_the_cell_does_not_define_is_refused_in_one_line():
    """An assignment target is always a variable: a cell that measures its input from the section
    and assigns a v it neither integrates nor derives is refused, not printed as an expression."""
    from nmlhub.lems import expr as ex
    from nmlhub.lems.flatten import TranslationError
    from nmlhub.lems.nmodl import mechanism_for
    from nmlhub.lems.translate import Action, FlatComponent

    flat = FlatComponent(type="borrowedV", states=["U"], derived=[("a", ex.Num(0.0))],
                         time_derivatives={None: {"U": ex.Name("a")}}, external={"a": "none"},
                         on_start=[Action("assign", "v", ex.Num(-0.07))])
    with pytest.raises(TranslationError, match="borrowedV: 'v' is assigned in an event or OnStart"):
        mechanism_for(flat, "cell")
    flat.derived.append(("v", ex.Name("U")))  # the cell's own v: assigned as a variable
    text = mechanism_for(flat, "cell").text
    assert "v_l = (-0.07)" in text and "(vstep_nml*0.001) =" not in text
