"""The steps before a network is instantiated: its mechanisms generated, compiled and loaded, its
rules expanded with its build plan made once, and the choice of wiring for a serial run."""

from __future__ import annotations

import logging
import re
from typing import Any, Sequence

import numpy as np

from ..lems.input_merge import merge_weight
from ..model import Model
from .engine import NeuronEngine
from .eventgrid import netcon_delays, relay_mechanism
from .cell_requirements import unprovided_requirement_problems
from .mechanisms import ComponentMechanism, build_mechanisms
from .mechcache import MechanismCache
from .network import needed_components
from .options import RunOptions, SimulationError
from .plan import BuildPlan, make_plan

log = logging.getLogger(__name__)


def network_rules(model: Model, network: Any) -> Any:
    """The network's rules still to expand (None when it has none, or holds their expansion)."""
    rules = model.rules.get(network.id)
    if rules is not None and getattr(rules, "expanded_in_file", False):
        return None
    return rules


def load_network_mechanisms(model: Model, network: Any, engine: NeuronEngine, cache: MechanismCache,
                            event_timing: str, split_unless: Sequence[str] | None = None,
                            recorded: Sequence[str] | None = None) -> dict[str, ComponentMechanism]:
    """Generate, compile (cached) and load the mechanisms of every component the network (and
    its rules) use, the user's own .mod files, and the relay of jLEMS's event timing for whole-step delays.
    With ``split_unless`` (the recorded paths), an input that is a spike generator driving its
    synapse is placed as the two (an event-only generator and the synapse,
    nmlhub.lems.input_split), unless a recorded path names it. With ``recorded`` (the recorded
    paths), channel densities are generated lean (nmlhub.lems.nmodl_lean) where no path records
    a value that hides."""
    ids = needed_components(network, model.network_extras.get(network.id), network_rules(model, network))
    for comp_id in ids:
        if comp_id not in model.components:
            raise SimulationError(f"component '{comp_id}' used by network {network.id} is not defined",
                                  file=model.path)
    mechanisms = build_mechanisms(model, ids, flat_cache=cache.root / "flattened", recorded=recorded)
    for problem in unprovided_requirement_problems(model, network, mechanisms):
        raise SimulationError(problem.message, file=problem.file, line=problem.line, element=problem.element)
    for component, cm in mechanisms.items():
        if cm.split is not None and split_unless is not None and not names_component(split_unless, component):
            cm.use_split()
            cm.merges = merge_targets(model, component, mechanisms)
    mechs = [m.mechanism for m in mechanisms.values() if m.mechanism is not None and m.user_mod is None]
    mechs += [m.generator for m in mechanisms.values() if m.generator is not None]
    mechs += [d.mechanism for m in mechanisms.values() if m.biophysics for d in m.biophysics.densities]
    mechs += [sp.mechanism for m in mechanisms.values() if m.biophysics for sp in m.biophysics.species]
    if event_timing != "neuron":
        mechs.append(relay_mechanism())  # for delays of whole steps (nmlhub.neuron.eventgrid)
    _load_user_mechanisms(mechanisms, engine, cache, model)
    engine.load_mechanisms(cache, mechs, model, mechanisms)
    return mechanisms


def merge_targets(model: Model, component: str, mechanisms: dict[str, ComponentMechanism]) -> dict[str, float]:
    """The shareable synapses of the network a split input's synapse may be merged into (same
    type as the input's synapse, same kinetics but its conductance scale: nmlhub.lems.input_merge),
    with the factor of the input's weight that their events need."""
    cm = mechanisms[component]
    child = model.components.get(getattr(model.components[component].obj, "synapse", None) or "")
    if child is None or cm.mechanism is None or cm.mechanism.flat is None:
        return {}
    found = {}
    for synapse, other in mechanisms.items():
        if (other.shareable and other.mechanism is not None and other.mechanism.flat is not None
                and model.components[synapse].type == child.type):
            factor = merge_weight(cm.mechanism.flat, other.mechanism.flat)
            if factor is not None:
                found[synapse] = factor
                log.debug("input '%s': with shared synapses it drives the cell's '%s' where there is one "
                          "(event weight x %.6g) instead of a synapse of its own", component, synapse, factor)
    return found


def names_component(paths: Sequence[str], component: str) -> bool:
    """Whether a quantity path names a component (``pop/0/bkg/0/i``, ``pop[0]/bkg:0/i``...)."""
    word = re.compile(rf"(?<![\w.-]){re.escape(component)}(?![\w.-])")
    return any(word.search(path) for path in paths)


def _load_user_mechanisms(mechanisms: dict[str, ComponentMechanism], engine: NeuronEngine,
                          cache: MechanismCache, model: Model) -> None:
    """Compile (once, cached by content) and load the .mod files cells and synapses refer to."""
    from ..model.mod_files import mod_suffixes
    from .mechcache import load_user_library, user_library

    files = {custom.mod_file: None for cm in mechanisms.values() if cm.biophysics
             for custom in cm.biophysics.custom}
    files.update({cm.user_mod: None for cm in mechanisms.values() if cm.user_mod is not None})
    if not files:
        return
    engine.check_user_mechanisms(list(files), model.path)
    names = [name for path in files for name in mod_suffixes(path.read_text(errors="replace"))]
    load_user_library(user_library(list(files), cache.root), names)


def gid_wiring_serially(model: Model, network: Any, expanded: Any, engine: NeuronEngine, dt_ms: float,
                        event_timing: str) -> bool:
    """Whether a serial run can wire its connections by gid: it has connections, every delay
    is at least one step, and none is a LEMS synapticConnection (those may have no delay)."""
    from ..model.columns import connection_weights_delays

    if not engine.gid_wiring_serially:
        return False
    if getattr(network, "synaptic_connections", None) or any(
            extra.type.startswith("synapticConnection") for extra in model.network_extras.get(network.id, [])):
        return False
    delays = [connection_weights_delays(proj, model.units)[1] for proj in network.projections]
    if expanded is not None:
        delays += [np.asarray(proj.delay, dtype=float) for proj in expanded.projections]
    delays = [netcon_delays(d, dt_ms, event_timing) for d in delays if len(d)]
    return bool(delays) and all(float(np.min(d)) >= dt_ms * (1 - 1e-9) for d in delays)


def expand_and_plan(model: Model, network: Any, mechanisms: dict[str, ComponentMechanism],
                    ranks: tuple[bool, int, int], options: RunOptions) -> tuple[Any, BuildPlan]:
    """The network's rules expanded (None when it has none, or holds its expansion already),
    in a parallel run only for the post-synaptic cells this rank owns; and the build plan
    (every cell's gid and rank), made once. ``ranks``: (parallel, this rank, number of ranks)."""
    from ..model.cells import cell_morphology
    from ..rules.expand import expand
    from ..rules.layout import expand_populations
    from ..rules.values import RuleError

    parallel, rank, nhost = ranks
    rules = network_rules(model, network)
    if rules is None:
        return None, make_plan(network, mechanisms, None, rank, nhost, options.balance)
    morphologies = {}
    for pop in rules.populations:
        record = model.components.get(pop.cell)
        if record is None:
            raise SimulationError(f"rule population '{pop.id}': cell '{pop.cell}' is not defined", file=model.path)
        morphologies[pop.cell] = cell_morphology(record.obj, model.components)
    try:
        if parallel:
            cells = expand_populations(rules.populations, rules.size, rules.seed)
            plan = make_plan(network, mechanisms, cells, rank, nhost, options.balance)
            return expand(rules, morphologies, plan.owned_tail(len(cells)), options.max_connections), plan
        expanded = expand(rules, morphologies, None, options.max_connections)
    except RuleError as exc:
        raise SimulationError(f"network '{network.id}': {exc.message}", file=model.path) from None
    return expanded, make_plan(network, mechanisms, expanded.cells, rank, nhost, options.balance)
