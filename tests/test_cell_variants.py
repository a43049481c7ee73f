"""Per-cell parameter expressions: values drawn per cell against the expression's distribution
(scipy.stats, an independent computation), seeding, refusals, and NetworkBuilder.cell_variants
writing one NeuroML cell per draw that runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import nmlhub
from nmlhub.rules.cell_values import per_cell_values, population_rng
from nmlhub.rules.values import RuleError


def test_an_expression_with_a_draw_follows_its_distribution():
    values = per_cell_values("19 + uniform(-1, 1)", 4000, np.random.default_rng(1), "L")
    assert stats.kstest(values, stats.uniform(18, 2).cdf).pvalue > 1e-3
    scaled = per_cell_values("2 * normal(10, 0.5) - 1", 4000, np.random.default_rng(2), "x")
    assert stats.kstest(scaled, stats.norm(19, 1).cdf).pvalue > 1e-3
    both = per_cell_values("uniform(0, 1) + uniform(0, 1)", 4000, np.random.default_rng(3), "y")
    assert stats.kstest(both, stats.triang(0.5, loc=0, scale=2).cdf).pvalue > 1e-3  # two draws per cell
    lognormal = per_cell_values("exp(0) * lognormal(0, 0.25)", 4000, np.random.default_rng(4), "z")
    assert stats.kstest(lognormal, stats.lognorm(0.25).cdf).pvalue > 1e-3


def test_constants_and_plain_arithmetic_give_one_value_for_every_cell():
    values = per_cell_values("base * 2 + sqrt(16)", 5, np.random.default_rng(0), "L", {"base": 3.0})
    np.testing.assert_array_equal(values, np.full(5, 10.0))


def test_seeds_give_the_same_values_and_populations_their_own():
    a = per_cell_values("uniform(0, 1)", 10, population_rng(7, "E"), "v")
    np.testing.assert_array_equal(a, per_cell_values("uniform(0, 1)", 10, population_rng(7, "E"), "v"))
    assert not np.allclose(a, per_cell_values("uniform(0, 1)", 10, population_rng(7, "I"), "v"))
    assert not np.allclose(a, per_cell_values("uniform(0, 1)", 10, population_rng(8, "E"), "v"))


@pytest.mark.parametrize("text, message", [
    ("__import__('os').getcwd()", "is not allowed"),
    ("19 + foo", "unknown name 'foo'"),
    ("uniform(1, L)", "unknown name 'L'"),
    ("uniform(uniform(0, 1), 2)", "the arguments of uniform must be constants"),
    ("normal(1, -1)", "the standard deviation must be positive"),
    ("log(uniform(-1, 0))", "not a finite number"),
    ("19 +", "is not an expression"),
])
def test_bad_expressions_are_refused_naming_the_value(text, message):
    with pytest.raises(RuleError) as caught:
        per_cell_values(text, 3, np.random.default_rng(0), "cell 'pyr' soma length")
    assert message in str(caught.value) and str(caught.value).startswith("cell 'pyr' soma length")


def test_builder_cell_variants_write_one_cell_per_draw_that_runs():
    net = nmlhub.NetworkBuilder("variants", size=(100, 100, 100), seed=3, temperature="6.3 degC")
    sections = {"soma": {"length": "19 + uniform(-1, 1)", "diam": 18.8, "ra": 123.0,
                         "mechanisms": {"hh": {"gnabar": "normal(0.12, 0.01)"}}}}
    ids = net.cell_variants("pyr", sections, 40)
    assert ids == [f"pyr_{k}" for k in range(40)]
    cells = [c for c in net.components if getattr(c, "id", "") in ids]
    lengths = []
    for cell in cells:
        seg = cell.morphology.segments[0]
        lengths.append(math.dist((float(seg.proximal.x), float(seg.proximal.y), float(seg.proximal.z)),
                                 (float(seg.distal.x), float(seg.distal.y), float(seg.distal.z))))
    assert stats.kstest(lengths, stats.uniform(18, 2).cdf).pvalue > 1e-3
    channels = [c.id for c in net.components if c.id not in ids]
    assert len(channels) == len(set(channels)) == 3  # hh's na, k and leak, shared by the variants
    again = nmlhub.NetworkBuilder("variants", size=(100, 100, 100), seed=3).cell_variants("pyr", sections, 40)
    assert again == ids
    net.add(__import__("neuroml").PulseGenerator(id="step", delay="2ms", duration="20ms", amplitude="0.3nA"))
    for k, cell in enumerate(ids[:3]):
        net.population(f"E_{k}", cell=cell, count=1)
        net.stimulate("step", targets=f"E_{k}", id=f"step_{k}")
    results = nmlhub.simulate(net, duration_ms=25.0, dt_ms=0.025)
    assert all(len(results.spikes[(f"E_{k}", 0)]) >= 1 for k in range(3))
    with pytest.raises(RuleError, match="section 'soma' length: '19 \\+ bar': unknown name 'bar'"):
        net.cell_variants("bad", {"soma": {"length": "19 + bar"}}, 2)


def test_builder_cell_points_per_cell_expressions_to_cell_variants():
    net = nmlhub.NetworkBuilder("plain")
    with pytest.raises(RuleError, match="cell 'pyr' section 'soma': a per-cell expression .*cell_variants"):
        net.cell("pyr", {"soma": {"length": 19.0, "mechanisms": {"hh": {"gnabar": "uniform(0.1, 0.2)"}}}})
