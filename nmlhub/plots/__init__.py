"""Plots of analyses, results and models, drawn with matplotlib on ``Figure`` objects (Agg canvas,
never pyplot's global state). Each function takes the analysis data (or Results/Model) and an
optional ``ax`` and returns the Axes it drew on.

Modules: :mod:`.spikes`, :mod:`.traces`, :mod:`.connectivity`, :mod:`.shape`, :mod:`.spectra`,
:mod:`.causality`; :mod:`.figure` (new figures, colours, saving as PNG/SVG/PDF);
:func:`.report.write_plots` draws several at once into a folder, as ``nmlhub plot`` does.
"""
