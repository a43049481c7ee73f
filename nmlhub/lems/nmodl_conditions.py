"""LEMS conditions as numbers NEURON's WATCH can test: a value that is > 0 exactly where the
condition holds, printed inline (``scalar_text``) or as an expression tree of the same
operations, grouped alike (``scalar_tree``), for a PROCEDURE to cut into temporaries when the
inline text is too long for one NMODL line."""

from __future__ import annotations

from typing import Callable

from . import expr as ex
from .nmodl_names import NON_STRICT_TOLERANCE, TINPUT, TLEMS

_ORDERINGS = (".gt.", ".lt.", ".geq.", ".ge.", ".leq.", ".le.")
_UPWARD = (".gt.", ".geq.", ".ge.")

#: How a condition's regime test names the regime variable in an expression tree (no LEMS name
#: can be written so).
REGIME_NAME = "$regime"


def min_max(a: str, b: str, minimum: bool) -> str:
    """The smaller (or larger) of two printed values, inline."""
    # Inline, because NMODL FUNCTION calls are not allowed inside WATCH in every NEURON build.
    sign = "-" if minimum else "+"
    return f"(({a} + {b} {sign} fabs({a} - {b})) / 2)"


def min_max_tree(a: ex.Expr, b: ex.Expr, minimum: bool) -> ex.Expr:
    """:func:`min_max` as an expression tree."""
    return ex.BinOp("/", ex.BinOp("-" if minimum else "+", ex.BinOp("+", a, b),
                                  ex.Call("abs", ex.BinOp("-", a, b))), ex.Num(2))


def _reads_clock(text: str) -> bool:
    """Whether printed NMODL reads jLEMS's clock (or an input's clock, which is on the step grid)."""
    return TLEMS in text or TINPUT in text


def scalar_text(test: ex.Expr, print_expr: Callable[[ex.Expr], str]) -> str | None:
    """A number that is > 0 exactly where the condition holds (None if there is none)."""
    if isinstance(test, ex.BinOp):
        if test.op in _ORDERINGS:
            high, low = (test.left, test.right) if test.op in _UPWARD else (test.right, test.left)
            high_text, low_text = print_expr(high), print_expr(low)
            if test.op in (".gt.", ".lt."):
                return f"({high_text} - {low_text})"
            if _reads_clock(high_text) or _reads_clock(low_text):
                # jLEMS's own clock, summed as jLEMS sums it: compared exactly, as jLEMS does
                return f"({high_text} - {low_text} + 1e-290)"
            return (f"({high_text} - {low_text} + {NON_STRICT_TOLERANCE} * (fabs({high_text}) + "
                    f"fabs({low_text}) + 1e-290))")
        if test.op == ".eq.":  # LEMS compares flags and counters this way
            return f"(0.5 - fabs({print_expr(test.left)} - {print_expr(test.right)}))"
        if test.op in (".neq.", ".ne."):
            return f"(fabs({print_expr(test.left)} - {print_expr(test.right)}) - 0.5)"
        if test.op in (".and.", ".or."):
            left, right = scalar_text(test.left, print_expr), scalar_text(test.right, print_expr)
            if left is None or right is None:
                return None
            return min_max(left, right, test.op == ".and.")
    return None


def scalar_tree(test: ex.Expr, print_expr: Callable[[ex.Expr], str]) -> ex.Expr:
    """:func:`scalar_text` as an expression tree, for a test that has a scalar (``print_expr``
    tells which sides read jLEMS's clock, compared exactly)."""
    assert isinstance(test, ex.BinOp)
    if test.op in _ORDERINGS:
        high, low = (test.left, test.right) if test.op in _UPWARD else (test.right, test.left)
        difference = ex.BinOp("-", high, low)
        if test.op in (".gt.", ".lt."):
            return difference
        if _reads_clock(print_expr(high)) or _reads_clock(print_expr(low)):
            return ex.BinOp("+", difference, ex.Num(1e-290))
        size = ex.BinOp("+", ex.BinOp("+", ex.Call("abs", high), ex.Call("abs", low)), ex.Num(1e-290))
        return ex.BinOp("+", difference, ex.BinOp("*", ex.Num(float(NON_STRICT_TOLERANCE)), size))
    gap = ex.Call("abs", ex.BinOp("-", test.left, test.right))
    if test.op == ".eq.":
        return ex.BinOp("-", ex.Num(0.5), gap)
    if test.op in (".neq.", ".ne."):
        return ex.BinOp("-", gap, ex.Num(0.5))
    return min_max_tree(scalar_tree(test.left, print_expr), scalar_tree(test.right, print_expr), test.op == ".and.")


def in_regime_tree(index: int) -> ex.Expr:
    """> 0 exactly in the regime of this index (as ``(0.5 - fabs(regime - index))``)."""
    return ex.BinOp("-", ex.Num(0.5), ex.Call("abs", ex.BinOp("-", ex.Name(REGIME_NAME), ex.Num(index))))
