"""Morphologies placed at their cells' network positions, as line segments in 3D, and values per
segment to colour them by (synapse counts, a recorded quantity at a time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..model.cells import cell_morphology
from ..model.paths import CellPath, parse_path
from .errors import AnalysisError
from .network import NetworkCells


@dataclass(frozen=True)
class SegmentGeometry:
    """The segments of one morphology: ids, end points (um, relative to the cell) and diameters."""

    ids: np.ndarray
    proximal: np.ndarray   # (n, 3)
    distal: np.ndarray     # (n, 3)
    diameter: np.ndarray   # (n,) mean of the two ends


def segment_geometry(morphology: Any) -> SegmentGeometry:
    """End points of every segment of a libNeuroML morphology. A segment without a ``proximal``
    point starts on its parent at ``fractionAlong`` (default 1, the parent's distal end)."""
    segments = list(morphology.segments)
    by_id = {int(s.id): s for s in segments}
    distal = {sid: np.array([s.distal.x, s.distal.y, s.distal.z], float) for sid, s in by_id.items()}
    proximal: dict[int, np.ndarray] = {}

    def start(sid: int, seen: tuple[int, ...] = ()) -> np.ndarray:
        if sid in proximal:
            return proximal[sid]
        seg = by_id[sid]
        if seg.proximal is not None:
            point = np.array([seg.proximal.x, seg.proximal.y, seg.proximal.z], float)
        elif seg.parent is not None and int(seg.parent.segments) in by_id and sid not in seen:
            parent = int(seg.parent.segments)
            fraction = float(getattr(seg.parent, "fraction_along", 1.0) or 1.0)
            p0 = start(parent, seen + (sid,))
            point = p0 + fraction * (distal[parent] - p0)
        else:
            point = distal[sid]
        proximal[sid] = point
        return point

    ids = np.array(sorted(by_id), dtype=np.int64)
    prox = np.array([start(int(i)) for i in ids]).reshape(-1, 3)
    dist = np.array([distal[int(i)] for i in ids]).reshape(-1, 3)

    def diam(point: Any) -> float:
        return float(point.diameter) if point is not None else np.nan

    d = np.array([np.nanmean([diam(by_id[int(i)].proximal), diam(by_id[int(i)].distal)]) for i in ids])
    return SegmentGeometry(ids, prox, dist, d)


@dataclass(frozen=True)
class NetworkShapes:
    """Every segment of every morphological cell of a network at its position, and the cells
    without a morphology as points.

    Attributes
    ----------
    start, end
        ``(n_segments, 3)`` end points (um) in network coordinates.
    diameter
        Diameter of each segment (um).
    cell
        Row (of :class:`~nmlhub.analysis.network.NetworkCells`) of each segment's cell.
    segment
        Segment id of each segment.
    point_cells
        Rows of cells without a morphology; they are drawn at ``point_positions``.
    point_positions
        ``(len(point_cells), 3)``.
    """

    start: np.ndarray
    end: np.ndarray
    diameter: np.ndarray
    cell: np.ndarray
    segment: np.ndarray
    point_cells: np.ndarray
    point_positions: np.ndarray

    def __len__(self) -> int:
        return int(self.cell.shape[0])


def network_shapes(model: Any, cells: NetworkCells) -> NetworkShapes:
    """The morphologies of a network's cells translated to their positions (cells without a
    position sit at the origin)."""
    geometry: dict[str, SegmentGeometry | None] = {}
    for component in set(cells.components):
        record = model.components.get(component)
        morph = cell_morphology(record.obj, model.components) if record is not None else None
        geometry[component] = segment_geometry(morph) if morph is not None and len(morph.segments) else None
    starts, ends, diams, owner, seg_ids, points = [], [], [], [], [], []
    position = np.nan_to_num(cells.position, nan=0.0)
    for k, component in enumerate(cells.components):
        rows = np.flatnonzero(cells.cell_population == k)
        geo = geometry[component]
        if geo is None:
            points.append(rows)
            continue
        offsets = position[rows][:, None, :]
        starts.append((geo.proximal[None] + offsets).reshape(-1, 3))
        ends.append((geo.distal[None] + offsets).reshape(-1, 3))
        diams.append(np.tile(geo.diameter, rows.size))
        owner.append(np.repeat(rows, geo.ids.size))
        seg_ids.append(np.tile(geo.ids, rows.size))
    cat = lambda parts, shape: np.concatenate(parts) if parts else np.zeros(shape)  # noqa: E731
    point_rows = cat(points, 0).astype(np.int64)
    return NetworkShapes(cat(starts, (0, 3)), cat(ends, (0, 3)), cat(diams, 0), cat(owner, 0).astype(np.int64),
                         cat(seg_ids, 0).astype(np.int64), point_rows, position[point_rows])


def values_per_segment(shapes: NetworkShapes, per_cell: Mapping[int, np.ndarray], *,
                       fill: float = 0.0) -> np.ndarray:
    """One value per drawn segment from ``cell row -> values indexed by segment id``; ``fill`` for
    a segment id beyond a cell's array (0 suits counts, NaN recordings), NaN for cells absent
    from ``per_cell``."""
    out = np.full(len(shapes), np.nan)
    for row, values in per_cell.items():
        mine = np.flatnonzero(shapes.cell == row)
        seg = shapes.segment[mine]
        values = np.asarray(values, float)
        inside = seg < values.size
        picked = values[np.minimum(seg, values.size - 1)] if values.size else np.full(seg.size, fill)
        out[mine] = np.where(inside, picked, fill)
    return out


def _segment_path(path: str) -> CellPath | None:
    """``pop/id/cell[/segment]/quantity`` or ``pop[id][/segment]/quantity``, else None."""
    parsed = parse_path(path)
    if parsed is None or parsed.relative or parsed.index < 0 or (not parsed.bracketed and parsed.component is None):
        return None
    if len(parsed.rest) == 1 or parsed.segment is not None:
        return parsed
    return None


def recorded_per_segment(cells: NetworkCells, traces: Mapping[str, np.ndarray], time_ms: np.ndarray,
                         at_ms: float, quantity: str = "v") -> dict[int, np.ndarray]:
    """Values of ``quantity`` recorded per segment (``pop/id/cell/segment/v``; ``pop/id/cell/v`` is
    segment 0) at the sample nearest ``at_ms``, as ``cell row -> values by segment id`` (NaN on
    segments without a recording)."""
    time_ms = np.asarray(time_ms, float)
    if time_ms.size == 0:
        raise AnalysisError("these results have no samples")
    k = int(np.argmin(np.abs(time_ms - at_ms)))
    found: dict[int, dict[int, float]] = {}
    for path, values in traces.items():
        parsed = _segment_path(path)
        if parsed is None or parsed.quantity != quantity or parsed.population not in cells.populations:
            continue
        row = int(cells.rows(parsed.population, np.array([parsed.index]))[0])
        if row < 0:
            continue
        found.setdefault(row, {})[parsed.segment or 0] = float(np.asarray(values)[k])
    if not found:
        raise AnalysisError(f"no per-segment recording of '{quantity}' in these results")
    out = {}
    for row, by_seg in found.items():
        array = np.full(max(by_seg) + 1, np.nan)
        array[list(by_seg)] = list(by_seg.values())
        out[row] = array
    return out
