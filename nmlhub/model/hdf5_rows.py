"""Connection and input tables of a NeuroML HDF5 file, read only when and where they are needed.

libNeuroML's optimised parser reads every projection's dataset whole while it parses. nmlhub gives
it lists that remember where their dataset lives instead: the whole table is read the first time
anything asks for ``array`` (a serial run, ``nmlhub info``, a converter), while a rank of a
parallel run asks :meth:`LazyRows.rows_where` for the rows onto its own cells, which reads the
file a block at a time and keeps only those rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from neuroml.hdf5.NetworkContainer import ConnectionList, InputsList

from ..errors import ModelError

#: Rows read at a time when selecting a rank's part of a table.
BLOCK_ROWS = 1 << 18


class LazyRows:
    """Where a table lives (file, dataset path, shape), and reading it whole or in part."""

    def __init__(self, path: Path, node: str, shape: tuple[int, ...]) -> None:
        self._path = Path(path)
        self._node = node
        self._shape = tuple(int(n) for n in shape)
        self._array: np.ndarray | None = None

    @property
    def loaded(self) -> bool:
        """Whether the whole table has been read into memory."""
        return self._array is not None

    def _read_all(self) -> np.ndarray:
        if self._array is None:
            import h5py

            try:
                with h5py.File(self._path, "r") as handle:
                    self._array = np.asarray(handle[self._node][()])
            except (OSError, KeyError, ValueError) as exc:
                raise self._damaged(exc) from None
        return self._array

    def _damaged(self, exc: Exception) -> ModelError:
        return ModelError(f"cannot read dataset {self._node} (damaged?): {exc}", file=self._path)

    def blocks(self) -> "Iterator[tuple[int, np.ndarray]]":
        """(first row, rows) of the table, read from the file a block at a time."""
        import h5py

        try:
            with h5py.File(self._path, "r") as handle:
                dataset = handle[self._node]
                for start in range(0, self._shape[0], BLOCK_ROWS):
                    yield start, np.asarray(dataset[start:start + BLOCK_ROWS])
        except (OSError, KeyError, ValueError) as exc:
            raise self._damaged(exc) from None

    def rows_where(self, keep: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The rows ``keep`` accepts (it maps a block of rows to a boolean mask), in file order,
        without holding the whole table."""
        if self._array is not None:
            return self._array[keep(self._array)]
        import h5py

        parts = []
        with h5py.File(self._path, "r") as handle:
            dataset = handle[self._node]
            for start in range(0, self._shape[0], BLOCK_ROWS):
                block = dataset[start:start + BLOCK_ROWS]
                parts.append(block[keep(block)])
        if not parts:
            return np.zeros((0,) + self._shape[1:])
        return np.concatenate(parts)


class _Lazy:
    """What makes a libNeuroML optimised list lazy: ``array`` read from the file on first use."""

    def __init__(self, rows: LazyRows, indices: dict[str, int]) -> None:
        super().__init__(array=None, indices=indices)  # type: ignore[call-arg]
        self.rows = rows

    array = property(lambda self: self.rows._read_all(), lambda self, value: None)

    def __len__(self) -> int:
        return self.rows._shape[0]


class LazyConnectionList(_Lazy, ConnectionList):
    """libNeuroML's optimised connection list, its table read when first needed."""


class LazyInputsList(_Lazy, InputsList):
    """libNeuroML's optimised input list, its table read when first needed."""


def refuse_oversized(path: Path, node: str, shape: tuple[int, ...], itemsize: int) -> None:
    """Refuse a dataset that declares more data than the available memory holds (an HDF5 file
    of a few KB can declare a table of 10^10 rows), before anything reads it.

    Raises
    ------
    ModelError
        The declared size is beyond ``$NMLHUB_MAX_TABLE_BYTES`` or, by default, the available memory.
    """
    import os

    from ..rules.budget import available_memory_bytes

    declared = int(np.prod(shape, dtype=np.float64)) * max(1, int(itemsize))
    limit_text = os.environ.get("NMLHUB_MAX_TABLE_BYTES")
    limit = int(float(limit_text)) if limit_text else available_memory_bytes()
    if declared > limit:
        raise ModelError(f"dataset {node} declares {' x '.join(str(n) for n in shape)} values "
                         f"({declared / 1e9:.3g} GB), more than the limit of {limit / 1e9:.3g} GB "
                         "(the available memory; $NMLHUB_MAX_TABLE_BYTES overrides it)", file=path)


def lazy_list(kind: str, path: Path, dataset: Any, indices: dict[str, int]) -> Any:
    """A lazy connection (``kind`` = 'projection') or input list for a PyTables dataset node."""
    refuse_oversized(path, dataset._v_pathname, tuple(dataset.shape), dataset.dtype.itemsize)
    rows = LazyRows(path, dataset._v_pathname, tuple(dataset.shape))
    return LazyConnectionList(rows, indices) if kind == "projection" else LazyInputsList(rows, indices)


def local_rows(olist: Any, keep: Callable[[np.ndarray, dict[str, int]], np.ndarray]) -> Any:
    """An optimised list holding only the rows ``keep`` accepts (it maps a block of rows and the
    column indices by name to a boolean mask): read in blocks from the file for a lazy list,
    selected from memory otherwise."""
    indices = dict(olist.indices)
    if isinstance(olist, _Lazy):
        array = olist.rows.rows_where(lambda block: keep(block, indices))
        plain = ConnectionList if isinstance(olist, LazyConnectionList) else InputsList
    else:
        array = np.asarray(olist.array)
        array = array[keep(array, indices)] if array.ndim == 2 else array
        plain = type(olist)
    return plain(array=array, indices=indices)


def column_mask(column: str, keep: Callable[[np.ndarray], np.ndarray]
                ) -> Callable[[np.ndarray, dict[str, int]], np.ndarray]:
    """A row selector for :func:`local_rows` from a mask of one column's values (cell indices);
    rows of a table without that column are all kept."""
    def select(block: np.ndarray, indices: dict[str, int]) -> np.ndarray:
        if column not in indices:
            return np.ones(len(block), dtype=bool)
        return keep(block[:, indices[column]].astype(np.int64))

    return select
