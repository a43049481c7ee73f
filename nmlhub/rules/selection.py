"""Which cells a rule applies to: populations, cell types and ranges of position."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layout import CellTable
from .values import RuleError

_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class CellSelector:
    """Cells in any of ``populations`` (all when empty), of any of ``cell_types`` (all when empty),
    with each position inside its range (``x``, ``y``, ``z`` in um; ``xnorm``, ``ynorm``,
    ``znorm`` normalised; bounds included)."""

    populations: tuple[str, ...] = ()
    cell_types: tuple[str, ...] = ()
    ranges: tuple[tuple[str, float, float], ...] = field(default_factory=tuple)
    properties: tuple[tuple[str, str], ...] = ()

    @classmethod
    def make(cls, populations: str | list[str] | None = None, cell_types: str | list[str] | None = None,
             properties: dict[str, str] | None = None, **ranges: tuple[float, float]) -> "CellSelector":
        """A selector from keyword arguments, e.g. ``CellSelector.make("E", ynorm=(0.1, 0.4))`` or
        ``CellSelector.make(properties={"layer": "L5"})`` (population properties)."""
        pops = (populations,) if isinstance(populations, str) else tuple(populations or ())
        types = (cell_types,) if isinstance(cell_types, str) else tuple(cell_types or ())
        checked = []
        for axis, bounds in ranges.items():
            name = axis.removesuffix("_range")
            if name.removesuffix("norm") not in _AXES:
                raise RuleError(f"unknown cell condition '{axis}' (x, y, z, xnorm, ynorm, znorm)")
            lo, hi = bounds
            checked.append((name, float(lo), float(hi)))
        props = tuple(sorted((str(k), str(v)) for k, v in (properties or {}).items()))
        return cls(pops, types, tuple(sorted(checked)), props)

    def select(self, cells: CellTable) -> np.ndarray:
        """Gids of the selected cells, ascending."""
        keep = np.ones(len(cells), dtype=bool)
        if self.populations:
            unknown = set(self.populations) - set(cells.populations)
            if unknown:
                raise RuleError(f"no population named {', '.join(sorted(unknown))}")
            wanted = [cells.populations.index(p) for p in self.populations]
            keep &= np.isin(cells.population_index, wanted)
        if self.cell_types:
            wanted = [k for k, comp in enumerate(cells.component) if comp in self.cell_types]
            keep &= np.isin(cells.population_index, wanted)
        if self.properties:
            wanted = [k for k, props in enumerate(cells.properties)
                      if all(props.get(name) == value for name, value in self.properties)]
            keep &= np.isin(cells.population_index, wanted)
        if self.ranges:
            norm = cells.normalised()
            for name, lo, hi in self.ranges:
                column = norm[:, _AXES[name[0]]] if name.endswith("norm") else cells.position[:, _AXES[name]]
                keep &= (column >= lo) & (column <= hi)
        return np.flatnonzero(keep)

    def describe(self) -> dict[str, str]:
        """Attributes for the rule's annotation."""
        out = {}
        if self.populations:
            out["populations"] = " ".join(self.populations)
        if self.cell_types:
            out["cellTypes"] = " ".join(self.cell_types)
        for name, lo, hi in self.ranges:
            out[f"{name}Range"] = f"{lo!r} {hi!r}"
        if self.properties:
            out["properties"] = " ".join(f"{k}={v}" for k, v in self.properties)
        return out

    @classmethod
    def from_attributes(cls, attrs: dict[str, str]) -> "CellSelector":
        ranges = {}
        for key, value in attrs.items():
            if key.endswith("Range"):
                lo, hi = (float(v) for v in value.split())
                ranges[key[: -len("Range")]] = (lo, hi)
        properties = dict(item.split("=", 1) for item in attrs.get("properties", "").split())
        return cls.make(attrs.get("populations", "").split() or None,
                        attrs.get("cellTypes", "").split() or None, properties or None, **ranges)
