"""Columnar (numpy) views of connections and inputs, for XML lists and HDF5 containers alike."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from .paths import parse_path


#: A cell reference that could not be read.
BAD_INDEX = -1


def parse_cell_reference(text: Any) -> tuple[str | None, int]:
    """Read a NeuroML cell reference: ``../pop/3/cell``, ``../pop[3]``, ``pop[3]`` or ``3``.

    Returns
    -------
    tuple
        ``(population or None, index)``; the index is :data:`BAD_INDEX` when unreadable.
    """
    if isinstance(text, (int, np.integer)):
        return None, int(text)
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        return None, int(text)
    parsed = parse_path(text)
    if parsed is None or parsed.rest or text.endswith("/"):  # the cell alone, nothing after it
        return None, BAD_INDEX
    return parsed.population, parsed.index


@dataclass
class ConnectionColumns:
    """Connections of one projection as numpy columns (one row per connection).

    ``pre_population_named``/``post_population_named`` hold the population written in each cell
    reference (``None`` where the reference names none, as in HDF5 columns).
    """

    pre_cell: np.ndarray
    post_cell: np.ndarray
    pre_segment: np.ndarray
    post_segment: np.ndarray
    pre_population_named: list[str | None] | None = None
    post_population_named: list[str | None] | None = None
    pre_fraction: np.ndarray | None = None
    post_fraction: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.pre_cell.shape[0])

    def select(self, mask: np.ndarray) -> "ConnectionColumns":
        """The rows where ``mask`` is true."""
        def names(values: list[str | None] | None) -> list[str | None] | None:
            return None if values is None else [v for v, m in zip(values, mask.tolist()) if m]

        def part(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[mask]

        return ConnectionColumns(self.pre_cell[mask], self.post_cell[mask], self.pre_segment[mask],
                                 self.post_segment[mask], names(self.pre_population_named),
                                 names(self.post_population_named), part(self.pre_fraction),
                                 part(self.post_fraction))

    def fractions(self) -> tuple[np.ndarray, np.ndarray]:
        """Fractions along the pre and post segments (0.5 where not given)."""
        n = len(self)
        pre = self.pre_fraction if self.pre_fraction is not None else np.full(n, 0.5)
        post = self.post_fraction if self.post_fraction is not None else np.full(n, 0.5)
        return pre, post


def _optimised_column(olist: Any, name: str, default_index: int | None, default: float) -> np.ndarray:
    array = np.asarray(olist.array)
    index = olist.indices.get(name, default_index)
    if index is None or array.ndim != 2 or index >= array.shape[1]:
        return np.full(array.shape[0] if array.ndim else 0, default, dtype=np.int64)
    return array[:, index].astype(np.int64)


def _optimised_fraction(olist: Any, name: str) -> np.ndarray | None:
    """A fraction-along column of an HDF5 list, or None where the file has none (0.5 then)."""
    array = np.asarray(olist.array)
    index = olist.indices.get(name)
    if index is None or array.ndim != 2 or index >= array.shape[1]:
        return None
    return array[:, index].astype(float)


def _is_optimised(olist: Any) -> bool:
    # asked of the class: a lazy list's ``array`` would read its table
    return hasattr(type(olist), "array") and hasattr(olist, "indices")


def _seg(value: Any) -> int:
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return BAD_INDEX


def _from_objects(objects: Iterable[Any], pre_attr: str, post_attr: str,
                  pre_seg_attr: str, post_seg_attr: str) -> ConnectionColumns:
    pre_cells, post_cells, pre_segs, post_segs, pre_pops, post_pops = [], [], [], [], [], []
    pre_fracs, post_fracs = [], []
    for obj in objects:
        pre_fracs.append(_frac(getattr(obj, "pre_fraction_along", None)))
        post_fracs.append(_frac(getattr(obj, "post_fraction_along", None)))
        pre_pop, pre = parse_cell_reference(getattr(obj, pre_attr))
        post_pop, post = parse_cell_reference(getattr(obj, post_attr))
        pre_cells.append(pre)
        post_cells.append(post)
        pre_pops.append(pre_pop)
        post_pops.append(post_pop)
        pre_segs.append(_seg(getattr(obj, pre_seg_attr, 0)))
        post_segs.append(_seg(getattr(obj, post_seg_attr, 0)))
    as_int = lambda values: np.asarray(values, dtype=np.int64)  # noqa: E731
    return ConnectionColumns(as_int(pre_cells), as_int(post_cells), as_int(pre_segs),
                             as_int(post_segs), pre_pops, post_pops,
                             np.asarray(pre_fracs, float), np.asarray(post_fracs, float))


def _frac(value: Any) -> float:
    try:
        return float(value) if value is not None else 0.5
    except (TypeError, ValueError):
        return 0.5


def _concat(parts: list[ConnectionColumns]) -> ConnectionColumns:
    def join(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, np.int64)

    def join_names(name: str) -> list[str | None]:
        out: list[str | None] = []
        for p in parts:
            values = getattr(p, name)
            out.extend(values if values is not None else [None] * len(p))
        return out

    def join_fractions(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) if getattr(p, name) is not None else np.full(len(p), 0.5)
                               for p in parts]) if parts else np.zeros(0)

    return ConnectionColumns(join("pre_cell"), join("post_cell"), join("pre_segment"),
                             join("post_segment"), join_names("pre_population_named"),
                             join_names("post_population_named"),
                             join_fractions("pre_fraction"), join_fractions("post_fraction"))


#: The attributes of a projection (any kind) that hold its connections, in column order.
CONNECTION_ATTRS = ("connections", "connection_wds", "electrical_connections",
                    "electrical_connection_instances", "electrical_connection_instance_ws",
                    "continuous_connections", "continuous_connection_instances",
                    "continuous_connection_instance_ws")


def projection_columns(projection: Any) -> ConnectionColumns:
    """All connections of a projection (chemical, electrical or continuous) as columns."""
    parts: list[ConnectionColumns] = []
    for attr in CONNECTION_ATTRS:
        items = getattr(projection, attr, None)
        if items is None or len(items) == 0:
            continue
        if _is_optimised(items):
            parts.append(ConnectionColumns(
                _optimised_column(items, "pre_cell_id", None, BAD_INDEX),
                _optimised_column(items, "post_cell_id", None, BAD_INDEX),
                _optimised_column(items, "pre_segment_id", None, 0),
                _optimised_column(items, "post_segment_id", None, 0),
                pre_fraction=_optimised_fraction(items, "pre_fraction_along"),
                post_fraction=_optimised_fraction(items, "post_fraction_along"),
            ))
        elif attr.startswith(("electrical", "continuous")):
            parts.append(_from_objects(items, "pre_cell", "post_cell", "pre_segment", "post_segment"))
        else:
            parts.append(_from_objects(items, "pre_cell_id", "post_cell_id",
                                       "pre_segment_id", "post_segment_id"))
    return _concat(parts)


def connection_count(projection: Any) -> int:
    """Number of connections of a projection of any kind, without building columns."""
    total = 0
    for attr in CONNECTION_ATTRS:
        items = getattr(projection, attr, None)
        total += len(items) if items is not None else 0
    return total


@dataclass
class InputColumns:
    """Inputs of one input list as columns."""

    target_cell: np.ndarray
    segment: np.ndarray
    population_named: list[str | None] | None = None
    fraction: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.target_cell.shape[0])


def input_columns(input_list: Any) -> InputColumns:
    """All ``input``/``inputW`` of an input list as columns."""
    targets: list[np.ndarray] = []
    segments: list[np.ndarray] = []
    fractions: list[np.ndarray] = []
    names: list[str | None] = []
    for attr in ("input", "input_ws"):
        items = getattr(input_list, attr, None)
        if items is None or len(items) == 0:
            continue
        if _is_optimised(items):
            targets.append(_optimised_column(items, "target_cell_id", None, BAD_INDEX))
            segments.append(_optimised_column(items, "segment_id", None, 0))
            fraction = _optimised_fraction(items, "fraction_along")
            fractions.append(fraction if fraction is not None else np.full(len(items), 0.5))
            names.extend([None] * len(items))
            continue
        parsed = [parse_cell_reference(item.target) for item in items]
        fractions.append(np.asarray([_frac(getattr(i, "fraction_along", None)) for i in items]))
        targets.append(np.asarray([p[1] for p in parsed], dtype=np.int64))
        segments.append(np.asarray([_seg(getattr(i, "segment_id", 0)) for i in items], np.int64))
        names.extend(p[0] for p in parsed)
    if not targets:
        return InputColumns(np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    return InputColumns(np.concatenate(targets), np.concatenate(segments), names,
                        np.concatenate(fractions))


def input_weights(input_list: Any, unset: float = 1.0) -> np.ndarray:
    """The weight of every input, in :func:`input_columns` order; ``unset`` for an input that
    gives none (a plain ``input``, a table without a weight column): 1, or NaN where the input
    component's own default weight is to stand, as jLEMS keeps a Property's default."""
    weights: list[np.ndarray] = []
    for attr in ("input", "input_ws"):
        items = getattr(input_list, attr, None)
        if items is None or len(items) == 0:
            continue
        if _is_optimised(items):
            array = np.asarray(items.array)
            column = items.indices.get("weight")
            weights.append(array[:, column].astype(float) if column is not None else np.full(len(array), unset))
        elif attr == "input":
            weights.append(np.full(len(items), unset))
        else:
            weights.append(np.asarray([float(i.weight) for i in items]))
    return np.concatenate(weights) if weights else np.zeros(0)


def input_count(input_list: Any) -> int:
    """Number of inputs of an input list."""
    return sum(len(getattr(input_list, a, None) or []) for a in ("input", "input_ws"))


def connection_weights_delays(projection: Any, units: Any, unset: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Weight (dimensionless) and delay (ms) of every connection, in :func:`projection_columns` order.

    Plain ``connection`` elements have weight ``unset`` (1, or NaN where the synapse's own default
    weight is to stand, as jLEMS keeps a Property's default) and delay 0.
    """
    weights: list[np.ndarray] = []
    delays: list[np.ndarray] = []
    for attr in ("connections", "connection_wds"):
        items = getattr(projection, attr, None)
        if items is None or len(items) == 0:
            continue
        if _is_optimised(items):
            array = np.asarray(items.array)
            n = array.shape[0]
            w_col, d_col = items.indices.get("weight"), items.indices.get("delay")
            weights.append(array[:, w_col].astype(float) if w_col is not None else np.full(n, unset))
            delays.append(array[:, d_col].astype(float) if d_col is not None else np.zeros(n))
            continue
        if attr == "connections":
            weights.append(np.full(len(items), unset))
            delays.append(np.zeros(len(items)))
        else:
            weights.append(np.asarray([float(c.weight) for c in items]))
            delays.append(np.asarray([units.to_neuron(str(c.delay), "time") for c in items]))
    if not weights:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(weights), np.concatenate(delays)


def with_local_rows(owner: Any, attrs: tuple[str, ...],
                    keep: Callable[[np.ndarray, dict[str, int]], np.ndarray]) -> Any:
    """A shallow copy of a projection or input list whose columnar (HDF5) lists hold only the rows
    ``keep`` accepts (see :func:`nmlhub.model.hdf5_rows.local_rows`), read in blocks from the file
    when the list is lazy. Lists of elements are left whole."""
    from .hdf5_rows import local_rows

    lists = {a: getattr(owner, a, None) for a in attrs}
    optimised = {a: items for a, items in lists.items()
                 if items is not None and _is_optimised(items) and len(items)}
    if not optimised:
        return owner
    part = copy.copy(owner)
    for attr, items in optimised.items():
        setattr(part, attr, local_rows(items, keep))
    return part


def projection_part(projection: Any, units: Any, keep_post: Callable[[np.ndarray], np.ndarray] | None = None,
                    unset: float = 1.0) -> tuple[ConnectionColumns, np.ndarray, np.ndarray]:
    """Columns, weights and delays (ms) of a projection's connections onto the post-synaptic
    cells ``keep_post`` accepts (a mask of cell indices; all when None); a connection without a
    weight has ``unset`` (:func:`connection_weights_delays`).

    Connections read from NeuroML HDF5 are selected while the file is read, so only this part of
    the table is ever held in memory.
    """
    if keep_post is None:
        columns = projection_columns(projection)
        weights, delays = connection_weights_delays(projection, units, unset)
        return columns, weights, delays
    from .hdf5_rows import column_mask

    part = with_local_rows(projection, CONNECTION_ATTRS, column_mask("post_cell_id", keep_post))
    columns = projection_columns(part)
    weights, delays = connection_weights_delays(part, units, unset)
    mask = keep_post(columns.post_cell)
    if mask.all():
        return columns, weights, delays
    return columns.select(mask), weights[mask], delays[mask]


def input_part(input_list: Any, keep: Callable[[np.ndarray], np.ndarray] | None = None,
               unset: float = 1.0) -> tuple[InputColumns, np.ndarray]:
    """Columns and weights of an input list's inputs onto the cells ``keep`` accepts (all when
    None), read from NeuroML HDF5 only for those cells; an input without a weight has ``unset``
    (:func:`input_weights`)."""
    from .hdf5_rows import column_mask

    part = input_list if keep is None else with_local_rows(input_list, ("input", "input_ws"),
                                                           column_mask("target_cell_id", keep))
    columns, weights = input_columns(part), input_weights(part, unset)
    if keep is None or len(columns) == 0:
        return columns, weights
    mask = keep(columns.target_cell)
    if mask.all():
        return columns, weights
    fraction = columns.fraction[mask] if columns.fraction is not None else None
    names = ([n for n, m in zip(columns.population_named, mask.tolist()) if m]
             if columns.population_named is not None else None)
    return InputColumns(columns.target_cell[mask], columns.segment[mask], names, fraction), weights[mask]
