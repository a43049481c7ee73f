#!/usr/bin/env python
"""Which update order gives jLEMS's and nmlhub's samples, gate form by gate form (``hh_soma_lag``).

    python tests/data/pulse_clock/gate_forms_lag.py [NMLHUB_NPY]

An independent computation of ``gate_forms.net.nml``: one one-compartment cell per form of gate
(gateHHrates, gateHHtauInf, gateHHratesTauInf, gateHHratesInf, gateHHratesTau,
gateHHInstantaneous, gateFractional and gateKS with HH-rate, vHalf and tau/inf transitions), each
with Ex25's leak and one potassium-like channel whose only gate has that form; dt 0.005 ms; a
0.05 nA pulse drives the steps ending in [1 ms, 2 ms) (jLEMS's input clock). NeuroML's
definitions of the rates, variables and transitions are written out here. The membrane takes
forward Euler steps from the gate and v of sample n; the gate's values at sample n read v of
sample n - ``lag`` (held at its initial value before sample 0): an integrated gate steps from
sample n with its rates at that v, an instantaneous gate is its steady state there. ``lag`` = 0 is
forward Euler on the whole system. The kinetic schemes (a closed and an open state, all of the
occupancy closed at the start, as both engines start them) are stepped by one of three
``scheme``s at the step's rates: ``euler`` (forward), ``implicit`` (backward Euler: NEURON's
``METHOD sparse``, which nmlhub uses) or ``exp`` (the exact solution over the step at constant
rates). A gate's ``q`` that is a derived variable (instantaneous, fractional, kinetic) is
recorded by both engines a sample late (the value the step from the sample before used), and is
compared so. Compared with jLEMS's stored trace (``jlems_gate_forms.npz``) and, if given,
nmlhub's table saved as .npy (time, then v and q of each form), over the whole 3 ms. nmlhub's table, from the
checkout's root:

    python -c "import sys; sys.path.insert(0, 'tests'); import numpy; from test_pulse_clock import _nmlhub; numpy.save('/tmp/gates_nmlhub.npy', _nmlhub('LEMS_gate_forms.xml'))"

(tests/conformance/event_timing.md, "hh_soma_lag").
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
DT_MS = 0.005
SAMPLES = 601
#: Ex25's leak and the gated channel (mS/cm2, mV, uF/cm2)
G_LEAK, E_LEAK, G_CHAN, E_CHAN, CM = 0.3, -54.3, 36.0, -77.0, 1.0
AREA_CM2 = np.pi * 10e-4 * 10e-4  # the soma's side: diameter 10 um, length 10 um
PULSE = 0.05e-3 / AREA_CM2  # uA/cm2
FIRST_DRIVEN, LAST_DRIVEN = 200, 399
#: the forms in the order of the LEMS file's columns (v, q of each)
FORMS = ("hhrates", "tauinf", "ratestauinf", "ratesinf", "ratestau", "instant", "fractional",
         "ks", "ksvhalf", "kstauinf")


def alpha(v: float) -> float:
    """HHExpLinearRate 0.1/ms, -55 mV, 10 mV (Hodgkin-Huxley's n)."""
    x = (v + 55.0) / 10.0
    return 0.1 * x / (1 - np.exp(-x))


def beta(v: float) -> float:
    """HHExpRate 0.125/ms, -65 mV, -80 mV."""
    return 0.125 * np.exp((v + 65.0) / -80.0)


def sigmoid(v: float, midpoint: float = -55.0, scale: float = 10.0) -> float:
    """HHSigmoidVariable of rate 1."""
    return 1 / (1 + np.exp(-(v - midpoint) / scale))


def v_half_rates(v: float) -> tuple[float, float]:
    """vHalfTransition vHalf -55 mV, z 2, gamma 0.6, tau 1 ms, tauMin 0.1 ms (kte 25.3 mV)."""
    forward0 = np.exp(2 * 0.6 * (v + 55.0) / 25.3) / 1.0
    reverse0 = np.exp(-2 * 0.4 * (v + 55.0) / 25.3) / 1.0
    return 1 / (1 / forward0 + 0.1), 1 / (1 / reverse0 + 0.1)


def _relax(inf: Callable[[float], float], tau: Callable[[float], float]):
    """An HH gate dq/dt = (inf - q) / tau: (initial states, step, open fraction)."""
    return (lambda v: np.array([inf(v)]),
            lambda q, v, dt: q + dt * (inf(v) - q) / tau(v),
            lambda q: q[0] ** 4)


def _two_state(rates: Callable[[float], tuple[float, float]], scheme: str):
    """A closed and an open state with forward rate rf and reverse rate rr (occupancies c, o),
    all closed at the start."""
    def step(q, v, dt):
        rf, rr = rates(v)
        c, o = q
        if scheme == "implicit":
            o_new = (o + dt * rf * (c + o)) / (1 + dt * (rf + rr))
        elif scheme == "exp":
            steady = rf / (rf + rr) * (c + o)
            o_new = steady + (o - steady) * np.exp(-dt * (rf + rr))
        else:
            o_new = o + dt * (rf * c - rr * o)
        return np.array([c + o - o_new, o_new])

    return lambda v: np.array([1.0, 0.0]), step, lambda q: q[1] ** 4


def form(name: str, scheme: str = "euler"):
    """(initial states at v, the step of the states at v, the open fraction) of a gate form."""
    fixed = lambda tau_ms: (lambda v: tau_ms)  # noqa: E731
    if name == "hhrates":
        return _relax(lambda v: alpha(v) / (alpha(v) + beta(v)), lambda v: 1 / (alpha(v) + beta(v)))
    if name in ("tauinf", "ratestauinf"):
        return _relax(sigmoid, fixed(1.0))
    if name == "ratesinf":
        return _relax(sigmoid, lambda v: 1 / (alpha(v) + beta(v)))
    if name == "ratestau":
        return _relax(lambda v: alpha(v) / (alpha(v) + beta(v)), fixed(1.0))
    if name == "fractional":
        subgates = [(0.3, lambda v: sigmoid(v, -50.0, 8.0), 0.5), (0.7, lambda v: sigmoid(v, -60.0, 12.0), 2.0)]
        return (lambda v: np.array([inf(v) for _, inf, _ in subgates]),
                lambda q, v, dt: np.array([qk + dt * (inf(v) - qk) / tau for qk, (_, inf, tau) in zip(q, subgates)]),
                lambda q: sum(f * qk for qk, (f, _, _) in zip(q, subgates)) ** 4)
    if name == "ks":
        return _two_state(lambda v: (alpha(v), beta(v)), scheme)
    if name == "ksvhalf":
        return _two_state(v_half_rates, scheme)
    if name == "kstauinf":
        return _two_state(lambda v: (sigmoid(v) / 1.0, (1 - sigmoid(v)) / 1.0), scheme)
    raise ValueError(name)


def recorded_q(name: str, q: np.ndarray) -> float:
    """The gate's recorded ``q``: the open state's occupancy, the subgates' weighted sum."""
    if name.startswith("ks"):
        return q[1]
    if name == "fractional":
        return 0.3 * q[0] + 0.7 * q[1]
    return q[0]


#: forms whose recorded q is a derived variable (recorded a sample late by both engines)
DERIVED_Q = ("instant", "fractional", "ks", "ksvhalf", "kstauinf")
#: the schemes each form is computed with
SCHEMES = {name: (("euler", "implicit", "exp") if name.startswith("ks") else ("euler",)) for name in FORMS}


def forward_euler(name: str, lag: int, scheme: str = "euler") -> np.ndarray:
    """Samples (time s, v V, q) of the form's cell when its gate reads v ``lag`` steps old."""
    if name == "instant":
        return _instantaneous(lag)
    start, step, open_fraction = form(name, scheme)
    v = np.empty(SAMPLES)
    v[0] = -65.0
    states = [start(v[0])]
    for n in range(SAMPLES - 1):
        drive = PULSE if FIRST_DRIVEN <= n + 1 <= LAST_DRIVEN else 0.0
        current = G_LEAK * (E_LEAK - v[n]) + G_CHAN * open_fraction(states[n]) * (E_CHAN - v[n]) + drive
        v[n + 1] = v[n] + DT_MS * current / CM
        states.append(step(states[n], v[max(n - lag, 0)], DT_MS))
    q = [recorded_q(name, s) for s in states]
    return np.column_stack([np.arange(SAMPLES) * DT_MS * 1e-3, v * 1e-3, q])


def _instantaneous(lag: int) -> np.ndarray:
    """gateHHInstantaneous (one instance): q at sample n is the steady state at v of n - lag."""
    v = np.empty(SAMPLES)
    q = np.empty(SAMPLES)
    v[0] = -65.0
    for n in range(SAMPLES):
        q[n] = sigmoid(v[max(n - lag, 0)])
        if n + 1 < SAMPLES:
            drive = PULSE if FIRST_DRIVEN <= n + 1 <= LAST_DRIVEN else 0.0
            v[n + 1] = v[n] + DT_MS * (G_LEAK * (E_LEAK - v[n]) + G_CHAN * q[n] * (E_CHAN - v[n]) + drive) / CM
    return np.column_stack([np.arange(SAMPLES) * DT_MS * 1e-3, v * 1e-3, q])


def distances(table: np.ndarray, name: str, lag: int, scheme: str = "euler") -> tuple[float, float]:
    """Largest |dv| (V) and |dq| between a table's columns of the form and the computation (a
    derived q compared with the table's next sample)."""
    k = 1 + 2 * FORMS.index(name)
    computed = forward_euler(name, lag, scheme)
    late = 1 if name in DERIVED_Q else 0
    dq = np.abs(computed[: SAMPLES - late, 2] - table[late:, k + 1]).max()
    return float(np.abs(computed[:, 1] - table[:, k]).max()), float(dq)


def main() -> None:
    engines = {"jLEMS": np.load(HERE / "jlems_gate_forms.npz")["traces"]}
    if len(sys.argv) > 1:
        engines["nmlhub"] = np.load(sys.argv[1])
    for name in FORMS:
        for scheme in SCHEMES[name]:
            for lag in range(4):
                parts = [f"{name} {scheme} lag {lag}"]
                for engine, table in engines.items():
                    dv, dq = distances(table, name, lag, scheme)
                    parts.append(f"{engine} |dv| {dv:.2g} V |dq| {dq:.2g}")
                print("; ".join(parts))


if __name__ == "__main__":
    main()
