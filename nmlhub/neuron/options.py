"""How a simulation is run, as one typed value shared by the command line, the batch runner and
:func:`nmlhub.simulate`; checked before anything is built. Imports no NEURON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import NmlhubError

ENGINES = ("neuron", "coreneuron")
#: Where a parallel run's results go: gathered on rank 0, or each rank keeps its own part.
GATHERS = ("rank0", "none")


class SimulationError(NmlhubError):
    """The model cannot be simulated as asked."""


@dataclass(frozen=True)
class RunOptions:
    """The options of a run (see :class:`nmlhub.neuron.simulation.NeuronSimulation` for each).

    ``duration_ms``, ``dt_ms`` and ``seed`` override the simulation's own (None: the file's);
    ``parallel`` None means "when started by ``mpiexec`` with more than one rank".
    """

    duration_ms: float | None = None
    dt_ms: float | None = None
    seed: int | None = None
    parallel: bool | None = None
    balance: bool = False
    share_synapses: bool = False
    split_inputs: bool = True
    write_every_ms: float | None = None
    intervals_file: Path | str | None = None
    engine: str = "neuron"
    lfp: Any = None  # nmlhub.lfp.Electrodes
    lfp_every_ms: float | None = None
    max_connections: int | None = None
    event_timing: str = "jlems"
    input_clock: str = "jlems"
    record: tuple[str, ...] = ()
    record_every_ms: float | None = None
    gather: str = "rank0"
    keep_expanded: bool = False

    def with_values(self, values: Mapping[str, Any]) -> "RunOptions":
        """These options with some replaced by name.

        Raises
        ------
        SimulationError
            A name that is no run option.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SimulationError(f"unknown run option(s) {', '.join(unknown)}; options: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **values)

    def checked(self, path: Path | None) -> "RunOptions":
        """These options, or an error naming ``path`` (the model's file) and what is wrong."""
        from .eventgrid import EVENT_TIMINGS
        from .input_clock import INPUT_CLOCKS

        if (self.write_every_ms is None) != (self.intervals_file is None):
            raise SimulationError("give both write_every_ms and intervals_file, or neither", file=path)
        if self.write_every_ms is not None and self.write_every_ms <= 0:
            raise SimulationError(f"write_every_ms must be positive, not {self.write_every_ms}", file=path)
        if self.record_every_ms is not None and not self.record_every_ms > 0:
            raise SimulationError(f"record_every_ms must be positive, not {self.record_every_ms}", file=path)
        if self.record_every_ms is not None and self.write_every_ms is not None:
            raise SimulationError("record_every_ms and write_every_ms cannot be combined (an interval "
                                  "file holds every step)", file=path)
        if isinstance(self.record, str):
            raise SimulationError(f"record takes a list of paths, not the string {self.record!r}", file=path)
        if self.gather not in GATHERS or (self.gather == "none" and self.write_every_ms is not None):
            raise SimulationError(f"gather must be one of {', '.join(GATHERS)}, and 'none' is not for runs "
                                  f"that write every so many ms (gather {self.gather!r})", file=path)
        if self.engine not in ENGINES:
            raise SimulationError(f"unknown engine {self.engine!r}; engines: {', '.join(ENGINES)}", file=path)
        if self.event_timing not in EVENT_TIMINGS:
            raise SimulationError(f"unknown event timing {self.event_timing!r}; timings: "
                                  f"{', '.join(EVENT_TIMINGS)}", file=path)
        if self.input_clock not in INPUT_CLOCKS:
            raise SimulationError(f"unknown input clock {self.input_clock!r}; clocks: "
                                  f"{', '.join(INPUT_CLOCKS)}", file=path)
        return self
