"""Current-source density (CSD) along a laminar probe: where, by depth, current leaves the cells
(sources, positive) and enters them (sinks, negative).

Units: potentials in mV, depths in um, conductivity in S/m; densities in uA/mm3
(1 S/m * mV / um2 = 1 nA/um3 = 1e6 uA/mm3).
"""

from __future__ import annotations

import numpy as np

from .electrodes import DEFAULT_SIGMA, ElectrodeError

_TO_UA_PER_MM3 = 1e6


def _spacing(depths_um: np.ndarray, potential_mv: np.ndarray, minimum: int) -> float:
    depths = np.asarray(depths_um, dtype=float)
    if depths.ndim != 1 or len(depths) < minimum:
        raise ElectrodeError(f"a CSD needs at least {minimum} contacts along the probe, not {depths.size}")
    if potential_mv.shape[0] != len(depths):
        raise ElectrodeError(f"{potential_mv.shape[0]} potential rows for {len(depths)} contacts")
    steps = np.diff(depths)
    if not np.allclose(steps, steps[0], rtol=1e-6) or steps[0] == 0:
        raise ElectrodeError("a CSD needs contacts at evenly spaced, distinct depths")
    return float(abs(steps[0]))


def standard_csd(potential_mv: np.ndarray, depths_um: np.ndarray, sigma: float = DEFAULT_SIGMA, *,
                 vaknin: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The classic CSD: ``-sigma`` times the second spatial difference of the potential.

    Parameters
    ----------
    potential_mv
        ``(n, k)`` (or ``(n,)``) potential at ``n`` evenly spaced contacts.
    depths_um
        ``(n,)`` contact depths (um), evenly spaced.
    sigma
        Extracellular conductivity (S/m).
    vaknin
        Repeat the first and last contacts beyond the ends (Vaknin et al. 1988), so every contact
        gets an estimate; otherwise the ends have none.

    Returns
    -------
    csd, depths_um
        ``(n - 2, k)`` (or ``(n, k)`` with ``vaknin``) densities (uA/mm3) and their depths.

    Examples
    --------
    A dip in the potential is a sink (negative) flanked by sources:

    >>> depths = np.arange(5) * 100.0                                # um
    >>> csd, at = standard_csd(np.array([0.0, 0.0, -1.0, 0.0, 0.0]), depths, sigma=0.3)
    >>> at.tolist(), (csd / 1e6 * 100.0 ** 2 / 0.3).round(6).tolist()  # in units of sigma * mV / h^2
    ([100.0, 200.0, 300.0], [1.0, -2.0, 1.0])
    """
    potential = np.asarray(potential_mv, dtype=float)
    h = _spacing(depths_um, potential, 1 if vaknin else 3)
    depths = np.asarray(depths_um, dtype=float)
    if vaknin:
        potential = np.concatenate([potential[:1], potential, potential[-1:]], axis=0)
    second = potential[:-2] - 2.0 * potential[1:-1] + potential[2:]
    csd = -float(sigma) * second / (h * h) * _TO_UA_PER_MM3
    return csd, (depths if vaknin else depths[1:-1])


def delta_icsd(potential_mv: np.ndarray, depths_um: np.ndarray, sigma: float = DEFAULT_SIGMA, *,
               radius_um: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """The delta-source inverse CSD (Pettersen et al. 2006): the sources are discs of radius
    ``radius_um`` at the contacts, each of thickness one contact spacing, with the densities
    whose potentials add up to what the contacts measured.

    Parameters
    ----------
    potential_mv, depths_um, sigma
        As for :func:`standard_csd` (at least 2 contacts).
    radius_um
        Radius of the source discs (um): the lateral extent of the active tissue.

    Returns
    -------
    csd, depths_um
        ``(n, k)`` densities (uA/mm3) at every contact, and the contacts' depths.
    """
    potential = np.asarray(potential_mv, dtype=float)
    h = _spacing(depths_um, potential, 2)
    if not radius_um > 0:
        raise ElectrodeError(f"the source radius must be positive, not {radius_um}")
    depths = np.asarray(depths_um, dtype=float)
    distance = np.abs(depths[:, None] - depths[None, :])
    # Potential on a disc's axis: h / (2 sigma) * (sqrt(d^2 + R^2) - d) per unit density (nA/um3).
    forward = h / (2.0 * float(sigma)) * (np.sqrt(distance ** 2 + float(radius_um) ** 2) - distance)
    return np.linalg.solve(forward, potential) * _TO_UA_PER_MM3, depths
