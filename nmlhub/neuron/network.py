"""Instantiate a NeuroML network of point cells in NEURON."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NmlhubError
from ..model import Model
from ..model.columns import (
    ConnectionColumns, input_part, parse_cell_reference, projection_part,
)
from ..model.summary import population_size
from ..lems import expr as ex
from .coupling import connect_coupled, coupled_components, keep_jumping_cells_together
from .eventgrid import decided_per_spike, delivery_steps, netcon_delays, relay_delays, relay_mechanism
from .mechanisms import ComponentMechanism

#: Membrane area of a point cell's section (um2); its capacitance is set through cm.
POINT_CELL_AREA_UM2 = 1000.0


class NetworkError(NmlhubError):
    """The network cannot be instantiated as written."""


@dataclass
class PointCell:
    """One cell: a single section holding the cell's mechanism, and what is attached to it."""

    population: str
    index: int
    component: str
    section: Any
    mechanism: Any
    attached: dict[str, list[Any]] = field(default_factory=dict)
    position: tuple[float, float, float] | None = None
    built: Any = None
    threshold_mv: float = 0.0
    v_init_mv: float | None = None

    def locate(self, segment: int = 0, fraction: float = 0.5) -> tuple[Any, float]:
        """NEURON (section, x) of a point on a NeuroML segment (point cells: the middle)."""
        if self.built is None:
            return self.section, 0.5
        return self.built.locate(int(segment), float(fraction))

    def netcon_to(self, target: Any, segment: int = 0, fraction: float = 0.5) -> Any:
        """A NetCon from this cell's spikes (its mechanism's events, or v crossing threshold)."""
        from neuron import h

        source, section, threshold = _spike_source(self, segment, fraction)
        if section is None:
            return h.NetCon(source, target)
        netcon = h.NetCon(source, target, sec=section)
        netcon.threshold = threshold
        return netcon


def _set_parameters(point_process: Any, cm: ComponentMechanism) -> None:
    for name, value in cm.mechanism.parameters.items():
        setattr(point_process, name, value)


@dataclass
class ParallelWiring:
    """How cells are spread over MPI ranks: each cell has a gid (populations in order, cells in
    order), each gid an owner rank; spikes travel through NEURON's ParallelContext."""

    pc: Any
    rank: int
    nhost: int
    gids: dict[tuple[str, int], int]
    owner: np.ndarray
    point_populations: set[str]
    extra_sources: dict[tuple[str, int, int, float], int] = field(default_factory=dict)
    # (population, cell, section name, NEURON node index) -> gid of the extra source there
    source_places: dict[tuple[str, int, str, float], int] = field(default_factory=dict)
    ranks_by_population: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    min_delay: float = 0.0  # ms; spikes between ranks need at least one time step

    def check_delay(self, delay: float, what: str, netcon_delay: float | None = None) -> None:
        """Refuse a connection whose NetCon delay (``netcon_delay``, else ``delay``) is under one
        step: spikes between ranks are exchanged once per step at the earliest."""
        applied = delay if netcon_delay is None else netcon_delay
        if applied >= self.min_delay * (1 - 1e-9):
            return
        if applied == delay:
            raise NetworkError(f"{what}: delay {delay:g} ms is shorter than the time step "
                               f"({self.min_delay:g} ms); a parallel run needs every connection "
                               "delay to be at least one step")
        raise NetworkError(f"{what}: delay {delay:g} ms acts within the next step of "
                           f"{self.min_delay:g} ms under jLEMS's event timing, which a parallel run "
                           "cannot do: spikes between ranks need a delay of at least one step")

    def owns(self, population: str, index: int) -> bool:
        gid = self.gids.get((population, index))
        return gid is not None and int(self.owner[gid]) == self.rank

    def local_mask(self, population: str, indices: np.ndarray) -> np.ndarray:
        """Which of a population's cell indices this rank owns (False for unknown cells)."""
        if population not in self.ranks_by_population:
            ids = np.asarray(sorted(i for p, i in self.gids if p == population), dtype=np.int64)
            ranks = self.owner[[self.gids[(population, int(i))] for i in ids]] if len(ids) else np.zeros(0, np.int64)
            self.ranks_by_population[population] = (ids, np.asarray(ranks, dtype=np.int64))
        ids, ranks = self.ranks_by_population[population]
        indices = np.asarray(indices, dtype=np.int64)
        if not len(ids):
            return np.zeros(len(indices), dtype=bool)
        where = np.clip(np.searchsorted(ids, indices), 0, len(ids) - 1)
        return (ids[where] == indices) & (ranks[where] == self.rank)


@dataclass
class NetworkInstance:
    """Every NEURON object of an instantiated network (kept alive here): the cells this rank
    owns (all of them in a serial run)."""

    cells: dict[tuple[str, int], PointCell] = field(default_factory=dict)
    netcons: list[Any] = field(default_factory=list)
    synapses: list[Any] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)
    populations: dict[str, list[int]] = field(default_factory=dict)
    parallel: ParallelWiring | None = None
    share_synapses: bool = False
    shared: dict[tuple, Any] = field(default_factory=dict)
    # membrane potentials sent between ranks (gap junctions, graded synapses): place -> transfer
    # id, the segments this rank offers by id, and (point process, buffer, id) it receives
    transfer_ids: dict[tuple[str, int, int, float], int] = field(default_factory=dict)
    transfer_sources: dict[int, Any] = field(default_factory=dict)
    transfer_targets: list[tuple[Any, str, int]] = field(default_factory=list)
    # how connection delays act (nmlhub.neuron.eventgrid): "jlems" or "neuron", and the step
    event_timing: str = "jlems"
    dt_ms: float = 0.025
    # (pre population, cell, segment, fraction, delay ms) -> relay on this rank (eventgrid)
    relays: dict[tuple, Any] = field(default_factory=dict)

    def netcon_delays(self, delays_ms: np.ndarray) -> np.ndarray:
        """The NetCon delays (ms) that make connection delays act at the step the event timing says."""
        return netcon_delays(delays_ms, self.dt_ms, self.event_timing)

    def needs_relay(self, delays_ms: np.ndarray) -> np.ndarray:
        """Which connection delays act through a relay that decides each spike's step as jLEMS does."""
        if self.event_timing == "neuron":
            return np.zeros(len(delays_ms), dtype=bool)
        return decided_per_spike(delays_ms, self.dt_ms)

    def relayed(self, origin: tuple, delay_ms: float, target: Any, weight: float, connect: Any) -> None:
        """Connect spikes from ``origin`` (pre population, cell, segment, fraction) with a delay of
        whole steps to ``target`` through the pair of relays that act on each at jLEMS's step
        (created on first use, fed by ``connect(relay)``, a NetCon from the source); see
        :mod:`nmlhub.neuron.eventgrid`."""
        from neuron import h

        key = (*origin, float(delay_ms))
        steps = int(delivery_steps(np.array([delay_ms]), self.dt_ms)[0])
        if steps == 2 and self.parallel is not None and not self.parallel.owns(origin[0], origin[1]):
            # heard under a step after it was sent: not from another rank (eventgrid's docstring)
            netcon = connect(target)
            netcon.delay, netcon.weight[0] = float(self.netcon_delays(np.array([delay_ms]))[0]), weight
            self.netcons.append(netcon)
            return
        if key not in self.relays:
            pair = []
            for later in (0, 1):
                relay = getattr(h, relay_mechanism().name)()  # an artificial cell: in no section
                relay.steps, relay.delay_s, relay.later = steps, float(delay_ms) * 0.001, later
                feed = connect(relay)
                feed.delay = relay_delays(steps, later, self.dt_ms)[0]
                self.netcons.append(feed)
                pair.append(relay)
            self.relays[key] = pair
        # each relay's spikes act at the start of its step, after those arriving there directly
        # (see SPREAD), each pair at its own time (drawn from its source and delay, the same on
        # every rank): NEURON and CoreNEURON order events of equal times differently
        own = zlib.crc32(repr(key).encode()) % 100_000
        for later, relay in enumerate(self.relays[key]):
            netcon = h.NetCon(relay, target)
            netcon.delay = relay_delays(steps, later, self.dt_ms)[1] - own * 1e-8 * self.dt_ms
            netcon.weight[0] = weight
            self.netcons.append(netcon)

    def cell(self, population: str, index: int) -> PointCell:
        try:
            return self.cells[(population, index)]
        except KeyError:
            if self.parallel is not None and (population, index) in self.parallel.gids:
                raise NetworkError(f"cell {index} of population '{population}' is on rank "
                                   f"{int(self.parallel.owner[self.parallel.gids[(population, index)]])}, "
                                   f"not on rank {self.parallel.rank}") from None
            raise NetworkError(f"no cell {index} in population '{population}'") from None

    def is_local(self, population: str, index: int) -> bool:
        """True when the cell is instantiated on this rank (always, in a serial run)."""
        if self.parallel is None:
            return True
        return self.parallel.owns(population, index)

    def spike_connection(self, population: str, index: int, target: Any, segment: int = 0,
                         fraction: float = 0.5) -> Any:
        """A NetCon carrying a cell's spikes (detected at segment/fraction) to ``target``."""
        if self.parallel is None:
            return self.cell(population, index).netcon_to(target, segment, fraction)
        return self.parallel.pc.gid_connect(self.source_gid(population, index, segment, fraction), target)

    def source_gid(self, population: str, index: int, segment: int = 0, fraction: float = 0.5) -> int:
        """The gid of a cell's spike source: the cell's own (its mechanism's events, or v at the
        middle of segment 0) or, for detection elsewhere on a morphology, an extra source created
        on the cell's rank (one per NEURON segment: places on the segment that holds the cell's
        own source share its gid). Only meaningful in a parallel run."""
        wiring = self.parallel
        assert wiring is not None
        gid = wiring.gids.get((population, index))
        if gid is None:
            raise NetworkError(f"no cell {index} in population '{population}'")
        if population in wiring.point_populations or (int(segment), float(fraction)) == (0, 0.5):
            return gid
        key = (population, index, int(segment), round(float(fraction), 9))
        if key not in wiring.extra_sources:
            if not self.is_local(population, index):
                raise NetworkError(f"spike source of {population}[{index}] at segment {segment}, fraction "
                                   f"{fraction:g} was not reserved on every rank")
            self.reserve_source(key, self.neuron_place(population, index, segment, fraction))
        return wiring.extra_sources[key]

    def neuron_place(self, population: str, index: int, segment: int, fraction: float
                     ) -> tuple[str, float] | None:
        """The NEURON segment (section name, node index) where a spike detected at a NeuroML segment and
        fraction of a local cell is detected; None when it is the segment of the cell's own source."""
        cell = self.cell(population, index)
        section, x = cell.locate(segment, fraction)
        own_section, own_x = cell.locate(0, 0.5)
        place = (section.name(), _node(section, x))
        return None if place == (own_section.name(), _node(own_section, own_x)) else place

    def reserve_source(self, key: tuple[str, int, int, float], place: tuple[str, float] | None) -> None:
        """Give the spike source ``key`` (population, cell, segment, fraction) the gid of its NEURON
        place (see :meth:`neuron_place`); every rank calls this in the same order, so the gids
        agree, and the cell's rank creates the source."""
        wiring = self.parallel
        assert wiring is not None
        population, index, segment, fraction = key
        gid = wiring.gids[(population, index)]
        if place is None:
            wiring.extra_sources[key] = gid
            return
        located = (population, index, place[0], place[1])
        if located not in wiring.source_places:
            extra = len(wiring.owner) + len(wiring.source_places)
            wiring.source_places[located] = extra
            if int(wiring.owner[gid]) == wiring.rank:
                netcon = self.cell(population, index).netcon_to(None, segment, fraction)
                wiring.pc.set_gid2node(extra, wiring.rank)
                wiring.pc.cell(extra, netcon)
                self.netcons.append(netcon)
        wiring.extra_sources[key] = wiring.source_places[located]


def _node(section: Any, x: float) -> float:
    """The NEURON node a place of a section maps to: -1 and nseg for its ends, else its segment."""
    if x <= 0:
        return -1.0
    if x >= 1:
        return float(section.nseg)
    return float(min(int(x * section.nseg), section.nseg - 1))


def needed_components(network: Any, extras: list | None = None, rules: Any = None) -> list[str]:
    """Ids of the components a network uses (and its rules, a
    :class:`nmlhub.rules.expand.NetworkRules`), in first-use order."""
    ids: list[str] = []
    if rules is not None:
        ids += [pop.cell for pop in rules.populations]
        ids += [syn for rule in rules.connections for syn in rule.synapses]
        ids += [stim.source for stim in rules.stimulations]
    for extra in extras or []:
        if "synapse" in extra.parameters:
            ids.append(extra.parameters["synapse"])
    for pop in network.populations:
        ids.append(pop.component)
    for proj in network.projections:
        ids.append(proj.synapse)
    for il in network.input_lists:
        ids.append(il.component)
    for ei in network.explicit_inputs:
        ids.append(ei.input)
    for conn in getattr(network, "synaptic_connections", None) or []:
        ids.append(conn.synapse)
    for proj in network.electrical_projections:
        ids.extend(coupled_components(proj, electrical=True))
    for proj in network.continuous_projections:
        ids.extend(coupled_components(proj, electrical=False))
    return list(dict.fromkeys(ids))


def network_populations(network: Any, expanded: Any = None) -> list[Any]:
    """The populations of a network in gid order: the file's, then those its rules expand to."""
    populations = list(network.populations)
    if expanded is not None:
        populations = [pop for pop in populations if pop.id not in expanded.cells.populations]
        populations += [_RulePopulation(expanded.cells, k) for k in range(len(expanded.cells.populations))]
    return populations


def cell_costs(populations: list[Any], mechanisms: dict[str, ComponentMechanism]) -> np.ndarray:
    """An estimate of each cell's simulation cost (compartments x mechanisms), in gid order."""
    costs = []
    for pop in populations:
        cm = mechanisms[pop.component]
        if cm.biophysics is None:
            cost = 1.0
        else:
            from .morphology import plan_sections

            compartments = sum(plan.nseg for plan in plan_sections(cm.biophysics.morphology))
            cost = float(compartments * (1 + len(cm.biophysics.densities) + len(cm.biophysics.species)))
        costs += [cost] * len(_population_ids(pop))
    return np.asarray(costs)


def assign_ranks(costs: np.ndarray, nhost: int, balance: bool) -> np.ndarray:
    """The rank of each gid: round-robin, or (``balance``) greedily by cost, the most expensive
    cells first, each to the least loaded rank (ties broken by gid, so every rank agrees)."""
    if not balance or nhost == 1:
        return np.arange(len(costs)) % max(1, nhost)
    owner = np.zeros(len(costs), dtype=np.int64)
    load = np.zeros(nhost)
    for gid in np.lexsort((np.arange(len(costs)), -costs)):
        rank = int(np.argmin(load))
        owner[gid] = rank
        load[rank] += costs[gid]
    return owner


def instantiate(model: Model, network: Any, mechanisms: dict[str, ComponentMechanism],
                expanded: Any = None, parallel: tuple[Any, int, int, bool, float] | None = None,
                share_synapses: bool = False, event_timing: str = "jlems",
                dt_ms: float | None = None) -> NetworkInstance:
    """Create sections, mechanisms, synapses, connections and inputs for a network, and those
    its rules expand to (``expanded``, a :class:`nmlhub.rules.expand.ExpandedNetwork`).

    ``parallel`` is (ParallelContext, rank, number of ranks, balance by cost, time step in ms):
    only this rank's cells are created, and spikes travel between gids through the ParallelContext.
    ``share_synapses``: connections of a linear synapse type onto the same place of a cell share
    one synapse instance (much faster; each connection keeps its own weight and delay).
    ``event_timing``: connection delays act at jLEMS's step (``"jlems"``) or as NEURON delivers
    them (``"neuron"``), with time step ``dt_ms`` (:mod:`nmlhub.neuron.eventgrid`).
    """
    from neuron import h

    step = dt_ms if dt_ms is not None else (parallel[4] if parallel is not None else model.simulation.step_ms)
    instance = NetworkInstance(share_synapses=share_synapses, event_timing=event_timing, dt_ms=float(step))
    diameter = math.sqrt(POINT_CELL_AREA_UM2 / math.pi)
    populations = network_populations(network, expanded)
    if parallel is not None:
        pc, rank, nhost, balance, dt = parallel
        gids: dict[tuple[str, int], int] = {}
        for pop in populations:
            for cell_id in _population_ids(pop):
                gids[(pop.id, cell_id)] = len(gids)
        owner = assign_ranks(cell_costs(populations, mechanisms), nhost, balance)
        points = {pop.id for pop in populations if mechanisms[pop.component].biophysics is None}
        if nhost > 1:
            jumping = {pop.id for pop in network.populations if pop.id in points
                       and mechanisms[pop.component].mechanism.role == "cell"}
            owner = keep_jumping_cells_together(owner, gids, network, jumping)
        instance.parallel = ParallelWiring(pc, rank, nhost, gids, owner, points, min_delay=dt)
    for pop in populations:
        cm = mechanisms[pop.component]
        ids = _population_ids(pop)
        instance.populations[pop.id] = ids
        if cm.biophysics is not None:
            for k, cell_id in enumerate(ids):
                if instance.is_local(pop.id, cell_id):
                    instance.cells[(pop.id, cell_id)] = _morphological_cell(pop, k, cell_id, cm)
            continue
        for k, cell_id in enumerate(ids):
            if not instance.is_local(pop.id, cell_id):
                continue
            section = h.Section(name=f"{pop.id}_{cell_id}")
            section.L = section.diam = diameter
            # C[nF] = cm[uF/cm2] * area[um2] * 1e-5
            section.cm = cm.capacitance_nf / (POINT_CELL_AREA_UM2 * 1e-5)
            point = getattr(h, cm.mechanism.name)(section(0.5))
            _set_parameters(point, cm)
            if cm.mechanism.role == "cell":
                point.csec_nml = cm.capacitance_nf
            instance.cells[(pop.id, cell_id)] = PointCell(pop.id, cell_id, pop.component, section, point,
                                                          position=_position(pop, k))
    if instance.parallel is not None:
        wiring = instance.parallel
        for key, cell in instance.cells.items():
            gid = wiring.gids[key]
            netcon = cell.netcon_to(None)
            wiring.pc.set_gid2node(gid, wiring.rank)
            wiring.pc.cell(gid, netcon)
            instance.netcons.append(netcon)
    parts = [_projection_part(model, proj, instance) for proj in network.projections]
    if instance.parallel is not None:
        _reserve_spike_sources(network.projections, parts, instance)
    for proj, part in zip(network.projections, parts):
        _connect(proj, part, mechanisms, instance)
    for conn in getattr(network, "synaptic_connections", None) or []:
        _connect_one(conn.from_, conn.to, conn.synapse, 1.0, 0.0, mechanisms, instance)
    for extra in model.network_extras.get(network.id, []):
        if extra.type == "synapticConnectionWD":
            p = extra.parameters
            _connect_one(p["from"], p["to"], p["synapse"], float(p.get("weight", 1)),
                         model.units.to_neuron(p.get("delay", "0ms"), "time"), mechanisms, instance)
    for proj in network.electrical_projections:
        connect_coupled(proj, True, mechanisms, instance)
    for proj in network.continuous_projections:
        connect_coupled(proj, False, mechanisms, instance)
    if instance.transfer_ids:
        instance.parallel.pc.setup_transfer()
    for input_list in network.input_lists:
        _add_input_list(input_list, mechanisms, instance)
    if expanded is not None:
        for proj in expanded.projections:
            n = len(proj)
            connect_columns(proj.pre_population, proj.post_population, proj.synapse, proj.pre_cell,
                            proj.post_cell, np.zeros(n, np.int32), proj.post_segment, np.full(n, 0.5),
                            proj.post_fraction, proj.weight, proj.delay, mechanisms, instance)
        for inputs in expanded.inputs:
            for k in range(len(inputs)):
                if not instance.is_local(inputs.population, int(inputs.cell[k])):
                    continue
                cell = instance.cell(inputs.population, int(inputs.cell[k]))
                _attach_input(cell, inputs.source, mechanisms, float(inputs.weight[k]), instance,
                              int(inputs.segment[k]), float(inputs.fraction[k]))
    for explicit in network.explicit_inputs:
        pop_id, index = parse_cell_reference(explicit.target)
        if not instance.is_local(pop_id or "", index):
            continue
        cell = instance.cell(pop_id or "", index)
        _attach_input(cell, explicit.input, mechanisms, 1.0, instance)
    return instance


def _morphological_cell(pop: Any, k: int, cell_id: int, cm: ComponentMechanism) -> PointCell:
    from neuron import h

    from .morphology import build, group_segments

    bio = cm.biophysics
    position = _position(pop, k)
    built = build(bio.morphology, f"{pop.id}_{cell_id}", position or (0.0, 0.0, 0.0))
    morph = bio.morphology
    for group, value in bio.resistivity:
        for section in {built.section_of[s] for s in group_segments(morph, group)}:
            section.Ra = value
    for group, value in bio.capacitance:
        members = group_segments(morph, group)
        for section in built.sections:
            for seg in section:
                if _segment_at(built, section, seg.x) in members:
                    seg.cm = value
    for species in bio.species:
        mech = species.mechanism
        for section in {built.section_of[s] for s in group_segments(morph, species.segment_group)}:
            section.insert(mech.name)
            for seg in section:
                for name, value in mech.parameters.items():
                    setattr(seg, f"{name}_{mech.name}", value)
                if hasattr(seg, f"initialConcentration_{mech.name}"):
                    setattr(seg, f"initialConcentration_{mech.name}", species.initial)
                    setattr(seg, f"initialExtConcentration_{mech.name}", species.initial_ext)
    for placement in bio.densities:
        _place_density(built, morph, placement)
    for custom in bio.custom:
        _place_mod_mechanism(built, morph, custom.mechanism)
    for species in bio.species:
        # The species' concentrations, not NEURON's global defaults, at initialisation (set
        # once every mechanism using the ion is inserted, as inserting one resets the style).
        for section in {built.section_of[s] for s in group_segments(morph, species.segment_group)}:
            h.ion_style(f"{species.ion}_ion", 3, 2, 1, 1, 0, sec=section)
            for seg in section:
                setattr(seg, f"{species.ion}o", species.initial_ext)
                setattr(seg, f"{species.ion}i", species.initial)
    soma, _ = built.locate(0) if 0 in built.span else (built.sections[0], 0.5)
    return PointCell(pop.id, cell_id, pop.component, soma, None, position=position, built=built,
                     threshold_mv=bio.threshold_mv, v_init_mv=bio.v_init_mv)


def _place_density(built: Any, morph: Any, placement: Any) -> None:
    """Insert a density's mechanism where it applies and set its parameters per NEURON segment;
    a parameter varying with path distance is evaluated at each NEURON segment's centre, with the
    distance measured along the NeuroML segments."""
    from .morphology import group_segments, path_lengths

    members = ({placement.segment} if placement.segment is not None
               else group_segments(morph, placement.segment_group))
    mech = placement.mechanism
    placed = []
    for section in {built.section_of[s] for s in members}:
        if not hasattr(section(0.5), mech.name):
            section.insert(mech.name)
            for seg in section:  # off where another density of this mechanism does not apply
                for name in mech.parameters:
                    if name in ("condDensity", "permeability"):
                        setattr(seg, f"{name}_{mech.name}", 0.0)
        for seg in section:
            if _segment_at(built, section, seg.x) in members:
                placed.append(seg)
                for name, value in mech.parameters.items():
                    setattr(seg, f"{name}_{mech.name}", value)
    if placement.total_conductance is not None:
        area_m2 = sum(seg.area() for seg in placed) * 1e-12
        for seg in placed:
            setattr(seg, f"condDensity_{mech.name}", placement.total_conductance / area_m2)
    if placement.varying:
        lengths = path_lengths(morph)

        def path_distance(seg: Any) -> float:
            sid = _segment_at(built, seg.sec, seg.x)
            start, end = built.span[sid]
            before, length = lengths[sid]
            return before + length * (seg.x - start) / (end - start if end > start else 1.0)

        for varying in placement.varying:
            group = group_segments(morph, varying.segment_group)
            targets = [seg for seg in placed if _segment_at(built, seg.sec, seg.x) in group]
            distances = [path_distance(seg) - varying.translation_start for seg in targets]
            if varying.normalization_end is not None and distances:
                furthest = max(distances) or 1.0
                distances = [d / furthest * varying.normalization_end for d in distances]
            for seg, distance in zip(targets, distances):
                value = ex.evaluate_float(varying.value, {varying.variable: distance})
                setattr(seg, f"{varying.parameter}_{mech.name}", value)


def _place_mod_mechanism(built: Any, morph: Any, mech: Any) -> None:
    """Insert a mechanism of the user's own .mod file where its placements say, with their
    values (one per group, or one per NEURON segment of the group's section) and the ions'
    reversal potentials; its GLOBAL values are set too (they are the same for every cell)."""
    from neuron import h

    from .morphology import group_segments

    for name, value in mech.globals.items():
        setattr(h, name, value)
    for placement in mech.placements:
        members = group_segments(morph, placement.segment_group)
        sections = list(dict.fromkeys(built.section_of[s] for s in sorted(members)))
        for section in sections:
            section.insert(mech.name)
            segments = [seg for seg in section if _segment_at(built, section, seg.x) in members]
            settings = [(f"{name}_{mech.name}", values) for name, values in placement.parameters.items()]
            settings += [(name, values) for name, values in placement.ions.items()
                         if h.ismembrane(f"{name[1:]}_ion", sec=section)]  # ek: the k ion
            for attribute, values in settings:
                if len(values) not in (1, len(segments)):
                    raise NetworkError(f"channel '{mech.name}' on segment group '{placement.segment_group}': "
                                       f"{attribute} has {len(values)} values for {len(segments)} NEURON segments")
                for k, seg in enumerate(segments):
                    setattr(seg, attribute, values[0] if len(values) == 1 else values[k])


def _segment_at(built: Any, section: Any, x: float) -> int:
    return built.segment_at(section, x)


class _RulePopulation:
    """A population expanded from rules, seen as the driver sees a NeuroML population."""

    def __init__(self, cells: Any, k: int) -> None:
        self.id = cells.populations[k]
        self.component = cells.component[k]
        self._positions = cells.position[cells.gids_of(self.id)]
        self.instances = None
        self.size = len(self._positions)

    def position(self, k: int) -> tuple[float, float, float]:
        x, y, z = self._positions[k]
        return float(x), float(y), float(z)


def _population_ids(pop: Any) -> list[int]:
    if isinstance(pop, _RulePopulation):
        return list(range(pop.size))
    if pop.instances is not None and len(pop.instances) > 0:
        if hasattr(pop.instances, "array"):
            array = np.asarray(pop.instances.array)
            return list(range(array.shape[0])) if array.shape[1] != 4 else [int(x) for x in array[:, 0]]
        return [int(inst.id) if inst.id is not None else k for k, inst in enumerate(pop.instances)]
    return list(range(population_size(pop)))


def _position(pop: Any, k: int) -> tuple[float, float, float] | None:
    if isinstance(pop, _RulePopulation):
        return pop.position(k)
    instances = pop.instances
    if instances is None or len(instances) == 0:
        return None
    if hasattr(instances, "array"):  # NeuroML HDF5: columns (id,) x, y, z
        row = np.asarray(instances.array)[k]
        return tuple(float(v) for v in row[-3:]) if len(row) >= 3 else None
    loc = instances[k].location
    return (float(loc.x), float(loc.y), float(loc.z)) if loc is not None else None


def _projection_part(model: Model, proj: Any, instance: NetworkInstance
                     ) -> tuple[ConnectionColumns, np.ndarray, np.ndarray]:
    """The connections of a projection this rank makes (those onto its cells): columns, weights,
    delays. Connections in NeuroML HDF5 are read only for this rank's cells."""
    wiring = instance.parallel
    if wiring is None:
        return projection_part(proj, model.units)
    post = proj.postsynaptic_population
    return projection_part(proj, model.units, lambda cells: wiring.local_mask(post, cells))


def _reserve_spike_sources(projections: list[Any], parts: list[tuple[ConnectionColumns, np.ndarray, np.ndarray]],
                           instance: NetworkInstance) -> None:
    """Give every spike source away from a cell's default place (segment 0, middle) its gid, the
    same on every rank: each rank sees only the connections onto its own cells, so the sources
    they need are gathered from all ranks and numbered in one sorted order."""
    wiring = instance.parallel
    assert wiring is not None
    needed: set[tuple[str, int, int, float]] = set()
    for proj, (cols, _, _) in zip(projections, parts):
        population = proj.presynaptic_population
        if population in wiring.point_populations or not len(cols):
            continue
        pre_fraction, _ = cols.fractions()
        away = (cols.pre_segment != 0) | (np.round(pre_fraction, 9) != 0.5)
        for cell, segment, fraction in zip(cols.pre_cell[away].tolist(), cols.pre_segment[away].tolist(),
                                           pre_fraction[away].tolist()):
            needed.add((population, int(cell), int(segment), round(float(fraction), 9)))
    if wiring.nhost > 1:
        needed = set().union(*(set(map(tuple, found)) for found in wiring.pc.py_allgather(sorted(needed))))
    # Where each source lies in NEURON is known on its cell's rank only: shared with every rank.
    places = {source: instance.neuron_place(*source) for source in sorted(needed)
              if instance.is_local(source[0], source[1])}
    if wiring.nhost > 1:
        for found in wiring.pc.py_allgather(places):
            places.update(found)
    for source in sorted(needed):
        instance.reserve_source(source, places[source])


def _connect(proj: Any, part: tuple[ConnectionColumns, np.ndarray, np.ndarray],
             mechanisms: dict[str, ComponentMechanism], instance: NetworkInstance) -> None:
    cols, weights, delays = part
    pre_fraction, post_fraction = cols.fractions()
    connect_columns(proj.presynaptic_population, proj.postsynaptic_population, proj.synapse,
                    cols.pre_cell, cols.post_cell, cols.pre_segment, cols.post_segment,
                    pre_fraction, post_fraction, weights, delays, mechanisms, instance)


def connect_columns(pre_population: str, post_population: str, synapse: str, pre_cell: np.ndarray,
                    post_cell: np.ndarray, pre_segment: np.ndarray, post_segment: np.ndarray,
                    pre_fraction: np.ndarray, post_fraction: np.ndarray, weights: np.ndarray,
                    delays: np.ndarray, mechanisms: dict[str, ComponentMechanism],
                    instance: NetworkInstance) -> None:
    """One NetCon per connection (and one synapse each, or one per cell and place when linear
    synapses are shared), from columns: cell indices within populations, segments and fractions,
    weights, delays in ms."""
    from neuron import h

    syn_mech = mechanisms[synapse]
    make = getattr(h, syn_mech.mechanism.name)
    share = instance.share_synapses and syn_mech.shareable
    wiring = instance.parallel
    written = np.asarray(delays, dtype=float)
    delays = instance.netcon_delays(written)
    relayed = instance.needs_relay(written)
    if wiring is not None and len(delays):
        k = int(np.argmin(delays))
        wiring.check_delay(float(written[k]), f"connection from {pre_population}[{int(pre_cell[k])}] to "
                                              f"{post_population}[{int(post_cell[k])}] ({synapse})",
                           float(delays[k]))
    cells: dict[int, PointCell | None] = {}
    places: dict[tuple[int, int, float], Any] = {}
    sources: dict[tuple[int, int, float], Any] = {}
    columns = zip(np.asarray(pre_cell).tolist(), np.asarray(post_cell).tolist(),
                  np.asarray(pre_segment).tolist(), np.asarray(post_segment).tolist(),
                  np.asarray(pre_fraction, dtype=float).tolist(), np.asarray(post_fraction, dtype=float).tolist(),
                  np.asarray(weights, dtype=float).tolist(), delays.tolist(), written.tolist(), relayed.tolist())
    for pre, post_index, pre_seg, post_seg, pre_frac, post_frac, weight, delay, as_written, relay in columns:
        if post_index not in cells:
            cells[post_index] = (instance.cell(post_population, post_index)
                                 if instance.is_local(post_population, post_index) else None)
        post = cells[post_index]
        if post is None:
            continue
        place = (post_index, post_seg, post_frac)
        point = places.get(place) if share else None
        if point is None:
            section, x = post.locate(post_seg, post_frac)
            if share:
                key = (post_population, post_index, synapse, section.name(), round(section(x).x, 9))
                point = instance.shared.get(key)
            if point is None:
                point = make(section(x))
                _set_parameters(point, syn_mech)
                post.attached.setdefault(synapse, []).append(point)
                instance.synapses.append(point)
                if share:
                    instance.shared[key] = point
            if share:
                places[place] = point
        origin = (pre, pre_seg, pre_frac)
        if wiring is not None:
            if origin not in sources:
                sources[origin] = instance.source_gid(pre_population, pre, pre_seg, pre_frac)
            gid = sources[origin]

            def connect(target: Any) -> Any:
                return wiring.pc.gid_connect(gid, target)
        else:
            if origin not in sources:
                sources[origin] = _spike_source(instance.cell(pre_population, pre), pre_seg, pre_frac)
            source, source_section, threshold = sources[origin]

            def connect(target: Any) -> Any:
                if source_section is None:
                    return h.NetCon(source, target)
                netcon = h.NetCon(source, target, sec=source_section)
                netcon.threshold = threshold
                return netcon
        if relay:
            instance.relayed((pre_population, *origin), as_written, point, weight, connect)
            continue
        netcon = connect(point)
        netcon.delay = delay
        netcon.weight[0] = weight
        instance.netcons.append(netcon)


def _spike_source(cell: PointCell, segment: int, fraction: float) -> tuple[Any, Any, float]:
    """What a NetCon from this cell starts at: its mechanism (events), or v at a place (with the
    section and threshold), as :meth:`PointCell.netcon_to` makes it."""
    if cell.mechanism is not None:
        return cell.mechanism, None, 0.0
    section, x = cell.locate(segment, fraction)
    return section(x)._ref_v, section, cell.threshold_mv


def _connect_one(source: str, target: str, synapse_id: str, weight: float, delay: float,
                 mechanisms: dict[str, ComponentMechanism], instance: NetworkInstance) -> None:
    """A LEMS ``synapticConnection``/``synapticConnectionWD from="pop[i]" to="pop[j]"``."""
    from neuron import h

    pre_pop, pre_index = parse_cell_reference(source)
    post_pop, post_index = parse_cell_reference(target)
    if not instance.is_local(post_pop or "", post_index):
        return
    post = instance.cell(post_pop or "", post_index)
    syn_mech = mechanisms[synapse_id]
    section, x = post.locate()
    synapse = getattr(h, syn_mech.mechanism.name)(section(x))
    _set_parameters(synapse, syn_mech)
    post.attached.setdefault(synapse_id, []).append(synapse)
    applied = float(instance.netcon_delays(np.array([delay]))[0])
    if instance.parallel is not None:
        instance.parallel.check_delay(delay, f"connection {source} -> {target} ({synapse_id})", applied)
    instance.synapses.append(synapse)
    if instance.needs_relay(np.array([delay]))[0]:
        def connect(relay: Any) -> Any:
            return instance.spike_connection(pre_pop or "", pre_index, relay)

        instance.relayed((pre_pop or "", pre_index, 0, 0.5), delay, synapse, weight, connect)
        return
    netcon = instance.spike_connection(pre_pop or "", pre_index, synapse)
    netcon.delay = applied
    netcon.weight[0] = weight
    instance.netcons.append(netcon)


def _add_input_list(input_list: Any, mechanisms: dict[str, ComponentMechanism],
                    instance: NetworkInstance) -> None:
    wiring = instance.parallel
    population = input_list.populations
    keep = None if wiring is None else (lambda cells: wiring.local_mask(population, cells))
    cols, weights = input_part(input_list, keep)
    fractions = cols.fraction if cols.fraction is not None else np.full(len(cols), 0.5)
    for k in range(len(cols)):
        if not instance.is_local(input_list.populations, int(cols.target_cell[k])):
            continue
        cell = instance.cell(input_list.populations, int(cols.target_cell[k]))
        _attach_input(cell, input_list.component, mechanisms, weights[k], instance,
                      int(cols.segment[k]), float(fractions[k]))


def _attach_input(cell: PointCell, component: str, mechanisms: dict[str, ComponentMechanism],
                  weight: float, instance: NetworkInstance, segment: int = 0, fraction: float = 0.5) -> None:
    from neuron import h

    cm = mechanisms[component]
    section, x = cell.locate(segment, fraction)
    point = getattr(h, cm.mechanism.name)(section(x))
    _set_parameters(point, cm)
    weight_name = cm.mechanism.variables.get("weight")
    if weight_name:
        setattr(point, weight_name, weight)
    if hasattr(point, "dlscale_nml"):
        point.dlscale_nml = mechanisms[cell.component].dl_scale
    cell.attached.setdefault(component, []).append(point)
    instance.inputs.append(point)
