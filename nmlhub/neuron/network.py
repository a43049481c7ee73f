"""Instantiate a NeuroML network in NEURON, as its build plan (:mod:`nmlhub.neuron.plan`) says:
this rank's cells, the synapses and inputs on them, and the connections onto them."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from ..lems.nmodl_names import TLEMS
from ..model import Model
from ..model.columns import ConnectionColumns, input_part, parse_cell_reference, projection_part
from .cells import (Cell, PointCell, attach_input, build_point_cell, default_weight, make_point_process, merged_synapse,
                    weights_or_default)
from .coupling import connect_coupled, coupled_components, link_to_own_cell
from .eventgrid import (crosses_ranks, decided_per_spike, delivery_steps, netcon_delays, relay_delays, relay_mechanism,
                        remote_relay)
from .mechanisms import ComponentMechanism
from .morphcell import build_morphological_cell
from .plan import BuildPlan, BuildSettings, NetworkError
from .weights import PlasticConnections, plastic_weight_variable
from .wiring import DirectWiring, GidWiring

__all__ = ["NetworkError", "NetworkInstance", "PointCell", "Cell", "instantiate", "needed_components",
           "connect_columns", "GidWiring"]

#: The wiring of a parallel run (deprecated name).
ParallelWiring = GidWiring


@dataclass
class InputColumns:
    """Inputs of one component onto cells of one population: cell indices, segments, fractions, weights."""

    population: str
    component: str
    cell: np.ndarray
    segment: np.ndarray
    fraction: np.ndarray
    weight: np.ndarray


@dataclass
class NetworkInstance:
    """Every NEURON object of an instantiated network (kept alive here): the cells this rank
    owns (all of them in a serial run)."""

    plan: BuildPlan
    settings: BuildSettings
    wiring: DirectWiring | GidWiring = field(default_factory=DirectWiring)
    cells: dict[tuple[str, int], Cell] = field(default_factory=dict)
    # a hoc List: it keeps each NetCon alive without a Python object per connection (92 bytes each)
    netcons: Any = field(default_factory=lambda: _hoc_list())
    synapses: list[Any] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)
    populations: dict[str, list[int]] = field(default_factory=dict)
    shared: dict[tuple, Any] = field(default_factory=dict)
    # membrane potentials sent between ranks (gap junctions, graded synapses): place -> transfer
    # id, the segments this rank offers by id, and (point process, buffer, id) it receives
    transfer_ids: dict[tuple[str, int, int, float], int] = field(default_factory=dict)
    transfer_sources: dict[int, Any] = field(default_factory=dict)
    transfer_targets: list[tuple[Any, str, int]] = field(default_factory=list)
    # ((pre population, cell, segment, fraction, delay ms), steps it decides ahead) -> relay here (eventgrid)
    relays: dict[tuple, Any] = field(default_factory=dict)
    # (population, cell, steps ahead) of a spike source on jLEMS's clock -> its copy here (ahead_copy)
    ahead_copies: dict[tuple[str, int, int], Any] = field(default_factory=dict)
    # populations of spike sources copied onto the ranks of their targets (clock_source; parallel runs)
    copied_populations: frozenset[str] = frozenset()
    # (relay key, target, weight) of 2-step delays from other ranks (place_remote_relays)
    remote_relayed: list[tuple[tuple, Any, float]] = field(default_factory=list)
    plastic: PlasticConnections = field(default_factory=PlasticConnections)  # their weights end the run
    _keep_netcon: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._keep_netcon = self.netcons.append  # looked up once: a hoc method lookup is slow

    @property
    def parallel(self) -> GidWiring | None:
        """The gid wiring, or None when connections are direct NetCons."""
        return self.wiring if isinstance(self.wiring, GidWiring) else None

    @property
    def dt_ms(self) -> float:
        return self.settings.dt_ms

    def netcon_delays(self, delays_ms: np.ndarray) -> np.ndarray:
        """The NetCon delays (ms) that make connection delays act at the step the event timing says."""
        return netcon_delays(delays_ms, self.settings.dt_ms, self.settings.event_timing)

    def needs_relay(self, delays_ms: np.ndarray) -> np.ndarray:
        """Which connection delays act through a relay that decides each spike's step as jLEMS does."""
        if self.settings.event_timing == "neuron":
            return np.zeros(len(delays_ms), dtype=bool)
        return decided_per_spike(delays_ms, self.settings.dt_ms)

    @property
    def exchange_steps(self) -> int:
        """The fewest steps after which a spike can act on another rank (see
        :func:`nmlhub.neuron.eventgrid.remote_relay`)."""
        return int(getattr(self.settings, "exchange_steps", 1))

    def relayed(self, origin: tuple, delay_ms: float, target: Any, weight: float, connect: Any) -> None:
        """Connect spikes from ``origin`` (pre population, cell, segment, fraction) with a delay of
        whole steps to ``target`` through the relay that acts on each at jLEMS's step (created
        on first use, fed by two NetCons ``connect(relay)`` from the source); see
        :mod:`nmlhub.neuron.eventgrid`."""
        from neuron import h

        key = (*origin, float(delay_ms))
        steps = int(delivery_steps(np.array([delay_ms]), self.dt_ms)[0])
        ahead = 1
        if not self.is_local(origin[0], origin[1]) and not self.copied_here(origin[0], origin[1]):
            place = remote_relay(steps, self.exchange_steps)
            if place is None:
                raise NetworkError(f"connection from {origin[0]}[{origin[1]}]: delay {delay_ms:g} ms cannot cross ranks")
            on_target_rank, ahead = place
            if not on_target_rank:
                # heard too soon after it was sent to cross ranks: the relay goes on the source's
                # rank, and its spikes come here by gid (place_remote_relays, once every
                # connection is known)
                self.remote_relayed.append((key, target, weight))
                return
        relay = self.relay(key, connect, ahead)
        self.add_netcon(h.NetCon(relay, target), _relay_pass_on(key, self.dt_ms, ahead), weight)

    def relay(self, key: tuple, connect: Any, ahead: int = 1) -> Any:
        """The relay of spikes from source ``key[:4]`` with delay ``key[4]`` (ms) on this rank,
        deciding ``ahead`` steps before the spike acts, made at first use and fed by two NetCons
        ``connect(relay)`` from the source."""
        from neuron import h

        if (key, ahead) not in self.relays:
            steps = int(delivery_steps(np.array([key[4]]), self.dt_ms)[0])
            relay = getattr(h, relay_mechanism().name)()  # an artificial cell: in no section
            relay.steps, relay.delay_s, relay.ahead = steps, key[4] * 0.001, ahead
            for later, delay in enumerate(relay_delays(steps, self.dt_ms, ahead)[:2]):
                self.add_netcon(connect(relay), delay, float(later))
            self.relays[key, ahead] = relay
        return self.relays[key, ahead]

    def place_remote_relays(self) -> None:
        """Put the relays of whole-step delays too short for their targets' ranks on their
        sources' ranks, each with a gid (numbered alike on every rank, after every cell and spike
        source), deciding as many steps ahead as a spike takes between ranks, and connect those
        targets to them. Every rank calls this once, after every connection."""
        from neuron import h

        wiring = self.parallel
        ahead = self.exchange_steps
        wanted = sorted({key for key, _, _ in self.remote_relayed})
        keys = sorted(set().union(*(set(map(tuple, found)) for found in wiring.pc.py_allgather(wanted))))
        first = int(wiring.pc.allreduce(len(wiring.owner) + len(wiring.source_places), 2))
        gids = {key: first + k for k, key in enumerate(keys)}
        for key in keys:
            if self.is_local(key[0], key[1]):
                netcon = h.NetCon(self.relay(key, wiring.connector(self, *key[:4]), ahead), None)
                wiring.pc.set_gid2node(gids[key], self.plan.rank)
                wiring.pc.cell(gids[key], netcon)
                self.netcons.append(netcon)
        for key, target, weight in self.remote_relayed:
            self.add_netcon(wiring.pc.gid_connect(gids[key], target), _relay_pass_on(key, self.dt_ms, ahead), weight)
        self.remote_relayed.clear()

    def check_between_ranks(self, what: str, pre_population: str, pre_cells: np.ndarray, delays_ms: np.ndarray,
                            post: tuple[str, np.ndarray] | None = None) -> None:
        """Refuse, in one line naming the first such connection (``what``, its delay and the
        step), connections whose spikes cross ranks sooner than the engine exchanges them
        between ranks; connections within a rank take any delay."""
        if self.parallel is None or self.plan.nhost < 2 or not len(delays_ms) or pre_population in self.copied_populations:
            return
        delays = np.asarray(delays_ms, dtype=float)
        remote = np.flatnonzero(~self.plan.local_mask(pre_population, np.asarray(pre_cells)))
        timing = self.settings.event_timing
        bad = remote[~crosses_ranks(delays[remote], self.dt_ms, timing, self.exchange_steps)]
        if not len(bad):
            return
        k = int(bad[0])
        target = f" to {post[0]}[{int(np.asarray(post[1])[k])}]" if post is not None else ""
        where = f"{what} (from {pre_population}[{int(np.asarray(pre_cells)[k])}]{target})"
        if self.exchange_steps == 1:
            # NEURON: the wiring's own message (a delay under a step between ranks)
            self.wiring.check_delay(float(delays[k]), where, float(netcon_delays(delays[k:k + 1], self.dt_ms, timing)[0]))
        raise NetworkError(
            f"{where}: delay {delays[k]:g} ms crosses ranks at dt {self.dt_ms:g} ms, and CoreNEURON on several "
            f"ranks needs {self.exchange_steps} steps between ranks (a spike acts there {self.exchange_steps + 1} "
            f"steps after it was sent at the earliest); run it with the neuron engine, on one rank, or with "
            f"delays between ranks of more than {self.exchange_steps} steps")

    def clock_source(self, cm: ComponentMechanism | None) -> bool:
        """Whether the spikes of a spike source of component ``cm`` depend on jLEMS's clock and
        its own random draws alone (no requirements): a copy of it, drawing from its random
        stream, sends the same spikes (``ahead`` steps early, see :meth:`ahead_copy`)."""
        mechanism = cm.mechanism if cm is not None else None
        return (mechanism is not None and mechanism.role == "source" and TLEMS in mechanism.text
                and mechanism.flat is not None and not mechanism.flat.requirements)

    def sends_early(self, pre_population: str, post_population: str, cm: ComponentMechanism | None) -> bool:
        """Whether spikes without delay from ``pre_population`` (of component ``cm``) reach
        ``post_population`` from copies of its sources a step ahead: jLEMS acts on them within
        the step they are sent when the target population is declared (updated) after the
        source's. Only for sources on jLEMS's clock and their own random draws (:meth:`clock_source`)."""
        if self.settings.event_timing == "neuron" or not self.clock_source(cm):
            return False
        order = list(self.populations)
        if pre_population not in order or post_population not in order:
            return False
        return order.index(post_population) > order.index(pre_population)

    def copied_here(self, population: str, index: int) -> bool:
        """Whether the spikes of a spike source on another rank come from a copy of it on this
        rank (:meth:`clock_source`: then any delay acts as in a serial run)."""
        return population in self.copied_populations and not self.is_local(population, index)

    def ahead_copy(self, population: str, index: int, cm: ComponentMechanism, ahead: int = 1, near: Any = None) -> Any:
        """A copy of a spike source (of component ``cm``) whose jLEMS clock runs ``ahead`` steps
        ahead (made at first use), next to the source, or for a source on another rank in the
        segment of ``near`` (a point process here): a step ahead, its events, sent a step early
        without delay, act in the step the source sends its own, as jLEMS acts on spikes without
        delay (see :mod:`nmlhub.neuron.eventgrid`); not ahead, it sends this rank the spikes of
        a source on another rank, without crossing ranks."""
        key = (population, index, ahead)
        if key not in self.ahead_copies:
            if self.is_local(population, index):
                section, x = self.cell(population, index).locate(0, 0.5)
            else:
                segment = near.get_segment()
                section, x = segment.sec, segment.x
            copy = make_point_process(cm, section, x)
            if ahead:
                copy.ahead_nml = ahead
            self.ahead_copies[key] = copy
        return self.ahead_copies[key]

    def plan_component(self, population: str) -> str:
        """The component of a population of the build plan."""
        return next((pop.component for pop in self.plan.populations if pop.id == population), "")

    def add_netcon(self, netcon: Any, delay_ms: float, weight: float) -> None:
        """Give a NetCon its delay and weight (the one route by which weights reach NEURON) and keep it."""
        netcon.delay = delay_ms
        netcon.weight[0] = weight
        self._keep_netcon(netcon)

    def cell(self, population: str, index: int) -> Cell:
        try:
            return self.cells[(population, index)]
        except KeyError:
            if self.parallel is not None and (population, index) in self.plan.gids:
                raise NetworkError(f"cell {index} of population '{population}' is on rank "
                                   f"{int(self.plan.owner[self.plan.gids[(population, index)]])}, "
                                   f"not on rank {self.plan.rank}") from None
            raise NetworkError(f"no cell {index} in population '{population}'") from None

    def is_local(self, population: str, index: int) -> bool:
        """True when the cell is instantiated on this rank (always, in a serial run)."""
        if self.parallel is None:
            return True
        return self.plan.owns(population, index)

    def spike_connection(self, population: str, index: int, target: Any, segment: int = 0,
                         fraction: float = 0.5) -> Any:
        """A NetCon carrying a cell's spikes (detected at segment/fraction) to ``target``."""
        return self.wiring.connector(self, population, index, segment, fraction)(target)


def _relay_pass_on(key: tuple, dt_ms: float, ahead: int = 1) -> float:
    """The delay (ms) from a relay to its targets: its spikes act at the start of their step,
    after those arriving there directly (see eventgrid.SPREAD), each relay at its own time (drawn
    from its source and delay, the same on every rank): NEURON and CoreNEURON order events of equal
    times differently."""
    own = zlib.crc32(repr(key).encode()) % 100_000
    return relay_delays(int(delivery_steps(np.array([key[4]]), dt_ms)[0]), dt_ms, ahead)[2] - own * 1e-8 * dt_ms


def _source_connector(instance: NetworkInstance, origin: tuple, cm: ComponentMechanism | None, near: Any) -> Any:
    """A function connecting the spikes of ``origin`` (population, cell, segment, fraction) to
    its argument: from a copy on this rank for a spike source on another rank that has one
    (:meth:`NetworkInstance.copied_here`), else through the wiring."""
    if instance.copied_here(origin[0], origin[1]):
        return partial(_netcon_from, instance.ahead_copy(origin[0], origin[1], cm, 0, near))
    return instance.wiring.connector(instance, *origin)


def _netcon_from(source: Any, target: Any) -> Any:
    from neuron import h

    return h.NetCon(source, target)


def _hoc_list() -> Any:
    from neuron import h

    return h.List()


def needed_components(network: Any, extras: list | None = None, rules: Any = None) -> list[str]:
    """Ids of the components a network uses (and its rules, a
    :class:`nmlhub.rules.expand.NetworkRules`), in first-use order."""
    ids: list[str] = []
    if rules is not None:
        ids += [pop.cell for pop in rules.populations]
        ids += [syn for rule in rules.connections for syn in rule.synapses]
        ids += [stim.component for stim in rules.stimulations]
    for extra in extras or []:
        if "synapse" in extra.parameters:
            ids.append(extra.parameters["synapse"])
    ids += [pop.component for pop in network.populations]
    ids += [proj.synapse for proj in network.projections]
    ids += [il.component for il in network.input_lists]
    ids += [ei.input for ei in network.explicit_inputs]
    ids += [conn.synapse for conn in getattr(network, "synaptic_connections", None) or []]
    for proj in network.electrical_projections:
        ids.extend(coupled_components(proj, electrical=True))
    for proj in network.continuous_projections:
        ids.extend(coupled_components(proj, electrical=False))
    return list(dict.fromkeys(ids))


def instantiate(model: Model, network: Any, mechanisms: dict[str, ComponentMechanism], plan: BuildPlan,
                settings: BuildSettings, expanded: Any = None, pc: Any = None) -> NetworkInstance:
    """Create this rank's cells with their mechanisms, synapses, connections and inputs, from a
    network and what its rules expand to (``expanded``, a :class:`nmlhub.rules.expand.ExpandedNetwork`).

    With a ParallelContext ``pc``, only the cells ``plan`` puts on this rank are created and
    spikes travel between gids; without, every cell is created and connected by direct NetCons.
    ``settings`` say whether linear synapses are shared and how delays act
    (:mod:`nmlhub.neuron.eventgrid`).
    """
    wiring = GidWiring(pc, plan, min_delay=settings.dt_ms) if pc is not None else DirectWiring()
    instance = NetworkInstance(plan, settings, wiring)
    if pc is not None and plan.nhost > 1:
        instance.copied_populations = frozenset(pop.id for pop in plan.populations
                                                if instance.clock_source(mechanisms.get(pop.component)))
    _build_cells(plan, mechanisms, instance)
    wiring.register_cells(instance)
    parts = [projection_part(proj, model.units, wiring.keep(proj.postsynaptic_population), unset=np.nan)
             for proj in network.projections]
    wiring.reserve_sources([proj.presynaptic_population for proj in network.projections],
                           [cols for cols, _, _ in parts], instance)
    for k, proj in enumerate(network.projections):
        (cols, weights, delays), parts[k] = parts[k], None  # each table released once NEURON holds it
        weights = weights_or_default(weights, mechanisms.get(proj.synapse))
        instance.check_between_ranks(f"projection {proj.id}", proj.presynaptic_population, cols.pre_cell, delays,
                                     (proj.postsynaptic_population, cols.post_cell))
        connect_columns(proj.presynaptic_population, proj.postsynaptic_population, proj.synapse,
                        cols, weights, delays, mechanisms, instance)
    del parts
    for source, target, synapse, weight, delay in _single_connections(model, network):
        _connect_one(source, target, synapse, (weight, delay), mechanisms, instance)
    for proj in network.electrical_projections:
        connect_coupled(proj, True, mechanisms, instance)
    for proj in network.continuous_projections:
        connect_coupled(proj, False, mechanisms, instance)
    if instance.transfer_ids:
        wiring.pc.setup_transfer()
    for inputs in _input_lists(network, wiring):
        _attach_inputs(inputs, mechanisms, instance)
    if expanded is not None:
        for k, proj in enumerate(expanded.projections):
            if not settings.keep_expanded:
                expanded.projections[k] = None  # released once its NetCons are made (``proj`` holds it)
            cols = ConnectionColumns(proj.pre_cell, proj.post_cell, np.zeros(len(proj), np.int32),
                                     proj.post_segment, pre_fraction=np.full(len(proj), 0.5),
                                     post_fraction=proj.post_fraction)
            instance.check_between_ranks(f"projection {proj.id}", proj.pre_population, proj.pre_cell, proj.delay,
                                         (proj.post_population, proj.post_cell))
            connect_columns(proj.pre_population, proj.post_population, proj.synapse, cols, proj.weight,
                            proj.delay, mechanisms, instance)
        for stim in expanded.inputs:
            _attach_inputs(InputColumns(stim.population, stim.source, stim.cell, stim.segment,
                                        stim.fraction, stim.weight), mechanisms, instance)
    for inputs in _explicit_inputs(network):
        _attach_inputs(inputs, mechanisms, instance)
    if instance.parallel is not None and settings.event_timing != "neuron":
        instance.place_remote_relays()  # once every connection is known
    return instance


def _build_cells(plan: BuildPlan, mechanisms: dict[str, ComponentMechanism], instance: NetworkInstance) -> None:
    for pop in plan.populations:
        cm = mechanisms[pop.component]
        instance.populations[pop.id] = list(pop.ids)
        build = build_point_cell if cm.biophysics is None else build_morphological_cell
        for k, cell_id in enumerate(pop.ids):
            if instance.is_local(pop.id, cell_id):
                instance.cells[(pop.id, cell_id)] = build(pop, k, cm)


def _single_connections(model: Model, network: Any) -> list[tuple[str, str, str, float, float]]:
    """The LEMS ``synapticConnection``s and ``synapticConnectionWD``s of a network: (from, to,
    synapse, weight (NaN when not given), delay in ms)."""
    found = [(conn.from_, conn.to, conn.synapse, float("nan"), 0.0)
             for conn in getattr(network, "synaptic_connections", None) or []]
    for extra in model.network_extras.get(network.id, []):
        if extra.type == "synapticConnectionWD":
            p = extra.parameters
            found.append((p["from"], p["to"], p["synapse"], float(p.get("weight", "nan")),
                          model.units.to_neuron(p.get("delay", "0ms"), "time")))
    return found


def _input_lists(network: Any, wiring: DirectWiring | GidWiring) -> list[InputColumns]:
    """The network's input lists as columns, each read only for this rank's cells."""
    found = []
    for input_list in network.input_lists:
        cols, weights = input_part(input_list, wiring.keep(input_list.populations), unset=np.nan)
        fractions = cols.fraction if cols.fraction is not None else np.full(len(cols), 0.5)
        found.append(InputColumns(input_list.populations, input_list.component, cols.target_cell,
                                  cols.segment, fractions, weights))
    return found


def _explicit_inputs(network: Any) -> list[InputColumns]:
    """Each explicit input as columns of one input (no weight: the input's own; middle of segment 0)."""
    found = []
    for explicit in network.explicit_inputs:
        pop_id, index = parse_cell_reference(explicit.target)
        found.append(InputColumns(pop_id or "", explicit.input, np.array([index]), np.array([0]),
                                  np.array([0.5]), np.array([np.nan])))
    return found


def _attach_inputs(inputs: InputColumns, mechanisms: dict[str, ComponentMechanism],
                   instance: NetworkInstance) -> None:
    """Put an input's point process on each of this rank's cells the columns name."""
    cm = mechanisms[inputs.component]
    for k in range(len(inputs.cell)):
        index = int(inputs.cell[k])
        if not instance.is_local(inputs.population, index):
            continue
        cell = instance.cell(inputs.population, index)
        section, x = cell.locate(int(inputs.segment[k]), float(inputs.fraction[k]))
        into = merged_synapse(instance.shared, inputs.population, index, cm, section, x) if cm.merges else None
        point = attach_input(cell, inputs.component, cm, section, x, float(inputs.weight[k]), into)
        if point is None:
            continue
        link_to_own_cell(point, inputs.component, (inputs.population, index, int(inputs.segment[k]),
                                                   float(inputs.fraction[k])), mechanisms, instance)
        if hasattr(point, "dlscale_nml"):
            point.dlscale_nml = mechanisms[cell.component].dl_scale
        instance.inputs.append(point)


def connect_columns(pre_population: str, post_population: str, synapse: str, cols: ConnectionColumns,
                    weights: np.ndarray, delays: np.ndarray, mechanisms: dict[str, ComponentMechanism],
                    instance: NetworkInstance) -> None:
    """One NetCon per connection (and one synapse each, or one per cell and place when linear
    synapses are shared), from columns (cell indices within populations, segments and
    fractions), weights and delays in ms."""
    from neuron import h

    written = np.asarray(delays, dtype=float)
    applied = instance.netcon_delays(written)
    relayed = instance.needs_relay(written)
    synapses = _SynapseMaker(post_population, synapse, mechanisms, instance)
    source_cm = mechanisms.get(instance.plan_component(pre_population))
    early = instance.sends_early(pre_population, post_population, source_cm)
    pre_fraction, post_fraction = cols.fractions()
    origin_rows, origin_of = _first_seen(cols.pre_cell, cols.pre_segment, pre_fraction)
    origins = [(pre_population, int(cols.pre_cell[r]), int(cols.pre_segment[r]), float(pre_fraction[r]))
               for r in origin_rows.tolist()]
    connectors: list[Any] = [None] * len(origins)  # made at first use, in row order
    rows = _in_chunks(origin_of, np.asarray(cols.post_cell), np.asarray(weights, dtype=float), applied, written,
                      relayed)
    add_netcon = instance.add_netcon
    targets = _connection_targets(synapses, cols, post_fraction)
    for point, (origin, post, weight, delay, as_written, relay) in zip(targets, rows):
        if point is None:
            continue
        if synapses.plastic is not None:
            instance.plastic.add(synapse, origins[origin][:2], (post_population, post), point, synapses.plastic)
        connect = connectors[origin]
        if connect is None:
            connect = connectors[origin] = _source_connector(instance, origins[origin], source_cm, point)
        if relay:
            instance.relayed(origins[origin], as_written, point, weight, connect)
        elif early and as_written <= 0:
            add_netcon(h.NetCon(instance.ahead_copy(*origins[origin][:2], source_cm, 1, point), point), 0.0, weight)
        else:
            add_netcon(connect(point), delay, weight)


def _connection_targets(synapses: "_SynapseMaker", cols: ConnectionColumns, post_fraction: np.ndarray) -> Any:
    """The synapse of each connection (None where its cell is on another rank), in row order:
    made once per place when synapses are shared (in order of first use), else one per row."""
    if synapses.share:
        place_rows, place_of = _first_seen(cols.post_cell, cols.post_segment, post_fraction)
        points = [synapses.at(int(cols.post_cell[r]), int(cols.post_segment[r]), float(post_fraction[r]))
                  for r in place_rows.tolist()]
        return (points[k] for (k,) in _in_chunks(place_of))
    return (synapses.at(cell, segment, fraction) for cell, segment, fraction in
            _in_chunks(np.asarray(cols.post_cell), np.asarray(cols.post_segment), np.asarray(post_fraction, dtype=float)))


def _in_chunks(*columns: np.ndarray, rows: int = 65536) -> Any:
    """The rows of equally long columns as tuples of Python numbers, converted a chunk at a time
    (a million connections as Python lists would hold 30 MB per column)."""
    for start in range(0, len(columns[0]), rows):
        yield from zip(*(column[start:start + rows].tolist() for column in columns))


def _first_seen(cell: np.ndarray, segment: np.ndarray, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct places (cell, segment, fraction) of connection columns in order of first
    appearance: the row where each first appears, and each row's place among them."""
    cell = np.asarray(cell, dtype=np.int64)
    segment, fraction = np.asarray(segment), np.asarray(fraction, dtype=float)
    if not len(cell):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if (segment == segment[0]).all() and (fraction == fraction[0]).all():
        _, first, inverse = np.unique(cell, return_index=True, return_inverse=True)
    else:
        table = np.column_stack([cell.astype(float), segment.astype(float), fraction])
        _, first, inverse = np.unique(table, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    return first[order], place[np.asarray(inverse).reshape(-1)]


class _SynapseMaker:
    """The synapses of one synapse type on one population's cells: a new one per connection, or
    one per cell and place when the type is shared (linear)."""

    def __init__(self, population: str, synapse: str, mechanisms: dict[str, ComponentMechanism],
                 instance: NetworkInstance) -> None:
        self.population, self.synapse, self.cm, self.instance = population, synapse, mechanisms[synapse], instance
        self.mechanisms = mechanisms
        self.share = instance.settings.share_synapses and self.cm.shareable
        self.plastic = plastic_weight_variable(self.cm)  # its NMODL name, for a plastic synapse
        self.cells: dict[int, Cell | None] = {}
        self.places: dict[tuple[int, int, float], Any] = {}

    def at(self, index: int, segment: int, fraction: float) -> Any:
        """The synapse for a connection onto cell ``index`` (None when the cell is on another rank)."""
        if index not in self.cells:
            local = self.instance.is_local(self.population, index)
            self.cells[index] = self.instance.cell(self.population, index) if local else None
        cell = self.cells[index]
        if cell is None:
            return None
        if self.synapse == cell.component and cell.mechanism is not None:
            return cell.mechanism  # events into the cell's own port (a LEMS EventConnection without receiver)
        place = (index, segment, fraction)
        if self.share and place in self.places:
            return self.places[place]
        section, x = cell.locate(segment, fraction)
        key = (self.population, index, self.synapse, section.name(), round(section(x).x, 9)) if self.share else None
        point = self.instance.shared.get(key) if self.share else None
        if point is None:
            point = make_point_process(self.cm, section, x)
            link_to_own_cell(point, self.synapse, (self.population, index, segment, fraction), self.mechanisms,
                             self.instance)
            cell.attach(self.synapse, point)
            self.instance.synapses.append(point)
            if self.share:
                self.instance.shared[key] = point
        if self.share:
            self.places[place] = point
        return point


def _connect_one(source: str, target: str, synapse_id: str, weight_delay: tuple[float, float],
                 mechanisms: dict[str, ComponentMechanism], instance: NetworkInstance) -> None:
    """A LEMS ``synapticConnection``/``synapticConnectionWD from="pop[i]" to="pop[j]"``."""
    weight, delay = weight_delay
    weight = default_weight(mechanisms[synapse_id]) if np.isnan(weight) else weight
    pre_pop, pre_index = parse_cell_reference(source)
    post_pop, post_index = parse_cell_reference(target)
    if not instance.is_local(post_pop or "", post_index):
        return
    post = instance.cell(post_pop or "", post_index)
    section, x = post.locate()
    synapse = make_point_process(mechanisms[synapse_id], section, x)
    link_to_own_cell(synapse, synapse_id, (post_pop or "", post_index, 0, 0.5), mechanisms, instance)
    post.attach(synapse_id, synapse)
    if plastic_weight_variable(mechanisms[synapse_id]) is not None:
        instance.plastic.add(synapse_id, (pre_pop or "", pre_index), (post_pop or "", post_index), synapse,
                             plastic_weight_variable(mechanisms[synapse_id]))
    applied = float(instance.netcon_delays(np.array([delay]))[0])
    instance.check_between_ranks(f"connection {source} -> {target} ({synapse_id})", pre_pop or "",
                                 np.array([pre_index]), np.array([delay]))
    instance.synapses.append(synapse)
    source_cm = mechanisms.get(instance.plan_component(pre_pop or ""))
    connect = _source_connector(instance, (pre_pop or "", pre_index, 0, 0.5), source_cm, synapse)
    if instance.needs_relay(np.array([delay]))[0]:
        instance.relayed((pre_pop or "", pre_index, 0, 0.5), delay, synapse, weight, connect)
        return
    if delay <= 0 and instance.sends_early(pre_pop or "", post_pop or "", source_cm):
        connect = partial(_netcon_from, instance.ahead_copy(pre_pop or "", pre_index, source_cm, 1, synapse))
    instance.add_netcon(connect(synapse), applied, weight)
