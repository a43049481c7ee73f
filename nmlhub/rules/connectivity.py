"""Connectivity rules and their expansion into columnar projections.

Every random choice a rule makes for a post-synaptic cell comes from a generator seeded by
(network seed, rule id, that cell's gid) — for a divergence rule, by the pre-synaptic cell's gid —
so expanding only the cells one MPI rank owns gives exactly that part of the full expansion.
Work is O(connections) where the rule allows: binomial counts and sampling without replacement for
a constant probability, a k-d tree (scipy's cKDTree) for a distance cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from . import counter_rng as crng
from .budget import ConnectionBudget, connection_limit
from .layout import CellTable
from .selection import CellSelector
from .values import POSITION_NAMES, RuleError, Value, parse_value

KINDS = ("all_to_all", "probability", "convergence", "divergence", "one_to_one", "from_list")
_POST_ONLY = frozenset(n for n in POSITION_NAMES if n.startswith("post_"))
_PRE_ONLY = frozenset(n for n in POSITION_NAMES if n.startswith("pre_"))


@dataclass
class Placement:
    """Where on the post-synaptic cell a rule's synapses land: the segment groups allowed, and
    how they are spread (``uniform`` by length, or a ``profile`` of density against normalised
    depth ``ynorm`` or path distance ``path``, as (position, relative density) points)."""

    segment_groups: tuple[str, ...] = ("all",)
    spread: str = "uniform"
    profile_variable: str | None = None
    profile: tuple[tuple[float, float], ...] = ()


@dataclass
class ConnectivityRule:
    """A connectivity rule between selected pre- and post-synaptic cells.

    ``kind`` is one of :data:`KINDS`; ``parameter`` is the probability (``probability``), the
    number of inputs per post cell (``convergence``) or of outputs per pre cell (``divergence``).
    ``weight`` and ``delay`` (ms) are constants, distributions or expressions. ``pairs`` (for
    ``from_list``) index the selected pre and post cells, in gid order; ``list_weights`` etc. give
    per-pair values. ``max_distance`` (um) limits candidates (required to stay O(connections) with
    a distance-dependent probability).
    """

    id: str
    pre: CellSelector
    post: CellSelector
    synapses: tuple[str, ...]
    kind: str = "probability"
    parameter: Value | None = None
    weight: Value = field(default_factory=lambda: Value(constant=1.0))
    delay: Value = field(default_factory=lambda: Value(constant=0.0))
    autapses: bool = False
    multapses: bool = False
    max_distance: float | None = None
    pairs: np.ndarray | None = None
    list_weights: np.ndarray | None = None
    list_delays: np.ndarray | None = None
    placement: Placement | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RuleError(f"rule '{self.id}': kind '{self.kind}' is not one of {', '.join(KINDS)}")
        if isinstance(self.synapses, str):
            self.synapses = (self.synapses,)
        if not self.synapses:
            raise RuleError(f"rule '{self.id}': no synapse")
        needs_parameter = self.kind in ("probability", "convergence", "divergence")
        if needs_parameter and self.parameter is None:
            raise RuleError(f"rule '{self.id}': a {self.kind} rule needs its {self.kind}")
        if self.parameter is not None:
            allowed = {"probability": POSITION_NAMES, "convergence": _POST_ONLY,
                       "divergence": _PRE_ONLY}.get(self.kind, frozenset())
            self.parameter = parse_value(self.parameter, frozenset(allowed), f"rule '{self.id}' {self.kind}")
            if self.kind == "probability":
                _check_probability(self.id, self.parameter)
        self.weight = parse_value(self.weight, POSITION_NAMES, f"rule '{self.id}' weight")
        self.delay = parse_value(self.delay, POSITION_NAMES, f"rule '{self.id}' delay")
        if self.kind == "from_list":
            if self.pairs is None:
                raise RuleError(f"rule '{self.id}': a from_list rule needs its pairs")
            self.pairs = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)


def _check_probability(rule_id: str, value: Value) -> None:
    """A probability outside [0, 1] is a mistake in the rule, refused rather than clipped."""
    if value.constant is not None and not 0.0 <= value.constant <= 1.0:
        raise RuleError(f"rule '{rule_id}': probability {value.constant:g} is not in [0, 1]")
    dist = value.distribution
    if dist is not None and (dist.kind == "uniform" and (dist.a < 0 or dist.b > 1)
                             or dist.kind != "uniform" and (dist.low < 0 or dist.high > 1)):
        raise RuleError(f"rule '{rule_id}': probability {dist.to_text()} can fall outside [0, 1] "
                        "(bound it with low=0, high=1)")


@dataclass
class ExpandedProjection:
    """The connections one rule makes between two populations with one synapse, as columns.

    ``pre_cell``/``post_cell`` index cells within their populations; ``post_segment`` and
    ``post_fraction`` locate the synapse on the post-synaptic cell.
    """

    id: str
    rule: str
    synapse: str
    pre_population: str
    post_population: str
    pre_cell: np.ndarray
    post_cell: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    post_segment: np.ndarray
    post_fraction: np.ndarray

    def __len__(self) -> int:
        return int(self.pre_cell.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.pre_cell, self.post_cell, self.weight, self.delay,
                                      self.post_segment, self.post_fraction))


def repeat_index(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """For rows sorted by pair: 0 for a pair's first connection, 1 for its second (a multapse),
    ...; so random values can be drawn per connection, not per pair."""
    if len(pre) == 0:
        return np.zeros(0, np.int64)
    same = np.zeros(len(pre), bool)
    same[1:] = (pre[1:] == pre[:-1]) & (post[1:] == post[:-1])
    starts = np.maximum.accumulate(np.where(~same, np.arange(len(pre)), 0))
    return np.arange(len(pre)) - starts


def pair_environment(cells: CellTable, pre: np.ndarray, post: np.ndarray,
                     names: set[str] | frozenset[str] = POSITION_NAMES) -> dict[str, np.ndarray]:
    """The values of ``names`` (see :data:`POSITION_NAMES`) for pairs of gids."""
    env: dict[str, np.ndarray] = {}
    axes = {"x": 0, "y": 1, "z": 2}
    size = np.where(np.asarray(cells.size) > 0, cells.size, 1.0)

    def coord(gids: np.ndarray, axis: str, normalised: bool) -> np.ndarray:
        values = cells.position[gids, axes[axis]]
        return values / size[axes[axis]] if normalised else values

    def diff(axis: str, normalised: bool) -> np.ndarray:
        return np.abs(coord(pre, axis, normalised) - coord(post, axis, normalised))

    for name in names:
        side, _, rest = name.partition("_")
        if side in ("pre", "post"):
            env[name] = coord(pre if side == "pre" else post, rest[0], rest.endswith("norm"))
        elif rest in ("x", "y", "z", "xnorm", "ynorm", "znorm"):
            env[name] = diff(rest[0], rest.endswith("norm"))
        else:
            normalised = "norm" in rest
            axes_used = "xyz" if rest.endswith("3D") else "xz"
            env[name] = np.sqrt(sum(diff(a, normalised) ** 2 for a in axes_used))
    return env


_CHUNK_PAIRS = 2_000_000


def _self_positions(pre_gids: np.ndarray, owners: np.ndarray, autapses: bool) -> np.ndarray:
    """Where each owner sits in ``pre_gids`` (-1 when absent or when autapses are allowed)."""
    if autapses or len(pre_gids) == 0:
        return np.full(len(owners), -1, np.int64)
    where = np.clip(np.searchsorted(pre_gids, owners), 0, len(pre_gids) - 1)
    return np.where(pre_gids[where] == owners, where, -1).astype(np.int64)


def _counts(value: Value, cells: CellTable, owners: np.ndarray, stream: int, what: str) -> np.ndarray:
    env = pair_environment(cells, owners, owners, value.names())
    u = crng.uniforms(stream, owners, 0) if value.is_random else None
    counts = value.evaluate(env, len(owners), u)
    if np.any(~np.isfinite(counts)) or np.any(counts < 0):
        raise RuleError(f"{what}: a number of connections that is not a number or negative")
    return np.rint(counts).astype(np.int64)


def _sample(rule: ConnectivityRule, stream: int, owners: np.ndarray, counts: np.ndarray,
            candidates: np.ndarray, excluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    available = len(candidates) - (excluded >= 0)
    if rule.multapses:
        if np.any((counts > 0) & (available == 0)):
            raise RuleError(f"rule '{rule.id}': connections asked where there is no candidate")
        rows, idx = crng.sample_with_replacement(stream, owners, counts, len(candidates), excluded)
    else:
        too_many = counts > available
        if np.any(too_many):
            k = int(np.flatnonzero(too_many)[0])
            raise RuleError(f"rule '{rule.id}': {counts[k]} connections asked of {available[k]} candidates "
                            "(allow multapses or ask for fewer)")
        rows, idx = crng.sample_distinct(stream, owners, counts, len(candidates), excluded)
    return owners[rows], candidates[idx]


def _candidate_pairs(rule: ConnectivityRule, cells: CellTable, pre_gids: np.ndarray, post_gids: np.ndarray):
    """Chunks of (pre, post) gid pairs to test: every pair, or those within ``max_distance``."""
    if rule.max_distance is None:
        step = max(1, _CHUNK_PAIRS // max(1, len(pre_gids)))
        for start in range(0, len(post_gids), step):
            posts = post_gids[start:start + step]
            yield np.tile(pre_gids, len(posts)), np.repeat(posts, len(pre_gids)), {}
        return
    if len(pre_gids) == 0 or len(post_gids) == 0:
        return
    pre_tree = cKDTree(cells.position[pre_gids])
    step = 2048
    for start in range(0, len(post_gids), step):
        posts = post_gids[start:start + step]
        near = cKDTree(cells.position[posts]).sparse_distance_matrix(
            pre_tree, rule.max_distance, output_type="coo_matrix")
        yield pre_gids[near.col], posts[near.row], {"dist_3D": near.data}


def _check_probabilities(rule: ConnectivityRule, prob: np.ndarray) -> None:
    """Probabilities an expression gives, each in [0, 1] and finite, or the rule is refused."""
    bad = ~(np.isfinite(prob) & (prob >= 0) & (prob <= 1))
    if np.any(bad):
        value = float(prob[np.flatnonzero(bad)[0]])
        if rule.parameter.constant is not None:
            raise RuleError(f"rule '{rule.id}': probability {value:g} is not in [0, 1]")
        raise RuleError(f"rule '{rule.id}': probability '{rule.parameter.to_text()}' gives {value:g}, "
                        "outside [0, 1]")


def _pairs_probability(rule, cells, pre_gids, post_gids, seed, budget):
    p = rule.parameter
    if p.constant is not None:
        _check_probabilities(rule, np.asarray([p.constant]))
    if p.constant is not None and rule.max_distance is None:
        excluded = _self_positions(pre_gids, post_gids, rule.autapses)
        n_valid = len(pre_gids) - (excluded >= 0)
        counts = crng.binomial(crng.key(seed, rule.id, "count"), post_gids, n_valid, p.constant)
        budget.charge(rule.id, int(np.sum(counts)))
        post, pre = _sample(rule, crng.key(seed, rule.id, "pick"), post_gids, counts, pre_gids, excluded)
        return pre, post
    pres, posts = [], []
    accept = crng.key(seed, rule.id, "accept")
    every_pair = len(pre_gids) * len(post_gids)
    tested = made = 0
    for pre, post, known in _candidate_pairs(rule, cells, pre_gids, post_gids):
        tested += len(pre)
        if not rule.autapses:
            keep = pre != post
            pre, post = pre[keep], post[keep]
            known = {name: values[keep] for name, values in known.items()}
        env = {**pair_environment(cells, pre, post, p.names() - set(known)), **known}
        prob = p.evaluate(env, len(pre), crng.uniforms(crng.key(seed, rule.id, "p"), post, pre) if p.is_random else None)
        _check_probabilities(rule, prob)
        keep = crng.uniforms(accept, post, pre) < prob
        made += int(np.count_nonzero(keep))
        # without a distance cutoff, the count so far scaled to every pair of cells; refused early
        # when that is well beyond the limit, so as not to spend the time testing every pair
        estimate = made * every_pair // tested if rule.max_distance is None else made
        if not budget.allows(made) or not budget.allows(estimate // 2):
            budget.refuse(rule.id, max(made, estimate), "about " if rule.max_distance is None else "at least ")
        pres.append(pre[keep])
        posts.append(post[keep])
    budget.charge(rule.id, made)
    return (np.concatenate(pres) if pres else np.zeros(0, np.int64),
            np.concatenate(posts) if posts else np.zeros(0, np.int64))


def expand_rule(rule: ConnectivityRule, cells: CellTable, seed: int,
                owned_posts: np.ndarray | None = None,
                budget: ConnectionBudget | None = None) -> list[ExpandedProjection]:
    """Expand one rule into projections (one per pre population, post population and synapse).

    Parameters
    ----------
    owned_posts
        Gids of the post-synaptic cells to expand for (a rank's cells); all when ``None``.
    budget
        Connections allowed (the limit from available memory when ``None``); the rule's count is
        estimated and charged before its connections are allocated.

    Raises
    ------
    RuleError
        The rule cannot be expanded: a probability outside [0, 1], a count that is negative or
        larger than the candidates, a weight or delay that is not finite, a negative delay, or
        more connections than the budget allows.
    """
    if budget is None:
        budget = ConnectionBudget(connection_limit())
    pre_gids = rule.pre.select(cells)
    all_post_gids = rule.post.select(cells)
    post_gids = all_post_gids if owned_posts is None else np.intersect1d(all_post_gids, owned_posts)
    listed = None
    if rule.kind == "probability":
        pre, post = _pairs_probability(rule, cells, pre_gids, post_gids, seed, budget)
    elif rule.kind == "convergence":
        counts = _counts(rule.parameter, cells, post_gids, crng.key(seed, rule.id, "count"), f"rule '{rule.id}'")
        budget.charge(rule.id, int(np.sum(counts)))
        excluded = _self_positions(pre_gids, post_gids, rule.autapses)
        post, pre = _sample(rule, crng.key(seed, rule.id, "pick"), post_gids, counts, pre_gids, excluded)
    elif rule.kind == "divergence":
        counts = _counts(rule.parameter, cells, pre_gids, crng.key(seed, rule.id, "count"), f"rule '{rule.id}'")
        budget.charge(rule.id, int(np.sum(counts)))
        excluded = _self_positions(all_post_gids, pre_gids, rule.autapses)
        pre, post = _sample(rule, crng.key(seed, rule.id, "pick"), pre_gids, counts, all_post_gids, excluded)
        if owned_posts is not None:
            keep = np.isin(post, post_gids)
            pre, post = pre[keep], post[keep]
    elif rule.kind == "all_to_all":
        budget.charge(rule.id, len(pre_gids) * len(post_gids))
        pre, post = np.tile(pre_gids, len(post_gids)), np.repeat(post_gids, len(pre_gids))
        if not rule.autapses:
            keep = pre != post
            pre, post = pre[keep], post[keep]
    elif rule.kind == "one_to_one":
        if len(pre_gids) != len(all_post_gids):
            raise RuleError(f"rule '{rule.id}': one_to_one needs as many pre cells ({len(pre_gids)}) "
                            f"as post cells ({len(all_post_gids)})")
        keep = np.isin(all_post_gids, post_gids)
        pre, post = pre_gids[keep], all_post_gids[keep]
    else:
        pairs = rule.pairs
        if len(pairs) and (pairs[:, 0].max() >= len(pre_gids) or pairs[:, 1].max() >= len(all_post_gids)
                           or pairs.min() < 0):
            raise RuleError(f"rule '{rule.id}': a pair indexes a cell outside the selected "
                            f"{len(pre_gids)} pre / {len(all_post_gids)} post cells")
        pre, post = pre_gids[pairs[:, 0]], all_post_gids[pairs[:, 1]]
        listed = np.flatnonzero(np.isin(post, post_gids))
        pre, post = pre[listed], post[listed]
    order = np.argsort(post.astype(np.int64) * max(1, len(cells)) + pre, kind="stable")
    pre, post = pre[order].astype(np.int64), post[order].astype(np.int64)
    if listed is not None:
        listed = listed[order]
    repeat = repeat_index(pre, post)
    env = pair_environment(cells, pre, post, rule.weight.names() | rule.delay.names())
    weight = rule.weight.evaluate(env, len(pre), crng.uniforms(crng.key(seed, rule.id, "weight"), post, pre, repeat)
                                  if rule.weight.is_random else None)
    delay = rule.delay.evaluate(env, len(pre), crng.uniforms(crng.key(seed, rule.id, "delay"), post, pre, repeat)
                                if rule.delay.is_random else None)
    if listed is not None:
        if rule.list_weights is not None:
            weight = np.asarray(rule.list_weights, dtype=float)[listed]
        if rule.list_delays is not None:
            delay = np.asarray(rule.list_delays, dtype=float)[listed]
    _check_values(rule, "weight", weight, minimum=None)
    _check_values(rule, "delay", delay, minimum=0.0)
    return _split(rule, cells, pre, post, weight, delay)


def _check_values(rule: ConnectivityRule, what: str, values: np.ndarray, minimum: float | None) -> None:
    bad = ~np.isfinite(values)
    if minimum is not None:
        bad |= values < minimum
    if np.any(bad):
        value = float(values[np.flatnonzero(bad)[0]])
        need = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
        raise RuleError(f"rule '{rule.id}': {what} {value:g} is not {need}")


def _split(rule: ConnectivityRule, cells: CellTable, pre: np.ndarray, post: np.ndarray,
           weight: np.ndarray, delay: np.ndarray) -> list[ExpandedProjection]:
    out = []
    pre_pop, post_pop = cells.population_index[pre], cells.population_index[post]
    combos = sorted(set(zip(pre_pop.tolist(), post_pop.tolist())))
    for a, b in combos:
        rows = np.flatnonzero((pre_pop == a) & (post_pop == b))
        for synapse in rule.synapses:
            name = f"{rule.id}_{cells.populations[a]}_{cells.populations[b]}"
            if len(rule.synapses) > 1:
                name += f"_{synapse}"
            out.append(ExpandedProjection(
                name, rule.id, synapse, cells.populations[a], cells.populations[b],
                cells.index[pre[rows]].astype(np.int32), cells.index[post[rows]].astype(np.int32),
                weight[rows].astype(np.float64), delay[rows].astype(np.float64),
                np.zeros(len(rows), np.int32), np.full(len(rows), 0.5, np.float32)))
    return out
