"""NetPyNE's string expressions (``'0.4*exp(-dist_3D/probLengthConst)'``, ``'uniform(0.5, 1)'``)
as nmlhub rule values.

The text is parsed by Python's :mod:`ast` (a parser only: nothing runs) and walked against a
whitelist: numbers, ``+ - * / **``, the position names nmlhub's rules know, numeric entries of
``netParams`` (such as ``propVelocity``), the functions nmlhub's expressions have, ``min``/``max``
of deterministic terms, and a whole value that is one of NEURON's random distributions
(``uniform(a, b)``, ``normal(mean, variance)``, ``lognormal(mean, variance)``, as
NetPyNE draws them with ``h.Random``). Anything else is refused with the reason.
"""

from __future__ import annotations

import ast
import math
from typing import Mapping

from ..rules.values import Distribution, RuleError, ValueSpec
from .neuron_reader import CellImportError

#: Longest expression read (NetPyNE's are a line).
MAX_EXPRESSION_CHARS = 2000
#: One-argument functions passed through to nmlhub's expression language.
FUNCTIONS = frozenset({"exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "abs",
                       "ceil", "floor"})
RANDOM = frozenset({"uniform", "normal", "lognormal", "gauss"})
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}


class NetPyNEError(CellImportError):
    """A NetPyNE model (or a part of it) that nmlhub cannot translate; the message says what."""


def translate_value(value: object, allowed: frozenset[str], constants: Mapping[str, float],
                    what: str) -> ValueSpec:
    """A NetPyNE number or string expression as a rule value (a number, an expression text in
    nmlhub's language, or a :class:`~nmlhub.rules.values.Distribution`).

    Parameters
    ----------
    value
        The number or string from the NetPyNE model.
    allowed
        Variables the expression may use (e.g. ``pre_x``, ``dist_3D``).
    constants
        Names NetPyNE resolves from ``netParams`` (numbers), substituted.
    what
        Where the value comes from, for messages (``connParams 'E->all' weight``).

    Raises
    ------
    NetPyNEError
        A construct outside the whitelist, an unknown name, or a random draw inside a formula.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise NetPyNEError(f"{what}: expected a number or a string expression, not {value!r}")
    if not isinstance(value, str):
        return float(value)
    text = value.strip()
    if len(text) > MAX_EXPRESSION_CHARS:
        raise NetPyNEError(f"{what}: expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise NetPyNEError(f"{what}: '{text}' is not an expression") from None
    if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id in RANDOM:
        return _distribution(tree, constants, what, text)
    return _Writer(allowed, constants, what, text).write(tree)


def random_centre(value: object, constants: Mapping[str, float], what: str) -> tuple[float, bool]:
    """A value NetPyNE may draw at random, as one number: itself when it is constant, else the
    centre of its distribution (the mean of ``normal``/``uniform``, also inside ``max``/``min``
    with constants). Returns the number and whether it was random."""
    if not isinstance(value, str):
        return float(translate_value(value, frozenset(), constants, what)), False
    tree = ast.parse(value.strip()[:MAX_EXPRESSION_CHARS], mode="eval").body
    random_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                    and n.func.id in RANDOM]
    if not random_calls:
        return float(translate_value(value, frozenset(), constants, what)), False
    if len(random_calls) > 1:
        raise NetPyNEError(f"{what}: '{value}' draws more than one random number")
    dist = _distribution(random_calls[0], constants, what, value)
    centre = ast.Constant(value=_mean(dist))
    replaced = _Replace(random_calls[0], centre).visit(tree)
    number = _Writer(frozenset(), constants, what, value).constant(replaced)
    return number, True


def _mean(dist: Distribution) -> float:
    if dist.kind == "uniform":
        return (dist.a + dist.b) / 2
    if dist.kind == "normal":
        return dist.a
    return math.exp(dist.a + dist.b ** 2 / 2)


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, by: ast.AST) -> None:
        self.target, self.by = target, by

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.by
        return super().visit(node)


def _number(node: ast.AST, constants: Mapping[str, float], what: str, text: str) -> float:
    return _Writer(frozenset(), constants, what, text).constant(node)


def _distribution(call: ast.Call, constants: Mapping[str, float], what: str, text: str) -> Distribution:
    name = call.func.id  # type: ignore[attr-defined]
    if call.keywords or len(call.args) != 2:
        raise NetPyNEError(f"{what}: '{text}': {name} takes two numbers")
    a, b = (_number(arg, constants, what, text) for arg in call.args)
    try:
        return neuron_distribution(name, a, b)  # type: ignore[return-value]
    except RuleError as exc:
        raise NetPyNEError(f"{what}: '{text}': {exc.message}") from None


def neuron_distribution(name: str, a: float, b: float) -> Distribution | None:
    """A NetPyNE random draw as a :class:`~nmlhub.rules.values.Distribution` (None: not a draw):
    NEURON's ``uniform(low, high)``, ``normal(mean, variance)``, ``lognormal(mean, variance)`` of
    the log-normal variable itself, and Python's ``gauss(mean, sd)``."""
    if name == "uniform":
        return Distribution("uniform", a, b)
    if name == "gauss":  # Python's random.gauss(mean, sd)
        return Distribution("normal", a, b)
    if name not in ("normal", "lognormal"):
        return None
    if b <= 0:
        raise RuleError("the variance must be positive")
    if name == "normal":  # NEURON's Random.normal(mean, variance)
        return Distribution("normal", a, math.sqrt(b))
    # NEURON's Random.lognormal(mean, variance) of the log-normal variable itself
    sigma2 = math.log(1 + b / (a * a))
    return Distribution("lognormal", math.log(a) - sigma2 / 2, math.sqrt(sigma2))


class _Writer:
    """Writes a whitelisted Python expression tree as nmlhub expression text."""

    def __init__(self, allowed: frozenset[str], constants: Mapping[str, float], what: str, text: str) -> None:
        self.allowed, self.constants, self.what, self.text = allowed, constants, what, text

    def fail(self, reason: str) -> NetPyNEError:
        return NetPyNEError(f"{self.what}: '{self.text}': {reason}")

    def constant(self, node: ast.AST) -> float:
        from ..lems import expr as ex

        written = self.write(node)
        if isinstance(written, float):
            return written
        parsed = ex.parse(written)
        if ex.names(parsed):
            raise self.fail(f"needs a number here, not a function of {', '.join(sorted(ex.names(parsed)))}")
        return float(ex.evaluate(parsed, {}))

    def write(self, node: ast.AST) -> ValueSpec:
        text = self._text(node)
        try:
            return float(text)
        except ValueError:
            return text

    def _text(self, node: ast.AST) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            if node.id in self.allowed:
                return node.id
            if node.id in self.constants:
                return f"({self.constants[node.id]!r})"
            raise self.fail(f"unknown name '{node.id}' (neither a netParams number nor one of "
                            f"{', '.join(sorted(self.allowed)) or 'no variables here'})")
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return f"({self._text(node.left)} {_OPERATORS[type(node.op)]} {self._text(node.right)})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return f"({'-' if isinstance(node.op, ast.USub) else ''}{self._text(node.operand)})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = node.func.id
            if name in FUNCTIONS and len(node.args) == 1:
                return f"{name}({self._text(node.args[0])})"
            if name in ("min", "max") and len(node.args) == 2:
                a, b = (self._text(arg) for arg in node.args)
                if name == "max":  # a + H(b - a) * (b - a)
                    return f"({a} + H({b} - {a}) * ({b} - {a}))"
                return f"({a} - H({a} - {b}) * ({a} - {b}))"
            if name in RANDOM:
                raise self.fail(f"a random draw ({name}) inside a formula has no nmlhub equivalent; "
                                "a value may be one distribution (uniform, normal, lognormal) or a formula")
            raise self.fail(f"function '{name}' is not translated (allowed: {', '.join(sorted(FUNCTIONS))}, min, max)")
        raise self.fail(f"'{ast.unparse(node)}' is not translated (numbers, names, + - * / **, "
                        "and whitelisted functions only)")
