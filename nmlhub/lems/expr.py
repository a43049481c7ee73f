"""LEMS expressions: parsed by pylems's tokenizer into a tree, then held as nmlhub's own small AST.

The AST is a whitelist: numbers, names, the arithmetic, comparison and logical operators of LEMS
and a fixed set of functions. Nothing is ever passed to ``eval``. The same tree is printed as NMODL
(for generated mechanisms) and evaluated with numpy (for parameters and connectivity rules).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Union

import numpy as np

from ..errors import NmlhubError


class ExpressionError(NmlhubError):
    """An expression is malformed or uses something outside the whitelist."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Neg:
    operand: "Expr"


@dataclass(frozen=True)
class Call:
    func: str
    arg: "Expr"


@dataclass(frozen=True)
class IfElse:
    """``then`` where ``test`` holds, else ``other`` (LEMS ConditionalDerivedVariable cases)."""

    test: "Expr"
    then: "Expr"
    other: "Expr"


Expr = Union[Num, Name, BinOp, Neg, Call, IfElse]

_NUMBER = __import__("re").compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

ARITHMETIC = {"+", "-", "*", "/", "^"}
COMPARISONS = {".gt.": ">", ".lt.": "<", ".geq.": ">=", ".ge.": ">=", ".leq.": "<=", ".le.": "<=",
               ".eq.": "==", ".neq.": "!=", ".ne.": "!="}
LOGICAL = {".and.": "&&", ".or.": "||"}
FUNCTIONS = {"exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "abs", "ceil",
             "floor", "random", "H", "ln"}


def parse(text: str) -> Expr:
    """Parse a LEMS expression.

    Raises
    ------
    ExpressionError
        The text does not parse or uses an unknown operator or function.
    """
    from lems.parser.expr import ExprParser

    try:
        tree = ExprParser(str(text)).parse()
    except Exception as exc:  # pylems raises bare exceptions on malformed input
        raise ExpressionError(f"cannot parse expression '{text}': {exc}") from None
    return _convert(tree, text)


def _convert(node, text: str) -> Expr:
    kind = type(node).__name__
    if kind == "ValueNode":
        value = node.value
        try:
            if isinstance(value, str) and not _NUMBER.match(value.strip()):
                raise ValueError(value)  # 'inf' or 'nan' are names in LEMS, not numbers
            return Num(float(value))
        except (TypeError, ValueError):
            if not isinstance(value, str) or not value.replace("_", "a").replace(".", "a").isalnum():
                raise ExpressionError(f"unexpected token '{value}' in '{text}'") from None
            return Name(value)
    if kind == "OpNode":
        op = node.op
        if op == "~":
            return Neg(_convert(node.right, text))
        if op not in ARITHMETIC and op not in COMPARISONS and op not in LOGICAL:
            raise ExpressionError(f"operator '{op}' is not allowed in '{text}'")
        left = _convert(node.left, text) if node.left is not None else Num(0.0)
        return BinOp(op, left, _convert(node.right, text))
    if kind == "Func1Node":
        if node.func not in FUNCTIONS:
            raise ExpressionError(f"function '{node.func}' is not allowed in '{text}'")
        return Call(node.func, _convert(node.param, text))
    raise ExpressionError(f"cannot read '{text}'")


def names(expr: Expr) -> set[str]:
    """Every name the expression uses."""
    if isinstance(expr, Name):
        return {expr.name}
    if isinstance(expr, BinOp):
        return names(expr.left) | names(expr.right)
    if isinstance(expr, (Neg,)):
        return names(expr.operand)
    if isinstance(expr, Call):
        return names(expr.arg)
    if isinstance(expr, IfElse):
        return names(expr.test) | names(expr.then) | names(expr.other)
    return set()


def substitute(expr: Expr, table: Mapping[str, Expr]) -> Expr:
    """Replace names by expressions."""
    if isinstance(expr, Name):
        return table.get(expr.name, expr)
    if isinstance(expr, BinOp):
        return BinOp(expr.op, substitute(expr.left, table), substitute(expr.right, table))
    if isinstance(expr, Neg):
        return Neg(substitute(expr.operand, table))
    if isinstance(expr, Call):
        return Call(expr.func, substitute(expr.arg, table))
    if isinstance(expr, IfElse):
        return IfElse(substitute(expr.test, table), substitute(expr.then, table),
                      substitute(expr.other, table))
    return expr


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "1e300" if value > 0 else ("-1e300" if value < 0 else "0")  # NMODL has no inf
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}"
    return repr(float(value))


def to_nmodl(expr: Expr, rename: Callable[[str], str] = lambda n: n) -> str:
    """Print an expression as NMODL (names passed through ``rename``)."""
    if isinstance(expr, Num):
        text = _num(expr.value)
        return f"({text})" if expr.value < 0 else text
    if isinstance(expr, Name):
        return rename(expr.name)
    if isinstance(expr, Neg):
        return f"(-{to_nmodl(expr.operand, rename)})"
    if isinstance(expr, IfElse):
        return (f"ifelse_nml({to_nmodl(expr.test, rename)}, {to_nmodl(expr.then, rename)}, "
                f"{to_nmodl(expr.other, rename)})")
    if isinstance(expr, Call):
        arg = to_nmodl(expr.arg, rename)
        if expr.func == "H":
            return f"heaviside_nml({arg})"
        if expr.func == "random":
            return f"(scop_random()*{arg})"
        if expr.func == "ln":
            return f"log({arg})"
        if expr.func == "abs":
            return f"fabs({arg})"
        return f"{expr.func}({arg})"
    left, right = to_nmodl(expr.left, rename), to_nmodl(expr.right, rename)
    if expr.op in COMPARISONS:
        return f"({left} {COMPARISONS[expr.op]} {right})"
    if expr.op in LOGICAL:
        return f"({left} {LOGICAL[expr.op]} {right})"
    if expr.op == "^":
        return f"pow({left}, {right})"
    return f"({left} {expr.op} {right})"


_NUMPY_FUNCS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "ln": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "abs": np.abs,
    "ceil": np.ceil, "floor": np.floor, "H": lambda x: np.where(np.asarray(x) > 0, 1.0, 0.0),
}
_NUMPY_OPS: dict[str, Callable] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power,
    ".gt.": np.greater, ".lt.": np.less, ".geq.": np.greater_equal, ".ge.": np.greater_equal,
    ".leq.": np.less_equal, ".le.": np.less_equal, ".eq.": np.equal, ".neq.": np.not_equal,
    ".ne.": np.not_equal, ".and.": np.logical_and, ".or.": np.logical_or,
}


def evaluate(expr: Expr, env: Mapping[str, object], rng: np.random.Generator | None = None):
    """Evaluate with numpy; names come from ``env`` (scalars or arrays, broadcast together).

    Raises
    ------
    ExpressionError
        A name is not in ``env``.
    """
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Name):
        if expr.name not in env:
            raise ExpressionError(f"unknown name '{expr.name}'")
        return env[expr.name]
    if isinstance(expr, Neg):
        return np.negative(evaluate(expr.operand, env, rng))
    if isinstance(expr, IfElse):
        return np.where(evaluate(expr.test, env, rng), evaluate(expr.then, env, rng),
                        evaluate(expr.other, env, rng))
    if isinstance(expr, Call):
        arg = evaluate(expr.arg, env, rng)
        if expr.func == "random":
            generator = rng if rng is not None else np.random.default_rng()
            return generator.random(np.shape(arg)) * arg
        with np.errstate(all="ignore"):
            return _NUMPY_FUNCS[expr.func](arg)
    with np.errstate(all="ignore"):
        return _NUMPY_OPS[expr.op](evaluate(expr.left, env, rng), evaluate(expr.right, env, rng))


def evaluate_float(expr: Expr, env: Mapping[str, float]) -> float:
    """Evaluate to a Python float (nan when undefined)."""
    value = evaluate(expr, env)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
