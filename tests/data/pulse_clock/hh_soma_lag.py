#!/usr/bin/env python
"""Which update order gives jLEMS's and nmlhub's samples of Ex25's HH soma (``hh_soma_lag``).

    python tests/data/pulse_clock/hh_soma_lag.py [NMLHUB_NPY]

An independent forward Euler computation of ``pulse_clock_hh.net.nml`` (one compartment, NeuroML's
HHExpLinearRate, HHExpRate and HHSigmoidRate written out here; dt 0.005 ms; the pulse drives the
steps ending in [1 ms, 2 ms), jLEMS's input clock) in which the gates' rates read v ``lag`` steps
old: the gate step from sample n uses v of sample n - lag (held at its initial value before
sample 0). ``lag`` = 0 is forward Euler on the whole system. Each order is compared with jLEMS's
stored trace (``jlems_pulse_clock_hh.npz``) and, if given, with nmlhub's table saved as .npy
(time, v, m, h, n) over the whole 3 ms. nmlhub's table, from the checkout's root:

    python -c "import sys; sys.path.insert(0, 'tests'); import numpy; from test_pulse_clock import _nmlhub; numpy.save('/tmp/hh_nmlhub.npy', _nmlhub('LEMS_pulse_clock_hh.xml'))"

(tests/conformance/event_timing.md, "hh_soma_lag").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DT_MS = 0.005
SAMPLES = 601
#: Ex25's membrane (mS/cm2, mV, uF/cm2) and the pulse as a current density (uA/cm2)
G_LEAK, E_LEAK, G_NA, E_NA, G_K, E_K, CM = 0.3, -54.3, 120.0, 50.0, 36.0, -77.0, 1.0
AREA_CM2 = np.pi * 10e-4 * 10e-4  # the soma's side: diameter 10 um, length 10 um
#: model -> (its stored jLEMS trace, the soma's v column, pulse in nA, first and last sample
#: ending a step the pulse drives: the steps ending in [delay, delay + duration), jLEMS's clock)
PULSES = {"pulse_clock_hh": ("jlems_pulse_clock_hh", 1, 0.02, 200, 399),
          "ex25_zero_delay": ("jlems_ex25_zero_delay", 1, 0.2, 201, 600)}


def rates(v: float) -> dict[str, tuple[float, float]]:
    """(alpha, beta) per ms of each gate at v (mV), from NeuroML's rate types."""
    def exp_linear(rate, midpoint, scale):
        x = (v - midpoint) / scale
        return rate * x / (1 - np.exp(-x))

    def exponential(rate, midpoint, scale):
        return rate * np.exp((v - midpoint) / scale)

    def sigmoid(rate, midpoint, scale):
        return rate / (1 + np.exp(-(v - midpoint) / scale))

    return {"m": (exp_linear(1, -40, 10), exponential(4, -65, -18)),
            "h": (exponential(0.07, -65, -20), sigmoid(1, -35, 10)),
            "n": (exp_linear(0.1, -55, 10), exponential(0.125, -65, -80))}


def forward_euler(lag: int, model: str = "pulse_clock_hh") -> np.ndarray:
    """Samples (time s, v V, m, h, n) of the model's soma when the gates' rates read v ``lag``
    steps old."""
    _, _, amplitude_na, first_driven, last_driven = PULSES[model]
    pulse = amplitude_na * 1e-3 / AREA_CM2  # uA/cm2
    v = np.empty(SAMPLES)
    gates = np.empty((SAMPLES, 3))
    v[0] = -65.0
    gates[0] = [a / (a + b) for a, b in rates(v[0]).values()]
    for n in range(SAMPLES - 1):
        m, h, k = gates[n]
        drive = pulse if first_driven <= n + 1 <= last_driven else 0.0
        current = (G_LEAK * (E_LEAK - v[n]) + G_NA * m ** 3 * h * (E_NA - v[n])
                   + G_K * k ** 4 * (E_K - v[n]) + drive)
        v[n + 1] = v[n] + DT_MS * current / CM
        seen = rates(v[max(n - lag, 0)])
        gates[n + 1] = [q + DT_MS * (a * (1 - q) - b * q)
                        for q, (a, b) in zip(gates[n], seen.values())]
    time_s = np.arange(SAMPLES) * DT_MS * 1e-3
    return np.column_stack([time_s, v * 1e-3, gates])


def crossing(v: np.ndarray, threshold: float = -0.020) -> int:
    """The first sample at or above the threshold (V), -1 if none."""
    above = np.flatnonzero(v >= threshold)
    return int(above[0]) if above.size else -1


def main() -> None:
    jlems = np.load(HERE / "jlems_pulse_clock_hh.npz")["traces"]
    engines = {"jLEMS": jlems}
    if len(sys.argv) > 1:
        engines["nmlhub"] = np.load(sys.argv[1])
    print("pulse_clock_hh (v and the gates at every sample, 3 ms):")
    for lag in range(4):
        computed = forward_euler(lag)
        parts = [f"  lag {lag}"]
        for name, table in engines.items():
            dv = np.abs(computed[:, 1] - table[:, 1]).max()
            dq = np.abs(computed[:, 2:] - table[:, 2:]).max()
            parts.append(f"{name} max |dv| {dv:.3g} V, max |dq| {dq:.3g}")
        print("; ".join(parts))
    reference, column = PULSES["ex25_zero_delay"][:2]
    source_v = np.load(HERE / f"{reference}.npz")["traces"][:, column]
    print(f"ex25_zero_delay: jLEMS's source soma crosses -20 mV at sample {crossing(source_v)}")
    for lag in range(4):
        computed = forward_euler(lag, "ex25_zero_delay")[:, 1]
        print(f"  lag {lag}: crosses at sample {crossing(computed)}, "
              f"max |dv| to jLEMS {np.abs(computed - source_v).max():.3g} V")


if __name__ == "__main__":
    main()
