"""nmlhub's random spike generators have the distribution jLEMS's have (StochasticityShowcase).

StochasticityShowcase's ``.test.tests*.omt`` compare the rate of one ``spikeGeneratorPoisson``,
``spikeGeneratorRandom`` or ``SpikeSourcePoisson`` over 5 s with a tolerance that is the distance
of one jLEMS draw from the nominal rate (docs/conformance.md, "StochasticityShowcase"): each
engine draws its own numbers, so that is a test of the draws, not of the rate. The distributions
can be compared: tests/data/random_generators/LEMS_random_generators.xml runs 40 (or 10, at the
high rates) of each generator of LEMS_Tests.xml for 1 s; its jLEMS spike trains are stored by
make_reference.py beside it. For two seeds, nmlhub's trains must have the same mean rate as
jLEMS's (|z| < 4 over the cells' rates) and the same distribution of inter-spike intervals
(two-sample Kolmogorov-Smirnov, p > 0.001); the same checks must reject intervals 10% longer, so
they see a wrong rate or refractoriness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import nmlhub

DATA = Path(__file__).resolve().parent / "data" / "random_generators"
CELLS = {"poisson": 40, "random": 40, "ssp": 40, "poisson_fast": 10, "random_fast": 10}
LENGTH_S = 1.0
STEP_S = 25e-6
MAX_RATE_Z = 4.0
MIN_KS_P = 1e-3


def _trains(ids: np.ndarray, times_s: np.ndarray, cells: int) -> list[np.ndarray]:
    return [np.sort(times_s[ids == k]) for k in range(cells)]


def _reference(population: str) -> list[np.ndarray]:
    stored = np.load(DATA / "reference.npz")
    return _trains(stored[f"{population}_ids"], stored[f"{population}_times_s"], CELLS[population])


def _rate_z(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    a = np.array([len(x) for x in ours]) / LENGTH_S
    b = np.array([len(x) for x in theirs]) / LENGTH_S
    spread = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return float((a.mean() - b.mean()) / spread) if spread > 0 else float(a.mean() != b.mean()) * np.inf


def _intervals(trains: list[np.ndarray]) -> np.ndarray:
    """Inter-spike intervals in whole steps: both engines spike on the step grid, and their times
    (seconds, written differently) would otherwise differ in the last digits."""
    return np.round(np.concatenate([np.diff(train) for train in trains]) / STEP_S)


def _same_distribution(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[float, float]:
    """(|z| of the mean rates, KS p-value of the intervals)."""
    return abs(_rate_z(ours, theirs)), float(stats.ks_2samp(_intervals(ours), _intervals(theirs)).pvalue)


@pytest.fixture(scope="module")
def runs() -> dict[int, dict[str, list[np.ndarray]]]:
    model = nmlhub.load(DATA / "LEMS_random_generators.xml")
    found = {}
    for seed in (1, 2):
        results = nmlhub.simulate(model, seed=seed)
        found[seed] = {population: [np.asarray(results.spikes.get((population, k), [])) * 1e-3
                                    for k in range(cells)] for population, cells in CELLS.items()}
    return found


@pytest.mark.parametrize("population", list(CELLS))
@pytest.mark.parametrize("seed", [1, 2])
def test_random_generators_have_jlems_distribution(runs, population, seed):
    theirs = _reference(population)
    ours = runs[seed][population]
    assert sum(len(x) for x in ours) > 1000
    rate_z, ks_p = _same_distribution(ours, theirs)
    assert rate_z < MAX_RATE_Z and ks_p > MIN_KS_P, (population, seed, rate_z, ks_p)


@pytest.mark.parametrize("population", list(CELLS))
def test_the_checks_see_intervals_10_percent_longer_and_seeds_differ(runs, population):
    theirs = _reference(population)
    slower = [train * 1.1 for train in runs[1][population]]
    rate_z, ks_p = _same_distribution(slower, theirs)
    assert ks_p < MIN_KS_P or rate_z > MAX_RATE_Z
    assert not all(np.array_equal(a, b) for a, b in zip(runs[1][population], runs[2][population]))
