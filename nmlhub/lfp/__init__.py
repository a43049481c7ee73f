"""Local field potentials: the extracellular potential of a network's morphological cells at
electrodes, computed during a NEURON run from every segment's transmembrane current with a
line-source (or point-source) forward model, and its current-source density along a laminar probe.

Modules: :mod:`.electrodes` (positions, conductivity), :mod:`.forward` (transfer matrices),
:mod:`.geometry` (NEURON segments as line pieces), :mod:`.recorder` (sampling during a run),
:mod:`.data` (the :class:`LFP` record), :mod:`.files` (an LFP as a .dat file), :mod:`.csd`
(current-source density). Spectra of an LFP: :mod:`nmlhub.analysis.spectra`; drawing:
:mod:`nmlhub.plots.lfp`.
"""

from .data import LFP
from .electrodes import DEFAULT_SIGMA, ElectrodeError, Electrodes, laminar_probe

__all__ = ["LFP", "Electrodes", "ElectrodeError", "laminar_probe", "DEFAULT_SIGMA"]
