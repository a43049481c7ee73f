"""Populations from rules: how many cells, and where (box, cylinder or ellipsoid regions, ranges in
absolute or normalised coordinates, density by depth, grids, explicit positions).

Every cell gets a global id (gid): populations in order, cells in order within each. Positions
are drawn from a generator seeded by (network seed, population id), so every rank computes the
same cells.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .values import DENSITY_NAMES, RuleError, Value, parse_value

SHAPES = ("box", "cylinder", "ellipsoid")
#: Points sampled to integrate a density expression over a region (fixed, so counts are exact
#: functions of the rule).
_DENSITY_QUADRATURE = 40


def stream_key(*parts: object) -> int:
    """A 64-bit key from names and numbers (stable across runs and machines, unlike hash())."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def generator(*parts: object) -> np.random.Generator:
    """A random generator for one stream (e.g. network seed, rule id, cell gid)."""
    return np.random.Generator(np.random.Philox(key=stream_key(*parts)))


@dataclass
class PopulationRule:
    """A population: a cell component, a number of cells (``count``) or a density, and a region.

    ``density`` is cells per mm3, a constant or an expression of ``x``, ``y``, ``z`` (um) and
    ``xnorm``, ``ynorm``, ``znorm`` (0..1 across the network). Ranges limit the region, in um
    (``x_range``) or normalised (``xnorm_range``); ``shape`` is the region's shape inside them.
    ``grid_spacing`` (um) places cells on a grid instead; ``positions`` gives them explicitly.
    ``properties`` (e.g. ``{"layer": "L5"}``) are written as NeuroML population properties and
    can select cells in rules.
    """

    id: str
    cell: str
    count: int | None = None
    density: Value | None = None
    shape: str = "box"
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    grid_spacing: float | None = None
    positions: np.ndarray | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.properties = {str(k): str(v) for k, v in (self.properties or {}).items()}
        given = [self.count is not None, self.density is not None, self.grid_spacing is not None,
                 self.positions is not None]
        if sum(given) != 1:
            raise RuleError(f"population '{self.id}': give exactly one of count, density, "
                            "grid_spacing or positions")
        if self.shape not in SHAPES:
            raise RuleError(f"population '{self.id}': shape '{self.shape}' is not one of {SHAPES}")
        if self.density is not None and not isinstance(self.density, Value):
            self.density = parse_value(self.density, DENSITY_NAMES, f"population '{self.id}' density")
        if self.positions is not None:
            self.positions = np.asarray(self.positions, dtype=float).reshape(-1, 3)
        for axis, (lo, hi) in self.ranges.items():
            if axis not in ("x", "y", "z", "xnorm", "ynorm", "znorm") or not lo <= hi:
                raise RuleError(f"population '{self.id}': bad range {axis}={lo, hi}")

    def use_cell(self, cell: str) -> PopulationRule:
        """Use another cell component (e.g. a point cell instead of a detailed one); cell
        positions and every connection stay the same. Returns the rule."""
        if not cell:
            raise RuleError(f"population '{self.id}': use_cell needs a cell id")
        self.cell = cell
        return self


@dataclass
class CellTable:
    """Every cell of an expanded network, columnar: ``gid`` is the row."""

    populations: list[str]
    component: list[str]
    population_index: np.ndarray  # population of each cell (index into ``populations``)
    index: np.ndarray             # index of the cell within its population
    position: np.ndarray          # (n, 3) um
    size: tuple[float, float, float]
    properties: list[dict[str, str]] = field(default_factory=list)  # per population

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def gids_of(self, population: str) -> np.ndarray:
        """Gids of a population's cells, in order."""
        return np.flatnonzero(self.population_index == self.populations.index(population))

    def normalised(self) -> np.ndarray:
        """Positions divided by the network's size (0..1 inside it)."""
        size = np.where(np.asarray(self.size) > 0, self.size, 1.0)
        return self.position / size


def _region(rule: PopulationRule, size: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    low = np.zeros(3)
    high = np.asarray(size, dtype=float)
    for k, axis in enumerate("xyz"):
        if axis in rule.ranges:
            low[k], high[k] = rule.ranges[axis]
        if f"{axis}norm" in rule.ranges:
            lo, hi = rule.ranges[f"{axis}norm"]
            low[k], high[k] = lo * size[k], hi * size[k]
    return low, high


def _inside(points: np.ndarray, low: np.ndarray, high: np.ndarray, shape: str) -> np.ndarray:
    centre, half = (low + high) / 2, np.where(high > low, (high - low) / 2, 1.0)
    rel = (points - centre) / half
    if shape == "box":
        return np.ones(len(points), dtype=bool)
    if shape == "cylinder":  # axis along y (depth), as cortical columns are drawn
        return rel[:, 0] ** 2 + rel[:, 2] ** 2 <= 1.0
    return (rel ** 2).sum(axis=1) <= 1.0


def _shape_volume_fraction(shape: str) -> float:
    return {"box": 1.0, "cylinder": np.pi / 4, "ellipsoid": np.pi / 6}[shape]


def _density_env(points: np.ndarray, size: tuple[float, float, float]) -> dict[str, np.ndarray]:
    norm = points / np.where(np.asarray(size) > 0, size, 1.0)
    return {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2],
            "xnorm": norm[:, 0], "ynorm": norm[:, 1], "znorm": norm[:, 2]}


def _uniform_points(rng: np.random.Generator, n: int, low: np.ndarray, high: np.ndarray, shape: str) -> np.ndarray:
    found = np.empty((0, 3))
    while len(found) < n:
        batch = low + rng.random((max(2 * (n - len(found)), 16), 3)) * (high - low)
        found = np.vstack([found, batch[_inside(batch, low, high, shape)]])
    return found[:n]


def place(rule: PopulationRule, size: tuple[float, float, float], seed: int) -> np.ndarray:
    """Positions (n, 3) in um of a population's cells."""
    if rule.positions is not None:
        return rule.positions.copy()
    low, high = _region(rule, size)
    rng = generator(seed, "population", rule.id)
    if rule.grid_spacing is not None:
        axes = [np.arange(lo + rule.grid_spacing / 2, hi, rule.grid_spacing) if hi > lo else np.array([lo])
                for lo, hi in zip(low, high)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        return grid[_inside(grid, low, high, rule.shape)]
    if rule.count is not None:
        return _uniform_points(rng, int(rule.count), low, high, rule.shape)
    # density: the expected count is the integral over the region (midpoint rule on a fixed grid),
    # then cells are placed by rejection against the density's maximum.
    q = _DENSITY_QUADRATURE
    axes = [lo + (np.arange(q) + 0.5) / q * (hi - lo) for lo, hi in zip(low, high)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    grid = grid[_inside(grid, low, high, rule.shape)]
    density = rule.density.evaluate(_density_env(grid, size), len(grid))
    if np.any(density < 0) or not np.all(np.isfinite(density)):
        raise RuleError(f"population '{rule.id}': density must be finite and not negative in its region")
    extent = np.where(high > low, high - low, 0.0)
    volume_mm3 = float(np.prod(extent)) * 1e-9 * _shape_volume_fraction(rule.shape)
    expected = float(density.mean()) * volume_mm3 if len(grid) else 0.0
    n = int(round(expected))
    peak = float(density.max()) if len(density) else 0.0
    found = np.empty((0, 3))
    while len(found) < n:
        batch = _uniform_points(rng, 2 * (n - len(found)) + 16, low, high, rule.shape)
        values = rule.density.evaluate(_density_env(batch, size), len(batch))
        keep = rng.random(len(batch)) * peak < values
        found = np.vstack([found, batch[keep]])
    return found[:n]


def expand_populations(rules: list[PopulationRule], size: tuple[float, float, float], seed: int) -> CellTable:
    """The cell table of a list of population rules."""
    positions, pop_index, index = [], [], []
    for k, rule in enumerate(rules):
        pos = place(rule, size, seed)
        positions.append(pos)
        pop_index.append(np.full(len(pos), k, dtype=np.int32))
        index.append(np.arange(len(pos), dtype=np.int64))
    return CellTable(
        [r.id for r in rules], [r.cell for r in rules],
        np.concatenate(pop_index) if pop_index else np.zeros(0, np.int32),
        np.concatenate(index) if index else np.zeros(0, np.int64),
        np.vstack(positions) if positions else np.zeros((0, 3)),
        tuple(float(s) for s in size), [dict(r.properties) for r in rules])
