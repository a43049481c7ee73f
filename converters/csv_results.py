"""Simulation results as two CSV files: one of traces, one of spikes.

``write(results, "run.csv")`` writes ``run.traces.csv`` and ``run.spikes.csv`` (so does a path
ending in ``.traces.csv`` or ``.spikes.csv``); ``read`` of any of the three names reads both.

Both files start with the same metadata, one ``# key: value`` line each, the value in JSON::

    # nmlhub results 1
    # duration_ms: 500.0
    # dt_ms: 0.025
    # seed: 1234
    # model_hash: "9f86d0..."
    # settings: {"simulator": "NEURON", ...}

Then, in ``run.traces.csv``, a header ``time_ms,<quantity>,...`` and one row per sample: time (ms)
and every quantity (SI units). In ``run.spikes.csv``, a header ``cell,time_ms`` and one row per
spike; a cell is named ``population[index]`` (e.g. ``"Exc[3]"``). Rows are grouped by cell in the
results' cell order; a cell that did not spike has one row with an empty time, so that it is kept.
When the results hold the final weights of plastic connections, a third file ``run.weights.csv``
(the same metadata, then a header ``synapse,pre,post,weight`` and one row per connection, cells
written ``population[index]``) is written, and read when it is there.
Numbers are written with Python's shortest exact repr (``nan``, ``inf`` included) and read back
bit for bit. Every text field (names, empty times) is in double quotes, numbers are not, so
any name (commas, quotes, line breaks) reads back as written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from nmlhub.results import Results, SynapseWeights, write_atomic_text

from .plain import VERSION, ConversionError
from .result_mapping import from_plain, to_plain

MAGIC = f"# nmlhub results {VERSION}"
_META = ("duration_ms", "dt_ms", "seed", "model_hash", "settings")
_CELL = re.compile(r"(.*)\[(-?\d+)\]", re.DOTALL)


def paths(path: Path) -> tuple[Path, Path]:
    """The traces and spikes files that ``path`` (``run.csv``, ``run.traces.csv``...) stands for."""
    path = Path(path)
    stem = path.name[:-len(".csv")] if path.name.lower().endswith(".csv") else path.name
    for part in (".traces", ".spikes"):
        if stem.endswith(part):
            stem = stem[:-len(part)]
    return path.with_name(f"{stem}.traces.csv"), path.with_name(f"{stem}.spikes.csv")


def write(results: Results, path: Path) -> list[Path]:
    """Write results as ``<stem>.traces.csv`` and ``<stem>.spikes.csv`` (each atomically).

    Raises
    ------
    ConversionError
        The settings are not JSON data.
    """
    traces_path, spikes_path = paths(path)
    data = to_plain(results)
    header = _header(data, traces_path)
    table = np.column_stack([data["time_ms"], data["traces"]])
    write_atomic_text(traces_path, header + _csv([["time_ms"] + data["trace_names"]], table.tolist()))
    write_atomic_text(spikes_path, header + _csv([["cell", "time_ms"]], _spike_rows(data)))
    if results.weights is None:
        return [traces_path, spikes_path]
    weights = results.weights
    rows = zip(weights.synapse.tolist(), _cells(weights.pre_population, weights.pre_cell),
               _cells(weights.post_population, weights.post_cell), weights.weight.tolist())
    write_atomic_text(weights_path(path), header + _csv([WEIGHT_HEADER], rows))
    return [traces_path, spikes_path, weights_path(path)]


WEIGHT_HEADER = ["synapse", "pre", "post", "weight"]


def weights_path(path: Path) -> Path:
    """The weights file beside the traces and spikes files ``path`` stands for."""
    traces_path, _ = paths(path)
    return traces_path.with_name(traces_path.name[:-len(".traces.csv")] + ".weights.csv")


def _cells(populations: np.ndarray, cells: np.ndarray) -> list[str]:
    return [f"{p}[{int(i)}]" for p, i in zip(populations.tolist(), cells.tolist())]


def _weights(path: Path, meta: dict[str, Any]) -> SynapseWeights | None:
    """The weights file of ``path``'s results, when there is one (from the same run)."""
    if not weights_path(path).is_file():
        return None
    weight_meta, rows = _read_file(weights_path(path), WEIGHT_HEADER)
    if weight_meta != meta:
        raise ConversionError("its metadata differ from those of the traces (not of the same run)",
                              file=weights_path(path))
    if any(len(row) != 4 for row in rows):
        raise ConversionError("a row does not have 4 fields (synapse, pre, post, weight)", file=weights_path(path))
    ends = []
    for column in (1, 2):
        matches = [_CELL.fullmatch(row[column]) for row in rows[1:]]
        if any(m is None for m in matches):
            raise ConversionError("a cell is not written population[index]", file=weights_path(path))
        ends.append((np.array([m.group(1) for m in matches], dtype=str),
                     np.array([int(m.group(2)) for m in matches], dtype=np.int64)))
    try:
        value = np.array([row[3] for row in rows[1:]], dtype=np.float64)
    except ValueError as exc:
        raise ConversionError(f"a weight is not a number: {exc}", file=weights_path(path)) from None
    synapse = np.array([row[0] for row in rows[1:]], dtype=str)
    return SynapseWeights(synapse, ends[0][0], ends[0][1], ends[1][0], ends[1][1], value)


def _header(data: dict[str, Any], path: Path) -> str:
    try:
        return "".join([MAGIC + "\n"] + [f"# {key}: {json.dumps(data[key])}\n" for key in _META])
    except (TypeError, ValueError) as exc:
        raise ConversionError(f"settings are not JSON data: {exc}", file=path) from None


def _csv(*blocks: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for rows in blocks:
        writer.writerows(rows)
    return buffer.getvalue()


def _spike_rows(data: dict[str, Any]) -> Any:
    """(cell name, time) of every spike, and (cell name, "") of every cell without spikes."""
    labels = np.array([f"{data['populations'][p]}[{i}]" for p, i in
                       zip(data["cell_population"].tolist(), data["cell_index"].tolist())], dtype=object)
    silent = np.flatnonzero(np.bincount(data["spike_cell"], minlength=len(labels)) == 0)
    cells = np.concatenate([data["spike_cell"], silent])
    times = np.array(data["spike_time_ms"].tolist() + [""] * len(silent), dtype=object)
    order = np.argsort(cells, kind="stable")
    return zip(labels[cells[order]].tolist(), times[order].tolist())


def read(path: Path) -> Results:
    """Read the two files that :func:`write` wrote for ``path``.

    Raises
    ------
    ConversionError
        A file is missing or malformed, or the two files come from different runs.
    """
    traces_path, spikes_path = paths(path)
    meta, rows = _read_file(traces_path, ["time_ms"])
    spike_meta, spike_rows = _read_file(spikes_path, ["cell", "time_ms"])
    if meta != spike_meta:
        raise ConversionError(f"its metadata differ from those of {spikes_path} (not of the same run)",
                              file=traces_path)
    data = dict(meta)
    data.update(_trace_columns(rows, traces_path))
    data.update(_spike_columns(spike_rows, spikes_path))
    try:
        results = from_plain(data)
    except ConversionError as exc:
        raise ConversionError(exc.message, file=traces_path) from None
    results.weights = _weights(path, meta)
    return results


def _read_file(path: Path, first: list[str]) -> tuple[dict[str, Any], list[list[str]]]:
    """Metadata and rows (header first) of one file, whose header starts with ``first``."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConversionError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConversionError(f"cannot be read as UTF-8 text: {exc}", file=path) from None
    lines = text.split("\n", len(_META) + 1)
    if len(lines) < len(_META) + 2 or lines[0] != MAGIC:
        raise ConversionError(f"not an nmlhub results CSV file (the first line is not {MAGIC!r})", file=path)
    meta = {}
    for key, line in zip(_META, lines[1:]):
        prefix = f"# {key}: "
        if not line.startswith(prefix):
            raise ConversionError(f"expected a line {prefix!r}, found {line[:40]!r}", file=path)
        try:
            meta[key] = json.loads(line[len(prefix):])
        except ValueError:
            raise ConversionError(f"the value of {key} is not JSON", file=path) from None
    try:
        rows = list(csv.reader(io.StringIO(lines[-1], newline="")))
    except csv.Error as exc:
        raise ConversionError(f"malformed CSV: {exc}", file=path) from None
    if not rows or rows[0][:len(first)] != first:
        raise ConversionError(f"the header does not start with {','.join(first)}", file=path)
    return meta, rows


def _trace_columns(rows: list[list[str]], path: Path) -> dict[str, Any]:
    names = rows[0][1:]
    if any(len(row) != len(names) + 1 for row in rows[1:]):
        raise ConversionError(f"a row does not have {len(names) + 1} fields", file=path)
    try:
        table = np.array(rows[1:], dtype=np.float64).reshape(len(rows) - 1, len(names) + 1)
    except ValueError as exc:
        raise ConversionError(f"a value is not a number: {exc}", file=path) from None
    return {"time_ms": table[:, 0].copy(), "trace_names": names, "traces": table[:, 1:].copy()}


def _spike_columns(rows: list[list[str]], path: Path) -> dict[str, Any]:
    if any(len(row) != 2 for row in rows):
        raise ConversionError("a spike row does not have 2 fields (cell, time_ms)", file=path)
    body = rows[1:]
    labels = [row[0] for row in body]
    cells = {label: k for k, label in enumerate(dict.fromkeys(labels))}
    populations: dict[str, int] = {}
    cell_population, cell_index = [], []
    for label in cells:
        match = _CELL.fullmatch(label)
        if match is None:
            raise ConversionError(f"the cell {label[:40]!r} is not written population[index]", file=path)
        cell_population.append(populations.setdefault(match.group(1), len(populations)))
        cell_index.append(int(match.group(2)))
    row_cell = np.array([cells[label] for label in labels], dtype=np.int64)
    times = np.array([row[1] for row in body], dtype=object)
    spiking = times != ""
    try:
        spike_time = times[spiking].astype(np.float64)
    except ValueError as exc:
        raise ConversionError(f"a spike time is not a number: {exc}", file=path) from None
    return {"populations": list(populations), "cell_population": np.array(cell_population, dtype=np.int64),
            "cell_index": np.array(cell_index, dtype=np.int64), "spike_cell": row_cell[spiking],
            "spike_time_ms": spike_time}
