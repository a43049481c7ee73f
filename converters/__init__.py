"""Format converters, one module per format (installed as ``nmlhub.converters``).

Models: NeuroML XML (``.nml``, ``.xml``), NeuroML HDF5 (``.h5``, ``.hdf5``), JSON (``.json``),
pickle (``.pkl``, ``.pickle``) and MATLAB (``.mat``). Results: HDF5, JSON, pickle, MATLAB, CSV
(``.csv``), jNeuroML's output files (``.dat``, ``.spikes``) and NWB (``.nwb``). A SONATA circuit
(a folder, ``*.sonata``, or its ``circuit_config.json``) holds a network. :func:`save`, :func:`load` and
:func:`convert` pick the format from the file's extension, or from ``fmt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .plain import ConversionError

EXTENSIONS = {
    ".nml": "xml", ".xml": "xml", ".h5": "hdf5", ".hdf5": "hdf5", ".json": "json", ".pkl": "pickle",
    ".pickle": "pickle", ".mat": "matlab", ".csv": "csv", ".dat": "jneuroml", ".spikes": "jneuroml",
    ".nwb": "nwb", ".sonata": "sonata",
}
FORMATS = ("xml", "hdf5", "json", "pickle", "matlab", "csv", "jneuroml", "nwb", "sonata", "sonata_spikes")
SONATA_CONFIGS = ("circuit_config.json",)


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The format of ``path``: ``fmt`` if given, else from the extension (``.nml.h5`` is HDF5)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConversionError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}", file=path)
        return fmt
    if Path(path).is_dir() or Path(path).name in SONATA_CONFIGS:  # a SONATA circuit
        return "sonata"
    if "".join(Path(path).suffixes[-2:]).lower() == ".spikes.h5":
        return "sonata_spikes"
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ConversionError(f"cannot tell the format from the extension {suffix or '(none)'!r}; "
                              f"use one of {', '.join(sorted(EXTENSIONS))} or give the format "
                              f"({', '.join(FORMATS)})", file=path)
    return EXTENSIONS[suffix]


def is_results(obj: Any) -> bool:
    return type(obj).__name__ == "Results"


def kind_of(path: str | Path, fmt: str | None = None) -> str:
    """``"model"`` or ``"results"``: what the file at ``path`` holds."""
    fmt = format_of(path, fmt)
    if fmt in ("csv", "jneuroml", "nwb", "sonata_spikes"):
        return "results"
    if fmt in ("xml", "sonata"):
        return "model"
    if fmt == "hdf5":
        from nmlhub.interval_files import is_interval_file, open_hdf5_for_reading

        try:
            with open_hdf5_for_reading(path) as f:
                spikes = "spikes" in f and "neuroml" not in f  # SONATA's spike layout
                kind = f.attrs.get("nmlhub_kind") == "results" or spikes or is_interval_file(f)
                return "results" if kind else "model"
        except OSError as exc:
            raise ConversionError(f"not a readable HDF5 file: {exc}", file=path) from None
    from . import plain

    kind, _ = plain.READERS[fmt](Path(path), ("model", "results"))
    return kind


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
        from .results_io import save_results

        return list(save_results(obj, Path(path), fmt))
    if format_of(path, fmt) == "sonata":  # needs the model itself, to expand rules and find morphologies
        from .sonata_write import write as write_sonata

        return write_sonata(obj, Path(path))
    from .model_io import model_tree, write_model

    return [write_model(model_tree(obj), Path(path), format_of(path, fmt))]


def load(path: str | Path, fmt: str | None = None) -> Any:
    """Read a file written in any format: results as :class:`nmlhub.results.Results`, a model as
    its plain tree (use :func:`nmlhub.load` for a simulation-ready :class:`nmlhub.Model`)."""
    if kind_of(path, fmt) == "results":
        from .results_io import load_results

        return load_results(Path(path), fmt)
    from .model_io import read_model

    return read_model(Path(path), format_of(path, fmt))


def convert(source: str | Path, target: str | Path, fmt: str | None = None) -> list[Path]:
    """Convert a model or results file into another format (``fmt`` names the target's)."""
    if format_of(target, fmt) == "sonata":  # from the file itself: its folder, rules and morphologies
        return save(source, target, fmt)
    return save(load(source), target, fmt)


__all__ = ["ConversionError", "FORMATS", "format_of", "kind_of", "save", "load", "convert"]
