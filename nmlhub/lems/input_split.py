"""An input made of a spike generator and the synapse it drives, split into the two.

A ``poissonFiringSynapse`` (or ``transientPoissonFiringSynapse``, or any input of that form) is
flattened into one component whose conditions draw spike times and, on each spike, add to its
synapse's states. Printed as one point process its synapse, its clock and its other states are
integrated every step. Split, the generator needs no work between its spikes (an event-only
mechanism: ``generator`` role) and the synapse is a point process receiving the generator's
events (``current`` role), with the same arithmetic in the same order as the whole component.

The split is made only where it changes nothing: the current reads only the synapse's states;
the generator's conditions and draws read none of them; one condition adds to the synapse, and
what it adds reads only the synapse's states and constants. The generator's states with a time
derivative (``tsince``) are left out, so nothing may read them: the caller keeps the whole form
where a recording names the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import expr as ex
from .translate import Action, Condition, FlatComponent

#: The event the generator sends its synapse.
SPIKE_PORT = "spike"
#: The port the synapse receives it on.
IN_PORT = "in"


@dataclass(frozen=True)
class SplitInput:
    """The two flat components an input splits into."""

    generator: FlatComponent
    synapse: FlatComponent


def split_input(flat: FlatComponent) -> SplitInput | None:
    """The generator and synapse of an input, or None when it is not of that form.

    Parameters
    ----------
    flat
        An input's flat equations (its synapse inlined as a child, e.g. ``AMPAR_A``).
    """
    current = next((name for name in ("i", "I") if name in flat.exposures), None)
    if (current is None or flat.regimes or flat.kinetic or flat.external or flat.on_event or flat.peer_variables
            or set(flat.time_derivatives) - {None} or current not in dict(flat.derived)):
        return None
    derivatives = flat.time_derivatives.get(None, {})
    synapse_names = _closure(flat, {current})
    synapse_states = [s for s in flat.states if s in synapse_names]
    derived = {n for n, _ in flat.derived}
    constants = _constants(flat)
    # the generator's states integrated every step (tsince): left out, so nothing may read them
    unsteady = {s for s in flat.states if s not in synapse_names and s in derivatives
                and derivatives[s] != ex.Num(0.0)}
    parts = _split_conditions(flat, set(synapse_states), derived, unsteady)
    if parts is None or not synapse_states:
        return None
    conditions, synapse_actions = parts
    start_generator, start_synapse = _partition(flat.on_start, set(synapse_states), unsteady)
    if start_generator is None or any(_reads(a) - constants - set(synapse_states) for a in start_synapse):
        return None
    generator_reads = set().union(*(_reads(a) for a in start_generator),
                                  *(ex.names(c.test) | set().union(*(_reads(a) for a in c.actions)) for c in conditions))
    if generator_reads & (unsteady | derived | set(flat.requirements)):
        return None  # the generator reads a state integrated every step, or a derived value
    if any(ex.names(derivatives[s]) - synapse_names - constants for s in synapse_states if s in derivatives):
        return None
    if any(ex.names(v) - synapse_names - constants for n, v in flat.derived if n in synapse_names):
        return None
    generator_states = [s for s in flat.states if s not in synapse_names and s not in unsteady]
    generator = _part(flat, generator_reads, generator_states, start_generator, conditions)
    generator.out_ports = [SPIKE_PORT]
    synapse = _part(flat, synapse_names | set().union(*(_reads(a) for a in synapse_actions + start_synapse)),
                    synapse_states, start_synapse, [])
    synapse.derived = [(n, v) for n, v in flat.derived if n in synapse_names]
    synapse.time_derivatives = {None: {s: derivatives[s] for s in synapse_states if s in derivatives}}
    synapse.on_event = synapse_actions
    synapse.in_ports = [IN_PORT]
    synapse.requirements = {n: d for n, d in flat.requirements.items() if n in synapse_names}
    if (any(_draws(v) for _, v in synapse.derived_params + synapse.derived)
            or any(_random(a) for a in start_synapse)):
        return None  # the synapse would draw from the generator's stream
    return SplitInput(generator, synapse)


def _split_conditions(flat: FlatComponent, synapse_states: set[str], derived: set[str],
                      dropped: set[str]) -> tuple[list[Condition], list[Action]] | None:
    """The generator's conditions (sending a spike where the synapse was acted on, without the
    assignments to ``dropped`` states) and the synapse's actions on a spike; None when the
    conditions mix the two."""
    conditions, synapse_actions = [], None
    for cond in flat.conditions:
        if cond.regime is not None or ex.names(cond.test) & (synapse_states | derived):
            return None
        own, acted = _partition(cond.actions, synapse_states, dropped)
        if own is None or any(_reads(a) & (synapse_states | derived) for a in own):
            return None
        if acted and (synapse_actions is not None or any(_random(a) for a in acted)):
            return None  # two conditions acting on the synapse would need two kinds of event
        if acted:
            if any(_reads(a) - synapse_states - _constants(flat) for a in acted):
                return None
            synapse_actions = acted
        conditions.append(Condition(cond.test, own + ([Action("emit", SPIKE_PORT)] if acted else []), None))
    if synapse_actions is None:
        return None
    return conditions, synapse_actions


def _partition(actions: list[Action], synapse_states: set[str],
               dropped: set[str]) -> tuple[list[Action] | None, list[Action]]:
    """Actions on the generator (emits dropped: the generator sends its own; assignments to
    ``dropped`` states left out) and on the synapse; (None, []) when an action is neither (a
    transition)."""
    own, acted = [], []
    for action in actions:
        if action.kind == "emit" or action.target in dropped:
            continue
        if action.kind != "assign":
            return None, []
        (acted if action.target in synapse_states else own).append(action)
    return own, acted


def _reads(action: Action) -> set[str]:
    return ex.names(action.value) if action.value is not None else set()


def _random(action: Action) -> bool:
    return action.value is not None and _draws(action.value)


def _draws(value: ex.Expr) -> bool:
    """Whether an expression draws a random number."""
    if isinstance(value, ex.Call):
        return value.func == "random" or _draws(value.arg)
    if isinstance(value, ex.BinOp):
        return _draws(value.left) or _draws(value.right)
    if isinstance(value, ex.Neg):
        return _draws(value.operand)
    if isinstance(value, ex.IfElse):
        return _draws(value.test) or _draws(value.then) or _draws(value.other)
    return False


def _constants(flat: FlatComponent) -> set[str]:
    return set(flat.params) | set(flat.properties) | {n for n, _ in flat.derived_params}


def _closure(flat: FlatComponent, start: set[str]) -> set[str]:
    """Every name ``start`` depends on through derived variables, time derivatives and derived
    parameters (states read by a state's derivative, values read by a derived variable...)."""
    table = dict(flat.derived) | dict(flat.derived_params) | dict(flat.time_derivatives.get(None, {}))
    return ex.reads_through(table, start)


def _part(flat: FlatComponent, reads: set[str], states: list[str], on_start: list[Action],
          conditions: list[Condition]) -> FlatComponent:
    """A flat component with the named states and what they read of the whole's constants."""
    needed = _closure(FlatComponent(flat.type, derived_params=flat.derived_params), reads | set(states)
                      | set().union(*(ex.names(c.test) for c in conditions)))
    part = FlatComponent(flat.type)
    part.params = {n: v for n, v in flat.params.items() if n in needed}
    part.properties = {n: v for n, v in flat.properties.items() if n in needed}
    part.derived_params = [(n, v) for n, v in flat.derived_params if n in needed]
    part.states = list(states)
    part.on_start = list(on_start)
    part.conditions = conditions
    kept = set(states) | needed | {n for n, _ in flat.derived if n in reads}
    part.exposures = {n: v for n, v in flat.exposures.items() if v in kept}
    part.exposure_dimensions = {n: d for n, d in flat.exposure_dimensions.items() if n in part.exposures}
    return part
