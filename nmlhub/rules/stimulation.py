"""Stimulation rules: an input component (current clamp, Poisson or regular spike source, spike
array, ...) given to the selected cells, expanded into NeuroML ``inputList``s.

An input lands on a given segment and fraction, at ``loc`` of the way along a segment group, or
spread over segment groups by length (seeded); a rule may name its target cells by index, and
shift its input's start by ``delay`` (a copy of the source component starting later:
:mod:`nmlhub.rules.delayed_inputs`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import counter_rng as crng
from .delayed_inputs import delayed_id
from .layout import CellTable
from .pairs import pair_environment
from .placement import at_loc, drawn, place, segment_table
from .selection import CellSelector
from ..errors import UnitError
from ..units import UnitRegistry
from .values import POSITION_NAMES, RuleError, Value, parse_value
from .distinct import distinct, intersect

_POST_ONLY = frozenset(n for n in POSITION_NAMES if n.startswith("post_"))


@dataclass(frozen=True)
class _Spread:
    """Inputs spread over the segments by length (the placement :func:`place` reads)."""

    spread: str = "uniform"


_BY_LENGTH = _Spread()


@dataclass
class StimulationRule:
    """Give ``source`` (a component id) to each selected cell with probability ``probability``,
    with a weight (a constant, distribution or expression of ``post_x``.. ``post_znorm``) and on
    segment ``segment`` at ``fraction`` along it.

    ``cells`` keeps only the cells of those indices within their populations; with
    ``segment_groups`` the input goes ``loc`` of the way along a group (one drawn per cell when
    there are several) or, without ``loc``, on a segment drawn with probability proportional to
    its length at a uniform fraction; ``delay`` (ms, >= 0) starts the input that much later.
    """

    id: str
    source: str
    targets: CellSelector
    probability: float = 1.0
    weight: Value = field(default_factory=lambda: Value(constant=1.0))
    segment: int = 0
    fraction: float = 0.5
    delay: float = 0.0
    cells: tuple[int, ...] | None = None
    segment_groups: tuple[str, ...] = ()
    loc: float | None = None

    def __post_init__(self) -> None:
        what = f"stimulation '{self.id}'"
        if not 0.0 <= float(self.probability) <= 1.0:
            raise RuleError(f"{what}: probability {self.probability} is not in [0, 1]")
        self.weight = parse_value(self.weight, _POST_ONLY, f"{what} weight")
        self.delay = _delay_ms(self.delay, what)
        if not np.isfinite(self.delay) or self.delay < 0:
            raise RuleError(f"{what}: delay {self.delay:g} ms is not a finite number >= 0")
        if self.cells is not None:
            self.cells = tuple(int(c) for c in np.ravel(self.cells))
            if any(c < 0 for c in self.cells):
                raise RuleError(f"{what}: a cell index is negative")
        if isinstance(self.segment_groups, str):
            self.segment_groups = (self.segment_groups,)
        self.segment_groups = tuple(self.segment_groups or ())
        for name, value in (("fraction", self.fraction), ("loc", self.loc)):
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise RuleError(f"{what}: {name} {value} is not in [0, 1]")
        if self.loc is not None and not self.segment_groups:
            raise RuleError(f"{what}: loc is a fraction along segment groups: give segment_groups too")

    @property
    def component(self) -> str:
        """The input component the expansion uses: the source, or its delayed copy."""
        return self.source if self.delay == 0 else delayed_id(self.source, self.id)


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
                       owned: np.ndarray | None = None, morphologies: dict[str, Any] | None = None
                       ) -> list[ExpandedInputs]:
    """Expand a stimulation rule (for the ``owned`` gids only, when given); ``morphologies`` by
    cell component place inputs on segment groups (inputs onto other cells go to segment 0)."""
    gids = rule.targets.select(cells)
    if rule.cells is not None:
        gids = gids[np.isin(cells.index[gids], rule.cells)]
    if owned is not None:
        gids = intersect(gids, owned)
    if rule.probability < 1.0:
        gids = gids[crng.uniforms(crng.key(seed, rule.id, "target"), gids) < rule.probability]
    env = pair_environment(cells, gids, gids, rule.weight.names())
    u = crng.uniforms(crng.key(seed, rule.id, "weight"), gids) if rule.weight.is_random else None
    weight = rule.weight.evaluate(env, len(gids), u)
    out = []
    for k in distinct(cells.population_index[gids]):
        rows = np.flatnonzero(cells.population_index[gids] == k)
        population = cells.populations[k]
        segment, fraction = _locations(rule, cells, seed, gids[rows], (morphologies or {}).get(cells.component[k]))
        out.append(ExpandedInputs(f"{rule.id}_{population}", rule.id, rule.component, population,
                                  cells.index[gids[rows]].astype(np.int32), segment, fraction, weight[rows]))
    return out


def _locations(rule: StimulationRule, cells: CellTable, seed: int, gids: np.ndarray,
               morphology: Any) -> tuple[np.ndarray, np.ndarray]:
    """Segments and fractions of the inputs onto ``gids`` (cells of one component)."""
    n = len(gids)
    if not rule.segment_groups or morphology is None or n == 0:
        return np.full(n, rule.segment, np.int32), np.full(n, rule.fraction, np.float32)
    key = crng.key(seed, rule.id, "place")
    u_segment = crng.uniforms(key, gids, 0)
    if rule.loc is not None:
        locations = [(group, rule.loc) for group in rule.segment_groups]
        return at_loc(morphology, locations, drawn(u_segment, len(locations)))
    segment, fraction = place(segment_table(morphology, rule.segment_groups), _BY_LENGTH, cells.position[gids, 1],
                              1.0, u_segment, crng.uniforms(key, gids, 1))
    return segment.astype(np.int32), fraction


def _delay_ms(delay: float | str, what: str) -> float:
    """A stimulation's delay in ms: a number (ms) or a time quantity such as ``'1 ms'``."""
    if isinstance(delay, str):
        try:
            return float(delay)
        except ValueError:
            pass
        try:
            return UnitRegistry.core().parse_as(delay, "time").to("ms")
        except UnitError as error:
            raise RuleError(f"{what}: delay {error.message}") from None
    try:
        return float(delay)
    except (TypeError, ValueError):
        raise RuleError(f"{what}: delay {delay!r} is not a number of ms or a time such as '1 ms'") from None
