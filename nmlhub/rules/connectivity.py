"""Connectivity rules and their expansion into columnar projections.

A rule's kind (:mod:`nmlhub.rules.connectors`, one class per kind) chooses its (pre, post)
pairs; weights and delays are then drawn per connection from streams keyed by (network seed, rule
id) and the pair, so expanding only the cells one MPI rank owns gives exactly that part of the
full expansion. Work is O(connections) where the rule allows: binomial counts and sampling without
replacement for a constant probability, a k-d tree (scipy's cKDTree) for a distance cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import counter_rng as crng
from .budget import ConnectionBudget, connection_limit
from .connectors import KINDS, Candidates, connector_class
from .layout import CellTable
from .pairs import pair_environment, repeat_index
from .selection import CellSelector
from .values import POSITION_NAMES, RuleError, Value, parse_value
from .distinct import intersect

__all__ = ["KINDS", "ConnectivityRule", "ExpandedProjection", "Placement", "expand_rule", "pair_environment",
           "repeat_index"]


@dataclass
class Placement:
    """Where on the post-synaptic cell a rule's synapses land: the segment groups allowed, and
    how they are spread (``uniform`` by length, a ``profile`` of density against normalised
    depth ``ynorm`` or path distance ``path``, as (position, relative density) points, or a
    ``map2d``: density ``grid_values[i][j]`` at x ``grid_x[i]`` um from the soma and depth
    ``grid_y[j]`` um, the depth of a point being the cell's y position plus its height above
    the soma, or ``fixed_soma_y`` plus that height when given, as NetPyNE's 2Dmap).

    ``loc`` puts every synapse at that fraction of the way along a segment group (with several
    groups, one drawn at random per connection, as NetPyNE picks a section from a list);
    ``syns_per_conn`` makes each connection ``n`` synapses spread evenly along the groups end to
    end, each with the connection's weight and delay (as NetPyNE's ``synsPerConn``). A list of
    ``loc`` values pairs with the groups (one pair drawn per connection) or, with
    ``syns_per_conn`` of its length, places the synapses (synapse i at ``loc[i]`` along group i,
    or along the only group), as NetPyNE's lists of ``loc``.
    """

    segment_groups: tuple[str, ...] = ("all",)
    spread: str = "uniform"
    profile_variable: str | None = None
    profile: tuple[tuple[float, float], ...] = ()
    loc: float | tuple[float, ...] | None = None
    syns_per_conn: int = 1
    grid_x: tuple[float, ...] = ()
    grid_y: tuple[float, ...] = ()
    grid_values: tuple[tuple[float, ...], ...] = ()
    fixed_soma_y: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.segment_groups, str):
            self.segment_groups = (self.segment_groups,)
        self.segment_groups = tuple(self.segment_groups)
        if int(self.syns_per_conn) != self.syns_per_conn or self.syns_per_conn < 1:
            raise RuleError(f"placement: syns_per_conn {self.syns_per_conn} is not a whole number >= 1")
        self.syns_per_conn = int(self.syns_per_conn)
        if self.loc is not None:
            self._check_loc()
        self.grid_x = tuple(float(v) for v in self.grid_x)
        self.grid_y = tuple(float(v) for v in self.grid_y)
        self.grid_values = tuple(tuple(float(v) for v in row) for row in self.grid_values)
        if self.spread == "map2d" and not (self.grid_x and self.grid_y and self.grid_values):
            raise RuleError("placement: a map2d spread needs grid_x, grid_y and grid_values")

    def _check_loc(self) -> None:
        locs = tuple(float(v) for v in np.ravel(self.loc))
        if any(not 0.0 <= v <= 1.0 for v in locs) or not locs:
            raise RuleError(f"placement: loc {self.loc} is not in [0, 1]")
        self.loc = locs[0] if len(locs) == 1 else locs
        n, groups = self.syns_per_conn, len(self.segment_groups)
        if n > 1 and (not isinstance(self.loc, tuple) or len(locs) != n or groups not in (1, n)):
            raise RuleError(f"placement: syns_per_conn {n} with loc takes a list of {n} loc values and one "
                            f"segment group or {n} (loc {self.loc}, {groups} groups)")
        if n == 1 and isinstance(self.loc, tuple) and len(locs) != groups:
            raise RuleError(f"placement: {len(locs)} loc values for {groups} segment groups (one each)")

    def locations(self) -> tuple[tuple[str, float], ...]:
        """The (group, loc) pairs a placement with ``loc`` chooses among (or places, one each)."""
        groups = self.segment_groups
        if not isinstance(self.loc, tuple):
            return tuple((g, float(self.loc)) for g in groups)
        return tuple((groups[k] if len(groups) > 1 else groups[0], v) for k, v in enumerate(self.loc))


@dataclass
class ConnectivityRule:
    """A connectivity rule between selected pre- and post-synaptic cells.

    ``kind`` is one of :data:`KINDS` (:mod:`nmlhub.rules.connectors`); ``parameter`` is the probability (``probability``), the
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
        connector = connector_class(self.kind, self.id)
        if isinstance(self.synapses, str):
            self.synapses = (self.synapses,)
        if not self.synapses:
            raise RuleError(f"rule '{self.id}': no synapse")
        if self.parameter is not None:
            self.parameter = parse_value(self.parameter, connector.parameter_variables,
                                         f"rule '{self.id}' {self.kind}")
        connector.prepare(self)
        self.weight = parse_value(self.weight, POSITION_NAMES, f"rule '{self.id}' weight")
        self.delay = parse_value(self.delay, POSITION_NAMES, f"rule '{self.id}' delay")


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
    all_post_gids = rule.post.select(cells)
    post_gids = all_post_gids if owned_posts is None else intersect(all_post_gids, owned_posts)
    candidates = Candidates(cells, seed, rule.pre.select(cells), post_gids, all_post_gids, owned_posts is not None)
    pre, post, listed = connector_class(rule.kind, rule.id).choose(rule, candidates, budget)
    order = np.argsort(post.astype(np.int64) * max(1, len(cells)) + pre, kind="stable")
    pre, post = pre[order].astype(np.int64), post[order].astype(np.int64)
    weight, delay = _weights_delays(rule, cells, seed, pre, post)
    if listed is not None:
        listed = listed[order]
        if rule.list_weights is not None:
            weight = np.asarray(rule.list_weights, dtype=float)[listed]
        if rule.list_delays is not None:
            delay = np.asarray(rule.list_delays, dtype=float)[listed]
    _check_values(rule, "weight", weight, minimum=None)
    _check_values(rule, "delay", delay, minimum=0.0)
    return _split(rule, cells, pre, post, weight, delay)


def _weights_delays(rule: ConnectivityRule, cells: CellTable, seed: int, pre: np.ndarray,
                    post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each connection's weight and delay, drawn per connection (pair and repeat) when random."""
    repeat = repeat_index(pre, post)
    env = pair_environment(cells, pre, post, rule.weight.names() | rule.delay.names())
    weight = rule.weight.evaluate(env, len(pre), crng.uniforms(crng.key(seed, rule.id, "weight"), post, pre, repeat)
                                  if rule.weight.is_random else None)
    delay = rule.delay.evaluate(env, len(pre), crng.uniforms(crng.key(seed, rule.id, "delay"), post, pre, repeat)
                                if rule.delay.is_random else None)
    return weight, delay


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
