"""Simulation results: traces and spikes as numpy arrays, and jNeuroML-style output files."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .lfp.data import LFP


@dataclass
class SynapseWeights:
    """The weight of every plastic connection at the end of a run, one row per connection.

    Attributes
    ----------
    synapse
        The synapse component's id (str array).
    pre_population, pre_cell, post_population, post_cell
        The cells each connection joins (population ids as a str array, cell indices int64).
    weight
        The plastic weight (float64; for nmlhub's STDP synapses their ``w``, which multiplies the
        connection's ``weight``).
    """

    synapse: np.ndarray
    pre_population: np.ndarray
    pre_cell: np.ndarray
    post_population: np.ndarray
    post_cell: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.weight)

    def take(self, rows: np.ndarray) -> "SynapseWeights":
        """These rows, in this order."""
        return SynapseWeights(*(np.asarray(getattr(self, f.name))[rows] for f in fields(self)))

    def to_csv(self) -> str:
        """The table as CSV text: a header ``synapse,pre,post,weight``, then one row per connection,
        cells written ``population[index]``, weights as the shortest text that reads back exactly."""
        rows = ["synapse,pre,post,weight"]
        for synapse, pre_pop, pre, post_pop, post, weight in zip(
                self.synapse.tolist(), self.pre_population.tolist(), self.pre_cell.tolist(),
                self.post_population.tolist(), self.post_cell.tolist(), self.weight.tolist()):
            rows.append(f"{synapse},{pre_pop}[{pre}],{post_pop}[{post}],{weight!r}")
        return "\n".join(rows) + "\n"

    @staticmethod
    def concatenate(tables: list["SynapseWeights"]) -> "SynapseWeights":
        """The rows of several tables, one after the other."""
        return SynapseWeights(*(np.concatenate([np.asarray(getattr(t, f.name)) for t in tables])
                                for f in fields(SynapseWeights)))


@dataclass
class Results:
    """What a simulation recorded.

    Attributes
    ----------
    time_ms
        Time of every recorded sample (ms).
    traces
        Quantity path (as written in the LEMS file) -> values in SI units, one per sample.
    spikes
        ``(population, cell id)`` -> spike times (ms) of every cell.
    duration_ms, dt_ms, seed
        The settings of the run.
    settings
        What the simulator knew about the run, as plain data (str keys; numbers, strings, bools,
        None, lists and dicts): e.g. simulator and version, simulation and target ids, duration,
        step, seed, number of ranks.
    model_hash
        sha256 (hex) of the content of the model's files (:meth:`nmlhub.model.Model.content_hash`),
        or ``None`` when unknown.
    lfp
        The extracellular potential at electrodes (:class:`nmlhub.lfp.LFP`), when recorded.
    weights
        The final weights of the plastic connections (:class:`SynapseWeights`), when the network
        has any.
    """

    time_ms: np.ndarray
    traces: dict[str, np.ndarray] = field(default_factory=dict)
    spikes: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    duration_ms: float = 0.0
    dt_ms: float = 0.0
    seed: int | None = None
    settings: dict[str, object] = field(default_factory=dict)
    model_hash: str | None = None
    lfp: LFP | None = None
    weights: SynapseWeights | None = None

    def spike_count(self) -> int:
        """Total number of spikes."""
        return int(sum(len(v) for v in self.spikes.values()))


def write_atomic_text(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename, so a reader never sees half of it."""
    write_atomic_bytes(path, text.encode())


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write a file through a temporary file and a rename: an interrupted write leaves any old
    file intact and never a half-written one (see :mod:`nmlhub.atomic`)."""
    from .atomic import write_bytes

    write_bytes(path, data)


def format_trace_file(time_s: np.ndarray, columns: list[np.ndarray]) -> str:
    """jNeuroML's ``.dat`` layout: tab-separated rows, time (s) first, each row ending in a tab."""
    table = np.column_stack([time_s] + columns) if columns else time_s[:, None]
    lines = ["\t".join(f"{x:.9g}" for x in row) + "\t" for row in table]
    return "\n".join(lines) + "\n"


def format_event_file(events: list[tuple[float, str]], fmt: str) -> str:
    """jNeuroML's spike file layout; ``events`` are (time in s, selection id), in time order."""
    if fmt == "ID_TIME":
        return "".join(f"{i}\t{t:.9g}\n" for t, i in events)
    return "".join(f"{t:.9g}\t{i}\n" for t, i in events)
