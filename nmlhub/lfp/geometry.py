"""The geometry of NEURON segments as straight line pieces, from their sections' 3D points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SegmentGeometry:
    """Straight pieces, one per NEURON segment (``nseg`` per section).

    Attributes
    ----------
    starts_um, ends_um
        ``(m, 3)`` end points (um), the section's 3D path at ``x = i / nseg`` and ``(i + 1) / nseg``.
    diameters_um
        ``(m,)`` NEURON's diameter of each segment (um).
    cells
        ``(m,)`` index into ``cell_keys`` of the cell each segment belongs to.
    cell_keys
        ``(population, index)`` of each cell, in the order segments were added.
    segments
        The NEURON segments themselves (``section(x)``), in the same order.
    """

    starts_um: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    ends_um: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    diameters_um: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cell_keys: list[tuple[str, int]] = field(default_factory=list)
    segments: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.segments)


def section_pieces(section: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(nseg, 3)`` start and end points (um) of a section's segments, linear interpolation of
    its 3D points by arc length (a segment across a bend becomes the chord between its ends)."""
    n3d = int(section.n3d())
    points = np.array([[section.x3d(i), section.y3d(i), section.z3d(i)] for i in range(n3d)])
    arc = np.array([section.arc3d(i) for i in range(n3d)])
    fractions = arc / arc[-1] if n3d > 1 and arc[-1] > 0 else np.linspace(0.0, 1.0, max(n3d, 1))
    edges = np.linspace(0.0, 1.0, int(section.nseg) + 1)
    path = np.column_stack([np.interp(edges, fractions, points[:, k]) for k in range(3)])
    return path[:-1], path[1:]


def network_geometry(cells: dict[tuple[str, int], Any]) -> SegmentGeometry:
    """The segments of every morphological cell in ``cells`` (``(population, index)`` ->
    :class:`nmlhub.neuron.network.PointCell`, in the instance's order). Point cells, which have
    no morphology, are left out: they have no extent and so no extracellular field."""
    starts, ends, diameters, owners, keys, segments = [], [], [], [], [], []
    for key, cell in cells.items():
        if cell.built is None:
            continue
        for section in cell.built.sections:
            if int(section.n3d()) < 2:
                continue  # no 3D path (nmlhub gives every section one)
            first, last = section_pieces(section)
            starts.append(first)
            ends.append(last)
            for seg in section:
                diameters.append(seg.diam)
                segments.append(seg)
            owners += [len(keys)] * int(section.nseg)
        keys.append(key)
    if not segments:
        return SegmentGeometry(cell_keys=keys)
    return SegmentGeometry(np.concatenate(starts), np.concatenate(ends), np.asarray(diameters, dtype=float),
                           np.asarray(owners, dtype=np.int64), keys, segments)
