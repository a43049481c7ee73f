"""Values of a rule (weight, delay, probability, convergence, ...): a constant, a distribution or an
expression of the pre- and post-synaptic cells' positions, evaluated vectorised.

Expressions go through nmlhub's own whitelisted parser (:mod:`nmlhub.lems.expr`); nothing is
passed to ``eval``. Distributions draw from uniform numbers the expander supplies (one per value),
by inverse transform, so that the same uniforms give the same values on any number of ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Union

import numpy as np

from ..errors import NmlhubError
from ..lems import expr as ex


class RuleError(NmlhubError):
    """A rule is malformed: an unknown name in an expression, a bad distribution, ..."""


#: Names an expression may use, besides numbers and the parser's functions.
POSITION_NAMES = frozenset(
    [f"{side}_{axis}" for side in ("pre", "post") for axis in ("x", "y", "z", "xnorm", "ynorm", "znorm")]
    + ["dist_3D", "dist_2D", "dist_x", "dist_y", "dist_z", "dist_norm3D", "dist_norm2D",
       "dist_xnorm", "dist_ynorm", "dist_znorm"]
)

#: Names a population's density expression may use (cells per mm3 at a point).
DENSITY_NAMES = frozenset(["x", "y", "z", "xnorm", "ynorm", "znorm"])


@dataclass(frozen=True)
class Distribution:
    """A random value: ``uniform`` (low, high), ``normal`` (mean, std) or ``lognormal``
    (mean and std of the underlying normal), optionally truncated to [low, high] (exactly, by
    drawing within the truncated range)."""

    kind: str
    a: float
    b: float
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        if self.kind not in ("uniform", "normal", "lognormal"):
            raise RuleError(f"unknown distribution '{self.kind}' (uniform, normal, lognormal)")
        if self.kind == "uniform" and not self.a <= self.b:
            raise RuleError(f"uniform({self.a}, {self.b}): low above high")
        if self.kind != "uniform" and not self.b > 0:
            raise RuleError(f"{self.kind}: the standard deviation must be positive, not {self.b}")
        if self.low >= self.high:
            raise RuleError(f"{self.kind}: bounds [{self.low}, {self.high}] are empty")

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Values from uniform numbers in [0, 1)."""
        if self.kind == "uniform":
            return self.a + u * (self.b - self.a)
        low, high = self.low, self.high
        if self.kind == "lognormal":
            low = math.log(low) if low > 0 else -math.inf
            high = math.log(high) if high > 0 else -math.inf
        from scipy import special  # here: 16 MB that only truncated (log)normal draws need

        lo = special.ndtr((low - self.a) / self.b)
        hi = special.ndtr((high - self.a) / self.b)
        z = special.ndtri(np.clip(lo + u * (hi - lo), 1e-300, 1 - 1e-16))
        values = self.a + self.b * z
        return np.exp(values) if self.kind == "lognormal" else values

    def to_text(self) -> str:
        bounds = "".join(f", {name}={value!r}" for name, value in (("low", self.low), ("high", self.high))
                         if math.isfinite(value))
        return f"{self.kind}({self.a!r}, {self.b!r}{bounds})"


ValueSpec = Union[float, str, Distribution]


@dataclass(frozen=True)
class Value:
    """A parsed rule value: exactly one of ``constant``, ``expression`` or ``distribution``."""

    constant: float | None = None
    expression: ex.Expr | None = None
    text: str | None = None
    distribution: Distribution | None = None

    @property
    def is_random(self) -> bool:
        return self.distribution is not None

    def names(self) -> set[str]:
        return ex.names(self.expression) if self.expression is not None else set()

    def evaluate(self, env: Mapping[str, np.ndarray], n: int, uniforms: np.ndarray | None = None) -> np.ndarray:
        """``n`` values; expressions see ``env`` (arrays of length ``n``), distributions ``uniforms``."""
        if self.constant is not None:
            return np.full(n, self.constant, dtype=float)
        if self.distribution is not None:
            if uniforms is None:
                raise RuleError("a random value needs uniform numbers")
            return self.distribution.from_uniform(uniforms)
        try:
            result = ex.evaluate(self.expression, env)
        except ex.ExpressionError as exc:
            raise RuleError(f"'{self.text}': {exc.message}") from None
        except RecursionError:
            raise RuleError(f"'{_shortened(str(self.text))}': nested too deeply to evaluate") from None
        return np.broadcast_to(np.asarray(result, dtype=float), (n,)).copy()

    def to_text(self) -> str:
        if self.constant is not None:
            return repr(self.constant)
        if self.distribution is not None:
            return self.distribution.to_text()
        return str(self.text)


def parse_value(spec: ValueSpec | Value, allowed: frozenset[str] = POSITION_NAMES, what: str = "value") -> Value:
    """Read a value given as a number, an expression string, a distribution, or text such as
    ``normal(1, 0.2, low=0)`` (as :meth:`Value.to_text` writes it).

    Raises
    ------
    RuleError
        An expression with a name outside ``allowed``, or a malformed distribution.
    """
    if isinstance(spec, Value):
        return spec
    if isinstance(spec, Distribution):
        return Value(distribution=spec)
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return Value(constant=float(spec))
    if not isinstance(spec, str):
        raise RuleError(f"{what}: expected a number, an expression or a distribution, not {spec!r}")
    text = spec.strip()
    distribution = _distribution_text(text)
    if distribution is not None:
        return Value(distribution=distribution)
    try:
        parsed = ex.parse(text.replace("**", "^"))
        names = ex.names(parsed)
        unknown = names - allowed
        if unknown:
            raise RuleError(f"{what} '{_shortened(text)}': unknown name(s) {', '.join(sorted(unknown))} "
                            f"(allowed: {', '.join(sorted(allowed))})")
        if not names:
            return Value(constant=float(ex.evaluate(parsed, {})))
    except ex.ExpressionError as exc:
        raise RuleError(f"{what} '{_shortened(text)}': {exc.message}") from None
    except RecursionError:
        raise RuleError(f"{what} '{_shortened(text)}': nested too deeply to read") from None
    return Value(expression=parsed, text=text)


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _distribution_text(text: str) -> Distribution | None:
    head, _, rest = text.partition("(")
    head = head.strip()
    if head not in ("uniform", "normal", "lognormal") or not rest.endswith(")"):
        return None
    args, kwargs = [], {}
    for part in rest[:-1].split(","):
        key, eq, val = part.partition("=")
        try:
            if eq:
                kwargs[key.strip()] = float(val)
            else:
                args.append(float(key))
        except ValueError:
            raise RuleError(f"distribution '{text}': '{part.strip()}' is not a number") from None
    if len(args) != 2 or set(kwargs) - {"low", "high"}:
        raise RuleError(f"distribution '{text}': expected {head}(a, b[, low=..][, high=..])")
    return Distribution(head, args[0], args[1], kwargs.get("low", -math.inf), kwargs.get("high", math.inf))


def uniform(low: float, high: float) -> Distribution:
    """Uniform between ``low`` and ``high``."""
    return Distribution("uniform", low, high)


def normal(mean: float, std: float, low: float = -math.inf, high: float = math.inf) -> Distribution:
    """Normal, truncated to [low, high] when bounds are given."""
    return Distribution("normal", mean, std, low, high)


def lognormal(mu: float, sigma: float, low: float = -math.inf, high: float = math.inf) -> Distribution:
    """Log-normal: exp of a normal(mu, sigma), truncated to [low, high] when bounds are given."""
    return Distribution("lognormal", mu, sigma, low, high)
