"""An LFP written as a file (jNeuroML's ``.dat`` layout, as nmlhub's other trace outputs)."""

from __future__ import annotations

from pathlib import Path

from ..results import format_trace_file, write_atomic_text
from .data import LFP


def write_lfp_file(lfp: LFP, path: Path | str) -> Path:
    """Write the potential in jNeuroML's ``.dat`` layout: one row per sample, time (s) first,
    then the potential (V) at each electrode in order (SI units, as nmlhub's other outputs)."""
    path = Path(path)
    write_atomic_text(path, format_trace_file(lfp.time_ms * 1e-3, list(lfp.potential_mv * 1e-3)))
    return path
