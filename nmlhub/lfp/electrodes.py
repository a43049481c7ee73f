"""Where the extracellular potential is measured: electrode positions and the medium's conductivity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NmlhubError

#: Conductivity of cortical grey matter (S/m), the usual value for LFP models.
DEFAULT_SIGMA = 0.3

METHODS = ("linesource", "pointsource")


class ElectrodeError(NmlhubError):
    """Electrodes described inconsistently."""


@dataclass(frozen=True, eq=False)
class Electrodes:
    """Point electrodes in an infinite, homogeneous, isotropic medium.

    Parameters
    ----------
    positions_um
        ``(n, 3)`` x, y, z of each contact (um), in the network's coordinates (y is depth in
        networks built from rules).
    sigma
        Extracellular conductivity (S/m).
    method
        ``"linesource"`` (each NEURON segment a line of uniform current density, the default) or
        ``"pointsource"`` (each segment's current at its midpoint).

    Examples
    --------
    >>> e = Electrodes([[0, 100, 0], [0, 200, 0]])
    >>> e.positions_um.shape, e.sigma
    ((2, 3), 0.3)
    """

    positions_um: np.ndarray
    sigma: float = DEFAULT_SIGMA
    method: str = "linesource"

    def __post_init__(self) -> None:
        positions = np.array(self.positions_um, dtype=float, ndmin=2)
        if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] == 0:
            raise ElectrodeError(f"electrode positions must be an (n, 3) array of x, y, z (um), "
                                 f"not of shape {np.shape(self.positions_um)}")
        if not np.all(np.isfinite(positions)):
            raise ElectrodeError("electrode positions must be finite numbers")
        if not np.isfinite(self.sigma) or self.sigma <= 0:
            raise ElectrodeError(f"the conductivity sigma must be positive (S/m), not {self.sigma}")
        if self.method not in METHODS:
            raise ElectrodeError(f"unknown method {self.method!r}; methods: {', '.join(METHODS)}")
        positions.setflags(write=False)
        object.__setattr__(self, "positions_um", positions)
        object.__setattr__(self, "sigma", float(self.sigma))

    def __len__(self) -> int:
        return int(self.positions_um.shape[0])


def laminar_probe(x: float, z: float, y_start: float, y_end: float, n: int, *,
                  sigma: float = DEFAULT_SIGMA, method: str = "linesource") -> Electrodes:
    """A linear probe of ``n`` evenly spaced contacts along y (depth) at (``x``, ``z``).

    Parameters
    ----------
    x, z
        Where the probe enters (um).
    y_start, y_end
        Depths of the first and last contacts (um).
    n
        Number of contacts (at least 1; at least 3 for a current-source density).
    sigma, method
        As for :class:`Electrodes`.

    Examples
    --------
    >>> laminar_probe(150, 150, 0, 1000, 11).positions_um[:3, 1]
    array([  0., 100., 200.])
    """
    if int(n) < 1:
        raise ElectrodeError(f"a probe needs at least one contact, not {n}")
    depths = np.linspace(float(y_start), float(y_end), int(n))
    positions = np.column_stack([np.full(len(depths), float(x)), depths, np.full(len(depths), float(z))])
    return Electrodes(positions, sigma=sigma, method=method)
