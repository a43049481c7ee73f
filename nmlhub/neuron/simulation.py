"""Run a NeuroML/LEMS simulation in NEURON and write its outputs as jNeuroML does."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import NmlhubError
from ..model import Model, load
from ..model.checks import require_runnable
from ..model.paths import QuantityPathError, line_quoting
from ..model.simulation import Simulation, checked_time
from ..results import Results
from ..lfp.recorder import LFPRecorder
from ..lems.lems_network import holder_dynamics, sampled, temperature_schedule, trajectory
from . import mpi
from .build import expand_and_plan, gid_wiring_serially, load_network_mechanisms
from .cells import merged_inputs
from .collection import collected_first_then_paused
from .coupling import resend_potentials
from .input_clock import set_input_clock
from .engine import engine_named
from .mechcache import MechanismCache
from .network import NetworkInstance, instantiate
from .design_warnings import design_warnings
from .options import RunOptions, SimulationError
from .plan import BuildSettings
from .spikes import CellSpikes, GidSpikes, spike_recorder
from .eventgrid import recorded_as_jlems
from .recording import Probe, cell_key, resolve_cell, resolve_quantity
from .reset_samples import SpikeSamples
from .record_request import record_every_ms, sample_steps, with_recorded_output
from .weights import final_weights

log = logging.getLogger(__name__)




@dataclass
class _Recording:
    """NEURON vectors recording a run: t, each probe, and every spike of this rank's cells."""

    time_vec: Any
    vectors: list[Any]
    spikes: CellSpikes | GidSpikes


class NeuronSimulation:
    """One NeuroML simulation, instantiated in NEURON.

    Parameters
    ----------
    model
        A loaded model with a ``<Simulation>`` (from a LEMS file).
    options
        How to run it (:class:`~nmlhub.neuron.options.RunOptions`); any of its fields may also be
        given by name (``NeuronSimulation(model, duration_ms=100, engine="coreneuron")``):

        ``duration_ms``, ``dt_ms``, ``seed``: override the simulation's length, step and seed.
        ``parallel``: distribute cells over MPI ranks with NEURON's ParallelContext (default: when
        started by ``mpiexec`` with more than one rank); rank 0 gathers every spike and trace.
        ``gather``: ``"rank0"`` (default) as said; ``"none"``: nothing is gathered, each rank's
        :meth:`run` returns the cells it simulated (in gid order) and the traces it recorded, and
        :meth:`save_rank_part` writes them as its part of an HDF5 results file, merged later by
        ``nmlhub convert`` (:func:`nmlhub.converters.merge_rank_parts`).
        ``balance``: spread cells by estimated cost (compartments x mechanisms) instead of round-robin.
        ``write_every_ms``, ``intervals_file``: append everything recorded to the HDF5 file
        ``intervals_file`` every ``write_every_ms`` (:mod:`nmlhub.neuron.intervals`), so a killed
        run keeps what it computed.
        ``share_synapses``: connections of a linear synapse type (whose events only add to its
        states) onto the same place of a cell share one synapse instance, as hand-written NEURON
        models do: much faster for large networks, the same currents. Synapses whose variables
        are recorded are never shared (LEMS gives each connection its own synapse).
        ``split_inputs`` (default True): an input that is a spike generator driving its synapse
        (``poissonFiringSynapse``...) is placed as an event-only generator and the synapse it
        drives (:mod:`nmlhub.lems.input_split`), bit for bit the same results; inputs a recording
        names stay whole.
        ``engine``: ``"neuron"`` (default) or ``"coreneuron"``: NEURON builds the model and
        CoreNEURON (shipped in the NEURON wheel) integrates it, with the same results
        (:mod:`nmlhub.neuron.engine`); actions scheduled with :meth:`at` are not available.
        ``lfp``: record the extracellular potential at these electrodes
        (:class:`nmlhub.lfp.Electrodes`) from every segment's transmembrane current; it comes
        back as ``results.lfp``. Point cells contribute nothing. Not with CoreNEURON.
        ``lfp_every_ms``: its sampling interval (a multiple of the time step; default: every step).
        ``max_connections``: the most connections the network's rules may make (default: what the
        available memory holds, or ``$NMLHUB_MAX_CONNECTIONS``); a rule beyond it is refused
        before allocation.
        ``event_timing``: ``"jlems"`` (default): a spike acts on its targets at the time step
        jLEMS acts on it, spike by spike, with either engine and on any number of ranks (a
        connection between ranks shorter than the engine's exchange allows is refused);
        ``"jlems-exact"`` is its former name; ``"neuron"``: the delays as written, delivered as
        NEURON does. See :mod:`nmlhub.neuron.eventgrid`. Either way, a spike at the
        end of the run (t = length) is recorded, as jLEMS does.
        ``input_clock``: ``"jlems"`` (default): an input with a start and a stop (pulse, sine,
        ramp, voltage clamp...) drives the step ending at or after its delay, as jLEMS;
        ``"neuron"``: the step whose middle is at or after it, as pyNeuroML's NEURON export (a
        step later for delays on the grid). See :mod:`nmlhub.neuron.input_clock`.
        ``keep_expanded``: keep what the network's rules expanded to (cells, connections: 32
        bytes per connection) as ``sim.expanded`` after the build; by default it is released
        once NEURON holds the network (``sim.expanded`` is then None).
    cache
        Where compiled mechanisms live (default: the user cache).
    progress
        Called with the fraction done while running (the run stops 100 times for it; without
        it, it runs in one go: on MPI ranks each stop costs a spike exchange).

    Raises
    ------
    ModelError
        The model has an error ``nmlhub validate`` reports (the first one, naming file, line and
        element), or the duration or step is not a finite positive number.
    SimulationError
        An option the model or engine cannot honour.

    Examples
    --------
    >>> sim = NeuronSimulation(nmlhub.load("LEMS_izh_network.xml"))  # doctest: +SKIP
    >>> results = sim.run()  # doctest: +SKIP
    >>> sim.write_outputs(results)  # doctest: +SKIP
    """

    def __init__(self, model: Model, options: RunOptions | None = None, *, cache: MechanismCache | None = None,
                 progress: Callable[[float], None] | None = None, **values: Any) -> None:
        settings = model.simulation
        if settings is None:
            raise SimulationError("the model has no <Simulation>; run a LEMS simulation file",
                                  file=model.path)
        require_runnable(model)  # what validate rejects is refused before anything is built
        options = (options or RunOptions()).with_values(values)
        self.model = model
        self.settings: Simulation = settings
        self.duration_ms = checked_time("duration_ms", options.duration_ms if options.duration_ms is not None
                                        else settings.length_ms, model.path, allow_zero=options.duration_ms is None)
        self.dt_ms = checked_time("dt_ms", options.dt_ms if options.dt_ms is not None else settings.step_ms,
                                  model.path)
        self.options = options.checked(model.path)
        self.seed = options.seed if options.seed is not None else settings.seed
        self.cache = cache or MechanismCache()
        self.progress = progress
        self.network = model.network(settings.target)
        self.settings = with_recorded_output(settings, self.options.record, self.network,
                                             model.path.stem.removeprefix("LEMS_") + ".recorded.dat")
        self._sample_steps = sample_steps("record_every_ms", record_every_ms(self.options.record_every_ms, settings),
                                          self.dt_ms, model.path)
        self.instance: NetworkInstance | None = None
        self.expanded: Any = None
        self._scheduled: list[tuple[float, Callable[[], None]]] = []
        self._holder_values: dict[str, Any] = {}
        self.engine = engine_named(options.engine)
        self.engine.check(options, model.path)
        # CoreNEURON takes cells with gids and spikes through ParallelContext
        self.parallel = (mpi.started_by_mpi_launcher() if options.parallel is None else bool(options.parallel)
                         ) or self.engine.needs_gids
        self.intervals_file = Path(options.intervals_file) if options.intervals_file is not None else None
        self._placeholder: Any = None  # a section on a rank that owns no cell
        self._lfp_every_steps = self._lfp_steps(options.lfp_every_ms)
        self.lfp_recorder: LFPRecorder | None = None
        self.rank, self.nhost, self.pc = 0, 1, None
        self.mechanisms = {}
        self._probes: list[Probe] = []
        self._recording: _Recording | None = None
        self.run_id: str | None = None  # marks each rank's part of the results (gather="none")

    @property
    def started(self) -> bool:
        """Whether a run has begun recording and was stopped part-way (so :meth:`results_so_far`
        has something)."""
        return self._recording is not None

    def build(self) -> None:
        """Generate and compile mechanisms, then create the network in NEURON (in a parallel run,
        an error on one rank ends every rank with a message naming it)."""
        try:
            self._build()
        except Exception as exc:
            if self.parallel and self.nhost > 1:
                mpi.abort(self.pc, self.rank, _said(exc))
            raise

    def _build(self) -> None:
        from neuron import h

        if self.parallel:
            self.pc, self.rank, self.nhost = mpi.init()
        recorded = self._recorded_paths()
        self.mechanisms = load_network_mechanisms(self.model, self.network, self.engine, self.cache,
                                                  self.options.event_timing,
                                                  recorded if self.options.split_inputs else None, recorded)
        if self.rank == 0:  # where nmlhub's result differs from jLEMS's by design, the run says so too
            for problem in design_warnings(self.model, self.network, self.mechanisms):
                log.warning("%s", problem)
        h.load_file("stdrun.hoc")
        temperature = getattr(self.network, "temperature", None)
        if temperature:
            h.celsius = self.model.units.to_neuron(temperature, "temperature")
        self._holder_values = self._run_holder(h)
        self.expanded, plan = expand_and_plan(self.model, self.network, self.mechanisms,
                                              (self.parallel, self.rank, self.nhost), self.options)
        if not self.parallel and gid_wiring_serially(self.model, self.network, self.expanded, self.engine,
                                                     self.dt_ms, self.options.event_timing):
            # Serially too, connections go through ParallelContext gids when every delay allows it
            # (at least one step): quicker to build and to run than a NetCon per connection
            # watching its source's v, with the same spikes.
            self.pc = h.ParallelContext()
            self.pc.gid_clear()
        if self.options.share_synapses:
            recorded = "\n".join(self._recorded_paths())
            for component, cm in self.mechanisms.items():
                if cm.shareable and (f"/{component}/" in recorded or f"/synapses:{component}:" in recorded):
                    cm.shareable = False
        settings = BuildSettings(self.dt_ms, self.options.share_synapses, self.options.event_timing,
                                 self.options.keep_expanded, self.engine.exchange_steps if self.nhost > 1 else 1)
        self.instance = instantiate(self.model, self.network, self.mechanisms, plan, settings, self.expanded, self.pc)
        set_input_clock(self.instance.inputs, self.options.input_clock)
        if not self.options.keep_expanded:
            self.expanded = None  # NEURON holds the network now; its tables would stay through the run
        self._probes = self._make_probes()
        if self.options.lfp is not None:
            self.lfp_recorder = LFPRecorder(self.instance.cells, self.options.lfp, self._lfp_every_steps)

    def _run_holder(self, h) -> dict[str, Any]:
        """The dynamics of the LEMS component the network was written inside (Ex17's tissue),
        computed for the whole run; its temperature is NEURON's celsius, changed as it changes."""
        if self.settings.holder is None:
            return {}
        values = trajectory(holder_dynamics(self.model, self.settings.holder), self.duration_ms, self.dt_ms)
        initial, changes = temperature_schedule(values, self.dt_ms)
        if not np.isnan(initial):
            h.celsius = initial
        for time_ms, celsius in changes:
            self.at(time_ms, lambda value=celsius: setattr(h, "celsius", value))
        return values

    def _lfp_steps(self, every_ms: float | None) -> int:
        """Time steps per LFP sample."""
        if every_ms is None:
            return 1
        steps = every_ms / self.dt_ms
        if every_ms <= 0 or abs(steps - round(steps)) > 1e-6 * steps:
            raise SimulationError(f"lfp_every_ms ({every_ms:g}) must be a positive multiple of the time step "
                                  f"({self.dt_ms:g} ms)", file=self.model.path)
        return int(round(steps))

    def _recorded_paths(self) -> list[str]:
        paths = [c.quantity for o in self.settings.outputs for c in o.columns]
        paths += [line.quantity for d in self.settings.displays for line in d.lines]
        return list(dict.fromkeys(paths))

    def _make_probes(self) -> list[Probe]:
        assert self.instance is not None
        probes = []
        # the variables conditions set are recorded again after each step's handlers (NEURON only)
        steps = int(round(self.duration_ms / self.dt_ms)) + 1 if self.options.engine == "neuron" else None
        spikes = SpikeSamples(self.dt_ms, steps)
        for path in self._recorded_paths():
            if path in self._holder_values:
                continue  # the holder's own variables, computed beside the network
            if self.instance.parallel is not None and not self._records_local_cell(path):
                continue  # recorded on the rank that owns the cell
            try:
                probes.append(resolve_quantity(path, self.instance, self.mechanisms, spikes))
            except QuantityPathError as exc:
                raise QuantityPathError(exc.message, file=exc.file or self.model.path,
                                        line=exc.line or line_quoting(self.model.path, path),
                                        element=exc.element or f"quantity '{path}'") from None
        return [recorded_as_jlems(p) for p in probes] if self.options.event_timing != "neuron" else probes

    def _records_local_cell(self, path: str) -> bool:
        assert self.instance is not None and self.instance.parallel is not None
        population, index, _ = cell_key(path)
        if (population, index) not in self.instance.parallel.gids:
            resolve_cell(path, self.instance)  # raises, naming what is wrong
        return self.instance.is_local(population, index)

    def at(self, time_ms: float, action: Callable[[], None]) -> None:
        """Call ``action`` when the run reaches ``time_ms`` (e.g. to set a reward)."""
        self._scheduled.append((float(time_ms), action))

    def set_parameter(self, component: str, name: str, value: float) -> int:
        """Set a parameter (NMODL units as the mechanism declares them: SI) of every instance of a
        synapse or input component in the network; returns how many were set.

        Raises
        ------
        SimulationError
            The component is not in the network or has no such parameter.
        """
        if self.instance is None:
            self.build()
        assert self.instance is not None
        cm = self.mechanisms.get(component)
        placed = [(cm.mechanism, "attached"), (cm.generator, "generators")] if cm is not None else []
        found = [(mech.variables[name], kept) for mech, kept in placed
                 if mech is not None and mech.flat is not None and name in mech.flat.params]
        if not found:
            raise SimulationError(f"component '{component}' has no parameter '{name}' in this network",
                                  file=self.model.path)
        if any(kept == "attached" for _, kept in found) and merged_inputs(self.instance.cells.values(), component):
            raise SimulationError(
                f"component '{component}': its synapse drives, merged, the cells' shared synapses of the same "
                f"kinetics (--share-synapses), so its parameter '{name}' cannot be set for it alone; run without "
                f"sharing synapses or with the run option split_inputs=False", file=self.model.path)
        count = 0
        for nmodl, kept in found:  # a split input: its generator's or its synapse's parameter
            for cell in self.instance.cells.values():
                for point in getattr(cell, kept).get(component, []):
                    setattr(point, nmodl, float(value))
                    count += 1 if kept == "attached" or len(found) == 1 else 0
        return count

    def run(self) -> Results:
        """Run for the simulation's length and return what was recorded (in a parallel run,
        rank 0 returns everything and the other ranks what they recorded themselves)."""
        from neuron import h

        if self.instance is None:
            self.build()
        assert self.instance is not None
        try:
            with collected_first_then_paused():  # no section of an earlier run deleted mid-run
                return self._run(h)
        except Exception as exc:
            if self.parallel and self.nhost > 1:
                mpi.abort(self.pc, self.rank, _said(exc))
            raise
        finally:
            self.engine.stop()

    def _run(self, h) -> Results:
        assert self.instance is not None
        if not self.instance.cells:
            # a rank may own no cell (more ranks than cells, or coupled cells kept together);
            # NEURON records t only with some section to refer to
            self._placeholder = h.Section(name="nmlhub_no_cells_here")
        self._recording = recording = self._record(h)
        handlers = self._initialize(h)  # kept alive for the run, not beyond: they refer to self
        flush = self._interval_flusher(recording) if self.options.write_every_ms is not None else None
        self._advance(h, flush)
        results = self._results(h, recording)
        del handlers
        self._recording = None  # NEURON's recorders live as long as the run, as its handlers do
        return results

    def _record(self, h) -> "_Recording":
        """Vectors recording t, every probe and every spike of this rank's cells."""
        assert self.instance is not None
        return _Recording(h.Vector().record(h._ref_t), [h.Vector().record(p.reference) for p in self._probes],
                          spike_recorder(h, self.instance))

    def _initialize(self, h) -> tuple[Any, Any]:
        """Seed the random streams, set the step, start the engine and initialise (``finitialize``)."""
        self._seed_random(int(self.seed) if self.seed is not None else 0)
        h.dt = self.dt_ms
        h.steps_per_ms = 1.0 / self.dt_ms
        # Morphological cells: v before the mechanisms' INITIAL blocks (gates start at their
        # steady state at that v); point cells: after them (their INITIAL says what v is).
        handlers = (h.FInitializeHandler(0, self._set_morphology_potentials),
                    h.FInitializeHandler(1, self._set_initial_potentials))
        self.instance.wiring.start_run()
        self.engine.start(h, self._scheduled, self.model.path)
        if self.lfp_recorder is not None:
            self.lfp_recorder.attach()
        h.finitialize()
        if self.lfp_recorder is not None:
            self.lfp_recorder.start()
        for time_ms, action in self._scheduled:
            h.CVode().event(time_ms, action)
        return handlers

    def _results(self, h, recording: "_Recording") -> Results:
        """What was recorded, as results (in a parallel run, gathered on rank 0)."""
        wiring = self.instance.parallel
        samples = self._samples_in_run(recording.time_vec)
        traces = {p.path: p.values(v)[:samples] for p, v in zip(self._probes, recording.vectors)}
        if wiring is None:
            spikes = recording.spikes.by_cell(self._end_ms)
        elif self.options.gather == "none":
            spikes = self._local_spikes(recording.spikes.by_cell(self._end_ms, list(self.instance.cells)))
        else:
            spikes = self._gather(recording.spikes.by_cell(self._end_ms, list(self.instance.cells)), traces)
            traces = self._traces
        time_ms = np.array(recording.time_vec)[:samples]
        traces.update({path: sampled(self._holder_values[path], time_ms, self.dt_ms)
                       for path in self._recorded_paths() if path in self._holder_values})
        time_ms = time_ms[::self._sample_steps]
        traces = {path: values[::self._sample_steps] for path, values in traces.items()}
        lfp = None
        if self.lfp_recorder is not None:
            lfp = self.lfp_recorder.collect(time_ms, None if wiring is None else wiring.pc, self.rank)
            if self.rank != 0 and self.options.gather == "none":
                lfp = None  # rank 0's part holds the sum of every rank's share
        return Results(
            time_ms=time_ms, traces=traces, spikes=spikes,
            duration_ms=self.duration_ms, dt_ms=self.dt_ms, seed=self.seed,
            settings={"simulator": "NEURON", "simulator_version": str(h.nrnversion(5)),
                      "lems_file": str(self.model.path), "simulation": self.settings.id,
                      "target": self.network.id, "duration_ms": self.duration_ms, "dt_ms": self.dt_ms,
                      "seed": self.seed, "ranks": self.nhost, "balance": self.options.balance,
                      "engine": self.engine.name, "share_synapses": self.options.share_synapses},
            model_hash=self.model.content_hash(),
            lfp=lfp,
            weights=final_weights(self.instance.plastic, None if wiring is None else wiring.pc, self.rank),
        )

    def results_so_far(self) -> Results:
        """What a run stopped part-way (by an exception raised from ``progress``) recorded up to
        the time it reached, as results of that duration."""
        from neuron import h

        reached = float(h.t)
        results = self._results(h, self._recording)
        results.duration_ms = reached
        results.settings["duration_ms"] = reached
        return results

    @property
    def _end_ms(self) -> float:
        """The last time that belongs to the run (its length, and rounding of t)."""
        return self.duration_ms + 0.25 * self.dt_ms

    def _samples_in_run(self, time_vec: Any) -> int:
        """How many recorded samples belong to the run (not to its closing step)."""
        return int(np.searchsorted(np.asarray(time_vec), self._end_ms, side="right"))

    def finish(self) -> None:
        """End an MPI run cleanly: every rank waits for the others, finalises MPI and exits
        (a rank that leaves without it makes mpiexec kill the others). Does nothing serially."""
        if self.parallel and self.nhost > 1:
            mpi.finish(self.pc)

    def _gather(self, local: dict[tuple[str, int], list[float]], traces: dict) -> dict:
        """Every rank's spikes and traces to rank 0 (each once: a cell lives on one rank)."""
        assert self.instance is not None and self.instance.parallel is not None
        wiring = self.instance.parallel
        gathered = wiring.pc.py_gather((local, traces), 0)
        self._traces = traces
        if self.rank != 0:
            return {key: np.asarray(sorted(v)) for key, v in local.items()}
        spikes: dict[tuple[str, int], np.ndarray] = {}
        merged: dict[str, np.ndarray] = {}
        for rank_spikes, rank_traces in gathered:
            for key, values in rank_spikes.items():
                spikes[key] = np.asarray(sorted(values))
            merged.update(rank_traces)
        order = {key: gid for key, gid in wiring.gids.items()}
        self._traces = {path: merged[path] for path in self._recorded_paths() if path in merged}
        return dict(sorted(spikes.items(), key=lambda item: order[item[0]]))

    def _local_spikes(self, local: dict[tuple[str, int], list[float]]) -> dict[tuple[str, int], np.ndarray]:
        """This rank's spikes, cells in gid order, for its own part of the results (``gather="none"``);
        every rank also learns the run's id, which marks its part."""
        wiring = self.instance.parallel
        self.run_id = wiring.pc.py_broadcast(uuid.uuid4().hex if self.rank == 0 else None, 0)
        order = wiring.gids
        return {key: np.asarray(sorted(local[key])) for key in sorted(local, key=order.__getitem__)}

    def save_rank_part(self, results: Results, path: str | Path) -> Path:
        """Write this rank's results (from :meth:`run` with ``gather="none"``) as its part of the
        results meant for the HDF5 file ``path``: ``NAME.rank<k>.h5`` beside it, written
        atomically; ``nmlhub convert NAME.rank0.h5 NAME.h5`` (or
        :func:`nmlhub.converters.merge_rank_parts`) merges the parts into the file a gathered run
        writes. Returns the part's path.

        Raises
        ------
        SimulationError
            The run gathered its results on rank 0 (nothing to split), or has not run.
        """
        from ..converters.rank_parts import write_rank_part

        if self.options.gather != "none" or self.instance is None:
            raise SimulationError("save_rank_part needs a run with gather='none'", file=self.model.path)
        wiring = self.instance.parallel
        if wiring is None:  # one part: the cells in the order a serial run gives them
            gids = np.arange(len(results.spikes))
            self.run_id = self.run_id or uuid.uuid4().hex
        else:
            gids = np.array([wiring.gids[key] for key in results.spikes], dtype=np.int64)
        return write_rank_part(results, path, self.rank, self.nhost, gids, self._recorded_paths(), self.run_id)

    def _seed_random(self, seed: int) -> None:
        """Give every instance that draws random numbers its own Random123 stream, identified by
        the seed and the instance's place in the network (cell, component, number on the cell),
        so results do not depend on how cells are spread over ranks."""
        from ..rules.layout import stream_key

        assert self.instance is not None
        for (population, index), cell in self.instance.cells.items():
            # a split input's generator draws what the whole input drew (its synapse draws nothing)
            groups = [("cell", [cell.mechanism])] + list(cell.attached.items()) + list(cell.generators.items())
            for component, points in groups:
                for k, point in enumerate(points):
                    if point is None or not hasattr(point, "rng_nml"):
                        continue
                    key = stream_key(population, index, component, k)
                    point.rng_nml.set_ids(seed & 0xFFFFFFFF, key >> 32, key & 0xFFFFFFFF)
                    point.rng_nml.set_seq(0)
        for (population, index, _), copy in self.instance.ahead_copies.items():  # its source's stream
            if hasattr(copy, "rng_nml"):
                key = stream_key(population, index, "cell", 0)
                copy.rng_nml.set_ids(seed & 0xFFFFFFFF, key >> 32, key & 0xFFFFFFFF)
                copy.rng_nml.set_seq(0)

    def _set_initial_potentials(self) -> None:
        # The membrane potential a point cell's OnStart asks for (see nmlhub.lems.nmodl).
        assert self.instance is not None
        for cell in self.instance.cells.values():
            if cell.mechanism is not None and hasattr(cell.mechanism, "vinit_nml"):
                cell.section(0.5).v = cell.mechanism.vinit_nml
        resend_potentials(self.instance)

    def _set_morphology_potentials(self) -> None:
        # A morphological cell's initMembPotential.
        assert self.instance is not None
        for cell in self.instance.cells.values():
            if cell.built is not None and cell.v_init_mv is not None:
                for section in cell.built.sections:
                    for seg in section:
                        seg.v = cell.v_init_mv

    def _interval_flusher(self, recording: "_Recording") -> Callable[[float], None]:
        from .intervals import IntervalWriter

        assert self.instance is not None
        wiring = self.instance.parallel
        writer = IntervalWriter(self.intervals_file, self._recorded_paths(), recording.spikes.cells(self.instance),
                                self.rank, wiring.pc if wiring is not None else None)

        def flush(until_ms: float) -> None:
            samples = self._samples_in_run(recording.time_vec)
            traces = {p.path: p.values(v)[:samples] for p, v in zip(self._probes, recording.vectors)}
            new = recording.spikes.new(self._end_ms)
            writer.flush(until_ms, np.asarray(recording.time_vec)[:samples], traces, new)
            if until_ms >= self.duration_ms:
                writer.close()

        return flush

    def _advance(self, h, flush: Callable[[float], None] | None = None) -> None:
        every = self.options.write_every_ms
        if flush is not None and every is not None:
            stops = list(np.arange(every, self.duration_ms, every)) + [self.duration_ms]
        elif self.progress is None:
            stops = [self.duration_ms]  # nobody to tell: on MPI ranks every stop is one spike exchange more
        else:
            stops = self.engine.stops(self.duration_ms, self.nhost)
        started = time.monotonic()
        for k, until in enumerate(stops, start=1):
            # jLEMS acts on the events of its last step too (a spike at t = length is recorded);
            # NEURON handles them at the start of the next step, so the run takes one more step,
            # whose samples and spikes are dropped.
            target = until if k < len(stops) else until + self.dt_ms
            self.instance.wiring.advance(h, target)
            if flush is not None:
                flush(float(until))
            if self.progress is not None:
                self.progress(k / len(stops))
        log.info("simulated %.1f ms in %.2f s", self.duration_ms, time.monotonic() - started)

    def write_outputs(self, results: Results, folder: Path | None = None) -> list[Path]:
        """Write every OutputFile and EventOutputFile as jNeuroML would (SI units, seconds),
        relative to the LEMS file's folder unless ``folder`` is given."""
        from ..converters.jneuroml_files import write_lems_outputs

        assert self.instance is not None
        instance = self.instance
        return write_lems_outputs(self.settings, results, folder or self.model.path.parent,
                                  lambda select: resolve_cell(select, instance))  # names what is wrong


def simulate(model: Model | str | Path, options: RunOptions | None = None, **values: Any) -> Results:
    """Load (if needed), build and run a simulation; returns its results.

    Parameters
    ----------
    model
        A :class:`~nmlhub.model.Model` or the path of a LEMS simulation file.
    **options
    options
        How to run it (:class:`~nmlhub.neuron.options.RunOptions`).
    **values
        Run options by name (``duration_ms``, ``dt_ms``, ``seed``, ...), ``cache``, ``progress``:
        see :class:`NeuronSimulation`.
    """
    if not isinstance(model, Model):
        model = load(model)
    return NeuronSimulation(model, options, **values).run()


def _said(exc: Exception) -> str:
    """An error as the command line says it: nmlhub's own errors by their message alone."""
    return str(exc) if isinstance(exc, NmlhubError) else f"{type(exc).__name__}: {exc}"
