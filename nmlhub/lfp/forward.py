"""Forward models: the potential at electrodes from the transmembrane currents of line segments.

Each row of a transfer matrix ``M`` is an electrode, each column a segment, so that
``potential = M @ currents``; with currents in nA, distances in um and the conductivity in S/m,
``M`` is in mV/nA (1 nA / (S/m * um) = 1 mV). The medium is infinite, homogeneous and isotropic.
"""

from __future__ import annotations

import numpy as np

from .electrodes import Electrodes

#: Electrode-segment pairs computed at once (bounds the temporary arrays to a few tens of MB).
_CHUNK = 1 << 20
#: Smallest squared distance from a segment's axis (um2), for segments of zero radius.
_TINY_UM2 = 1e-12


def line_source_matrix(starts_um: np.ndarray, ends_um: np.ndarray, radii_um: np.ndarray,
                       electrodes_um: np.ndarray, sigma: float) -> np.ndarray:
    """Transfer matrix of line sources (Holt & Koch 1999): each segment's current spread evenly
    along the straight line from its start to its end.

    Parameters
    ----------
    starts_um, ends_um
        ``(m, 3)`` end points of the segments (um).
    radii_um
        ``(m,)`` segment radii (um): the distance of an electrode from a segment's axis is taken
        as at least the radius, so an electrode on (or inside) a segment sees a finite potential.
    electrodes_um
        ``(n, 3)`` electrode positions (um).
    sigma
        Extracellular conductivity (S/m).

    Returns
    -------
    numpy.ndarray
        ``(n, m)``, mV/nA. A segment of zero length is a point source.

    Notes
    -----
    With ``a`` the distance along the segment's axis from its start to the electrode's projection,
    ``b = L - a`` and ``rho`` the distance from the axis, the potential of a current ``I`` is
    ``I / (4 pi sigma L) * (asinh(a / rho) + asinh(b / rho))``. Where the electrode lies beyond
    either end the two terms have opposite signs, and that case is evaluated in a form free of
    their cancellation (``log1p`` of an exact difference), so far fields keep full precision.
    """
    starts, ends, radii, electrodes = _arrays(starts_um, ends_um, radii_um, electrodes_um)
    out = np.empty((len(electrodes), len(starts)))
    rows = max(1, _CHUNK // max(1, len(starts)))
    for first in range(0, len(electrodes), rows):
        out[first:first + rows] = _line_rows(starts, ends, radii, electrodes[first:first + rows])
    return out / (4.0 * np.pi * float(sigma))


def point_source_matrix(starts_um: np.ndarray, ends_um: np.ndarray, radii_um: np.ndarray,
                        electrodes_um: np.ndarray, sigma: float) -> np.ndarray:
    """Transfer matrix of point sources: each segment's current at its midpoint, the distance
    taken as at least the segment's radius. Arguments and result as for :func:`line_source_matrix`."""
    starts, ends, radii, electrodes = _arrays(starts_um, ends_um, radii_um, electrodes_um)
    middles = (starts + ends) / 2.0
    out = np.empty((len(electrodes), len(starts)))
    rows = max(1, _CHUNK // max(1, len(starts)))
    for first in range(0, len(electrodes), rows):
        delta = electrodes[first:first + rows, None, :] - middles[None, :, :]
        out[first:first + rows] = 1.0 / np.maximum(np.sqrt(np.einsum("ijk,ijk->ij", delta, delta)), radii)
    return out / (4.0 * np.pi * float(sigma))


def transfer_matrix(starts_um: np.ndarray, ends_um: np.ndarray, radii_um: np.ndarray,
                    electrodes: Electrodes) -> np.ndarray:
    """The transfer matrix (mV/nA) of segments to ``electrodes``, by the electrodes' method."""
    make = line_source_matrix if electrodes.method == "linesource" else point_source_matrix
    return make(starts_um, ends_um, radii_um, electrodes.positions_um, electrodes.sigma)


def _arrays(starts, ends, radii, electrodes):
    starts = np.asarray(starts, dtype=float).reshape(-1, 3)
    ends = np.asarray(ends, dtype=float).reshape(-1, 3)
    radii = np.broadcast_to(np.asarray(radii, dtype=float), (len(starts),))
    electrodes = np.asarray(electrodes, dtype=float).reshape(-1, 3)
    if ends.shape != starts.shape:
        raise ValueError(f"segment starts {starts.shape} and ends {ends.shape} differ in shape")
    return starts, ends, radii, electrodes


def _line_rows(starts: np.ndarray, ends: np.ndarray, radii: np.ndarray, electrodes: np.ndarray) -> np.ndarray:
    """``4 pi sigma`` times the line-source potential of unit currents, for a few electrodes."""
    axis = ends - starts
    length = np.sqrt(np.einsum("ij,ij->i", axis, axis))
    point = length == 0
    unit = axis / np.where(point, 1.0, length)[:, None]
    rel = electrodes[:, None, :] - starts[None, :, :]
    a = np.einsum("ijk,jk->ij", rel, unit)
    b = length - a
    rho2 = np.maximum(np.einsum("ijk,ijk->ij", rel, rel) - a * a, np.maximum(radii * radii, _TINY_UM2))
    rho = np.sqrt(rho2)
    big_a, big_b = np.sqrt(a * a + rho2), np.sqrt(b * b + rho2)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.arcsinh(a / rho) + np.arcsinh(b / rho)
        beyond_end = np.log1p(length * (1.0 + (a - b) / (big_a + big_b)) / (big_b - b))
        before_start = np.log1p(length * (1.0 + (b - a) / (big_a + big_b)) / (big_a - a))
        integral = np.where(b < 0, beyond_end, np.where(a < 0, before_start, inside))
        values = integral / length
    # A segment of zero length: a point source at its start, no closer than its radius.
    if point.any():
        distance = np.sqrt(np.maximum(np.einsum("ijk,ijk->ij", rel[:, point], rel[:, point]), radii[point] ** 2))
        values[:, point] = 1.0 / distance
    return values
