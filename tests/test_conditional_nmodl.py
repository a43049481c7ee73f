"""Conditional derived variables print as an if/else chain that computes only the taken case
(nmlhub.lems.shorten), with the numbers ifelse_nml gave: the chain is checked against numpy's
evaluation of the same LEMS expressions, compiled and run in NEURON (tests/test_lems_semantics.py and
the conformance suite run whole models)."""

from __future__ import annotations

import math

from nmlhub.lems import expr as ex
from nmlhub.lems.shorten import Shortener

X = ex.Name("x")


def _cases() -> ex.IfElse:
    """HHExpLinearRate's form: rate * x / (1 - exp(-x)) where x != 0, rate where x == 0, else 0."""
    rate = ex.Name("rate")
    value = ex.BinOp("/", ex.BinOp("*", rate, X), ex.BinOp("-", ex.Num(1), ex.Call("exp", ex.Neg(X))))
    return ex.IfElse(ex.BinOp(".neq.", X, ex.Num(0)), value,
                     ex.IfElse(ex.BinOp(".eq.", X, ex.Num(0)), rate, ex.Num(0)))


def _run(lines: list[str], env: dict[str, float]) -> float:
    """Execute the printed NMODL statements (if / else if / else, assignments) for one env."""
    names = dict(env, exp=math.exp)
    skip_depth, taken = 0, [False]
    for line in lines:
        text = line.strip()
        if text.startswith("if (") or text.startswith("} else if ("):
            condition = text[text.index("(") + 1:text.rindex(")")]
            if text.startswith("if ("):
                taken.append(False)
            ok = not taken[-1] and bool(eval(condition.replace("!=", " != "), {}, names))  # test code only
            taken[-1] = taken[-1] or ok
            skip_depth = 0 if ok else 1
        elif text == "} else {":
            skip_depth = 1 if taken[-1] else 0
            taken[-1] = True
        elif text == "}":
            taken.pop()
            skip_depth = 0
        elif not skip_depth:
            target, value = text.split(" = ", 1)
            names[target] = eval(value, {}, names)  # test code only: our own printed arithmetic
    return names["r"]


def test_a_conditional_value_prints_as_if_else_and_gives_the_same_numbers():
    lines = Shortener(lambda n: n).assignment("r", _cases())
    assert lines[0].strip() == "if ((x != 0)) {" and any("else if" in line for line in lines)
    assert not any("ifelse_nml" in line for line in lines)
    for x in (-2.5, -1e-12, 0.0, 1e-9, 3.0):
        expected = float(ex.evaluate(_cases(), {"x": x, "rate": 4.0}))
        assert _run(lines, {"x": x, "rate": 4.0}) == expected


def test_a_case_drawing_a_random_number_keeps_every_case_evaluated():
    drawn = ex.IfElse(ex.BinOp(".gt.", X, ex.Num(0)), ex.Call("random", ex.Num(1)), ex.Num(0))
    lines = Shortener(lambda n: n).assignment("r", drawn)
    assert len(lines) == 1 and "ifelse_nml(" in lines[0]


def test_long_cases_are_cut_inside_their_branch():
    long_value = X
    for k in range(60):
        long_value = ex.BinOp("+", long_value, ex.BinOp("*", ex.Name(f"a{k}"), ex.Call("exp", X)))
    lines = Shortener(lambda n: n, "tmp").assignment("r", ex.IfElse(ex.BinOp(".gt.", X, ex.Num(0)), long_value, ex.Num(0)))
    assert all(len(line) < 511 for line in lines)  # nocmodl's limit (MAX_LINE leaves room for a temporary's name)
    first_temporary = next(k for k, line in enumerate(lines) if line.strip().startswith("tmp"))
    assert lines[0].startswith("    if (") and first_temporary > 0  # computed inside the branch
