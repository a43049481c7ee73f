"""An LFP written as a file (jNeuroML's ``.dat`` layout, as nmlhub's other trace outputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..results import format_trace_file, write_atomic_text
from .data import LFP
from .electrodes import DEFAULT_SIGMA, ElectrodeError

#: The suffix of the LFP file ``nmlhub run --lfp-probe`` writes.
LFP_FILE_SUFFIX = ".lfp.dat"


def write_lfp_file(lfp: LFP, path: Path | str) -> Path:
    """Write the potential in jNeuroML's ``.dat`` layout: one row per sample, time (s) first,
    then the potential (V) at each electrode in order (SI units, as nmlhub's other outputs)."""
    path = Path(path)
    write_atomic_text(path, format_trace_file(lfp.time_ms * 1e-3, list(lfp.potential_mv * 1e-3)))
    return path


def read_lfp_file(path: Path | str, positions_um: np.ndarray, sigma: float = DEFAULT_SIGMA) -> LFP:
    """Read an LFP file of :func:`write_lfp_file` (which holds no contact positions: give those of
    the run's probe, e.g. :func:`nmlhub.lfp.laminar_probe` ``(...).positions_um``).

    Raises
    ------
    ElectrodeError
        The file is unreadable, not rows of numbers, or has another number of contacts than
        ``positions_um`` (naming the file).
    """
    path = Path(path)
    positions = np.atleast_2d(np.asarray(positions_um, dtype=float))
    try:
        table = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as exc:
        raise ElectrodeError(f"{path}: not an LFP file of time and potentials ({exc})") from None
    if table.shape[0] < 1 or table.shape[1] != len(positions) + 1:
        raise ElectrodeError(f"{path}: {table.shape[1] - 1} potential column(s) for a probe of "
                             f"{len(positions)} contacts")
    return LFP(table[:, 0] * 1e3, positions, table[:, 1:].T * 1e3, float(sigma))
