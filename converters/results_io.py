"""Save and load simulation results in any results format, chosen by extension or by name.

==============  ==========================  ===============================================
format          extensions                  module
==============  ==========================  ===============================================
``hdf5``        ``.h5``, ``.hdf5``          :mod:`converters.results_hdf5`
``json``        ``.json``                   :mod:`converters.plain` (:mod:`~converters.result_mapping`)
``pickle``      ``.pkl``, ``.pickle``       :mod:`converters.plain` (restricted unpickler)
``matlab``      ``.mat``                    :mod:`converters.plain`
``csv``         ``.csv``                    :mod:`converters.csv_results` (two files)
``jneuroml``    ``.dat``, ``.spikes``       :mod:`converters.jneuroml_files` (two files)
``nwb``         ``.nwb``                    :mod:`converters.nwb` (pynwb)
``sonata_spikes`` ``.spikes.h5`` (or any     :mod:`converters.sonata_spikes` (spikes only)
                HDF5 with ``/spikes``)
==============  ==========================  ===============================================

Each format is one :class:`ResultsFormat` in :data:`FORMATS`; nothing here branches on names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nmlhub.results import Results

from . import csv_results, jneuroml_files, nwb, plain, results_hdf5, sonata_spikes
from .plain import ConversionError
from .result_mapping import from_plain, to_plain


@dataclass(frozen=True)
class ResultsFormat:
    """How one format writes and reads results.

    Attributes
    ----------
    name
        The name given as ``fmt``.
    extensions
        File extensions (lower case, with the dot) that select it.
    write
        ``write(results, path)``: writes atomically, returns the files written.
    read
        ``read(path)``: the results, or :class:`ConversionError` naming the file.
    uses_model
        ``write`` also takes ``model=``, the model that was run (for cell positions and types).
    claims
        ``claims(path)``: whether an existing file is in this format whatever its extension says
        (a SONATA spike file is a ``.h5`` file too).
    """

    name: str
    extensions: tuple[str, ...]
    write: Callable[..., list[Path]]
    read: Callable[[Path], Results]
    uses_model: bool = False
    claims: Callable[[Path], bool] | None = None


def _plain_format(name: str, extensions: tuple[str, ...]) -> ResultsFormat:
    """A format of :mod:`converters.plain`, holding :func:`to_plain`'s dict as kind ``results``."""

    def write(results: Results, path: Path) -> list[Path]:
        plain.WRITERS[name](path, "results", to_plain(results))
        return [path]

    def read(path: Path) -> Results:
        if not path.is_file():
            raise ConversionError("no such file", file=path)
        _, data = plain.READERS[name](path, ("results",))
        try:
            return from_plain(data)
        except ConversionError as exc:
            raise ConversionError(exc.message, file=path) from None

    return ResultsFormat(name, extensions, write, read)


FORMATS: dict[str, ResultsFormat] = {f.name: f for f in (
    ResultsFormat("hdf5", (".h5", ".hdf5"), results_hdf5.write, results_hdf5.read),
    _plain_format("json", (".json",)),
    _plain_format("pickle", (".pkl", ".pickle")),
    _plain_format("matlab", (".mat",)),
    ResultsFormat("csv", (".csv",), csv_results.write, csv_results.read),
    ResultsFormat("jneuroml", (".dat", ".spikes"), jneuroml_files.write, jneuroml_files.read),
    ResultsFormat("nwb", (".nwb",), nwb.write, nwb.read, uses_model=True),
    ResultsFormat("sonata_spikes", (".spikes.h5",), sonata_spikes.write, sonata_spikes.read,
                  claims=sonata_spikes.is_spike_file),
)}


def results_format(path: Path, fmt: str | None = None) -> ResultsFormat:
    """The format named ``fmt``, else the one the extension of ``path`` selects.

    Raises
    ------
    ConversionError
        Unknown format name or extension; the message lists the formats.
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConversionError(f"unknown results format {fmt!r}; formats: {_listing()}", file=path)
        return FORMATS[fmt]
    path = Path(path)
    for candidate in FORMATS.values():
        if candidate.claims is not None and path.is_file() and candidate.claims(path):
            return candidate
    double = "".join(path.suffixes[-2:]).lower()
    for suffix in (double, path.suffix.lower()):
        for candidate in FORMATS.values():
            if suffix in candidate.extensions:
                return candidate
    suffix = path.suffix.lower()
    raise ConversionError(f"cannot tell a results format from the extension {suffix or '(none)'!r}; "
                          f"formats: {_listing()}", file=path)


def _listing() -> str:
    return ", ".join(f"{f.name} ({' '.join(f.extensions)})" for f in FORMATS.values())


def save_results(results: Results, path: str | Path, fmt: str | None = None, model: Any = None) -> list[Path]:
    """Write simulation results in the format of the extension of ``path`` (or ``fmt``).

    Parameters
    ----------
    results
        What a simulation recorded.
    path
        The file to write. CSV and jNeuroML write two files next to each other (see
        :mod:`converters.csv_results` and :mod:`converters.jneuroml_files`).
    fmt
        A name from :data:`FORMATS`, to override the extension.
    model
        The :class:`nmlhub.Model` that was run, for formats that describe the cells (NWB);
        they otherwise reload it from the LEMS file the results name, if it is unchanged.

    Returns
    -------
    list of Path
        The files written, each written atomically.

    Raises
    ------
    ConversionError
        Unknown format, or results the format cannot hold.

    Examples
    --------
    >>> results = nmlhub.simulate("nml_examples/izh_network/LEMS_izh_network.xml")  # doctest: +SKIP
    >>> save_results(results, "run.h5")  # doctest: +SKIP
    [PosixPath('run.h5')]
    """
    path = Path(path)
    chosen = results_format(path, fmt)
    if chosen.uses_model:
        return chosen.write(results, path, model=model)
    return chosen.write(results, path)


def load_results(path: str | Path, fmt: str | None = None) -> Results:
    """Read results written by :func:`save_results` (or, for ``jneuroml``, by jNeuroML).

    Raises
    ------
    ConversionError
        Unknown format, or a file that is missing, damaged or not results; the message names it.
    """
    path = Path(path)
    return results_format(path, fmt).read(path)
