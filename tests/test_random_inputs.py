"""nmlhub's random inputs have the distribution jLEMS's have (issue 16, item 3).

Each engine draws its own random numbers, so spike trains driven by random inputs cannot be
compared spike by spike (33 OMV experiments of the corpus, docs/conformance.md). Their
statistics can: tests/data/random_inputs/LEMS_random_inputs.xml drives 40 cells with a
``poissonFiringSynapse`` (OpenCortex's inputs) and 40 with a current of the model's own type that
redraws itself with ``random()`` in an ``OnCondition`` (as StochasticityShowcase's noisy current);
its jLEMS spike trains are stored by make_reference.py beside it. For two seeds, nmlhub's trains
must have the same mean rate (|z| < 4 over the 40 cells' rates) and the same distribution of
inter-spike intervals (two-sample Kolmogorov-Smirnov, p > 0.001) as jLEMS's; and the same checks
must reject intervals 20% longer, so they are tight enough to see a wrong rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import nmlhub

DATA = Path(__file__).resolve().parent / "data" / "random_inputs"
CELLS = 40
LENGTH_S = 2.0
#: Bounds of the two statistical checks (false failure about 1e-4 and 1e-3 per check).
MAX_RATE_Z = 4.0
MIN_KS_P = 1e-3


def _trains(ids: np.ndarray, times_s: np.ndarray) -> list[np.ndarray]:
    return [np.sort(times_s[ids == k]) for k in range(CELLS)]


def _reference(population: str) -> list[np.ndarray]:
    stored = np.load(DATA / "reference.npz")
    return _trains(stored[f"{population}_ids"], stored[f"{population}_times_s"])


def _rate_z(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    a = np.array([len(x) for x in ours]) / LENGTH_S
    b = np.array([len(x) for x in theirs]) / LENGTH_S
    return float((a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def _intervals(trains: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.diff(train) for train in trains])


def _same_distribution(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[float, float]:
    """(|z| of the mean rates, KS p-value of the intervals)."""
    return abs(_rate_z(ours, theirs)), float(stats.ks_2samp(_intervals(ours), _intervals(theirs)).pvalue)


@pytest.fixture(scope="module")
def runs() -> dict[int, dict[str, list[np.ndarray]]]:
    model = nmlhub.load(DATA / "LEMS_random_inputs.xml")
    found = {}
    for seed in (1, 2):
        results = nmlhub.simulate(model, seed=seed)
        found[seed] = {population: [np.asarray(results.spikes.get((population, k), [])) * 1e-3
                                    for k in range(CELLS)] for population in ("relay", "noisy")}
    return found


@pytest.mark.parametrize("population", ["relay", "noisy"])
@pytest.mark.parametrize("seed", [1, 2])
def test_random_inputs_have_jlems_distribution(runs, population, seed):
    theirs = _reference(population)
    ours = runs[seed][population]
    assert sum(len(x) for x in ours) > 500  # enough intervals for the statistics to mean something
    rate_z, ks_p = _same_distribution(ours, theirs)
    assert rate_z < MAX_RATE_Z and ks_p > MIN_KS_P, (population, seed, rate_z, ks_p)


@pytest.mark.parametrize("population", ["relay", "noisy"])
def test_the_checks_see_a_rate_20_percent_off_and_seeds_differ(runs, population):
    theirs = _reference(population)
    slower = [train * 1.2 for train in runs[1][population]]  # every interval 20% longer
    rate_z, ks_p = _same_distribution(slower, theirs)
    assert ks_p < MIN_KS_P
    assert not all(np.array_equal(a, b) for a, b in zip(runs[1][population], runs[2][population]))
