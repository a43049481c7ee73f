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

Each format is one :class:`~converters.formats.Format` of the registry (:mod:`converters.formats`);
nothing here branches on names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmlhub.results import Results

from .formats import REGISTRY, RESULTS, Format, names, results_format

#: The formats that hold results, by name.
FORMATS: dict[str, Format] = {name: REGISTRY[name] for name in names(RESULTS)}


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
    if chosen.results_take_model:
        return chosen.write_results(results, path, model=model)
    return chosen.write_results(results, path)


def load_results(path: str | Path, fmt: str | None = None) -> Results:
    """Read results written by :func:`save_results` (or, for ``jneuroml``, by jNeuroML).

    Raises
    ------
    ConversionError
        Unknown format, or a file that is missing, damaged or not results; the message names it.
    """
    path = Path(path)
    return results_format(path, fmt).read_results(path)
