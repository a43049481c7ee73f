"""LEMS expressions: a small precedence-climbing parser and nmlhub's own AST.

The grammar is a whitelist: numbers, names, the arithmetic, comparison and logical operators of
LEMS and a fixed set of functions. Nothing is ever passed to ``eval``. (pylems's expression
parser is not used: it reads ``1 - 2*3 - 4`` as ``1 - (2*3 - 4)``.) The same tree is printed as NMODL
(for generated mechanisms) and evaluated with numpy (for parameters and connectivity rules).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Union

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


_TOKEN = __import__("re").compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<dot>\.(?:gt|lt|geq|ge|leq|le|eq|neq|ne|and|or)\.)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>>=|<=|==|!=|&&|\|\||[-+*/^(),<>]))"
)
_SYMBOLIC = {">": ".gt.", "<": ".lt.", ">=": ".geq.", "<=": ".leq.", "==": ".eq.", "!=": ".neq.",
             "&&": ".and.", "||": ".or."}
#: Binding power of binary operators; ``^`` is right-associative.
_BINARY = {".or.": 1, ".and.": 2, ".gt.": 3, ".lt.": 3, ".geq.": 3, ".ge.": 3, ".leq.": 3,
           ".le.": 3, ".eq.": 3, ".neq.": 3, ".ne.": 3, "+": 4, "-": 4, "*": 5, "/": 5, "^": 7}
_UNARY = 6


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected character '{text[pos:].strip()[:1]}' in '{text}'")
        kind = match.lastgroup
        value = match.group(kind)
        tokens.append(_SYMBOLIC.get(value, value) if kind == "op" else value)
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            want = f"'{expected}'" if expected else "more"
            raise ExpressionError(f"expected {want} in '{self.text}'")
        self.pos += 1
        return token

    def expression(self, min_power: int = 0) -> Expr:
        left = self.prefix()
        while True:
            op = self.peek()
            power = _BINARY.get(op) if op is not None else None
            if power is None or power < min_power:
                return left
            self.take()
            right = self.expression(power if op == "^" else power + 1)
            left = BinOp(op, left, right)

    def prefix(self) -> Expr:
        token = self.take()
        if token == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if token == "-":
            return Neg(self.expression(_UNARY))
        if token == "+":
            return self.expression(_UNARY)
        if _NUMBER.match(token):
            return Num(float(token))
        if token[0].isalpha() or token[0] == "_":
            if self.peek() == "(":
                if token not in FUNCTIONS:
                    raise ExpressionError(f"function '{token}' is not allowed in '{self.text}'")
                self.take("(")
                arg = self.expression()
                self.take(")")
                return Call(token, arg)
            return Name(token)
        raise ExpressionError(f"unexpected '{token}' in '{self.text}'")


def parse(text: str) -> Expr:
    """Parse a LEMS expression (operators ``+ - * / ^``, ``.gt.`` and the other LEMS comparisons,
    ``.and.``/``.or.``, and the whitelisted functions).

    Raises
    ------
    ExpressionError
        The text does not parse or uses an unknown operator or function.
    """
    parser = _Parser(str(text))
    if not parser.tokens:
        raise ExpressionError("empty expression")
    result = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected '{parser.peek()}' in '{text}'")
    return result


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


def reads_through(table: Mapping[str, Expr], start: Iterable[str]) -> set[str]:
    """Every name ``start`` reaches, itself included, following the expressions of ``table``
    (name -> the expression that defines it: derived variables, derivatives...)."""
    found: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        if name in table:
            todo += names(table[name])
    return found


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
            return f"(random_uniform(rng_nml)*{arg})"
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
        return f"powi_nml({left}, {right})"
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
