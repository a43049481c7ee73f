"""Inputs whose own dynamics set the current their cell reads in the same step.

jLEMS advances a cell's children (its inputs and synapses) before the cell, each in two parts:
its own dynamics (derived variables from the values at the start of the step, then the time
derivatives outside regimes, then the conditions outside regimes on the new values), which end by
copying its variables to what the parent reads, then its active regime. The cell's step therefore
reads an input's current *state* as that step's own dynamics left it: a ``tsince .geq. period``
that turns ``i``, a ``TimeDerivative`` of ``i``. A NEURON point process integrates its states
after the cell's currents, and acts on its watched conditions after the step: its cell would read
such a current a step late (tests/conformance/event_timing.md, "reset_samples").

Such an input *leads*: its BREAKPOINT, once per step before it hands its current to NEURON,
performs the own dynamics of the step (the explicit Euler step of its states, then every condition
in the order of the file, tested on the new values), so its current, and its recorded values, are
jLEMS's of the step. Derived variables keep the values of the start of the step, as in jLEMS,
except a parent's on the way to a derived current that sums its children's states (a
compoundInput of such inputs: ``children_read``), computed again after the children's step.

Not leading, as they already act at jLEMS's step: currents that are derived variables (computed
from the values at the start of the step in both), and currents set by conditions tested on the
clock and constants alone (pulse, sine and ramp generators, voltage clamps: level conditions read
jLEMS's time at the end of the step). A form that would lead but cannot (regimes, kinetic schemes,
POINTERs) is printed as before, with a warning naming the type, the variable and the condition.
"""

from __future__ import annotations

import logging

from . import expr as ex
from . import nmodl_events
from .child_order import after_children, stages
from .nmodl_conditions import REGIME_NAME, scalar_tree
from .nmodl_events import EventPrinter, tested_at_each_step
from .nmodl_names import REGIME
from .shorten import MAX_LINE, Shortener, local_lines
from .translate import Condition, FlatComponent

log = logging.getLogger(__name__)

#: The last step whose own dynamics a leading input performed (its BREAKPOINT may run more than once).
LEAD_STEP = "nlead_nml"


def current_variable(flat: FlatComponent) -> str | None:
    """The variable an input or synapse hands its cell as current (``i``, or dimensionless ``I``)."""
    return next((name for name in ("i", "I") if name in flat.exposures), None)


def _constants(flat: FlatComponent) -> set[str]:
    return set(flat.params) | set(flat.properties) | {n for n, _ in flat.derived_params}


def _assigned(flat: FlatComponent, condition: Condition) -> set[str]:
    targets = {a.target for a in condition.actions if a.kind == "assign"}
    for action in condition.actions:
        if action.kind == "transition":
            targets |= {a.target for a in flat.on_entry.get(action.target, []) if a.kind == "assign"}
    return targets


def on_the_clock(flat: FlatComponent, condition: Condition) -> bool:
    """Whether ``condition`` is tested at each step on jLEMS's clock and constants alone, its
    actions reading nothing else (and the cell's v): in an input it already acts at jLEMS's step
    (its BREAKPOINT reads the time at the step's end), and NEURON's sample of the step shows it."""
    allowed = _constants(flat) | {"t"}
    values = [a.value for a in condition.actions if a.value is not None]
    return (tested_at_each_step(condition, distributed=False) and ex.names(condition.test) <= allowed
            and all(ex.names(value) <= allowed | {"v"} for value in values))


def children_read(flat: FlatComponent, current: str) -> tuple[list[str], list[str]]:
    """What a derived current reads of its component's children (a compoundInput's sum of its
    children's currents). jLEMS advances the children before their parent, so a parent's derived
    variable reads a child's *state* as the child's own dynamics of the step left it, and a
    child's derived variable as the child computed it at the start of its step. Returns the
    children's states read so (through the derived variables the current reads) and those derived
    variables of the parents, in the order they are computed: both empty for any other current."""
    derived = dict(flat.derived)
    fresh, states = after_children(flat)
    needed = [d for d in fresh if d in _read_by(current, derived)]
    read = set().union(*(ex.names(derived[d]) for d in needed))
    return [s for s in states if s in read], needed


def _read_by(name: str, derived: dict[str, ex.Expr]) -> set[str]:
    """The derived variables ``name`` reads, itself included, through derived variables."""
    return ex.reads_through(derived, [name]) & derived.keys()


def _sets_late(flat: FlatComponent, state: str, whose: str) -> str | None:
    """What of the component's own dynamics sets ``state`` in a step: a time derivative outside
    regimes or a condition outside regimes not on the clock alone (None: neither)."""
    if state in flat.time_derivatives.get(None, {}):
        return f"{whose}TimeDerivative of '{state}'"
    for condition in flat.conditions:
        if condition.regime is None and state in _assigned(flat, condition) and not on_the_clock(flat, condition):
            return f"the condition '{ex.to_nmodl(condition.test)}'"
    return None


def what_sets_the_current_late(flat: FlatComponent | None, role: str | None) -> str | None:
    """What of an input's (or synapse's: ``role`` ``current``) own dynamics sets the current its
    cell reads, which a point process would hand its cell a step after jLEMS does: a time
    derivative or a condition (its own, or a child's whose state a derived current sums),
    described for a message; None when there is none."""
    if flat is None or role != "current":
        return None
    current = current_variable(flat)
    if current is None:
        return None
    if current in flat.states:
        return _sets_late(flat, current, "its ")
    # A derived current: from the values at the start of the step, as in jLEMS, except the
    # children's states it sums: jLEMS's children set them before their parent reads them, in the step.
    for state in children_read(flat, current)[0]:
        cause = _sets_late(flat, state, "its child's ")
        if cause is not None:
            return cause
    return None


def why_it_cannot_lead(flat: FlatComponent, computes_once: bool) -> str | None:
    """Why an input that should lead cannot (None when it can)."""
    if flat.regimes:
        return "it has regimes"
    if flat.kinetic:
        return "it has a kinetic scheme"
    if not computes_once:
        return "it reads another cell's variable through a POINTER"
    current = current_variable(flat)
    for name in children_read(flat, current)[1] if current is not None and current not in flat.states else []:
        own = [s for s in ex.names(dict(flat.derived)[name])
               if s in flat.states and flat.owners.get(s, "") == flat.owners.get(name, "")]
        if own:
            # jLEMS reads it at the start of the step and the children's states at its end
            return f"its derived '{name}' reads its own state '{own[0]}' beside its children's"
    return None


def leads(flat: FlatComponent | None, role: str | None, computes_once: bool = True) -> bool:
    """Whether the input performs its own dynamics before handing its current to its cell (the
    values it records are then jLEMS's of the step, without any correction)."""
    return (flat is not None and what_sets_the_current_late(flat, role) is not None
            and why_it_cannot_lead(flat, computes_once) is None)


class LeadPrinter(EventPrinter):
    """Prints a leading input's own dynamics into its BREAKPOINT (see the module's text)."""

    def _leads(self) -> bool:
        """Whether this mechanism leads; warns once per printing when it should but cannot."""
        cause = what_sets_the_current_late(self.flat, self.role.name)
        if cause is None:
            return False
        why_not = why_it_cannot_lead(self.flat, self._once)
        if why_not is not None:
            log.warning("%s: its cell reads the current '%s' one step later than jLEMS where %s sets it (%s)",
                        self.flat.type, current_variable(self.flat), cause, why_not)
            return False
        return True

    def _lead_call(self) -> list[str]:
        """BREAKPOINT's lines performing the step's own dynamics once per step. NEURON evaluates
        currents at t + dt/2 in a step (step n: t/dt = n - 1/2), and at t = 0 in finitialize,
        which is no step."""
        return [f"    if (floor(t/dt + 0.75) > {LEAD_STEP}) {{", f"        {LEAD_STEP} = floor(t/dt + 0.75)",
                "        lead_nml()", "    }"]

    def _euler_lines(self, states: list[str]) -> tuple[list[str], list[str]]:
        """Explicit Euler written out: every derivative from the start-of-step values, then every
        update; in stages, children first, where a parent's derivative reads its children's new
        states (nmlhub.lems.child_order). The LOCAL names and the statements."""
        deltas = {s: f"d{k}_nml" for k, s in enumerate(states)}
        shortener = Shortener(self.rename, "tmpd")
        derived = dict(self.flat.derived)
        updates = []
        for again, group in stages(self.flat, states) or [([], states)]:
            for name in again:  # jLEMS's parent computes them after its children's step
                updates += shortener.assignment(self.names[name], derived[name])
            for s in group:
                line = f"    {deltas[s]} = ({self._derivative(s)}) * 0.001"
                if len(line) > MAX_LINE and set(self._regimes_of(s)) == {None}:
                    updates += shortener.assignment(deltas[s], ex.BinOp("*", self.flat.time_derivatives[None][s],
                                                                        ex.Num(0.001)))
                else:
                    updates.append(line)
            updates += [f"    {self.names[s]} = {self.names[s]} + dt * {deltas[s]}" for s in group]
        return list(deltas.values()) + shortener.temporaries, updates

    def _lead_procedure(self, states: list[str]) -> list[str]:
        """The step's own dynamics: derived values at the start of the step, the Euler step of
        ``states``, then each condition, in the file's order, on the new values (as jLEMS)."""
        local, updates = self._euler_lines(states)
        shortener = Shortener(lambda n: REGIME if n == REGIME_NAME else self.rename(n), "tmpw")
        tests = []
        for k, condition in enumerate(self.flat.conditions):
            test, before = self._lead_test(k, condition, shortener)
            tests += before + [f"    if ({test}) {{"]
            tests += ["        " + s for s in self._actions(condition.actions, in_event=False)] + ["    }"]
        local += [f"c{k}_nml" for k in range(len(self.flat.conditions)) if f"    c{k}_nml = " in "\n".join(tests)]
        tests += self._parents_after_children(shortener)
        lines = ["", "PROCEDURE lead_nml() {"] + local_lines(local + shortener.temporaries) + ["    rates_nml()"]
        return lines + updates + tests + ["}", ""]

    def _parents_after_children(self, shortener: Shortener) -> list[str]:
        """A derived current summing its children's currents (``children_read``): the parents'
        derived variables computed again from the children's states of the step's end."""
        current = current_variable(self.flat)
        if current is None or current in self.flat.states:
            return []
        derived = dict(self.flat.derived)
        lines = []
        for name in children_read(self.flat, current)[1]:
            lines += shortener.assignment(self.names[name], derived[name])
        return lines

    def _lead_test(self, k: int, condition: Condition, shortener: Shortener) -> tuple[str, list[str]]:
        """The test of condition ``k`` as the mechanism would otherwise make it (exact where tested
        at each step, else as WATCH tests it: a non-strict comparison of summed states with its
        slack), and the lines computing it first into LOCAL temporaries when too long for a line."""
        if tested_at_each_step(condition, distributed=False) or self._scalar(condition.test) is None:
            return self._test(condition), []
        inline = f"{self._scalar(condition.test)} > 0"
        if len(f"    if ({inline}) {{") <= nmodl_events.WATCH_INLINE_LIMIT:
            return inline, []
        return f"c{k}_nml > 0", shortener.assignment(f"c{k}_nml", scalar_tree(condition.test, self.e))
