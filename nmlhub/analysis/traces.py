"""Recorded quantities (voltages, currents, conductances, concentrations) selected by name and
time range, as one array."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import AnalysisError

#: kind -> (display unit, factor from SI to it)
DISPLAY_UNITS: dict[str, tuple[str, float]] = {
    "voltage": ("mV", 1e3),
    "current": ("nA", 1e9),
    "conductance": ("nS", 1e9),
    "concentration": ("mM", 1.0),   # mol/m3 == mM
    "other": ("SI", 1.0),
}


def quantity_kind(path: str) -> str:
    """What a recorded quantity is, from the last part of its path: ``voltage``, ``current``,
    ``conductance``, ``concentration`` or ``other``.

    Examples
    --------
    >>> quantity_kind("pyr/0/pyr_cell/2/v"), quantity_kind("hhpop/0/hh_cell/biophys/membraneProperties/Na_all/gDensity")
    ('voltage', 'other')
    """
    name = path.rstrip("/").rsplit("/", 1)[-1]
    lower = name.lower()
    if name in ("v", "V") or lower.endswith("_v") or lower in ("vm", "voltage"):
        return "voltage"
    if "conc" in lower:
        return "concentration"
    if lower.startswith("i") and not lower.startswith(("in", "id")) or lower in ("current", "isyn"):
        return "current"
    if lower in ("g", "gbase", "conductance") or (lower.startswith("g") and "density" not in lower):
        return "conductance"
    return "other"


@dataclass(frozen=True)
class TraceSet:
    """Traces sharing one time base.

    Attributes
    ----------
    time_ms
        Sample times (ms).
    names
        Quantity path of each trace.
    values
        ``(len(names), len(time_ms))`` values in SI units.
    kinds
        :func:`quantity_kind` of each trace.
    """

    time_ms: np.ndarray
    names: tuple[str, ...]
    values: np.ndarray
    kinds: tuple[str, ...]

    def display(self, k: int) -> tuple[np.ndarray, str]:
        """Trace ``k`` in its display unit (mV, nA, nS, mM), and the unit."""
        unit, factor = DISPLAY_UNITS[self.kinds[k]]
        return self.values[k] * factor, unit

    @property
    def dt_ms(self) -> float:
        """The sampling step (ms), from the first two samples."""
        return float(self.time_ms[1] - self.time_ms[0]) if self.time_ms.size > 1 else float("nan")


def select_traces(results: object, patterns: str | Sequence[str] = "*", *, start_ms: float | None = None,
                  stop_ms: float | None = None, kind: str | None = None) -> TraceSet:
    """The traces of ``results`` whose paths match any of ``patterns`` (shell wildcards, e.g.
    ``"Exc/*/v"`` or ``"pyr/0/*"``), within ``[start_ms, stop_ms]``, optionally of one kind.

    Raises
    ------
    AnalysisError
        No trace matches (the message lists what was recorded).
    """
    traces = getattr(results, "traces", None) or {}
    time_ms = np.asarray(getattr(results, "time_ms", np.zeros(0)), dtype=float)
    if isinstance(patterns, str):
        patterns = [patterns]
    names = [n for n in traces if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    if kind is not None:
        names = [n for n in names if quantity_kind(n) == kind]
    if not names:
        recorded = ", ".join(list(traces)[:8]) + (" ..." if len(traces) > 8 else "")
        raise AnalysisError(f"no recorded trace matches {' '.join(patterns)}"
                            + (f" (kind {kind})" if kind else "")
                            + f"; recorded: {recorded or 'nothing'}")
    keep = np.ones(time_ms.size, dtype=bool)
    if start_ms is not None:
        keep &= time_ms >= start_ms
    if stop_ms is not None:
        keep &= time_ms <= stop_ms
    if not keep.any():
        raise AnalysisError(f"no samples between {start_ms} and {stop_ms} ms")
    values = np.vstack([np.asarray(traces[n], dtype=float)[: time_ms.size][keep] for n in names])
    return TraceSet(time_ms[keep], tuple(names), values, tuple(quantity_kind(n) for n in names))


def value_at(traces: TraceSet, time_ms: float) -> np.ndarray:
    """Each trace's value (SI) at the sample nearest ``time_ms``."""
    if traces.time_ms.size == 0:
        raise AnalysisError("no samples")
    k = int(np.argmin(np.abs(traces.time_ms - time_ms)))
    return traces.values[:, k]
