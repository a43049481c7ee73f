"""Stimulation rules: an input component (current clamp, Poisson or regular spike source, spike
array, ...) given to the selected cells, expanded into NeuroML ``inputList``s."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import counter_rng as crng
from .layout import CellTable
from .pairs import pair_environment
from .selection import CellSelector
from .values import POSITION_NAMES, RuleError, Value, parse_value

_POST_ONLY = frozenset(n for n in POSITION_NAMES if n.startswith("post_"))


@dataclass
class StimulationRule:
    """Give ``source`` (a component id) to each selected cell with probability ``probability``,
    with a weight (a constant, distribution or expression of ``post_x``.. ``post_znorm``) and on
    segment ``segment`` at ``fraction`` along it."""

    id: str
    source: str
    targets: CellSelector
    probability: float = 1.0
    weight: Value = field(default_factory=lambda: Value(constant=1.0))
    segment: int = 0
    fraction: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.probability) <= 1.0:
            raise RuleError(f"stimulation '{self.id}': probability {self.probability} is not in [0, 1]")
        self.weight = parse_value(self.weight, _POST_ONLY, f"stimulation '{self.id}' weight")


@dataclass
class ExpandedInputs:
    """The inputs one stimulation rule gives one population, as columns."""

    id: str
    rule: str
    source: str
    population: str
    cell: np.ndarray
    segment: np.ndarray
    fraction: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.cell.shape[0])


def expand_stimulation(rule: StimulationRule, cells: CellTable, seed: int,
                       owned: np.ndarray | None = None) -> list[ExpandedInputs]:
    """Expand a stimulation rule (for the ``owned`` gids only, when given)."""
    gids = rule.targets.select(cells)
    if owned is not None:
        gids = np.intersect1d(gids, owned)
    if rule.probability < 1.0:
        gids = gids[crng.uniforms(crng.key(seed, rule.id, "target"), gids) < rule.probability]
    env = pair_environment(cells, gids, gids, rule.weight.names())
    u = crng.uniforms(crng.key(seed, rule.id, "weight"), gids) if rule.weight.is_random else None
    weight = rule.weight.evaluate(env, len(gids), u)
    out = []
    for k in np.unique(cells.population_index[gids]):
        rows = np.flatnonzero(cells.population_index[gids] == k)
        population = cells.populations[k]
        out.append(ExpandedInputs(f"{rule.id}_{population}", rule.id, rule.source, population,
                                  cells.index[gids[rows]].astype(np.int32),
                                  np.full(len(rows), rule.segment, np.int32),
                                  np.full(len(rows), rule.fraction, np.float32), weight[rows]))
    return out
