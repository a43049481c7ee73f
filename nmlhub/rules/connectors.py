"""One class per kind of connectivity rule (as PyNN's connectors), registered by kind.

An instance is what a user gives :meth:`~nmlhub.rules.builder.NetworkBuilder.connect`
(``Probability(0.1)``, ``Convergence(20)``...); the class says what a
:class:`~nmlhub.rules.connectivity.ConnectivityRule` of its kind needs and how the rule chooses its
(pre, post) pairs. A new kind of rule is one more class here, added to :data:`CONNECTORS`: the
builder, the annotations and batch parameter paths (``EI.probability``) find it there.

Every random choice a rule makes for a post-synaptic cell comes from a stream keyed by (network
seed, rule id, purpose) and that cell's gid — for a divergence rule, the pre-synaptic cell's gid —
so expanding only the cells one MPI rank owns gives exactly that part of the full expansion.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import numpy as np

from . import counter_rng as crng
from .budget import ConnectionBudget
from .layout import CellTable
from .pairs import pair_environment
from .values import POSITION_NAMES, RuleError, Value, ValueSpec

_POST_ONLY = frozenset(n for n in POSITION_NAMES if n.startswith("post_"))
_PRE_ONLY = frozenset(n for n in POSITION_NAMES if n.startswith("pre_"))
_CHUNK_PAIRS = 2_000_000

Pairs = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


@dataclass(frozen=True)
class Candidates:
    """The cells a rule connects, as gids: the selected pre cells, the selected post cells this
    expansion makes connections onto (a rank's, or all of them: ``partial`` tells), and every
    selected post cell."""

    cells: CellTable
    seed: int
    pre: np.ndarray
    post: np.ndarray
    all_post: np.ndarray
    partial: bool

    def key(self, rule_id: str, purpose: str) -> int:
        """The key of the rule's random stream for ``purpose``."""
        return crng.key(self.seed, rule_id, purpose)


class Connector:
    """A kind of connectivity rule.

    Subclasses set ``kind`` (the rule's kind in annotations) and, when the rule has a parameter,
    ``parameter_name`` (its name in messages and in batch parameter paths such as
    ``EI.probability``) and ``parameter_variables`` (the names its expressions may use).
    """

    kind: ClassVar[str] = ""
    parameter_name: ClassVar[str | None] = None
    parameter_variables: ClassVar[frozenset[str]] = frozenset()

    def rule_fields(self) -> dict[str, Any]:
        """The :class:`~nmlhub.rules.connectivity.ConnectivityRule` fields this rule sets."""
        return {"kind": self.kind}

    @classmethod
    def prepare(cls, rule: Any) -> None:
        """Check (and normalise) the fields a rule of this kind uses, its parameter parsed.

        Raises
        ------
        RuleError
            The rule lacks what its kind needs.
        """
        if cls.parameter_name is not None and rule.parameter is None:
            raise RuleError(f"rule '{rule.id}': a {cls.kind} rule needs its {cls.parameter_name}")

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        """The rule's connections onto ``candidates.post`` as (pre gids, post gids, rows of the
        rule's list when it has one); the budget is charged before they are allocated."""
        raise NotImplementedError


@dataclass(frozen=True)
class AllToAll(Connector):
    """Every pre cell to every post cell."""

    kind: ClassVar[str] = "all_to_all"

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        pre_gids, post_gids = candidates.pre, candidates.post
        budget.charge(rule.id, len(pre_gids) * len(post_gids))
        pre, post = np.tile(pre_gids, len(post_gids)), np.repeat(post_gids, len(pre_gids))
        if not rule.autapses:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return pre, post, None


@dataclass(frozen=True)
class Probability(Connector):
    """Each pair connects with this probability (a constant or an expression of positions);
    ``max_distance`` (um) limits the candidates (required to stay O(connections) with a
    distance-dependent probability)."""

    p: ValueSpec
    max_distance: float | None = None

    kind: ClassVar[str] = "probability"
    parameter_name: ClassVar[str | None] = "probability"
    parameter_variables: ClassVar[frozenset[str]] = POSITION_NAMES

    def rule_fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "parameter": self.p, "max_distance": self.max_distance}

    @classmethod
    def prepare(cls, rule: Any) -> None:
        """A probability outside [0, 1] is a mistake in the rule, refused rather than clipped."""
        super().prepare(rule)
        value = rule.parameter
        if value.constant is not None and not 0.0 <= value.constant <= 1.0:
            raise RuleError(f"rule '{rule.id}': probability {value.constant:g} is not in [0, 1]")
        dist = value.distribution
        if dist is not None and (dist.kind == "uniform" and (dist.a < 0 or dist.b > 1)
                                 or dist.kind != "uniform" and (dist.low < 0 or dist.high > 1)):
            raise RuleError(f"rule '{rule.id}': probability {dist.to_text()} can fall outside [0, 1] "
                            "(bound it with low=0, high=1)")

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        p = rule.parameter
        if p.constant is not None:
            _check_probabilities(rule, np.asarray([p.constant]))
        if p.constant is not None and rule.max_distance is None:
            return _binomial_pairs(rule, candidates, budget)
        return _tested_pairs(rule, candidates, budget)


@dataclass(frozen=True)
class Convergence(Connector):
    """Each post-synaptic cell gets exactly this many inputs."""

    n: ValueSpec

    kind: ClassVar[str] = "convergence"
    parameter_name: ClassVar[str | None] = "convergence"
    parameter_variables: ClassVar[frozenset[str]] = _POST_ONLY

    def rule_fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "parameter": self.n}

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        c = candidates
        counts = _counts(rule.parameter, c.cells, c.post, c.key(rule.id, "count"), f"rule '{rule.id}'")
        budget.charge(rule.id, int(np.sum(counts)))
        excluded = _self_positions(c.pre, c.post, rule.autapses)
        post, pre = _sample(rule, c.key(rule.id, "pick"), c.post, counts, c.pre, excluded)
        return pre, post, None


@dataclass(frozen=True)
class Divergence(Connector):
    """Each pre-synaptic cell makes exactly this many outputs."""

    n: ValueSpec

    kind: ClassVar[str] = "divergence"
    parameter_name: ClassVar[str | None] = "divergence"
    parameter_variables: ClassVar[frozenset[str]] = _PRE_ONLY

    def rule_fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "parameter": self.n}

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        c = candidates
        counts = _counts(rule.parameter, c.cells, c.pre, c.key(rule.id, "count"), f"rule '{rule.id}'")
        budget.charge(rule.id, int(np.sum(counts)))
        excluded = _self_positions(c.all_post, c.pre, rule.autapses)
        pre, post = _sample(rule, c.key(rule.id, "pick"), c.pre, counts, c.all_post, excluded)
        if c.partial:
            keep = np.isin(post, c.post)
            pre, post = pre[keep], post[keep]
        return pre, post, None


@dataclass(frozen=True)
class OneToOne(Connector):
    """The i-th pre cell to the i-th post cell."""

    kind: ClassVar[str] = "one_to_one"

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        c = candidates
        if len(c.pre) != len(c.all_post):
            raise RuleError(f"rule '{rule.id}': one_to_one needs as many pre cells ({len(c.pre)}) "
                            f"as post cells ({len(c.all_post)})")
        keep = np.isin(c.all_post, c.post)
        return c.pre[keep], c.all_post[keep], None


@dataclass(frozen=True)
class FromList(Connector):
    """Explicit pairs (indices into the selected pre and post cells, in gid order), optional
    weights/delays per pair."""

    pairs: Any
    weights: Any = None
    delays: Any = None

    kind: ClassVar[str] = "from_list"

    def rule_fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "pairs": self.pairs,
                "list_weights": None if self.weights is None else np.asarray(self.weights, float),
                "list_delays": None if self.delays is None else np.asarray(self.delays, float)}

    @classmethod
    def prepare(cls, rule: Any) -> None:
        if rule.pairs is None:
            raise RuleError(f"rule '{rule.id}': a from_list rule needs its pairs")
        rule.pairs = np.asarray(rule.pairs, dtype=np.int64).reshape(-1, 2)

    @classmethod
    def choose(cls, rule: Any, candidates: Candidates, budget: ConnectionBudget) -> Pairs:
        c, pairs = candidates, rule.pairs
        if len(pairs) and (pairs[:, 0].max() >= len(c.pre) or pairs[:, 1].max() >= len(c.all_post)
                           or pairs.min() < 0):
            raise RuleError(f"rule '{rule.id}': a pair indexes a cell outside the selected "
                            f"{len(c.pre)} pre / {len(c.all_post)} post cells")
        pre, post = c.pre[pairs[:, 0]], c.all_post[pairs[:, 1]]
        listed = np.flatnonzero(np.isin(post, c.post))
        return pre[listed], post[listed], listed


#: Every kind of connectivity rule, by its name in annotations.
CONNECTORS: Mapping[str, type[Connector]] = MappingProxyType({
    c.kind: c for c in (AllToAll, Probability, Convergence, Divergence, OneToOne, FromList)})
KINDS = tuple(CONNECTORS)


def connector_class(kind: str, rule_id: str) -> type[Connector]:
    """The class of the rule kind ``kind``.

    Raises
    ------
    RuleError
        No kind of rule has that name.
    """
    found = CONNECTORS.get(kind)
    if found is None:
        raise RuleError(f"rule '{rule_id}': kind '{kind}' is not one of {', '.join(KINDS)}")
    return found


def parameter_names() -> frozenset[str]:
    """The names rules' parameters go by (``probability``, ``convergence``, ...)."""
    return frozenset(c.parameter_name for c in CONNECTORS.values() if c.parameter_name)


# -- choosing pairs --------------------------------------------------------------------------------

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


def _sample(rule: Any, stream: int, owners: np.ndarray, counts: np.ndarray,
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


def _candidate_pairs(rule: Any, cells: CellTable, pre_gids: np.ndarray, post_gids: np.ndarray):
    """Chunks of (pre, post) gid pairs to test: every pair, or those within ``max_distance``."""
    if rule.max_distance is None:
        step = max(1, _CHUNK_PAIRS // max(1, len(pre_gids)))
        for start in range(0, len(post_gids), step):
            posts = post_gids[start:start + step]
            yield np.tile(pre_gids, len(posts)), np.repeat(posts, len(pre_gids)), {}
        return
    if len(pre_gids) == 0 or len(post_gids) == 0:
        return
    from scipy.spatial import cKDTree  # here: scipy.spatial holds 40 MB that only distance cutoffs need

    pre_tree = cKDTree(cells.position[pre_gids])
    step = 2048
    for start in range(0, len(post_gids), step):
        posts = post_gids[start:start + step]
        near = cKDTree(cells.position[posts]).sparse_distance_matrix(
            pre_tree, rule.max_distance, output_type="coo_matrix")
        yield pre_gids[near.col], posts[near.row], {"dist_3D": near.data}


def _check_probabilities(rule: Any, prob: np.ndarray) -> None:
    """Probabilities an expression gives, each in [0, 1] and finite, or the rule is refused."""
    bad = ~(np.isfinite(prob) & (prob >= 0) & (prob <= 1))
    if np.any(bad):
        value = float(prob[np.flatnonzero(bad)[0]])
        if rule.parameter.constant is not None:
            raise RuleError(f"rule '{rule.id}': probability {value:g} is not in [0, 1]")
        raise RuleError(f"rule '{rule.id}': probability '{rule.parameter.to_text()}' gives {value:g}, "
                        "outside [0, 1]")


def _binomial_pairs(rule: Any, c: Candidates, budget: ConnectionBudget) -> Pairs:
    """A constant probability without a distance cutoff: a binomial number of inputs per post
    cell, sampled without replacement (O(connections))."""
    excluded = _self_positions(c.pre, c.post, rule.autapses)
    n_valid = len(c.pre) - (excluded >= 0)
    counts = crng.binomial(c.key(rule.id, "count"), c.post, n_valid, rule.parameter.constant)
    budget.charge(rule.id, int(np.sum(counts)))
    post, pre = _sample(rule, c.key(rule.id, "pick"), c.post, counts, c.pre, excluded)
    return pre, post, None


def _tested_pairs(rule: Any, c: Candidates, budget: ConnectionBudget) -> Pairs:
    """A probability per pair: every candidate pair (within ``max_distance``) tested."""
    p = rule.parameter
    pres, posts = [], []
    accept = c.key(rule.id, "accept")
    every_pair = len(c.pre) * len(c.post)
    tested = made = 0
    for pre, post, known in _candidate_pairs(rule, c.cells, c.pre, c.post):
        tested += len(pre)
        if not rule.autapses:
            keep = pre != post
            pre, post = pre[keep], post[keep]
            known = {name: values[keep] for name, values in known.items()}
        env = {**pair_environment(c.cells, pre, post, p.names() - set(known)), **known}
        prob = p.evaluate(env, len(pre), crng.uniforms(c.key(rule.id, "p"), post, pre) if p.is_random else None)
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
            np.concatenate(posts) if posts else np.zeros(0, np.int64), None)
