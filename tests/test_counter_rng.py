"""The counter-based random numbers of the rules: the binomial counts equal scipy.stats's quantiles."""

import numpy as np
import pytest
from scipy import stats

from nmlhub.rules.counter_rng import binomial_quantile


@pytest.mark.parametrize("p", [0.0, 1e-6, 0.01, 0.5, 0.99, 1.0])
def test_binomial_quantile_is_scipy_stats_binom_ppf(p):
    rng = np.random.default_rng(7)
    u = rng.random(5000)
    u[:3] = [0.0, 1e-300, 1 - 2**-53]
    n = rng.integers(0, 20000, size=u.shape)
    expected = stats.binom.ppf(u, n, p).astype(np.int64)
    assert np.array_equal(binomial_quantile(u, n, p), expected)
    assert np.array_equal(binomial_quantile(u, 10000, p), stats.binom.ppf(u, 10000, p).astype(np.int64))
