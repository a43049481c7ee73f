"""Format converters, one module per format (installed as ``nmlhub.converters``).

Models: NeuroML XML (``.nml``, ``.xml``), NeuroML HDF5 (``.h5``, ``.hdf5``), JSON (``.json``),
pickle (``.pkl``, ``.pickle``) and MATLAB (``.mat``). Results: HDF5, JSON, pickle, MATLAB, CSV
(``.csv``), jNeuroML's output files (``.dat``, ``.spikes``) and NWB (``.nwb``). A SONATA circuit
(a folder, ``*.sonata``, or its ``circuit_config.json``) holds a network. :func:`save`, :func:`load` and
:func:`convert` pick the format from the file's extension, or from ``fmt``; every format is one
entry of :data:`converters.formats.REGISTRY`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .formats import REGISTRY, format_of, kind_of, read_model, write_model
from .plain import ConversionError
from .rank_parts import is_rank_part, merge_rank_parts
from .results_io import load_results, save_results

#: The names of the formats, for ``fmt``.
FORMATS = tuple(REGISTRY)
#: The format each (single) extension selects.
EXTENSIONS = {e: f.name for f in REGISTRY.values() for e in f.extensions if e.count(".") == 1}


def is_results(obj: Any) -> bool:
    return type(obj).__name__ == "Results"


def save(obj: Any, path: str | Path, fmt: str | None = None) -> list[Path]:
    """Write a model or results to ``path`` in the format its extension (or ``fmt``) names.

    Parameters
    ----------
    obj
        :class:`nmlhub.results.Results`, or a model: a model file's path, an :class:`nmlhub.Model`,
        a libNeuroML ``NeuroMLDocument`` or a model tree (:mod:`converters.model_tree`).
    path
        The file to write; written atomically (a temporary file, then a rename).
    fmt
        One of :data:`FORMATS`, if the extension does not say.

    Returns
    -------
    list of Path
        The files written (CSV results are two files).
    """
    if is_results(obj):
        return list(save_results(obj, Path(path), fmt))
    return write_model(obj, Path(path), fmt)


def load(path: str | Path, fmt: str | None = None) -> Any:
    """Read a file written in any format: results as :class:`nmlhub.results.Results`, a model as
    its plain tree (use :func:`nmlhub.load` for a simulation-ready :class:`nmlhub.Model`)."""
    if kind_of(path, fmt) == "results":
        return load_results(Path(path), fmt)
    return read_model(Path(path), format_of(path, fmt))


def convert(source: str | Path, target: str | Path, fmt: str | None = None) -> list[Path]:
    """Convert a model or results file into another format (``fmt`` names the target's). One
    rank's part of a run's results (``NAME.rank<k>.h5``, :mod:`converters.rank_parts`) stands for
    the whole run: every rank's part is read and merged into ``target``."""
    if is_rank_part(source):
        return save(merge_rank_parts(Path(source)), target, fmt)
    if kind_of(source) == "results":
        return save(load(source), target, fmt)
    return write_model(Path(source), Path(target), fmt)  # from the file itself: a SONATA circuit needs it


__all__ = ["ConversionError", "FORMATS", "format_of", "kind_of", "save", "load", "convert", "merge_rank_parts"]
