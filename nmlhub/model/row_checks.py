"""Checks of the rows of connection and input lists: cell ids that are whole numbers in range,
finite weights, delays that are finite and not negative, fractions along a segment in [0, 1].

Columnar lists (NeuroML HDF5 datasets, large XML lists read as tables) are checked a block at a
time, so a list read lazily from HDF5 is never held whole for its check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import NmlhubError

#: Columns holding cell or segment ids: whole numbers.
ID_COLUMNS = ("pre_cell_id", "post_cell_id", "target_cell_id",
              "pre_segment_id", "post_segment_id", "segment_id")
FRACTION_COLUMNS = ("pre_fraction_along", "post_fraction_along", "fraction_along")


@dataclass
class BadRow:
    """One row with a problem: its index in the list and what is wrong."""

    row: int
    message: str


def is_columnar(items: Any) -> bool:
    """Whether a libNeuroML list is a table (``array`` and ``indices``), not element objects."""
    return hasattr(type(items), "array") and hasattr(items, "indices")


def table_blocks(items: Any) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, block) of a columnar list: from the file a block at a time when it is a lazy
    HDF5 list not read yet, else the whole table at once."""
    from .hdf5_rows import _Lazy

    if isinstance(items, _Lazy) and not items.rows.loaded:
        yield from items.rows.blocks()
        return
    array = np.asarray(items.array)
    if array.ndim == 2:
        yield 0, array


Validity = tuple[Callable[[np.ndarray], np.ndarray], str]


def table_problems(items: Any, valid_cells: dict[str, Validity],
                   row_offset: int = 0, keep: int = 20) -> tuple[list[BadRow], int]:
    """Rows of a columnar list with a bad value.

    Parameters
    ----------
    items
        A libNeuroML optimised list (``array``, ``indices``).
    valid_cells
        For each id column (``pre_cell_id``, ``post_segment_id``...), which ids exist (a mask of
        an array of ids) and where (e.g. ``pop (size 3)``), for the message.
    row_offset
        Index of the list's first row among its projection's or input list's rows.
    keep
        At most this many bad rows are returned (all are counted).

    Returns
    -------
    tuple
        The first bad rows and how many there are in all.
    """
    bad: list[BadRow] = []
    total = 0
    indices = dict(items.indices)
    for start, block in table_blocks(items):
        block = np.asarray(block)
        if block.dtype.kind not in "iuf":
            return [BadRow(row_offset + start, f"the table holds {block.dtype} values, not numbers")], 1
        values = block.astype(float, copy=False)
        for name, column in indices.items():
            if column >= values.shape[1]:
                continue
            for i, message in _column_problems(name, values[:, column], valid_cells.get(name)):
                total += 1
                if len(bad) < keep:
                    bad.append(BadRow(row_offset + start + int(i), message))
    return bad, total


def _column_problems(name: str, column: np.ndarray, valid: Validity | None) -> Iterator[tuple[int, str]]:
    finite = np.isfinite(column)
    if name in ID_COLUMNS:
        whole = finite & (column == np.round(column))
        for i in np.flatnonzero(~whole):
            yield i, f"{name} {column[i]:g} is not a whole number"
        if valid is not None:
            inside = np.zeros(len(column), bool)
            inside[whole] = valid[0](column[whole].astype(np.int64))
            for i in np.flatnonzero(whole & ~inside):
                yield i, f"{name} {int(column[i])} is not in {valid[1]}"
    elif name in FRACTION_COLUMNS:
        for i in np.flatnonzero(~(finite & (column >= 0) & (column <= 1))):
            yield i, f"{name} {column[i]:g} is not in [0, 1]"
    elif name == "weight":
        for i in np.flatnonzero(~finite):
            yield i, f"weight {column[i]:g} is not a finite number"
    elif name == "delay":
        for i in np.flatnonzero(~(finite & (column >= 0))):
            yield i, f"delay {column[i]:g} ms is not a finite number >= 0"


def value_problems(weights: np.ndarray, delays: np.ndarray | None, fractions: tuple[np.ndarray, ...]
                   ) -> Iterator[tuple[int, str]]:
    """Rows of element lists (read as columns) with a non-finite weight, a negative or non-finite
    delay (ms), or a fraction along outside [0, 1]."""
    yield from _column_problems("weight", np.asarray(weights, float), None)
    if delays is not None:
        yield from _column_problems("delay", np.asarray(delays, float), None)
    for fraction in fractions:
        yield from _column_problems("fraction_along", np.asarray(fraction, float), None)


def safe_weights_delays(projection: Any, units: Any) -> tuple[np.ndarray, np.ndarray] | str:
    """Weights and delays (ms) of a projection's element rows, or what made them unreadable."""
    from .columns import connection_weights_delays

    try:
        return connection_weights_delays(projection, units)
    except (NmlhubError, ValueError, TypeError) as exc:
        return str(getattr(exc, "message", exc))
