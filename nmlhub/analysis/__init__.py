"""Analysis of simulation results and models as plain functions returning numpy data.

Modules: :mod:`.spikes` (columnar spike view, rates, ISI CV, synchrony, histograms),
:mod:`.traces` (recorded quantities), :mod:`.network` (a model's cells, positions and
connections, rules expanded), :mod:`.connectivity` (matrices), :mod:`.morphology` (morphologies at
their positions, values per segment),
:mod:`.spectra` (Welch PSD, spectrogram), :mod:`.causality` (spectral Granger causality,
transfer entropy). Drawing is in :mod:`nmlhub.plots`.
"""

from .errors import AnalysisError

__all__ = ["AnalysisError"]
