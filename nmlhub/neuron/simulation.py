"""Run a NeuroML/LEMS simulation in NEURON and write its outputs as jNeuroML does."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import NmlhubError
from ..model import Model, load
from ..model.checks import require_runnable
from ..model.simulation import Simulation, checked_time
from ..results import Results, format_event_file, format_trace_file, write_atomic_text
from .mechanisms import build_mechanisms, role_of
from .mechcache import MechanismCache, load_combined, load_libraries
from ..lfp.electrodes import Electrodes
from ..lfp.recorder import LFPRecorder
from .coupling import resend_potentials
from .eventgrid import EVENT_TIMINGS, netcon_delays, relay_mechanism
from .network import NetworkInstance, instantiate, needed_components
from . import mpi
from .recording import Probe, cell_key, resolve_cell, resolve_quantity

log = logging.getLogger(__name__)


class SimulationError(NmlhubError):
    """The model cannot be simulated as asked."""


ENGINES = ("neuron", "coreneuron")


class NeuronSimulation:
    """One NeuroML simulation, instantiated in NEURON.

    Parameters
    ----------
    model
        A loaded model with a ``<Simulation>`` (from a LEMS file).
    duration_ms, dt_ms, seed
        Override the simulation's length, step and seed.
    cache
        Where compiled mechanisms live (default: the user cache).
    progress
        Called with the fraction done while running.
    parallel
        Distribute cells over MPI ranks with NEURON's ParallelContext (default: when started by
        ``mpiexec`` with more than one rank). Rank 0 gathers every spike and trace.
    balance
        Spread cells by estimated cost (compartments x mechanisms) instead of round-robin.
    write_every_ms, intervals_file
        Append everything recorded to the HDF5 file ``intervals_file`` every ``write_every_ms``
        (:mod:`nmlhub.neuron.intervals`), so a killed run keeps what it computed.
    share_synapses
        Connections of a linear synapse type (whose events only add to its states) onto the
        same place of a cell share one synapse instance, as hand-written NEURON models do: much
        faster for large networks, the same currents. Synapses whose variables are recorded are
        never shared (LEMS gives each connection its own synapse).
    engine
        ``"neuron"`` (default) or ``"coreneuron"``: NEURON builds the model and CoreNEURON
        (shipped in the NEURON wheel) integrates it, with the same results. The model's mechanisms
        are compiled together into one library with ``nrnivmodl -coreneuron`` (cached); actions
        scheduled with :meth:`at` are not available.
    lfp
        Record the extracellular potential at these electrodes (:class:`nmlhub.lfp.Electrodes`)
        during the run, from every segment's transmembrane current; it comes back as
        ``results.lfp`` (:class:`nmlhub.lfp.LFP`). Point cells contribute nothing. Not with the
        CoreNEURON engine.
    lfp_every_ms
        Sampling interval of the potential (a multiple of the time step; default: every step).
    max_connections
        The most connections the network's rules may make (default: what the available memory
        holds, or ``$NMLHUB_MAX_CONNECTIONS``); a rule beyond it is refused before allocation.
    event_timing
        ``"jlems"`` (default): a spike acts on its targets at the time step jLEMS acts on it, its
        delay rounded up to whole steps (a delay of a whole number of steps, where jLEMS's
        rounding of its clock decides spike by spike, through relays that decide as jLEMS
        does); ``"jlems-exact"``: the former name of ``"jlems"``; ``"neuron"``: the delays as
        written, delivered as NEURON does (at the step nearest to their time, one step after a
        delay of whole steps), as in hand-written NEURON models. See
        :mod:`nmlhub.neuron.eventgrid`. Either way, a spike at the end of the run (t = length) is
        recorded, as jLEMS does.

    Raises
    ------
    ModelError
        The model has an error ``nmlhub validate`` reports (the first one, naming file, line and
        element), or the duration or step is not a finite positive number.

    Examples
    --------
    >>> sim = NeuronSimulation(nmlhub.load("LEMS_izh_network.xml"))  # doctest: +SKIP
    >>> results = sim.run()  # doctest: +SKIP
    >>> sim.write_outputs(results)  # doctest: +SKIP
    """

    def __init__(self, model: Model, *, duration_ms: float | None = None, dt_ms: float | None = None,
                 seed: int | None = None, cache: MechanismCache | None = None,
                 progress: Callable[[float], None] | None = None, parallel: bool | None = None,
                 balance: bool = False, share_synapses: bool = False, write_every_ms: float | None = None,
                 intervals_file: Path | str | None = None, engine: str = "neuron",
                 lfp: Electrodes | None = None, lfp_every_ms: float | None = None,
                 max_connections: int | None = None, event_timing: str = "jlems") -> None:
        settings = model.simulation
        if settings is None:
            raise SimulationError("the model has no <Simulation>; run a LEMS simulation file",
                                  file=model.path)
        require_runnable(model)  # what validate rejects is refused before anything is built
        self.model = model
        self.settings: Simulation = settings
        self.duration_ms = checked_time("duration_ms", duration_ms if duration_ms is not None else settings.length_ms,
                                        model.path, allow_zero=duration_ms is None)
        self.dt_ms = checked_time("dt_ms", dt_ms if dt_ms is not None else settings.step_ms, model.path)
        self.max_connections = max_connections
        self.seed = seed if seed is not None else settings.seed
        self.cache = cache or MechanismCache()
        self.progress = progress
        self.network = model.network(settings.target)
        self.instance: NetworkInstance | None = None
        self.expanded: Any = None
        self._scheduled: list[tuple[float, Callable[[], None]]] = []
        self.parallel = mpi.started_by_mpi_launcher() if parallel is None else bool(parallel)
        self.balance = balance
        self.share_synapses = share_synapses
        if (write_every_ms is None) != (intervals_file is None):
            raise SimulationError("give both write_every_ms and intervals_file, or neither", file=model.path)
        if write_every_ms is not None and write_every_ms <= 0:
            raise SimulationError(f"write_every_ms must be positive, not {write_every_ms}", file=model.path)
        self.write_every_ms = write_every_ms
        self.intervals_file = Path(intervals_file) if intervals_file is not None else None
        if engine not in ENGINES:
            raise SimulationError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}", file=model.path)
        self.engine = engine
        if event_timing not in EVENT_TIMINGS:
            raise SimulationError(f"unknown event timing {event_timing!r}; timings: {', '.join(EVENT_TIMINGS)}",
                                  file=model.path)
        self.event_timing = event_timing
        if engine == "coreneuron":
            self.parallel = True  # CoreNEURON takes cells with gids and spikes through ParallelContext
        self._corenrn_library: Path | None = None
        self._placeholder: Any = None  # a section on a rank that owns no cell
        self.lfp = lfp
        self._lfp_every_steps = self._lfp_steps(lfp_every_ms)
        self.lfp_recorder: LFPRecorder | None = None
        self.rank, self.nhost, self.pc = 0, 1, None
        self.mechanisms = {}
        self._probes: list[Probe] = []

    def build(self) -> None:
        """Generate and compile mechanisms, then create the network in NEURON (in a parallel run,
        an error on one rank ends every rank with a message naming it)."""
        try:
            self._build()
        except Exception as exc:
            if self.parallel and self.nhost > 1:
                mpi.abort(self.pc, self.rank, f"{type(exc).__name__}: {exc}")
            raise

    def _build(self) -> None:
        from neuron import h

        if self.parallel:
            self.pc, self.rank, self.nhost = mpi.init()
        rules = self.model.rules.get(self.network.id)
        if rules is not None and getattr(rules, "expanded_in_file", False):
            rules = None
        ids = needed_components(self.network, self.model.network_extras.get(self.network.id), rules)
        for comp_id in ids:
            if comp_id not in self.model.components:
                raise SimulationError(f"component '{comp_id}' used by network {self.network.id} is not defined",
                                      file=self.model.path)
        self.mechanisms = build_mechanisms(self.model, ids)
        mechs = [m.mechanism for m in self.mechanisms.values() if m.mechanism is not None]
        mechs += [d.mechanism for m in self.mechanisms.values() if m.biophysics
                  for d in m.biophysics.densities]
        mechs += [sp.mechanism for m in self.mechanisms.values() if m.biophysics
                  for sp in m.biophysics.species]
        if self.event_timing != "neuron":
            mechs.append(relay_mechanism())  # for delays of whole steps (nmlhub.neuron.eventgrid)
        self._load_user_mechanisms()
        if self.engine == "coreneuron":
            point_cells = sorted(c for c, cm in self.mechanisms.items()
                                 if cm.mechanism is not None and not cm.biophysics and role_of(self.model, c) == "cell")
            if point_cells:
                raise SimulationError(
                    f"the CoreNEURON engine cannot run cells defined by LEMS dynamics ({', '.join(point_cells[:3])}): "
                    "they set v in their events (a spike's reset), which CoreNEURON does not carry over; "
                    "use the neuron engine", file=self.model.path)
            library = self.cache.combined(mechs, coreneuron=True)
            load_combined(library, mechs)
            self._corenrn_library = library.parent / "libcorenrnmech.so"
        else:
            load_libraries(self.cache.ensure(mechs), mechs)
        h.load_file("stdrun.hoc")
        temperature = getattr(self.network, "temperature", None)
        if temperature:
            h.celsius = self.model.units.to_neuron(temperature, "temperature")
        self.expanded = self._expand_rules(rules)
        if not self.parallel and self._gid_wiring_serially():
            # Serially too, connections go through ParallelContext gids when every delay allows it
            # (at least one step): quicker to build and to run than a NetCon per connection
            # watching its source's v, with the same spikes.
            self.pc = h.ParallelContext()
            self.pc.gid_clear()
        parallel = (self.pc, self.rank, self.nhost, self.balance, self.dt_ms) if self.pc is not None else None
        if self.share_synapses:
            recorded = "\n".join(self._recorded_paths())
            for component, cm in self.mechanisms.items():
                if cm.shareable and (f"/{component}/" in recorded or f"/synapses:{component}:" in recorded):
                    cm.shareable = False
        self.instance = instantiate(self.model, self.network, self.mechanisms, self.expanded, parallel,
                                    self.share_synapses, self.event_timing, self.dt_ms)
        self._probes = self._make_probes()
        if self.lfp is not None:
            self.lfp_recorder = LFPRecorder(self.instance.cells, self.lfp, self._lfp_every_steps)

    def _lfp_steps(self, every_ms: float | None) -> int:
        """Time steps per LFP sample."""
        if self.lfp is not None and self.engine == "coreneuron":
            raise SimulationError("the LFP is computed in Python after each time step, which CoreNEURON "
                                  "cannot do; use the neuron engine", file=self.model.path)
        if every_ms is None:
            return 1
        steps = every_ms / self.dt_ms
        if every_ms <= 0 or abs(steps - round(steps)) > 1e-6 * steps:
            raise SimulationError(f"lfp_every_ms ({every_ms:g}) must be a positive multiple of the time step "
                                  f"({self.dt_ms:g} ms)", file=self.model.path)
        return int(round(steps))

    def _load_user_mechanisms(self) -> None:
        """Compile (once, cached by content) and load the .mod files cells refer to."""
        from .mechcache import load_user_library, mod_suffixes, user_library

        files = {custom.mod_file: None for cm in self.mechanisms.values() if cm.biophysics
                 for custom in cm.biophysics.custom}
        if not files:
            return
        if self.engine == "coreneuron":
            raise SimulationError("the CoreNEURON engine cannot run channels kept as .mod files "
                                  f"({', '.join(p.name for p in files)}) yet; use the neuron engine",
                                  file=self.model.path)
        names = [name for path in files for name in mod_suffixes(path.read_text(errors="replace"))]
        load_user_library(user_library(list(files), self.cache.root), names)

    def _gid_wiring_serially(self) -> bool:
        """Whether a serial run can wire its connections by gid: it has connections, every delay
        is at least one step, and none is a LEMS synapticConnection (those may have no delay)."""
        from ..model.columns import connection_weights_delays

        if self.engine != "neuron":
            return False
        if getattr(self.network, "synaptic_connections", None) or any(
                extra.type.startswith("synapticConnection")
                for extra in self.model.network_extras.get(self.network.id, [])):
            return False
        delays = [connection_weights_delays(proj, self.model.units)[1] for proj in self.network.projections]
        if self.expanded is not None:
            delays += [np.asarray(proj.delay, dtype=float) for proj in self.expanded.projections]
        delays = [netcon_delays(d, self.dt_ms, self.event_timing) for d in delays if len(d)]
        return bool(delays) and all(float(np.min(d)) >= self.dt_ms * (1 - 1e-9) for d in delays)

    def _expand_rules(self, rules: Any) -> Any:
        """The network's rules expanded (None when it has none, or holds its expansion already);
        in a parallel run only for the post-synaptic cells this rank owns."""
        from ..model.cells import cell_morphology
        from ..rules.expand import expand
        from ..rules.layout import expand_populations
        from ..rules.values import RuleError
        from .network import _RulePopulation, assign_ranks, cell_costs

        if rules is None:
            return None
        morphologies = {}
        for pop in rules.populations:
            record = self.model.components.get(pop.cell)
            if record is None:
                raise SimulationError(f"rule population '{pop.id}': cell '{pop.cell}' is not defined",
                                      file=self.model.path)
            morphologies[pop.cell] = cell_morphology(record.obj, self.model.components)
        try:
            owned = None
            if self.parallel:
                cells = expand_populations(rules.populations, rules.size, rules.seed)
                others = [p for p in self.network.populations if p.id not in cells.populations]
                populations = others + [_RulePopulation(cells, k) for k in range(len(cells.populations))]
                owner = assign_ranks(cell_costs(populations, self.mechanisms), self.nhost, self.balance)
                first = len(owner) - len(cells)
                owned = np.flatnonzero(owner[first:] == self.rank)
            return expand(rules, morphologies, owned, self.max_connections)
        except RuleError as exc:
            raise SimulationError(f"network '{self.network.id}': {exc.message}", file=self.model.path) from None

    def _recorded_paths(self) -> list[str]:
        paths = [c.quantity for o in self.settings.outputs for c in o.columns]
        paths += [line.quantity for d in self.settings.displays for line in d.lines]
        return list(dict.fromkeys(paths))

    def _make_probes(self) -> list[Probe]:
        assert self.instance is not None
        probes = []
        for path in self._recorded_paths():
            if self.instance.parallel is not None and not self._records_local_cell(path):
                continue  # recorded on the rank that owns the cell
            probes.append(resolve_quantity(path, self.instance, self.mechanisms))
        return probes

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
        nmodl = cm.mechanism.variables.get(name) if cm is not None and cm.mechanism is not None else None
        if nmodl is None or name not in cm.mechanism.flat.params:
            raise SimulationError(f"component '{component}' has no parameter '{name}' in this network",
                                  file=self.model.path)
        count = 0
        for cell in self.instance.cells.values():
            for point in cell.attached.get(component, []):
                setattr(point, nmodl, float(value))
                count += 1
        return count

    def run(self) -> Results:
        """Run for the simulation's length and return what was recorded (in a parallel run,
        rank 0 returns everything and the other ranks what they recorded themselves)."""
        from neuron import h

        if self.instance is None:
            self.build()
        assert self.instance is not None
        try:
            return self._run(h)
        except Exception as exc:
            if self.parallel and self.nhost > 1:
                mpi.abort(self.pc, self.rank, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if self.engine == "coreneuron":
                from neuron import coreneuron

                coreneuron.enable = False

    def _run(self, h) -> Results:
        assert self.instance is not None
        if not self.instance.cells:
            # a rank may own no cell (more ranks than cells, or coupled cells kept together);
            # NEURON records t only with some section to refer to
            self._placeholder = h.Section(name="nmlhub_no_cells_here")
        time_vec = h.Vector().record(h._ref_t)
        vectors = [h.Vector().record(p.reference) for p in self._probes]
        spike_vectors = {}
        recorders = []
        wiring = self.instance.parallel
        if wiring is None:
            for key, cell in self.instance.cells.items():
                vec = h.Vector()
                netcon = cell.netcon_to(None)
                netcon.record(vec)
                recorders.append(netcon)
                spike_vectors[key] = vec
        else:
            spike_times, spike_gids = h.Vector(), h.Vector()
            wiring.pc.spike_record(-1, spike_times, spike_gids)
        self._seed_random(int(self.seed) if self.seed is not None else 0)
        h.dt = self.dt_ms
        h.steps_per_ms = 1.0 / self.dt_ms
        # Morphological cells: v before the mechanisms' INITIAL blocks (gates start at their
        # steady state at that v); point cells: after them (their INITIAL says what v is).
        before = h.FInitializeHandler(0, self._set_morphology_potentials)  # noqa: F841 (kept alive)
        handler = h.FInitializeHandler(1, self._set_initial_potentials)  # noqa: F841 (kept alive)
        if wiring is not None:
            wiring.pc.set_maxstep(10)
        if self.engine == "coreneuron":
            self._enable_coreneuron(h)
        if self.lfp_recorder is not None:
            self.lfp_recorder.attach()
        h.finitialize()
        if self.lfp_recorder is not None:
            self.lfp_recorder.start()
        for time_ms, action in self._scheduled:
            h.CVode().event(time_ms, action)
        flush = None
        if self.write_every_ms is not None:
            flush = self._interval_flusher(time_vec, vectors, spike_vectors,
                                           None if wiring is None else (spike_times, spike_gids))
        self._advance(h, flush)
        samples = self._samples_in_run(time_vec)
        traces = {p.path: p.values(v)[:samples] for p, v in zip(self._probes, vectors)}
        if wiring is None:
            spikes = {k: self._spikes_in_run(np.array(v)) for k, v in spike_vectors.items()}
        else:
            times = np.asarray(spike_times)
            kept = times <= self._end_ms
            spikes = self._gather(times[kept], np.asarray(spike_gids)[kept], traces)
            traces = self._traces
        time_ms = np.array(time_vec)[:samples]
        lfp = None
        if self.lfp_recorder is not None:
            lfp = self.lfp_recorder.collect(time_ms, None if wiring is None else wiring.pc, self.rank)
        return Results(
            time_ms=time_ms, traces=traces, spikes=spikes,
            duration_ms=self.duration_ms, dt_ms=self.dt_ms, seed=self.seed,
            settings={"simulator": "NEURON", "simulator_version": str(h.nrnversion(5)),
                      "lems_file": str(self.model.path), "simulation": self.settings.id,
                      "target": self.network.id, "duration_ms": self.duration_ms, "dt_ms": self.dt_ms,
                      "seed": self.seed, "ranks": self.nhost, "balance": self.balance, "engine": self.engine,
                      "share_synapses": self.share_synapses},
            model_hash=self.model.content_hash(),
            lfp=lfp,
        )

    @property
    def _end_ms(self) -> float:
        """The last time that belongs to the run (its length, and rounding of t)."""
        return self.duration_ms + 0.25 * self.dt_ms

    def _samples_in_run(self, time_vec: Any) -> int:
        """How many recorded samples belong to the run (not to its closing step)."""
        return int(np.searchsorted(np.asarray(time_vec), self._end_ms, side="right"))

    def _spikes_in_run(self, times: np.ndarray) -> np.ndarray:
        return times[times <= self._end_ms]

    def _enable_coreneuron(self, h) -> None:
        """Hand the integration to CoreNEURON (the model is copied to it at each psolve)."""
        import os

        from neuron import coreneuron

        if self._scheduled:
            raise SimulationError("actions scheduled with at() run Python during the simulation, which "
                                  "CoreNEURON cannot do; use the neuron engine", file=self.model.path)
        # CoreNEURON loads the mechanism library this names (else one in ./x86_64)
        os.environ["CORENEURONLIB"] = str(self._corenrn_library)
        h.cvode.cache_efficient(1)
        coreneuron.enable = True
        coreneuron.verbose = 0


    def finish(self) -> None:
        """End an MPI run cleanly: every rank waits for the others, finalises MPI and exits
        (a rank that leaves without it makes mpiexec kill the others). Does nothing serially."""
        if self.parallel and self.nhost > 1:
            mpi.finish(self.pc)

    def _gather(self, times: np.ndarray, gids: np.ndarray, traces: dict) -> dict:
        """Every rank's spikes and traces to rank 0 (each once: a cell lives on one rank)."""
        assert self.instance is not None and self.instance.parallel is not None
        wiring = self.instance.parallel
        keys = {gid: key for key, gid in wiring.gids.items()}
        local: dict[tuple[str, int], list[float]] = {key: [] for key in self.instance.cells}
        for t, gid in zip(times.tolist(), gids.astype(np.int64).tolist()):
            if gid in keys:  # extra spike sources are not cells
                local.setdefault(keys[gid], []).append(t)
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

    def _seed_random(self, seed: int) -> None:
        """Give every instance that draws random numbers its own Random123 stream, identified by
        the seed and the instance's place in the network (cell, component, number on the cell),
        so results do not depend on how cells are spread over ranks."""
        from ..rules.layout import stream_key

        assert self.instance is not None
        for (population, index), cell in self.instance.cells.items():
            groups = [("cell", [cell.mechanism])] + list(cell.attached.items())
            for component, points in groups:
                for k, point in enumerate(points):
                    if point is None or not hasattr(point, "rng_nml"):
                        continue
                    key = stream_key(population, index, component, k)
                    point.rng_nml.set_ids(seed & 0xFFFFFFFF, key >> 32, key & 0xFFFFFFFF)
                    point.rng_nml.set_seq(0)

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

    def _interval_flusher(self, time_vec: Any, vectors: list, spike_vectors: dict,
                          parallel_spikes: tuple | None) -> Callable[[float], None]:
        from .intervals import IntervalWriter

        assert self.instance is not None
        wiring = self.instance.parallel
        cells = list(wiring.gids) if wiring is not None else list(self.instance.cells)
        writer = IntervalWriter(self.intervals_file, self._recorded_paths(), cells, self.rank,
                                wiring.pc if wiring is not None else None)
        keys = {gid: key for key, gid in wiring.gids.items()} if wiring is not None else {}
        sent = {"spikes": 0}

        def flush(until_ms: float) -> None:
            samples = self._samples_in_run(time_vec)
            traces = {p.path: p.values(v)[:samples] for p, v in zip(self._probes, vectors)}
            if parallel_spikes is None:
                new = []
                for key, vec in spike_vectors.items():
                    done = writer.done_spikes.get(key, 0)
                    new += [(t, key) for t in list(vec)[done:] if t <= self._end_ms]
                    writer.done_spikes[key] = len(vec)
            else:
                times, gids = parallel_spikes
                start = sent["spikes"]
                new = [(t, keys[int(g)]) for t, g in zip(list(times)[start:], list(gids)[start:])
                       if int(g) in keys and t <= self._end_ms]
                sent["spikes"] = len(times)
            writer.flush(until_ms, np.asarray(time_vec)[:samples], traces, new)
            if until_ms >= self.duration_ms:
                writer.close()

        return flush

    def _advance(self, h, flush: Callable[[float], None] | None = None) -> None:
        if flush is not None and self.write_every_ms is not None:
            stops = list(np.arange(self.write_every_ms, self.duration_ms, self.write_every_ms)) + [self.duration_ms]
        elif self.engine == "coreneuron":
            stops = [self.duration_ms]  # each stop copies the whole model to CoreNEURON and back
        else:
            stops = [self.duration_ms * k / 100 for k in range(1, 101)]
        started = time.monotonic()
        wiring = self.instance.parallel if self.instance is not None else None
        for k, until in enumerate(stops, start=1):
            # jLEMS acts on the events of its last step too (a spike at t = length is recorded);
            # NEURON handles them at the start of the next step, so the run takes one more step,
            # whose samples and spikes are dropped.
            target = until if k < len(stops) else until + self.dt_ms
            if wiring is not None:
                wiring.pc.psolve(target)
            else:
                h.continuerun(target)
            if flush is not None:
                flush(float(until))
            if self.progress is not None:
                self.progress(k / len(stops))
        log.info("simulated %.1f ms in %.2f s", self.duration_ms, time.monotonic() - started)

    def write_outputs(self, results: Results, folder: Path | None = None) -> list[Path]:
        """Write every OutputFile and EventOutputFile as jNeuroML would (SI units, seconds),
        relative to the LEMS file's folder unless ``folder`` is given."""
        assert self.instance is not None
        base = folder or self.model.path.parent
        written: list[Path] = []
        time_s = results.time_ms * 1e-3
        for output in self.settings.outputs:
            columns = [results.traces[c.quantity] for c in output.columns]
            path = base / output.file_name
            write_atomic_text(path, format_trace_file(time_s, columns))
            written.append(path)
        for output in self.settings.event_outputs:
            events: list[tuple[float, str]] = []
            for selection in output.selections:
                population, index, _ = cell_key(selection.select)
                if (population, index) not in results.spikes:
                    resolve_cell(selection.select, self.instance)  # names what is wrong
                for t in results.spikes.get((population, index), []):
                    events.append((float(t) * 1e-3, selection.id))
            events.sort(key=lambda e: e[0])
            path = base / output.file_name
            write_atomic_text(path, format_event_file(events, output.format))
            written.append(path)
        return written


def text_progress(stream=sys.stderr) -> Callable[[float], None]:
    """A progress bar on a terminal ``stream``, shown once a run has taken more than two seconds."""
    state = {"started": None, "shown": False}

    def show(fraction: float) -> None:
        if not getattr(stream, "isatty", lambda: False)():
            return
        if state["started"] is None:
            state["started"] = time.monotonic()
        if not state["shown"] and time.monotonic() - state["started"] < 2.0:
            return
        state["shown"] = True
        done = int(fraction * 30)
        stream.write(f"\r[{'#' * done}{' ' * (30 - done)}] {fraction * 100:5.1f}%")
        if fraction >= 1.0:
            stream.write("\n")
        stream.flush()

    return show


def simulate(model: Model | str | Path, **options) -> Results:
    """Load (if needed), build and run a simulation; returns its results.

    Parameters
    ----------
    model
        A :class:`~nmlhub.model.Model` or the path of a LEMS simulation file.
    **options
        ``duration_ms``, ``dt_ms``, ``seed``, ``cache``, ``progress``: see :class:`NeuronSimulation`.
    """
    if not isinstance(model, Model):
        model = load(model)
    return NeuronSimulation(model, **options).run()
