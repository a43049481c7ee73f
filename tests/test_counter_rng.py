"""The counter-based random numbers of the rules: the binomial counts equal scipy.stats's quantiles,
and in the far upper tail, where Boost's quantile (scipy's) loses its digits, the exact ones."""

from math import comb

import numpy as np
import pytest
from scipy import stats

from nmlhub.rules.counter_rng import binomial_quantile


@pytest.mark.parametrize("p", [0.0, 1e-6, 0.01, 0.5, 0.99, 1.0])
def test_binomial_quantile_is_scipy_stats_binom_ppf(p):
    rng = np.random.default_rng(7)
    u = rng.random(5000)
    u[:2] = [0.0, 1e-300]
    n = rng.integers(0, 20000, size=u.shape)
    expected = stats.binom.ppf(u, n, p).astype(np.int64)
    assert np.array_equal(binomial_quantile(u, n, p), expected)
    assert np.array_equal(binomial_quantile(u, 10000, p), stats.binom.ppf(u, 10000, p).astype(np.int64))


@pytest.mark.parametrize("n, a, b", [(10000, 1, 2), (10000, 99, 100), (2000, 1, 20)])
def test_binomial_quantile_far_upper_tail_is_exact(n, a, b):
    """For p = a/b and u = 1 - 2**-53 (the largest uniform number the rules draw), the smallest k
    with P(X > k) <= 2**-53, in integers: b**n P(X = k) = C(n, k) a**k (b - a)**(n - k)."""
    survival = 0  # b**n P(X > k)
    k, c, a_k, rest = n, 1, a**n, 1  # C(n, k), a**k, (b - a)**(n - k)
    while (survival + c * a_k * rest) * 2**53 <= b**n:
        survival += c * a_k * rest
        c, a_k, rest = c * k // (n - k + 1), a_k // a, rest * (b - a)
        k -= 1
    assert binomial_quantile(np.array([1.0 - 2.0**-53]), n, a / b)[0] == k


def test_binomial_quantile_builds_without_scipy_special():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from nmlhub.rules.counter_rng import binomial;"
            "binomial(1, np.arange(10), 100, 0.1); print('scipy.special' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
