"""Record the extracellular potential during a NEURON run: after each (k-th) time step, the
transfer matrix times every local segment's transmembrane current (NEURON's fast ``i_membrane_``),
so memory grows as electrodes x samples, never segments x samples."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .data import LFP
from .electrodes import Electrodes
from .forward import transfer_matrix
from .geometry import SegmentGeometry, network_geometry


class LFPRecorder:
    """The potential at ``electrodes`` of the morphological cells in ``cells`` (this rank's, in a
    parallel run); point cells contribute nothing.

    Parameters
    ----------
    cells
        ``(population, index)`` -> :class:`nmlhub.neuron.network.PointCell`.
    electrodes
        Where to measure, the conductivity and the forward model.
    every_steps
        Keep one sample every this many time steps (the initial state is sample 0).

    Notes
    -----
    Creating a recorder turns on NEURON's fast membrane current (``cvode.use_fast_imem(1)``).
    Call :meth:`attach` before ``finitialize``, :meth:`start` right after it, and :meth:`collect`
    after the run.
    """

    def __init__(self, cells: dict[tuple[str, int], Any], electrodes: Electrodes, every_steps: int = 1) -> None:
        from neuron import h

        if int(every_steps) < 1:
            raise ValueError(f"every_steps must be at least 1, not {every_steps}")
        self.electrodes = electrodes
        self.every_steps = int(every_steps)
        h.CVode().use_fast_imem(1)
        self.geometry: SegmentGeometry = network_geometry(cells)
        self.matrix = transfer_matrix(self.geometry.starts_um, self.geometry.ends_um,
                                      self.geometry.diameters_um / 2.0, electrodes)
        count = len(self.geometry)
        self._pointers = h.PtrVector(max(count, 1))
        for k, seg in enumerate(self.geometry.segments):
            self._pointers.pset(k, seg._ref_i_membrane_)
        self._currents = h.Vector(max(count, 1))
        self._samples: list[np.ndarray] = []
        self._steps = 0
        self._cvode = h.CVode()
        # one object, to remove what was added; it holds the recorder weakly: a bound method kept
        # on the recorder would make a cycle that only the garbage collector frees, and freeing
        # the segments it holds (their sections) in the middle of a later run corrupts that run
        self._callback = _AfterStep(self)
        self._attached = False

    def attach(self) -> None:
        """Sample after every time step from now on (NEURON calls back after each step)."""
        if not self._attached:
            self._cvode.extra_scatter_gather(0, self._callback)
            self._attached = True

    def detach(self) -> None:
        """Stop sampling."""
        if self._attached:
            self._cvode.extra_scatter_gather_remove(self._callback)
            self._attached = False

    def start(self) -> None:
        """Forget earlier samples and take sample 0 (call right after ``finitialize``)."""
        self._samples = []
        self._steps = 0
        self._sample()

    def currents_na(self) -> np.ndarray:
        """The present transmembrane current of every local segment (nA), in geometry order."""
        if not len(self.geometry):
            return np.zeros(0)
        self._pointers.gather(self._currents)
        return self._currents.as_numpy().copy()

    def _after_step(self) -> None:
        self._steps += 1
        if self._steps % self.every_steps == 0:
            self._sample()

    def _sample(self) -> None:
        if len(self.geometry):
            self._pointers.gather(self._currents)
            self._samples.append(self.matrix @ self._currents.as_numpy())
        else:
            self._samples.append(np.zeros(len(self.electrodes)))

    def local_potential_mv(self) -> np.ndarray:
        """``(electrodes, samples)``: this rank's cells' share of the potential (mV)."""
        if not self._samples:
            return np.zeros((len(self.electrodes), 0))
        return np.column_stack(self._samples)

    def collect(self, time_ms: np.ndarray, pc: Any = None, rank: int = 0) -> LFP:
        """The recorded potential; in a parallel run (``pc``, a ParallelContext of several ranks)
        rank 0 gets every rank's share summed, and the other ranks their own.

        Parameters
        ----------
        time_ms
            Time of every step of the run (NEURON's recorded ``t``, sample 0 at its start).
        """
        self.detach()
        local = self.local_potential_mv()
        if pc is not None and int(pc.nhost()) > 1:
            shares = pc.py_gather(local, 0)
            if rank == 0:
                local = np.sum(shares, axis=0)
        # a copy: an array over a NEURON Vector that still records changes with the next run
        times = np.array(time_ms, dtype=float)[::self.every_steps][:local.shape[1]].copy()
        local = local[:, :len(times)]  # samples after the run's end (its closing step) are dropped
        return LFP(times, self.electrodes.positions_um.copy(), local, self.electrodes.sigma,
                   self.electrodes.method)


class _AfterStep:
    """NEURON's per-step callback of a recorder, holding it weakly."""

    def __init__(self, recorder: LFPRecorder) -> None:
        self._recorder = weakref.ref(recorder)

    def __call__(self) -> None:
        recorder = self._recorder()
        if recorder is not None:
            recorder._after_step()
