"""The sample at a spike: every variable the spike's actions set shows the value set, as jLEMS
records it.

jLEMS advances a step, then acts on the conditions the new values meet (``v = reset`` of an
integrate-and-fire cell, ``u = u + d`` of an Izhikevich cell, ``w = w + b`` of an AdEx cell), then
records: the sample of a spike's step shows the values set. NEURON records at the end of the step,
before it delivers the event that carries those actions, so its sample shows the values before
them (the next samples agree again).

- ``v`` of a point cell: the cell's mechanism keeps the v its actions set (``vhold_nml``, which it
  holds when v has no derivative); the probe takes, at each spike's sample, that value as recorded
  at the next sample.
- any other variable the condition that sends the spike assigns (directly, or on entering a
  regime): one callback per spike of a recorded cell reads the variable after the actions, and the
  probe takes that value at the spike's sample.

A condition that sends no spike (a clock reset ``tsince = 0``, a counter, a regime entered, an
input's redraw) acts at the same moment: its handler (a WATCH, a self-event) runs after NEURON
recorded the step, before the next step; a condition the mechanism tests at each step (BREAKPOINT)
acts at the start of the next step, before its states are integrated. So the sample of a step
shows the values the conditions set:

- for a variable without a time derivative: at the next sample NEURON records (nothing but the
  conditions changes it in between);
- for an integrated variable set in handlers: recorded again a quarter of a step after each step
  (``Vector.record`` at given times: delivered as an event after the handlers of that moment,
  before the next step integrates).

Where neither holds (a variable an incoming event sets as well, an integrated variable a condition
tested at each step sets), the run warns, naming the variable and the condition.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable

import numpy as np

from ..lems import expr as ex
from ..lems.nmodl_events import tested_at_each_step
from ..lems.nmodl_lead import children_read, leads, on_the_clock
from ..lems.nmodl_names import VHOLD
from ..lems.nmodl_roles import ROLES
from ..lems.translate import Action, Condition, FlatComponent

log = logging.getLogger(__name__)


def _performed(flat: FlatComponent, actions: list[Action]) -> list[Action]:
    """``actions`` with those of the regimes they enter, in the order the mechanism performs them."""
    performed: list[Action] = []
    for action in actions:
        performed.append(action)
        if action.kind == "transition":
            performed += flat.on_entry.get(action.target, [])
    return performed


def _spike_actions(flat: FlatComponent) -> list[list[Action]]:
    """The actions of each condition that sends a spike, with those of the regimes it enters,
    in the order the mechanism performs them."""
    performed = (_performed(flat, condition.actions) for condition in flat.conditions)
    return [actions for actions in performed if any(a.kind == "emit" for a in actions)]


def sends_spike(flat: FlatComponent, condition: Condition) -> bool:
    """Whether ``condition`` sends a spike (directly, or on entering a regime)."""
    return any(a.kind == "emit" for a in _performed(flat, condition.actions))


def _assigned(flat: FlatComponent, actions: list[Action]) -> set[str]:
    return {a.target for a in _performed(flat, actions) if a.kind == "assign"}


def _leaves_unchanged(action: Action) -> bool:
    """Whether ``action`` assigns its variable its own value (``V = V + 0``: NESTML2LEMS writes
    such an OnEvent where it cannot translate the handler)."""
    if action.kind != "assign":
        return False
    same, value = ex.Name(action.target), action.value
    if value == same:
        return True
    neutral = {"+": 0.0, "-": 0.0, "*": 1.0, "/": 1.0}
    return (isinstance(value, ex.BinOp) and value.op in neutral and (
        (value.left == same and value.right == ex.Num(neutral[value.op]))
        or (value.op in "+*" and value.right == same and value.left == ex.Num(neutral[value.op]))))


def set_only_by_events(flat: FlatComponent, variable: str) -> bool:
    """Whether only incoming events change ``variable`` (a flat name): their handlers or the
    regimes they enter set it; no time derivative, condition or regime a condition enters does.
    jLEMS's sample at an event shows the value the event set, also in a component with regimes."""
    by_events = _assigned(flat, flat.event_actions())
    otherwise = flat.integrated_states() | _assigned(flat, [a for c in flat.conditions for a in c.actions])
    return variable in by_events and variable not in otherwise


def changed_by_regimes(flat: FlatComponent, variable: str) -> bool:
    """Whether a regime's part of the dynamics changes ``variable`` (a flat name): a regime's
    time derivative, condition, OnEvent or OnEntry, or a regime's DerivedVariable naming a state of
    the Dynamics. jLEMS records such an exposed state a step late; one only the Dynamics' own time
    derivatives and conditions change is not late (they run before jLEMS copies the variables to
    its outputs: tests/test_record_timing.py, tests/test_regime_derived.py)."""
    in_regimes = [a for c in flat.conditions if c.regime is not None for a in c.actions]
    entered = [a for actions in flat.on_entry.values() for a in actions]
    events = [a for actions in flat.regime_on_event.values() for a in actions]
    return (any(variable in tds for regime, tds in flat.time_derivatives.items() if regime is not None)
            or any(variable == target for _, target, _ in flat.regime_derived)
            or variable in _assigned(flat, in_regimes + entered + events))


def reset_at_spikes(flat: FlatComponent | None) -> set[str]:
    """The variables (flat names) a cell sets in a condition that sends a spike (directly, or on
    entering a regime): jLEMS's sample at the spike shows the values set."""
    if flat is None:
        return set()
    return {a.target for actions in _spike_actions(flat) for a in actions if a.kind == "assign"}


def resets_v_at_spikes(flat: FlatComponent | None) -> bool:
    """Whether a cell sets its ``v`` in a condition that sends a spike (directly, or on entering
    a regime), so that jLEMS's sample at the spike shows the value set."""
    return "v" in reset_at_spikes(flat)


def _actions_after_spike(flat: FlatComponent, variable: str) -> list[Action] | None:
    """The actions a spike's handler performs after sending it, when one of them sets
    ``variable`` (empty when each spike's value is set before it is sent); None when the cell's
    several spike-sending conditions do so differently (which one sent a spike is not known)."""
    found = []
    for actions in _spike_actions(flat):
        emitted = max(k for k, a in enumerate(actions) if a.kind == "emit")
        later = [a for a in actions[emitted:] if a.kind == "assign"]
        found.append(later if any(a.target == variable for a in later) else [])
    return found[0] if all(later == found[0] for later in found) else None


def _value_after(actions: list[Action], variable: str, mechanism: Any,
                 nmodl_names: dict[str, str]) -> Callable[[], float] | None:
    """A function giving, when a spike is sent, the value ``actions`` (performed after it) will
    set ``variable`` to: their expressions evaluated on the mechanism's values at that moment.
    None when an expression reads a value the mechanism does not show."""
    from neuron import h

    # pointers, not the mechanism: a hoc object kept alive outlives its section in the next run
    pointers: dict[str, tuple[Any, float]] = {}
    for action in actions:
        for name in ex.names(action.value) - set(pointers) - {"t"}:
            if name == "v":
                pointers[name] = (mechanism.get_segment()._ref_v, 1e-3)
            elif hasattr(mechanism, f"_ref_{nmodl_names.get(name)}"):
                pointers[name] = (getattr(mechanism, f"_ref_{nmodl_names[name]}"), 1.0)
            else:
                return None

    def value() -> float:
        env = {name: pointer[0] * factor for name, (pointer, factor) in pointers.items()}
        env["t"] = h.t * 1e-3
        for action in actions:
            env[action.target] = ex.evaluate_float(action.value, env)
        return env[variable]

    return value


class SpikeSamples:
    """The spikes of the recorded point cells, and values read at each: one callback per spike
    of a cell, whatever the number of its probes (NEURON keeps one callback per spike source).
    One per run (:func:`nmlhub.neuron.recording.resolve_quantity` takes it).

    ``dt_ms`` and ``steps``: the run's step and number of steps, for the integrated variables
    conditions without a spike set (recorded again after each step's handlers); None where the
    run cannot record so (:func:`with_values_set_by_conditions` then warns)."""

    def __init__(self, dt_ms: float | None = None, steps: int | None = None) -> None:
        self._cells: dict[int, _CellSpikes] = {}
        self.dt_ms = dt_ms
        self.steps = steps
        self.warned: set[tuple[str, str]] = set()

    def of(self, mechanism: Any) -> "_CellSpikes":
        """The spikes of one cell's ``mechanism`` (watched from the first call on)."""
        key = id(mechanism)
        if key not in self._cells:
            self._cells[key] = _CellSpikes(mechanism)
        return self._cells[key]


class _CellSpikes:
    """One cell's spike steps, and the values of its readers at each spike."""

    def __init__(self, mechanism: Any) -> None:
        from neuron import h

        self.steps: list[int] = []
        self._readers: list[tuple[Callable[[], float], list[tuple[int, float]]]] = []
        self.netcon = h.NetCon(mechanism, None)
        # a callback, not a vector: NEURON keeps one spike vector per source, the run's spike recorder's
        self.netcon.record(self._at_spike)

    def read(self, value: Callable[[], float]) -> list[tuple[int, float]]:
        """(step, ``value()`` when the spike is sent) at each spike, filled as the run goes."""
        taken: list[tuple[int, float]] = []
        self._readers.append((value, taken))
        return taken

    def _at_spike(self) -> None:
        from neuron import h

        step = int(round(h.t / h.dt))
        self.steps.append(step)
        for value, taken in self._readers:
            taken.append((step, float(value())))


def with_samples_after_spikes(probe: Any, spikes: _CellSpikes, mechanism: Any) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of a point cell's v) whose sample at
    each spike of the cell's ``mechanism`` (``spikes``: its spikes) is the v the spike's actions set.
    Unchanged when the mechanism does not keep that value."""
    from neuron import h

    reference = getattr(mechanism, f"_ref_{VHOLD}", None)
    if reference is None:
        return probe
    held = h.Vector().record(reference)
    derive = probe.derive

    def at_spikes(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        held_values = np.asarray(held) * probe.to_si
        for index in spikes.steps:
            # sample 0 is the initial state in jLEMS, recorded before any condition acts
            if 0 < index and index + 1 < min(len(values), len(held_values)):
                values[index] = held_values[index + 1]
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=at_spikes)


def with_values_set_at_spikes(probe: Any, spikes: _CellSpikes, mechanism: Any, flat: FlatComponent,
                              variable: str, nmodl_names: dict[str, str]) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of ``variable``, a flat name, held by
    a point cell's ``mechanism``; ``spikes``: its spikes; ``nmodl_names``: the mechanism's
    name of each flat name) whose sample at each spike is the value the spike's actions set:
    read when the spike is sent, or, when actions performed after sending it set the variable,
    computed from them. Unchanged when neither is possible."""
    later = _actions_after_spike(flat, variable)
    reference = probe.reference
    value = (lambda: reference[0]) if later == [] else (
        _value_after(later, variable, mechanism, nmodl_names) if later else None)
    if value is None:
        return probe
    taken = spikes.read(value)
    derive = probe.derive

    def at_spikes(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        _ = spikes  # its callback kept alive for as long as the probe reads its samples
        for index, value in taken:
            # sample 0 is the initial state in jLEMS, recorded before any condition acts
            if 0 < index < len(values):
                values[index] = value * probe.to_si
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=at_spikes)


def set_by_conditions(flat: FlatComponent | None, variable: str, mechanism: Any = None) -> list[Condition]:
    """The conditions that set ``variable`` (a flat name), directly or on entering a regime; not
    those that only pass a spike on to a listener inside the component (a timedSynapticInput's
    source to its synapse: the listener's event actions, the very ones its OnEvent performs),
    which act as events do; none in an input that acts on its conditions before its current
    (``mechanism``, the generated :class:`nmlhub.lems.nmodl.Mechanism`, leads: see
    nmlhub.lems.nmodl_lead), whose samples show them already; nor, in an input or synapse, the
    conditions on jLEMS's clock and constants alone (a pulse's ``t .geq. delay``): its BREAKPOINT
    tests them with the time at the end of the step it drives, so NEURON's sample of that step
    shows them already, as jLEMS's does."""
    if flat is None:
        return []
    if mechanism is not None and leads(flat, mechanism.role, computes_once=not mechanism.pointers):
        return []
    if variable in dict(flat.derived):
        # jLEMS advances a child before its parent: a parent's derived variable (a select of its
        # child's state) reads the values the child's conditions set in the step, where its own
        # derived variables read those of the step's start (as NEURON's sample shows them)
        return [condition for state in _fresh_reads(flat, variable)
                for condition in set_by_conditions(flat, state, mechanism)]
    at_step_end = mechanism is not None and ROLES[mechanism.role].injected
    relayed = [a for a in flat.on_event if a.kind == "assign"]
    return [condition for condition in flat.conditions
            if variable in _assigned(flat, [a for a in condition.actions if a not in relayed])
            and not (at_step_end and condition.regime is None and on_the_clock(flat, condition))]


def with_initial_sample(probe: Any, flat: FlatComponent, variable: str, point: Any, mechanism: Any) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of ``variable``, a flat name of an
    input's or synapse's ``point`` process; ``mechanism``: its generated
    :class:`nmlhub.lems.nmodl.Mechanism`) whose sample 0 is the initial state, as jLEMS records
    it, where a condition on jLEMS's clock sets the variable: NEURON's initialisation already
    evaluates those conditions for the first step (a voltage clamp's current from the start).
    The initial state is what ``OnStart`` sets from constants, or 0; unchanged when it reads
    anything else."""
    if not (ROLES[mechanism.role].injected and any(
            c.regime is None and on_the_clock(flat, c) and variable in _assigned(flat, c.actions)
            for c in flat.conditions)):
        return probe
    starts = [a for a in flat.on_start if a.kind == "assign"]
    constants = set(flat.params) | set(flat.properties) | {n for n, _ in flat.derived_params}
    if any(not ex.names(a.value) <= constants | {a.target for a in starts} for a in starts):
        return probe
    value = (_value_after(starts, variable, point, mechanism.variables)
             if any(a.target == variable for a in starts) else (lambda: 0.0))
    if value is None:
        return probe
    derive = probe.derive

    def initial(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        if len(values):
            values[0] = value() * probe.to_si
        return derive(values) if derive is not None else values

    return dataclasses.replace(probe, derive=initial)


def _states_read(flat: FlatComponent, variable: str) -> set[str]:
    """Every name a derived ``variable`` reads, through the derived variables it reads, that is
    not itself a derived variable (states, ``v``, ``t``, requirements, constants)."""
    derived = dict(flat.derived)
    return ex.reads_through(derived, [variable]) - derived.keys()


def _fresh_reads(flat: FlatComponent, variable: str) -> list[str]:
    """The children's states without a time derivative that a derived ``variable`` reads as
    the children's step left them (nmlhub.lems.nmodl_lead.children_read)."""
    return [s for s in children_read(flat, variable)[0] if s not in flat.integrated_states()]


def _varies_otherwise(flat: FlatComponent, variable: str) -> bool:
    """Whether a derived ``variable`` reads something that changes in a step besides the
    children's states their conditions set: any other state, ``v``, the time or a requirement."""
    moving = set(flat.states) | {"v", "t"} | set(flat.requirements)
    return bool((_states_read(flat, variable) & moving) - set(_fresh_reads(flat, variable)))


def with_values_set_by_conditions(probe: Any, samples: SpikeSamples, flat: FlatComponent, variable: str,
                                  conditions: list[Condition]) -> Any:
    """``probe`` (a :class:`nmlhub.neuron.recording.Probe` of ``variable``, a flat name of a point
    mechanism, or ``v`` of a point cell: its section's) whose sample at each step shows the values
    ``conditions`` (those that set it) set at that step, as jLEMS records them; unchanged, with a
    warning naming the variable and the condition, where nmlhub cannot record so."""
    if not conditions:
        return probe
    if variable in dict(flat.derived):
        if _varies_otherwise(flat, variable):
            return _unchanged(probe, samples, flat, variable, conditions[0],
                              "it is derived from them and from values that change in the step")
        return dataclasses.replace(probe, derive=_then(_from_next_sample, probe.derive))
    by_events = variable in _assigned(flat, [a for a in flat.event_actions() if not _leaves_unchanged(a)])
    if by_events and (variable == "v" or variable not in flat.integrated_states()):
        # (a state of the mechanism integrated is recorded after the step's handlers, where the
        # events' values show at jLEMS's samples too: NESTML2LEMS's V, tests/test_outside_networks.py)
        return _unchanged(probe, samples, flat, variable, conditions[0], "an incoming event sets it too")
    if variable not in flat.integrated_states() and variable != "v":  # NEURON integrates the section's v
        return dataclasses.replace(probe, derive=_then(_from_next_sample, probe.derive))
    each_step = [c for c in conditions if tested_at_each_step(c, distributed=False)]
    if each_step:
        return _unchanged(probe, samples, flat, variable, each_step[0],
                          "it is integrated and the condition is tested before the step integrates it")
    if samples.dt_ms is None or samples.steps is None:
        return _unchanged(probe, samples, flat, variable, conditions[0], "this engine cannot record it after the step")
    return _recorded_after_handlers(probe, samples.dt_ms, samples.steps)


def _then(first: Callable[[np.ndarray], np.ndarray],
          derive: Callable[[np.ndarray], np.ndarray] | None) -> Callable[[np.ndarray], np.ndarray]:
    return first if derive is None else (lambda values: derive(first(values)))


def _from_next_sample(values: np.ndarray) -> np.ndarray:
    """Sample n (n >= 1) from NEURON's sample n + 1 (the run records one step more than it keeps);
    sample 0 is the initial state, recorded before any condition acts."""
    values = np.array(values, dtype=float)
    values[1:-1] = values[2:]
    return values


def _recorded_after_handlers(probe: Any, dt_ms: float, steps: int) -> Any:
    """``probe`` whose sample n >= 1 is its reference recorded at (n + 1/4) steps: after the
    handlers of the events at the end of step n, before step n + 1 is integrated."""
    from neuron import h

    times = h.Vector((np.arange(1, steps + 2) + 0.25) * dt_ms)
    after = h.Vector().record(probe.reference, times)

    def after_handlers(values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=float)
        _ = times  # NEURON reads the times as the run goes
        taken = np.asarray(after)[: len(values) - 1]
        values[1:1 + len(taken)] = taken * probe.to_si
        return values

    return dataclasses.replace(probe, derive=_then(after_handlers, probe.derive))


def _unchanged(probe: Any, samples: SpikeSamples, flat: FlatComponent, variable: str, condition: Condition,
               why: str) -> Any:
    """``probe`` as it is, with a warning (once per type and variable in a run): its samples where
    the condition acts show the values before it, one sample later than jLEMS's."""
    if (flat.type, variable) not in samples.warned:
        samples.warned.add((flat.type, variable))
        log.warning("%s: '%s' is recorded one sample later than jLEMS records it where the condition "
                    "'%s' sets it (%s)", flat.type, variable, ex.to_nmodl(condition.test), why)
    return probe
