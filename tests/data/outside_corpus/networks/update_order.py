"""The proofs of docs/osb_outside_corpus.md "Session 10: network models", "jLEMS's update order":
explicit Euler computed here in numpy for two OSB rate networks, reading each source either at the
start of the step or, for a source declared earlier, at the value it has just reached (jLEMS's
order), compared with the outputs of nmlhub and of jLEMS.

Usage::

    python update_order.py joglekar NMLHUB_OUTDIR JLEMS_OUTDIR   # JoglekarEtAl18 figure 1b
    python update_order.py mejias NMLHUB_OUTDIR JLEMS_OUTDIR     # MejiasEtAl2016 Interlaminar, sig="0"
    python update_order.py mejias-noise                          # its noise: standard deviations, 20 s

where each folder holds the ``<population>_0.r.dat`` (Joglekar) or ``<population>_0_r.dat``
(Mejias) files the model's LEMS file writes (see the table of the doc for the files and commits).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass
class RateNetwork:
    """Rate units in declaration order: ``r' = (-leak * r + gain(x)) / tau``, x = drive + W r."""

    populations: list[str]
    weights: np.ndarray  # [post, pre]
    drive: np.ndarray
    tau_s: np.ndarray
    leak: float
    gain: Callable[[float], float]
    start: np.ndarray
    clamp_at_zero: bool
    dt_s: float
    steps: int
    file_pattern: str

    def euler(self, declaration_order: bool) -> np.ndarray:
        """Every unit's rate at every step, sources read at the start of the step or in order."""
        rates = np.empty((self.steps + 1, len(self.populations)))
        rates[0] = self.start
        for k in range(self.steps):
            old, new = rates[k], rates[k].copy()
            for i in range(len(self.populations)):
                read = np.concatenate([new[:i], old[i:]]) if declaration_order else old
                x = self.drive[i] + self.weights[i] @ read
                new[i] = old[i] + self.dt_s * (-self.leak * old[i] + self.gain(x)) / self.tau_s[i]
                if self.clamp_at_zero and new[i] < 0:
                    new[i] = 0.0
            rates[k + 1] = new
        return rates

    def load(self, folder: Path) -> np.ndarray:
        return np.column_stack([np.loadtxt(folder / self.file_pattern.format(p))[:, 1] for p in self.populations])


def _weights(populations: list[str], pairs: dict[tuple[str, str], float]) -> np.ndarray:
    weights = np.zeros((len(populations), len(populations)))
    for (pre, post), weight in pairs.items():
        weights[populations.index(post), populations.index(pre)] = weight
    return weights


def joglekar() -> RateNetwork:
    """rateJoglekarCell: r' = Hz * (iSyn / nA) / s with iSyn = sum w * s * nA * r_pre, i.e.
    r' = sum w r_pre per second; two E-I pairs, 600 ms at 0.01 ms, r reset to 0 below 0."""
    pops = ["ExcitatoryWeak", "InhibitoryWeak", "ExcitatoryStrong", "InhibitoryStrong"]
    wei, wii = 214.285714285714278, -285.714285714285722
    pairs = {("ExcitatoryWeak", "ExcitatoryWeak"): 172.5, ("ExcitatoryWeak", "InhibitoryWeak"): wei,
             ("InhibitoryWeak", "ExcitatoryWeak"): -235.0, ("InhibitoryWeak", "InhibitoryWeak"): wii,
             ("ExcitatoryStrong", "ExcitatoryStrong"): 250.0, ("ExcitatoryStrong", "InhibitoryStrong"): wei,
             ("InhibitoryStrong", "ExcitatoryStrong"): -335.0, ("InhibitoryStrong", "InhibitoryStrong"): wii}
    return RateNetwork(pops, _weights(pops, pairs), np.zeros(4), np.ones(4), 0.0, lambda x: x,
                       np.array([1.0, 0.0, 1.0, 0.0]), True, 1e-5, 60000, "{}_0.r.dat")


def mejias() -> RateNetwork:
    """mejiasEtAl2016Cell without noise: r' = (-r + phi(x) Hz) / tau, phi(x) = x / (1 - exp(-x)),
    x the input in nA (8 nA pulses on the E units, rateSynapse w * r_pre * 1 nA s); 1 s at 0.2 ms."""
    pops = ["L23_E", "L23_I", "L56_E", "L56_I"]
    pairs = {("L23_E", "L23_E"): 1.5, ("L23_E", "L23_I"): 3.5, ("L23_E", "L56_E"): 1.0, ("L23_I", "L23_E"): -3.25,
             ("L23_I", "L23_I"): -2.5, ("L56_E", "L23_I"): 0.75, ("L56_E", "L56_E"): 1.5, ("L56_E", "L56_I"): 3.5,
             ("L56_I", "L56_E"): -3.25, ("L56_I", "L56_I"): -2.5}
    return RateNetwork(pops, _weights(pops, pairs), np.array([8.0, 0.0, 8.0, 0.0]),
                       np.array([6e-3, 15e-3, 30e-3, 75e-3]), 1.0,
                       lambda x: 1.0 if x == 0 else x / (1 - np.exp(-x)), np.ones(4), False, 2e-4, 5000,
                       "{}_0_r.dat")


def noisy_deviations(declaration_order: bool, steps: int = 100_000, seed: int = 1) -> np.ndarray:
    """MejiasEtAl2016's units with their noise (``sig * xi * sqrt(tau / noiseDt)`` Hz, xi a
    standard normal drawn every step, noiseDt = dt), numpy's own draws: each unit's standard
    deviation after the first second."""
    network, rng = mejias(), np.random.default_rng(seed)
    sig = np.array([0.3, 0.3, 0.45, 0.45])
    rates, kept = network.start.copy(), []
    for _ in range(steps):
        noise = sig * rng.standard_normal(4) * np.sqrt(network.tau_s / network.dt_s)
        new = rates.copy()
        for i in range(4):
            read = np.concatenate([new[:i], rates[i:]]) if declaration_order else rates
            x = network.drive[i] + network.weights[i] @ read
            new[i] = rates[i] + network.dt_s * (-rates[i] + network.gain(x) + noise[i]) / network.tau_s[i]
        rates = new
        kept.append(rates)
    return np.array(kept)[5000:].std(axis=0)


def main(model: str, ours: Path, jlems: Path) -> None:
    network = {"joglekar": joglekar, "mejias": mejias}[model]()
    start, ordered = network.euler(False), network.euler(True)
    for engine, folder in (("nmlhub", ours), ("jLEMS", jlems)):
        rates = network.load(folder)
        for i, population in enumerate(network.populations):
            to_start = np.abs(rates[:, i] - start[:, i]).max()
            to_ordered = np.abs(rates[:, i] - ordered[:, i]).max()
            print(f"{engine:6s} {population:17s} |r - Euler(start of step)| {to_start:.2g}"
                  f"  |r - Euler(declaration order)| {to_ordered:.2g} Hz")


if __name__ == "__main__":
    if sys.argv[1] == "mejias-noise":
        for order in (False, True):
            print("declaration order" if order else "start of step", np.round(noisy_deviations(order), 3))
    else:
        main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
