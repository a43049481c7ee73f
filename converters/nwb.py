"""Simulation results in Neurodata Without Borders (NWB 2, with pynwb), the format DANDI archives.

Layout of a file :func:`write` makes (every quantity in SI units, times in seconds)::

    session metadata      session_description (model, simulator, duration, dt, seed),
                          identifier (a fresh UUID), session_start_time (when written),
                          subject (the model; see :func:`write`),
                          source_script (the LEMS file's text) and source_script_file_name
                          (its path), was_generated_by (nmlhub,
                          the simulator and their versions), keywords, notes: the run record as
                          JSON (duration_ms, dt_ms, seed, model_hash, settings), read back exactly
    /units                one unit per cell, cells without spikes kept: spike_times (s) and the
                          columns population, cell_index, cell_type, x, y, z (um; NaN if
                          unknown); resolution = dt. When no cell spiked at all (NWB's checks
                          reject a Units table without spikes) the same columns are the table
                          /processing/misc/cells instead
    /processing/simulated_traces
        <variable>        a TimeSeries per recorded variable name (``v``, ``caConc``...): data
                          (samples, columns) in SI units, timestamps (s) shared by all series
        trace_columns     a DynamicTable: series, column, lems_path, one row per recorded quantity
    /processing/ecephys/LFP/lfp
                          an ElectricalSeries (V) with the electrodes table holding each contact's
                          x, y, z (um), one device ``nmlhub_lfp_probe`` and its electrode group;
                          the conductivity and the forward model in the series' comments

Membrane potentials are ``TimeSeries`` in a processing module, not ``CurrentClampSeries``: a
simulated cell has no electrode, no amplifier and no clamp, and NWB's intracellular types require
one electrode object (and one series) per recorded cell, which misdescribes a simulation and grows
with the network; the ``lems_path`` column names exactly what each column is.

Reading (:func:`read`) gives :class:`nmlhub.results.Results` back: the same traces (bit for bit),
spike times to rounding of the ms -> s -> ms conversion, the same cells, settings and LFP.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from nmlhub.results import Results

from .plain import ConversionError

TRACES_MODULE = "simulated_traces"
COLUMNS_TABLE = "trace_columns"
LFP_NAME = "lfp"
CELLS_TABLE = "cells"
PROBE_DEVICE = "nmlhub_lfp_probe"
UNIDENTIFIED_SPECIES = "http://purl.obolibrary.org/obo/NCBITaxon_32644"
# Unit (SI) of a recorded variable, by its name (first match); trace_columns says what it is.
_UNITS = ((r"v|erev|V", "volts"), (r"(?i).*conc.*", "mol/m^3"), (r"i[A-Z_0-9]*\w*Density", "A/m^2"),
          (r"i([A-Z_0-9]\w*)?", "amperes"), (r"g[A-Z_0-9]*\w*Density\w*", "S/m^2"), (r"g([A-Z_0-9]\w*)?", "siemens"),
          (r"tau\w*", "seconds"))


def unit_of(variable: str) -> str:
    """The SI unit NWB should show for a recorded variable, from its name (nmlhub records every
    quantity in SI; the ``lems_path`` column says exactly what each one is).

    ``v``, ``erev``: volts; names holding ``conc``: mol/m^3; ``i``, ``iSyn``, ``iCa``...: amperes
    (``iDensity``: A/m^2); ``g``, ``gSyn``...: siemens (``gDensity``: S/m^2); ``tau...``: seconds;
    ``q``, ``fcond``, ``r``... and anything else: ``"SI"``.

    Examples
    --------
    >>> unit_of("v"), unit_of("caConc"), unit_of("iSyn"), unit_of("gDensity"), unit_of("fcond")
    ('volts', 'mol/m^3', 'amperes', 'S/m^2', 'SI')
    """
    for pattern, unit in _UNITS:
        if re.fullmatch(pattern, variable):
            return unit
    return "SI"


def write(results: Results, path: Path, model: Any = None, subject: dict[str, Any] | None = None) -> list[Path]:
    """Write results to an NWB file (atomically: a temporary file, then a rename).

    Parameters
    ----------
    results
        What a simulation recorded.
    path
        The ``.nwb`` file to write.
    model
        The :class:`nmlhub.Model` that was run, for the cells' positions and types. When omitted,
        the LEMS file named in ``results.settings`` is loaded if it still exists and its content
        hash matches ``results.model_hash``; otherwise positions are NaN and types empty.
    subject
        Fields of the NWB ``Subject`` (``species="Mus musculus"``...) to use instead of the
        defaults: the model as subject, age 0 at the run's start, sex ``"U"``, species NCBI's
        "unidentified" (``NCBITaxon_32644``), since a NeuroML file does not say.

    Returns
    -------
    list of Path
        ``[path]``.
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    nwbfile = build_nwbfile(results, model if model is not None else _model_of(results), subject)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nwb", dir=path.parent)
    os.close(handle)
    try:
        with NWBHDF5IO(tmp, "w") as io:
            io.write(nwbfile)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [path]


def _model_of(results: Results) -> Any:
    lems = results.settings.get("lems_file") if isinstance(results.settings, dict) else None
    if not lems or not Path(str(lems)).is_file():
        return None
    from nmlhub.errors import NmlhubError
    from nmlhub.model import load

    try:
        model = load(Path(str(lems)))
    except NmlhubError:
        return None
    return model if model.content_hash() == results.model_hash else None


def build_nwbfile(results: Results, model: Any = None, subject: dict[str, Any] | None = None) -> Any:
    """The in-memory ``pynwb.NWBFile`` of :func:`write` (see the module docstring)."""
    from pynwb import NWBFile
    from pynwb.file import Subject

    from nmlhub import __version__

    settings = results.settings if isinstance(results.settings, dict) else {}
    start = datetime.now(timezone.utc)
    simulator = f"{settings.get('simulator', 'unknown')} {settings.get('simulator_version', '')}".strip()
    lems = settings.get("lems_file")
    name = Path(str(lems)).stem.removeprefix("LEMS_") if lems else "model"
    nwbfile = NWBFile(
        session_description=(f"Simulation of the NeuroML model {name} ({settings.get('target', 'network')}) "
                             f"in {simulator} by nmlhub {__version__}: {results.duration_ms:g} ms at dt "
                             f"{results.dt_ms:g} ms, seed {results.seed}"),
        identifier=str(uuid.uuid4()),
        session_start_time=start,
        experiment_description=f"NeuroML model {name}, content sha256 {results.model_hash}",
        keywords=["simulation", "NeuroML", "NEURON", "nmlhub"],
        source_script=_lems_text(lems) if lems else None,
        source_script_file_name=str(lems) if lems else None,
        was_generated_by=[["nmlhub", __version__], [str(settings.get("simulator", "unknown")),
                                                      str(settings.get("simulator_version", "unknown"))]],
        notes=json.dumps(_record(results)),
        subject=Subject(**_subject_fields(name, start, subject)),
    )
    _add_units(nwbfile, results, model)
    _add_traces(nwbfile, results)
    if results.lfp is not None:
        _add_lfp(nwbfile, results.lfp)
    return nwbfile


def _subject_fields(name: str, start: datetime, given: dict[str, Any] | None) -> dict[str, Any]:
    """The NWB subject of a simulation: the model itself, "born" when the run started (age 0),
    sex unknown, species NCBI's "unidentified" taxon; ``given`` fields (e.g. the species the model
    stands for) replace these."""
    fields: dict[str, Any] = {
        "subject_id": name, "description": f"in silico: the NeuroML model {name}, simulated",
        "date_of_birth": start, "sex": "U", "species": UNIDENTIFIED_SPECIES}
    fields.update(given or {})
    return fields


def _lems_text(lems: Any) -> str:
    """The LEMS file's text (what reruns the simulation), or its path when it is gone."""
    try:
        return Path(str(lems)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"nmlhub run {lems}"


def _record(results: Results) -> dict[str, Any]:
    return {"nmlhub_results": 1, "duration_ms": results.duration_ms, "dt_ms": results.dt_ms,
            "seed": results.seed, "model_hash": results.model_hash, "settings": results.settings}


def _cell_table(results: Results, model: Any) -> tuple[list[str], np.ndarray]:
    """Cell type and position (um) of every cell of ``results.spikes``, from the model."""
    keys = list(results.spikes)
    types = [""] * len(keys)
    positions = np.full((len(keys), 3), np.nan)
    if model is None or not keys:
        return types, positions
    from nmlhub.analysis.network import network_cells
    from nmlhub.errors import NmlhubError

    try:
        cells = network_cells(model)
    except NmlhubError:  # a model whose network cannot be listed still gets its spikes written
        return types, positions
    for k, (pop, index) in enumerate(keys):
        if pop in cells.populations:
            row = int(cells.rows(pop, np.array([index]))[0])
            if row >= 0:
                types[k] = cells.components[cells.populations.index(pop)]
                positions[k] = cells.position[row]
    return types, positions


_CELL_COLUMNS = (("population", "NeuroML population of the cell"),
                 ("cell_index", "index of the cell in its population"),
                 ("cell_type", "NeuroML cell component of the population"),
                 ("x", "x position of the cell (um); NaN if the model gives none"),
                 ("y", "y position of the cell (um); NaN if the model gives none"),
                 ("z", "z position of the cell (um); NaN if the model gives none"))


def _add_units(nwbfile: Any, results: Results, model: Any) -> None:
    """Every cell as a unit with its spikes; with no spike at all (where NWB's checks reject a
    Units table) every cell as a row of the table ``misc/cells`` instead. Columns are built whole
    (a row at a time takes pynwb about 1 ms a cell)."""
    from hdmf.common import DynamicTable, VectorData, VectorIndex
    from pynwb.misc import Units

    types, positions = _cell_table(results, model)
    keys = list(results.spikes)
    values = {"population": [str(p) for p, _ in keys], "cell_index": np.array([int(i) for _, i in keys], np.int64),
              "cell_type": types, "x": positions[:, 0], "y": positions[:, 1], "z": positions[:, 2]}
    columns = [VectorData(name=name, description=description, data=values[name])
               for name, description in _CELL_COLUMNS]
    ids = np.arange(len(keys), dtype=np.int64)
    if results.spike_count() > 0:
        trains = [np.asarray(results.spikes[k], dtype=np.float64).reshape(-1) for k in keys]
        times = VectorData(name="spike_times", description="the cell's spike times (s)",
                           data=np.concatenate(trains) * 1e-3)
        index = VectorIndex(name="spike_times_index", target=times,
                            data=np.cumsum([t.size for t in trains]).astype(np.int64))
        nwbfile.units = Units(name="units", description="every cell of the network, with its spikes",
                              resolution=float(results.dt_ms) * 1e-3 if results.dt_ms > 0 else -1.0,
                              columns=[times, index] + columns, id=ids)
    else:
        table = DynamicTable(name=CELLS_TABLE, description="every cell of the network (none spiked)",
                             columns=columns, id=ids)
        nwbfile.create_processing_module("misc", "the cells of a run without spikes").add(table)


def _variable(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "quantity"


def _add_traces(nwbfile: Any, results: Results) -> None:
    if not results.traces:
        return
    from hdmf.common import DynamicTable, VectorData
    from pynwb import TimeSeries

    groups: dict[str, list[str]] = {}
    for path in results.traces:
        groups.setdefault(_variable(str(path)), []).append(path)
    module = nwbfile.create_processing_module(
        TRACES_MODULE, "quantities recorded in the simulation (LEMS paths in trace_columns), SI units")
    timing: Any = time_base(results.time_ms)
    series_col, column_col, path_col = [], [], []
    for variable, paths in groups.items():
        data = np.column_stack([np.asarray(results.traces[p], dtype=np.float64) for p in paths])
        series = TimeSeries(name=variable, data=data, unit=unit_of(variable), **timing,
                            description=f"recorded {variable} of {len(paths)} cells or places; the "
                                        f"LEMS path of each column is in {COLUMNS_TABLE}")
        module.add(series)
        if "timestamps" in timing:
            timing = {"timestamps": series}
        series_col += [variable] * len(paths)
        column_col += list(range(len(paths)))
        path_col += [str(p) for p in paths]
    module.add(DynamicTable(name=COLUMNS_TABLE, description="what each column of each series is", columns=[
        VectorData(name="series", description="name of the TimeSeries", data=series_col),
        VectorData(name="column", description="column of that series' data", data=column_col),
        VectorData(name="lems_path", description="the quantity's path as the LEMS file names it",
                   data=path_col)]))


def time_base(time_ms: np.ndarray) -> dict[str, Any]:
    """How a series gives its sample times: ``starting_time`` and ``rate`` (Hz) when the samples
    are evenly spaced (to 1e-6 of a step: NEURON's ``t`` accumulates
    rounding errors, so times read back differ from those recorded by that much at most), else ``timestamps`` (s)."""
    time_s = np.asarray(time_ms, dtype=np.float64).reshape(-1) * 1e-3
    if time_s.size >= 2:
        step = (time_s[-1] - time_s[0]) / (time_s.size - 1)
        grid = time_s[0] + step * np.arange(time_s.size)
        if step > 0 and np.max(np.abs(time_s - grid)) <= 1e-6 * step:
            return {"starting_time": float(time_s[0]), "rate": float(1.0 / step)}
    return {"timestamps": time_s}


def _times_ms(series: Any) -> np.ndarray:
    """Sample times (ms) of a series written with :func:`time_base`."""
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], dtype=np.float64) * 1e3
    n = series.data.shape[0]
    return (series.starting_time + np.arange(n) / series.rate) * 1e3


def _add_lfp(nwbfile: Any, lfp: Any) -> None:
    from pynwb.ecephys import LFP, ElectricalSeries

    device = nwbfile.create_device(name=PROBE_DEVICE, description="simulated extracellular probe")
    group = nwbfile.create_electrode_group(name="probe", description="contacts of the simulated probe",
                                           location="simulated tissue", device=device)
    for x, y, z in np.asarray(lfp.positions_um, dtype=np.float64):
        nwbfile.add_electrode(x=float(x), y=float(y), z=float(z), location="simulated tissue", group=group)
    region = nwbfile.create_electrode_table_region(list(range(len(lfp.positions_um))), "probe contacts")
    container = LFP()  # in the file before the series joins it, so the series' region finds its table
    nwbfile.create_processing_module("ecephys", "simulated extracellular potential").add(container)
    container.add_electrical_series(ElectricalSeries(
        name=LFP_NAME, data=np.asarray(lfp.potential_mv, dtype=np.float64).T * 1e-3, electrodes=region,
        **time_base(lfp.time_ms),
        description="extracellular potential computed from the membrane currents (positions in um)",
        comments=json.dumps({"sigma": float(lfp.sigma), "method": str(lfp.method)})))


# ---------------------------------------------------------------- reading

def read(path: Path) -> Results:
    """Read results from an NWB file written by :func:`write`.

    Raises
    ------
    ConversionError
        The file is missing, not NWB, or lacks nmlhub's run record; the message names it.
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    if not path.is_file():
        raise ConversionError("no such file", file=path)
    try:
        with NWBHDF5IO(str(path), "r") as io:
            return _results_of(io.read(), path)
    except ConversionError:
        raise
    except Exception as exc:  # pynwb/hdmf/h5py raise many kinds for damaged or foreign files
        raise ConversionError(f"not a readable NWB file: {type(exc).__name__}: {exc}", file=path) from None


def _results_of(nwbfile: Any, path: Path) -> Results:
    try:
        record = json.loads(nwbfile.notes or "")
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("nmlhub_results") != 1:
        raise ConversionError("not an nmlhub results file (no run record in the notes)", file=path)
    time_ms, traces = _read_traces(nwbfile)
    return Results(time_ms=time_ms, traces=traces, spikes=_read_spikes(nwbfile),
                   duration_ms=record["duration_ms"], dt_ms=record["dt_ms"], seed=record["seed"],
                   settings=record["settings"], model_hash=record["model_hash"], lfp=_read_lfp(nwbfile))


def _read_spikes(nwbfile: Any) -> dict[tuple[str, int], np.ndarray]:
    units = nwbfile.units
    if units is None:
        misc = nwbfile.processing.get("misc")
        if misc is None or CELLS_TABLE not in misc.data_interfaces:
            return {}
        cells = misc[CELLS_TABLE]
        return {(str(p), int(i)): np.zeros(0) for p, i in zip(cells["population"].data[:], cells["cell_index"].data[:])}
    populations = units["population"].data[:]
    indices = units["cell_index"].data[:]
    index = units["spike_times"]
    data, ends = np.asarray(index.target.data[:], dtype=np.float64), np.asarray(index.data[:])
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    return {(str(p), int(i)): data[s:e] * 1e3 for p, i, s, e in zip(populations, indices, starts, ends)}


def _read_traces(nwbfile: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    module = nwbfile.processing.get(TRACES_MODULE)
    if module is None:
        return np.zeros(0), {}
    table = module[COLUMNS_TABLE]
    rows = zip(table["series"].data[:], table["column"].data[:], table["lems_path"].data[:])
    traces, time_ms = {}, np.zeros(0)
    for series_name, column, lems_path in rows:
        series = module[str(series_name)]
        traces[str(lems_path)] = np.asarray(series.data[:, int(column)], dtype=np.float64)
        time_ms = _times_ms(series)
    return time_ms, traces


def _read_lfp(nwbfile: Any) -> Any:
    module = nwbfile.processing.get("ecephys")
    if module is None or "LFP" not in module.data_interfaces:
        return None
    from nmlhub.lfp.data import LFP

    series = module["LFP"].electrical_series[LFP_NAME]
    electrodes = series.electrodes.table
    rows = np.asarray(series.electrodes.data[:], dtype=np.int64)
    positions = np.column_stack([np.asarray(electrodes[c].data[:], dtype=np.float64)[rows] for c in "xyz"])
    extra = json.loads(series.comments or "{}")
    return LFP(_times_ms(series), positions,
               np.asarray(series.data[:], dtype=np.float64).T * 1e3, float(extra.get("sigma", 0.3)),
               str(extra.get("method", "linesource")))
