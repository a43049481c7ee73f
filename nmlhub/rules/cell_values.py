"""Per-cell values of a cell's parameters: an expression such as ``"19 + uniform(-1, 1)"`` drawn
once for each cell of a population, so that each cell gets its own variant of the cell.

The text is parsed by Python's :mod:`ast` (a parser only: nothing runs) and walked against a
whitelist: numbers, ``+ - * / **``, named constants the caller gives, the functions of
:data:`FUNCTIONS`, and random draws (``uniform(a, b)``, ``normal(mean, sd)``, ``lognormal(mu,
sigma)`` with constant arguments; the caller may give other conventions, as the NetPyNE importer
does for NEURON's ``normal(mean, variance)``). Every random draw takes one uniform number per cell
from the generator given, in the order the draws appear in the text, so a seed gives the same
values every time.
"""

from __future__ import annotations

import ast
import zlib
from typing import Callable, Mapping

import numpy as np

from .values import Distribution, RuleError

#: Longest expression read.
MAX_EXPRESSION_CHARS = 2000
#: One-argument functions allowed.
FUNCTIONS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "floor": np.floor, "ceil": np.ceil}
#: Tells this stream from the other seeded streams of a network.
_STREAM = 0xCE11
_OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
              ast.Pow: np.power}

#: Builds the distribution of a draw from its name and two numbers (None: not a draw).
DistributionOf = Callable[[str, float, float], "Distribution | None"]


def nmlhub_distribution(name: str, a: float, b: float) -> Distribution | None:
    """nmlhub's convention (as :mod:`nmlhub.rules.values`): ``uniform(low, high)``,
    ``normal(mean, sd)``, ``lognormal(mu, sigma)`` of the underlying normal."""
    if name in ("uniform", "normal", "lognormal"):
        return Distribution(name, a, b)
    return None


def is_per_cell(value: object) -> bool:
    """Whether a parameter value is an expression to draw per cell (a string)."""
    return isinstance(value, str)


def per_cell_values(text: str, n: int, rng: np.random.Generator, what: str,
                    constants: Mapping[str, float] | None = None,
                    distribution: DistributionOf = nmlhub_distribution) -> np.ndarray:
    """The values of ``text`` for ``n`` cells.

    Parameters
    ----------
    text
        The expression, e.g. ``"19 + uniform(-1, 1)"``.
    n
        Number of cells.
    rng
        The generator each draw takes ``n`` uniform numbers from.
    what
        Where the value comes from, for messages.
    constants
        Names the expression may use, with their values.
    distribution
        The convention of random draws (default :func:`nmlhub_distribution`).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` finite values.

    Raises
    ------
    RuleError
        Not an expression, a construct outside the whitelist, a draw with non-constant arguments,
        or a value that is not finite (the message names ``what``).
    """
    text = str(text).strip()
    if len(text) > MAX_EXPRESSION_CHARS:
        raise RuleError(f"{what}: expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise RuleError(f"{what}: '{text}' is not an expression") from None
    walker = _Walker(n, rng, what, text, dict(constants or {}), distribution)
    with np.errstate(all="ignore"):
        values = np.broadcast_to(np.asarray(walker.value(tree), dtype=float), (n,)).copy()
    if not np.all(np.isfinite(values)):
        raise RuleError(f"{what}: '{text}' gives a value that is not a finite number")
    return values


class _Walker:
    """Evaluates a whitelisted expression tree for ``n`` cells at once."""

    def __init__(self, n: int, rng: np.random.Generator, what: str, text: str, constants: dict[str, float],
                 distribution: DistributionOf) -> None:
        self.n, self.rng, self.what, self.text = n, rng, what, text
        self.constants, self.distribution = constants, distribution

    def fail(self, reason: str) -> RuleError:
        return RuleError(f"{self.what}: '{self.text}': {reason}")

    def value(self, node: ast.AST) -> np.ndarray | float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return float(self.constants[node.id])
            raise self.fail(f"unknown name '{node.id}'")
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](self.value(node.left), self.value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node)
        raise self.fail(f"'{ast.unparse(node)}' is not allowed (numbers, names, + - * / **, "
                        f"{', '.join(FUNCTIONS)} and random draws)")

    def _call(self, node: ast.Call) -> np.ndarray | float:
        name = node.func.id  # type: ignore[attr-defined]
        if name in FUNCTIONS and len(node.args) == 1:
            return FUNCTIONS[name](self.value(node.args[0]))
        if len(node.args) == 2:
            a, b = (self.value(arg) for arg in node.args)
            if not (isinstance(a, float) and isinstance(b, float)):
                raise self.fail(f"the arguments of {name} must be constants")
            try:
                made = self.distribution(name, a, b)
            except RuleError as exc:
                raise self.fail(exc.message) from None
            if made is not None:
                return made.from_uniform(self.rng.random(self.n))
        raise self.fail(f"function '{name}' with {len(node.args)} argument(s) is not allowed")


def population_rng(seed: int, population: str) -> np.random.Generator:
    """The generator of a population's per-cell values: from the network's seed and the
    population's id (so adding a population does not change another's values)."""
    return np.random.default_rng([int(seed) % (2 ** 63), zlib.crc32(population.encode()), _STREAM])
