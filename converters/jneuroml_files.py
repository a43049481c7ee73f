"""jNeuroML's output files: ``.dat`` traces and spike (event) files.

A trace file (an LEMS ``OutputFile``) is tab-separated text, one row per sample: time in seconds,
then one column per recorded quantity in SI units; each row ends with a tab. A spike file (an
``EventOutputFile``) has one line per spike, ``TIME_ID`` (time in s, a tab, the selection id; the
default) or ``ID_TIME``, in time order. nmlhub writes both with 9 significant digits, as
:meth:`nmlhub.neuron.simulation.NeuronSimulation.write_outputs` does.

Neither file names anything: column names and the cells behind selection ids come from the LEMS
file. :func:`read_lems_outputs` reads every output file of a model's ``<Simulation>`` with those
names. Without a LEMS file, :func:`read` and :func:`write` pair ``<stem>.dat`` (traces) with
``<stem>.spikes`` (``TIME_ID`` spikes): columns are named ``col1``..``colN`` and the cell of id
``k`` is ``(POPULATION, k)``; :func:`write` numbers cells 0, 1... in the results' cell order.
These files keep the time base, the trace values and every spike time (9 significant digits,
times converted ms <-> s); they lose trace names, populations, cells without spikes, the seed,
the settings and the model hash (duration and step are read back from the time column).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nmlhub.model.paths import cell_key
from nmlhub.results import Results, format_event_file, format_trace_file, write_atomic_text

from .plain import ConversionError

POPULATION = "cells"
EVENT_FORMATS = ("TIME_ID", "ID_TIME")
_SPIKE_SUFFIXES = (".spikes", ".spikes.dat")


def write_trace_file(path: Path, results: Results, names: Sequence[str] | None = None) -> Path:
    """Write traces (all, or those in ``names``, in that order) as a jNeuroML ``.dat`` file."""
    path = Path(path)
    names = list(results.traces) if names is None else list(names)
    missing = [name for name in names if name not in results.traces]
    if missing:
        raise ConversionError(f"no trace {missing[0]!r} in the results", file=path)
    time_s = np.asarray(results.time_ms, dtype=np.float64) * 1e-3
    columns = [np.asarray(results.traces[name], dtype=np.float64) for name in names]
    write_atomic_text(path, format_trace_file(time_s, columns))
    return path


def read_trace_file(path: Path, names: Sequence[str] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read a jNeuroML ``.dat`` file: time (ms) and traces by name (default ``col1``..``colN``).

    Raises
    ------
    ConversionError
        The file is missing, not a table of numbers, or has a number of columns other than
        ``len(names) + 1``.
    """
    path = Path(path)
    table = _table(path)
    width = table.shape[1] - 1 if table.size else (len(names) if names is not None else 0)
    names = [f"col{k}" for k in range(1, width + 1)] if names is None else list(names)
    if len(names) != width:
        raise ConversionError(f"has {width} value columns, {len(names)} names were given", file=path)
    if len(set(names)) != len(names):
        raise ConversionError("the column names repeat", file=path)
    table = table.reshape(-1, width + 1)
    return table[:, 0] * 1e3, {name: table[:, k + 1].copy() for k, name in enumerate(names)}


def write_spike_file(path: Path, results: Results, fmt: str = "TIME_ID",
                     ids: Mapping[tuple[str, int], str] | None = None) -> Path:
    """Write every spike as a jNeuroML spike file, in time order.

    Parameters
    ----------
    ids
        The selection id of each cell to write; default: every cell, numbered 0, 1... in order.
    """
    path = Path(path)
    _check_format(fmt, path)
    if ids is None:
        ids = {cell: str(k) for k, cell in enumerate(results.spikes)}
    trains = [np.asarray(results.spikes[cell], dtype=np.float64).reshape(-1) for cell in ids]
    counts = [len(train) for train in trains]
    times = np.concatenate(trains) * 1e-3 if trains else np.zeros(0)
    labels = np.repeat(np.array([str(i) for i in ids.values()], dtype=object), counts)
    order = np.argsort(times, kind="stable")
    write_atomic_text(path, format_event_file(list(zip(times[order].tolist(), labels[order].tolist())), fmt))
    return path


def read_spike_file(path: Path, fmt: str = "TIME_ID",
                    cells: Mapping[str, tuple[str, int]] | None = None) -> dict[tuple[str, int], np.ndarray]:
    """Read a jNeuroML spike file: spike times (ms) by cell.

    Parameters
    ----------
    fmt
        ``TIME_ID`` (jNeuroML's default) or ``ID_TIME``.
    cells
        The cell of each selection id. Cells listed here are all in the result, in this order,
        with or without spikes. Default: id ``k`` (an integer) is cell ``(POPULATION, k)``,
        cells in order of first spike.

    Raises
    ------
    ConversionError
        The file is missing or malformed, or an id is not in ``cells`` (not an integer).
    """
    path = Path(path)
    _check_format(fmt, path)
    try:
        words = path.read_bytes().decode("utf-8").split()
    except FileNotFoundError:
        raise ConversionError("no such file", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConversionError(f"not a text file: {exc}", file=path) from None
    if len(words) % 2:
        raise ConversionError("the file does not hold pairs of time and id", file=path)
    pairs = np.array(words, dtype=object).reshape(-1, 2)
    time_col, id_col = (0, 1) if fmt == "TIME_ID" else (1, 0)
    try:
        times = pairs[:, time_col].astype(np.float64) * 1e3
    except ValueError as exc:
        raise ConversionError(f"a spike time is not a number ({fmt}): {exc}", file=path) from None
    labels = pairs[:, id_col].tolist()
    cells = dict(cells) if cells is not None else {i: (POPULATION, _integer(i, path)) for i in dict.fromkeys(labels)}
    unknown = set(labels) - set(cells)
    if unknown:
        raise ConversionError(f"spikes of unknown id {sorted(unknown)[0]!r}", file=path)
    rows = {label: k for k, label in enumerate(cells)}
    row = np.array([rows[label] for label in labels], dtype=np.int64)
    order = np.argsort(row, kind="stable")
    trains = np.split(times[order], np.cumsum(np.bincount(row, minlength=len(cells)))[:-1])
    return {cell: train.copy() for cell, train in zip(cells.values(), trains)}


def companions(path: Path) -> tuple[Path, Path]:
    """The trace and spike files that :func:`write` writes for ``path`` (``run.dat``,
    ``run.spikes`` or ``run.spikes.dat`` all mean ``run.dat`` and ``run.spikes``)."""
    path = Path(path)
    name = path.name
    for suffix in _SPIKE_SUFFIXES[::-1] + (".dat",):
        if name.lower().endswith(suffix):
            name = name[:-len(suffix)]
            break
    return path.with_name(name + ".dat"), path.with_name(name + ".spikes")


def write(results: Results, path: Path) -> list[Path]:
    """Write all traces to ``<stem>.dat`` and all spikes to ``<stem>.spikes`` (``TIME_ID``)."""
    trace_path, spike_path = companions(path)
    return [write_trace_file(trace_path, results), write_spike_file(spike_path, results)]


def read(path: Path) -> Results:
    """Read a ``.dat`` trace file or a ``.spikes``/``.spikes.dat`` (``TIME_ID``) spike file,
    with its companion from :func:`companions` when that exists (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError("no such file", file=path)
    is_spikes = path.name.lower().endswith(_SPIKE_SUFFIXES)
    trace_path, spike_path = companions(path)
    trace_path, spike_path = (trace_path, path) if is_spikes else (path, spike_path)
    time_ms, traces = read_trace_file(trace_path) if trace_path.is_file() else (np.zeros(0), {})
    spikes = read_spike_file(spike_path) if spike_path.is_file() else {}
    with np.errstate(invalid="ignore", over="ignore"):
        dt_ms = float(time_ms[1] - time_ms[0]) if len(time_ms) > 1 else 0.0
    return Results(time_ms=time_ms, traces=traces, spikes=spikes,
                   duration_ms=float(time_ms[-1]) if len(time_ms) else 0.0, dt_ms=dt_ms)


def write_lems_outputs(simulation: Any, results: Results, folder: Path,
                       unknown_cell: Callable[[str], None] | None = None) -> list[Path]:
    """Write every ``OutputFile`` and ``EventOutputFile`` of a LEMS ``<Simulation>`` as jNeuroML
    writes them (SI units, seconds; each file written whole or not at all): the writer of
    :func:`read_lems_outputs`.

    Parameters
    ----------
    simulation
        The model's :class:`nmlhub.model.Simulation` (its output files and what they hold).
    results
        What a run computed: every recorded quantity in ``results.traces``.
    folder
        Where the files go (their names are relative to it).
    unknown_cell
        Called with an event selection whose cell has no entry in ``results.spikes``, to raise
        the error that names what is wrong (the driver knows); by default such a cell writes
        no events.
    """
    written: list[Path] = []
    time_s = results.time_ms * 1e-3
    for output in simulation.outputs:
        path = folder / output.file_name
        write_atomic_text(path, format_trace_file(time_s, [results.traces[c.quantity] for c in output.columns]))
        written.append(path)
    for output in simulation.event_outputs:
        events: list[tuple[float, str]] = []
        for selection in output.selections:
            population, index, _ = cell_key(selection.select)
            if (population, index) not in results.spikes and unknown_cell is not None:
                unknown_cell(selection.select)
            events += [(float(t) * 1e-3, selection.id) for t in results.spikes.get((population, index), [])]
        events.sort(key=lambda e: e[0])
        path = folder / output.file_name
        write_atomic_text(path, format_event_file(events, output.format))
        written.append(path)
    return written


def read_lems_outputs(model: Any, folder: Path | None = None) -> Results:
    """Read every output file of a model's ``<Simulation>``, written by jNeuroML or ``nmlhub run``.

    Traces are named by their ``OutputColumn`` quantities and spikes keyed by the cells their
    ``EventSelection`` selects (cells that did not spike included).

    Parameters
    ----------
    model
        The :class:`nmlhub.Model` of the LEMS simulation file.
    folder
        Where the files are (default: the LEMS file's folder, where jNeuroML writes them).

    Raises
    ------
    ConversionError
        The model has no simulation, a file is missing or malformed, or trace files disagree on time.
    """
    sim = model.simulation
    if sim is None:
        raise ConversionError("the model has no <Simulation>", file=model.path)
    folder = Path(folder) if folder is not None else Path(model.path).parent
    time_ms: np.ndarray | None = None
    traces: dict[str, np.ndarray] = {}
    for output in sim.outputs:
        path = folder / output.file_name
        file_time, file_traces = read_trace_file(path, [c.quantity for c in output.columns])
        if time_ms is not None and not np.array_equal(time_ms, file_time):
            raise ConversionError("its time column differs from that of the other trace files", file=path)
        time_ms = file_time
        traces.update(file_traces)
    spikes: dict[tuple[str, int], np.ndarray] = {}
    for output in sim.event_outputs:
        cells = {s.id: tuple(cell_key(s.select)[:2]) for s in output.selections}
        spikes.update(read_spike_file(folder / output.file_name, output.format, cells))
    settings = {"lems_file": str(model.path), "simulation": sim.id, "target": sim.target,
                "duration_ms": sim.length_ms, "dt_ms": sim.step_ms, "seed": sim.seed}
    return Results(time_ms=time_ms if time_ms is not None else np.zeros(0), traces=traces, spikes=spikes,
                   duration_ms=sim.length_ms, dt_ms=sim.step_ms, seed=sim.seed, settings=settings,
                   model_hash=model.content_hash())


def _table(path: Path) -> np.ndarray:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConversionError("no such file", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConversionError(f"not a text file: {exc}", file=path) from None
    if not text.strip():
        return np.zeros((0, 0))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(io.StringIO(text), dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ConversionError(f"not a table of numbers: {exc}", file=path) from None


def _check_format(fmt: str, path: Path) -> None:
    if fmt not in EVENT_FORMATS:
        raise ConversionError(f"unknown event format {fmt!r}; formats: {', '.join(EVENT_FORMATS)}", file=path)


def _integer(label: str, path: Path) -> int:
    try:
        return int(label)
    except ValueError:
        raise ConversionError(f"the id {label!r} is not an integer; give the cells of the ids",
                              file=path) from None
