"""A network's rules and their expansion into cells, connections and inputs (all columnar)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import counter_rng as crng
from .budget import ConnectionBudget, connection_limit
from .connectivity import ConnectivityRule, ExpandedProjection, expand_rule
from .pairs import repeat_index
from .layout import CellTable, PopulationRule, expand_populations
from .placement import at_loc, drawn, evenly_spread, place, segment_table
from .stimulation import ExpandedInputs, StimulationRule, expand_stimulation
from .values import RuleError


@dataclass
class NetworkRules:
    """Everything that defines a network by rules: its size (um), seed, and the rules in order."""

    network_id: str
    size: tuple[float, float, float] = (1000.0, 1000.0, 1000.0)
    seed: int = 1
    populations: list[PopulationRule] = field(default_factory=list)
    connections: list[ConnectivityRule] = field(default_factory=list)
    stimulations: list[StimulationRule] = field(default_factory=list)
    #: The file holds the expansion too (explicit populations, projections and inputs), so
    #: the driver uses those and does not expand again.
    expanded_in_file: bool = False

    def check(self) -> None:
        """Ids must be unique within each kind of rule and populations must be known."""
        for kind, rules in (("population", self.populations), ("connectivity rule", self.connections),
                            ("stimulation", self.stimulations)):
            ids = [r.id for r in rules]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise RuleError(f"network '{self.network_id}': {kind} id(s) {', '.join(duplicates)} "
                                "used twice")


@dataclass
class ExpandedNetwork:
    """A network's cells, projections and inputs after expansion."""

    rules: NetworkRules
    cells: CellTable
    projections: list[ExpandedProjection]
    inputs: list[ExpandedInputs]
    owned: np.ndarray | None = None

    @property
    def connection_count(self) -> int:
        return sum(len(p) for p in self.projections)

    @property
    def nbytes(self) -> int:
        """Memory held by the connection columns."""
        return sum(p.nbytes for p in self.projections)


def expand(rules: NetworkRules, morphologies: dict[str, Any] | None = None,
           owned: np.ndarray | None = None, max_connections: int | None = None) -> ExpandedNetwork:
    """Expand every rule; only for the post-synaptic cells (gids) in ``owned`` when given.

    Parameters
    ----------
    morphologies
        Morphology (libNeuroML) of each cell component that has one; synapses onto other cells
        go to segment 0.
    max_connections
        The most connections the rules may make together (see
        :func:`nmlhub.rules.budget.connection_limit`: by default what the available memory holds).

    Raises
    ------
    RuleError
        A rule cannot be expanded, or the rules would make more than ``max_connections``
        connections (the message names the rule and its estimate).
    """
    rules.check()
    cells = expand_populations(rules.populations, rules.size, rules.seed)
    budget = ConnectionBudget(connection_limit(max_connections))
    projections = []
    for rule in rules.connections:
        expanded = expand_rule(rule, cells, rules.seed, owned, budget)
        if rule.placement is not None:
            for projection in expanded:
                budget.charge(rule.id, len(projection) * (rule.placement.syns_per_conn - 1))  # its synapses
                _place(rule, projection, cells, rules, morphologies or {})
        projections.extend(expanded)
    inputs = []
    for stimulation in rules.stimulations:
        inputs.extend(expand_stimulation(stimulation, cells, rules.seed, owned, morphologies))
    return ExpandedNetwork(rules, cells, projections, inputs, owned)


def _place(rule: ConnectivityRule, projection: ExpandedProjection, cells: CellTable,
           rules: NetworkRules, morphologies: dict[str, Any]) -> None:
    placement = rule.placement
    if placement.syns_per_conn > 1:
        _repeat_rows(projection, placement.syns_per_conn)
    component = cells.component[cells.populations.index(projection.post_population)]
    morphology = morphologies.get(component)
    if morphology is None or len(projection) == 0:
        return  # a point cell: the synapse goes on its only segment
    if placement.syns_per_conn > 1:
        segments, fractions = evenly_spread(segment_table(morphology, placement.segment_groups),
                                            placement.syns_per_conn) if placement.loc is None \
            else at_loc(morphology, placement.locations(), np.arange(placement.syns_per_conn))
        copies = len(projection) // placement.syns_per_conn
        projection.post_segment = np.tile(segments, copies).astype(np.int32)
        projection.post_fraction = np.tile(fractions, copies).astype(np.float32)
        return
    post_gids = cells.gids_of(projection.post_population)[projection.post_cell]
    pre_gids = cells.gids_of(projection.pre_population)[projection.pre_cell]
    repeat = repeat_index(pre_gids, post_gids)
    key = crng.key(rules.seed, rule.id, "place", projection.synapse)
    u_segment = crng.uniforms(key, post_gids, pre_gids, repeat, 0)
    if placement.loc is not None:
        locations = placement.locations()
        segments, fractions = at_loc(morphology, locations, drawn(u_segment, len(locations)))
    else:
        u_fraction = crng.uniforms(key, post_gids, pre_gids, repeat, 1)
        segments, fractions = place(segment_table(morphology, placement.segment_groups), placement,
                                    cells.position[post_gids, 1], rules.size[1], u_segment, u_fraction)
    projection.post_segment = segments.astype(np.int32)
    projection.post_fraction = fractions


def _repeat_rows(projection: ExpandedProjection, n: int) -> None:
    """Each connection made ``n`` times in a row (its synapses), same weight and delay."""
    for name in ("pre_cell", "post_cell", "weight", "delay", "post_segment", "post_fraction"):
        setattr(projection, name, np.repeat(getattr(projection, name), n))
