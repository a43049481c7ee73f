"""The conductance NEURON is told for a generated channel density: the derivative of its
current with respect to the membrane potential, computed symbolically from the LEMS equations,
and the share of it the membrane step takes implicitly (IMPLICIT_SHARE_TEXT).

NEURON advances the membrane potential implicitly, linearising each mechanism's current around
the present v with the conductance di/dv (it measures di/dv numerically unless a ``CONDUCTANCE``
hint names a variable holding it). A generated mechanism computes its current from the start of
the step, once per step, so it gives the hint. A hint of zero makes the step explicit in the
current (forward Euler, as jLEMS), which diverges at steps longer than twice the membrane's
fastest time constant; the share of the true di/dv given here keeps such stiff channels stable,
as NEURON's own mechanisms are, and leaves the others explicit. Gates and other states are
unchanged: they are integrated from the start-of-step values as before. Synapses keep a zero
hint (their segment's capacitance is not theirs to know).

The derivative follows the chain of derived variables (``iDensity = gDensity * (erev - v)``,
``gDensity = condDensity * fopen``...) with the states held fixed, as NEURON's own di/dv does.
"""

from __future__ import annotations

from . import expr as ex

#: What a channel density does with its conductance g (``gdidv_nml``, S/cm2) given its
#: segment's specific capacitance ``cm_nml`` (uF/cm2, set by the driver; 0 leaves the current
#: explicit). With x = dt g / C (the step in units of the time constant this channel alone gives
#: the membrane), NEURON is told the share w = 1 - 1/(2x) of g where x > 1/2, else none: the
#: step C (v1 - v0)/dt = -i(v0) - w g (v1 - v0) is then forward Euler, as jLEMS, wherever the
#: channel alone allows an explicit step of at most half the stability limit (x <= 1/2; the
#: sodium and potassium channels of Hodgkin and Huxley's axon at 0.01 ms), and otherwise keeps
#: the explicit part of each channel at x (1 - w) = 1/2 and takes the rest implicitly (the theta
#: method with theta = w): the membrane stays stable at any step while at most four channels of a
#: segment are stiff at once (their explicit parts, 1/2 each, stay within forward Euler's limit of 2).
#: On a multi-compartment cell (``implicit_nml`` = 1, set by the driver) NEURON is told all of g:
#: the membrane step is then implicit in the channel currents, as NEURON's own mechanisms and
#: jNeuroML's NEURON export have it. jLEMS runs no such cell; the reference of these models is
#: the export, and this is its step: on NeuroML2-core Ex25 nmlhub's traces then equal the
#: export's within 0.016 mV (forward Euler: soma peaks 0.23 mV apart, 12 crossings of 0 mV
#: against the export's 4; docs/conformance.md, "NeuroML2-core and StochasticityShowcase").
#: x is divided by C only where the share is not zero (x > 1/2 is tested as dt g > C / 2; the
#: two tests differ only where dt g / C rounds to 1/2, whose share is zero either way), so most
#: steps of a channel that is not stiff at the moment skip the division; the numbers are the same.
IMPLICIT_SHARE_TEXT = (
    "if (implicit_nml == 0) {",
    "    x_nml = 1000 * dt * gdidv_nml : dt in ms, C/g in ms is 0.001 cm/g",
    "    if (cm_nml > 0 && x_nml > 0.5 * cm_nml) {",
    "        x_nml = x_nml / cm_nml",
    "        if (x_nml < 1e300) { gdidv_nml = gdidv_nml * (1 - 0.5 / x_nml) } else { gdidv_nml = 0 }",
    "    } else {",
    "        gdidv_nml = 0",
    "    }",
    "}",
)

ZERO = ex.Num(0.0)
ONE = ex.Num(1.0)


class NotDifferentiable(Exception):
    """The derivative would draw random numbers (not the current's draws) or uses a function
    without a derivative here."""


def _is_zero(e: ex.Expr) -> bool:
    return isinstance(e, ex.Num) and e.value == 0


def _negate(e: ex.Expr) -> ex.Expr:
    return ex.Num(-e.value) if isinstance(e, ex.Num) else ex.Neg(e)


def _add(a: ex.Expr, b: ex.Expr, op: str = "+") -> ex.Expr:
    if _is_zero(b):
        return a
    if _is_zero(a):
        return b if op == "+" else _negate(b)
    return ex.BinOp(op, a, b)


def _mul(a: ex.Expr, b: ex.Expr) -> ex.Expr:
    if _is_zero(a) or _is_zero(b):
        return ZERO
    if a == ONE:
        return b
    if b == ONE:
        return a
    return ex.BinOp("*", a, b)


def derivative(e: ex.Expr, known: dict[str, ex.Expr]) -> ex.Expr:
    """The derivative of ``e`` where ``known`` gives the derivative of each name (others: 0).

    Raises
    ------
    NotDifferentiable
        Where ``e`` depends on v through something without a derivative.
    """
    if isinstance(e, ex.Num):
        return ZERO
    if isinstance(e, ex.Name):
        return known.get(e.name, ZERO)
    if isinstance(e, ex.Neg):
        return _negate(derivative(e.operand, known))
    if isinstance(e, ex.IfElse):
        then, other = derivative(e.then, known), derivative(e.other, known)
        return ZERO if _is_zero(then) and _is_zero(other) else ex.IfElse(e.test, then, other)
    if isinstance(e, ex.Call):
        return _call_derivative(e, derivative(e.arg, known))
    return _binary_derivative(e, known)


def _binary_derivative(e: ex.BinOp, known: dict[str, ex.Expr]) -> ex.Expr:
    if e.op not in ex.ARITHMETIC:
        return ZERO  # a comparison or logical value: piecewise constant
    left, right = derivative(e.left, known), derivative(e.right, known)
    if e.op in ("+", "-"):
        return _add(left, right, e.op)
    if e.op == "*":
        return _add(_mul(left, e.right), _mul(e.left, right))
    if e.op == "/":
        quotient = _add(_mul(left, e.right), _mul(e.left, right), "-")
        return ZERO if _is_zero(quotient) else ex.BinOp("/", quotient, ex.BinOp("*", e.right, e.right))
    # x^y: y x^(y-1) dx, plus x^y ln(x) dy where the exponent moves too
    power = _mul(_mul(e.right, ex.BinOp("^", e.left, ex.BinOp("-", e.right, ONE))), left)
    if _is_zero(right):
        return power
    return _add(power, _mul(_mul(e, ex.Call("log", e.left)), right))


def _call_derivative(e: ex.Call, inner: ex.Expr) -> ex.Expr:
    if _is_zero(inner):
        return ZERO
    a = e.arg
    outer = {
        "exp": lambda: e,
        "log": lambda: ex.BinOp("/", ONE, a),
        "ln": lambda: ex.BinOp("/", ONE, a),
        "sqrt": lambda: ex.BinOp("/", ONE, ex.BinOp("*", ex.Num(2.0), e)),
        "sin": lambda: ex.Call("cos", a),
        "cos": lambda: ex.Neg(ex.Call("sin", a)),
        "tan": lambda: ex.BinOp("/", ONE, ex.BinOp("*", ex.Call("cos", a), ex.Call("cos", a))),
        "sinh": lambda: ex.Call("cosh", a),
        "cosh": lambda: ex.Call("sinh", a),
        "tanh": lambda: ex.BinOp("-", ONE, ex.BinOp("*", e, e)),
        "abs": lambda: ex.IfElse(ex.BinOp(".lt.", a, ZERO), ex.Num(-1.0), ONE),
        "floor": lambda: ZERO, "ceil": lambda: ZERO, "H": lambda: ZERO,
    }
    if e.func not in outer:
        raise NotDifferentiable(e.func)
    return _mul(outer[e.func](), inner)


def chain(derived: list[tuple[str, ex.Expr]], current: str, v: str = "v") -> list[tuple[str, ex.Expr]] | None:
    """The derivative with respect to ``v`` of each derived variable ``current`` depends on,
    where ``current`` is linear in ``v`` (its derivative does not depend on ``v``).

    A current that is not linear in v (an instantaneous gate, a GHK flux) keeps a zero
    conductance: linearised in v at a step such as 0.01 ms, its negative slope during a spike's
    upstroke costs more accuracy than the explicit step (measured on
    tests/conformance/semantics/LEMS_instant_gate.xml: 4 spikes against jLEMS's 5).

    Parameters
    ----------
    derived
        Derived variables in order of computation (each uses only earlier ones).
    current
        The derived variable whose derivative is wanted.
    v
        The name of the membrane potential.

    Returns
    -------
    list of (name, derivative) or None
        In order of computation, ``current`` last, each derivative naming the earlier
        derivatives as ``derivative_name(name)``; None where the current is not linear in v
        or a derivative would draw random numbers.
    """
    values = dict(derived)
    needed = _dependencies(values, current)
    known: dict[str, ex.Expr] = {v: ONE}
    moving = {v}  # the names whose value depends on v
    out: list[tuple[str, ex.Expr]] = []
    try:
        for name, value in derived:
            if name not in needed:
                continue
            d = derivative(value, known)
            if _draws(d) or ex.names(d) & moving:
                return None  # a second draw would not be the current's; or not linear in v
            if not _is_zero(d) or name == current:
                out.append((name, d))
                known[name] = ex.Name(derivative_name(name))
                moving.add(name)
    except NotDifferentiable:
        return None
    return out


def _draws(e: ex.Expr) -> bool:
    if isinstance(e, ex.Call):
        return e.func == "random" or _draws(e.arg)
    children = [getattr(e, k) for k in ("left", "right", "operand", "test", "then", "other") if hasattr(e, k)]
    return any(_draws(c) for c in children)


def derivative_name(name: str) -> str:
    """How the derivative of a derived variable is named in the chain (no LEMS name has '$')."""
    return f"$d({name})"


def _dependencies(values: dict[str, ex.Expr], name: str) -> set[str]:
    found: set[str] = set()
    pending = [name]
    while pending:
        n = pending.pop()
        if n in found or n not in values:
            continue
        found.add(n)
        pending += list(ex.names(values[n]))
    return found
