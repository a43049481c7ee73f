"""The parameter combinations of a batch: a grid, an explicit list, random or Latin hypercube
samples (seeded, so the same spec always gives the same runs)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .spec import BatchError, BatchSpec, Parameter


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scale(parameter: Parameter, u: np.ndarray) -> list[Any]:
    """Map uniform numbers in [0, 1) onto the parameter's range or its list of values."""
    if parameter.low is not None:
        if parameter.log:
            lo, hi = np.log(parameter.low), np.log(parameter.high)
            return [float(v) for v in np.exp(lo + u * (hi - lo))]
        return [float(v) for v in parameter.low + u * (parameter.high - parameter.low)]
    values = parameter.values
    index = np.minimum((u * len(values)).astype(int), len(values) - 1)
    return [_plain(values[i]) for i in index]


def combinations(spec: BatchSpec) -> list[dict[str, Any]]:
    """Every run's parameter values (path -> value), in run order.

    Examples
    --------
    >>> spec = BatchSpec(Path("LEMS.xml"), (Parameter("RS.a", (0.02, 0.03)),  # doctest: +SKIP
    ...                  Parameter("RS.d", (50, 100, 150))))
    >>> len(combinations(spec))  # doctest: +SKIP
    6
    """
    sampling, params = spec.sampling, spec.parameters
    if sampling.method == "list":
        combos = [dict(c) for c in sampling.combinations]
        keys = list(combos[0]) if combos else []
        for i, combo in enumerate(combos):
            if set(combo) != set(keys):
                raise BatchError(f"runs[{i}]: sets {sorted(combo)}, but runs[0] sets {sorted(keys)}; "
                                 "every run must set the same parameters")
        return [{k: _plain(c[k]) for k in keys} for c in combos]
    if sampling.method == "grid":
        axes = [[_plain(v) for v in p.values] for p in params]
        return [dict(zip((p.path for p in params), values)) for values in itertools.product(*axes)]
    n = int(sampling.samples)
    if sampling.method == "random":
        u = np.random.default_rng(sampling.seed).random((n, len(params)))
    else:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(params), seed=np.random.default_rng(sampling.seed)).random(n)
    columns = [_scale(p, u[:, j]) for j, p in enumerate(params)]
    return [{p.path: columns[j][i] for j, p in enumerate(params)} for i in range(n)]
