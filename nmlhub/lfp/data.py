"""A recorded extracellular potential, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LFP:
    """The extracellular potential at electrodes over a run.

    Attributes
    ----------
    time_ms
        ``(k,)`` sample times (ms).
    positions_um
        ``(n, 3)`` electrode positions (um).
    potential_mv
        ``(n, k)`` potential (mV) at each electrode (row) and sample (column).
    sigma
        Extracellular conductivity used (S/m).
    method
        Forward model used: ``"linesource"`` or ``"pointsource"``.
    """

    time_ms: np.ndarray
    positions_um: np.ndarray
    potential_mv: np.ndarray
    sigma: float = 0.3
    method: str = "linesource"

    @property
    def dt_ms(self) -> float:
        """Sampling interval (ms)."""
        return float(self.time_ms[1] - self.time_ms[0]) if len(self.time_ms) > 1 else 0.0

    @property
    def depths_um(self) -> np.ndarray:
        """y of each electrode (um): depth along a laminar probe."""
        return self.positions_um[:, 1]

    def between(self, start_ms: float, end_ms: float | None = None) -> "LFP":
        """The samples from ``start_ms`` up to ``end_ms`` (inclusive; default: the end)."""
        end = float(self.time_ms[-1]) if end_ms is None and len(self.time_ms) else end_ms
        slack = 1e-6 * self.dt_ms  # NEURON's t accumulates rounding errors
        keep = (self.time_ms >= start_ms - slack) & (self.time_ms <= end + slack)
        return LFP(self.time_ms[keep], self.positions_um, self.potential_mv[:, keep], self.sigma, self.method)


def parse_probe(text: str) -> tuple[float, float, float, float, int]:
    """``"X,Z,Y_START,Y_END,N"`` (um; N contacts) as the arguments of
    :func:`nmlhub.lfp.laminar_probe`.

    Raises
    ------
    ValueError
        Not five comma-separated numbers, or N not a positive integer.
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 5:
        raise ValueError(f"expected X,Z,Y_START,Y_END,N (um, contacts), not {text!r}")
    x, z, y_start, y_end = (float(p) for p in parts[:4])
    n = int(parts[4])
    if n < 1:
        raise ValueError(f"a probe needs at least one contact, not {n}")
    return x, z, y_start, y_end, n
