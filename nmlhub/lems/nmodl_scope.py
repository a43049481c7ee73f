"""What the NMODL printer knows of a flat component before printing: its names in NMODL, which
role it plays (nmlhub.lems.nmodl_roles), which clock its equations and events read, which ion
variables NEURON provides, and how its conditions are tested."""

from __future__ import annotations

import re

from . import expr as ex
from .flatten import TranslationError
from .nmodl_names import (CALCIUM_POOLS, INPUT_UNITS, SUPPLIED, TEND, TINPUT, TLEMS, VINIT, VSTEP, safe_name,
                          safe_names)
from .nmodl_roles import ROLES
from .translate import Condition, FlatComponent

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Scope:
    """Names and analysis of one flat component printed in one role.

    Parameters
    ----------
    flat
        The flat component.
    role
        ``cell``, ``current``, ``source``, ``density`` or ``concentration``.
    ion
        The ion a density or concentration model carries, if any.
    """

    def __init__(self, flat: FlatComponent, role: str, ion: str | None = None) -> None:
        self.flat = flat
        self.role = ROLES[role]
        self.ion = ion
        self.names = safe_names(self._all_names())
        self.regime_index = {name: k + 1 for k, name in enumerate(flat.regimes)}
        self.membrane_v = self.role.membrane and "v" in flat.states
        # A v the component defines without being its membrane (a derived v = Vs of a
        # two-compartment cell) is its own variable, not NEURON's v.
        self.own_v = "v" in self.names and not self.membrane_v
        self.initializing = False
        self.in_event = False
        self._check_input_sum()
        self.uses_v = self.membrane_v or "v" in flat.requirements or self.senses_input
        # Conditions and event handlers that read t see jLEMS's own clock (its time at the step,
        # accumulated in seconds step by step), so they act at the step jLEMS does. Synapses and
        # inputs are children of their cell, which jLEMS advances first in a step, at the step's
        # end time: their equations and level conditions see that time too (a pulse starting at
        # 20 ms drives the cell from the step ending at 20 ms). They read it through TINPUT, which
        # the driver may set to the middle of NEURON's step instead (MIDSTEP: the NEURON export's
        # clock, tests/conformance/event_timing.md "Pulse clock").
        reads_t = "t" in self._used_names()
        self.event_clock = not self.role.distributed and (
            self._events_read_t() or (self.role.injected and reads_t))
        self.clock_in_equations = self.role.injected and reads_t
        if self.role.pool and "concentration" in self.names:
            # The pool's concentration is NEURON's ion concentration itself (a STATE it writes).
            self.names["concentration"] = f"{ion}i"
        self.ion_names = self._ion_names()
        self.supplied = [n for n in SUPPLIED if n in flat.requirements] if self.role.pool else []
        # Only point processes have variables the driver links (a gap junction's peer v);
        # anything else a distributed mechanism requires and NEURON does not provide is an error.
        self.pointers = {} if self.role.distributed else {
            name: safe_name(name) for name in flat.requirements
            if name not in ("v", "temperature") and name not in self.names
            and name not in self.ion_names and name not in self.supplied}
        self._level: list[Condition] = []

    def _check_input_sum(self) -> None:
        """The sum of the attached inputs (``synapses[*]/i``) reaches the equations through
        NEURON's membrane when the cell's v is the membrane potential and has a time derivative;
        a cell without one, or one that also reads the sum elsewhere (a condition, an action,
        another state's derivative), measures it from the change of v over each step (see the
        printer's input sum)."""
        flat = self.flat
        self.senses_input = self.role.membrane and bool(flat.external) and not any(
            "v" in tds for tds in flat.time_derivatives.values())
        uses = [] if self.senses_input or not flat.external else input_sum_uses(flat)
        if uses and not self.role.membrane:
            raise TranslationError(f"ComponentType {flat.type}: {uses[0]} reads the sum of the attached inputs "
                                   f"({', '.join(sorted(flat.external))}), which nmlhub gives only a cell")
        self.measures_input = self.senses_input or bool(uses)
        if self.measures_input and len(flat.external) > 1:
            where = "in a cell without a membrane dv/dt" if self.senses_input else f"read outside dv/dt ({uses[0]})"
            raise TranslationError(f"{flat.type}: more than one input sum ({', '.join(sorted(flat.external))}) "
                                   f"{where} is not supported (one is)")
        on_start = [use for use in uses if use.endswith("in OnStart")]
        if on_start:
            raise TranslationError(
                f"ComponentType {flat.type}: {on_start[0]} reads the sum of the attached inputs "
                f"({', '.join(sorted(flat.external))}); nmlhub measures that sum over each step, so it "
                "has none at the start (not supported)")
        for name, dimension in flat.external.items():
            if self.measures_input and dimension not in INPUT_UNITS:
                raise TranslationError(f"{flat.type}: the input sum '{name}' has dimension {dimension} "
                                       f"(current or none are supported)")

    def _events_read_t(self) -> bool:
        f = self.flat
        exprs = [c.test for c in f.conditions]
        exprs += [a.value for c in f.conditions for a in c.actions if a.value is not None]
        exprs += [a.value for a in f.event_actions() if a.value is not None]
        return any("t" in ex.names(e) for e in exprs)

    def _used_names(self) -> set[str]:
        f = self.flat
        exprs = [e for _, e in f.derived] + [e for _, e in f.derived_params]
        exprs += [e for tds in f.time_derivatives.values() for e in tds.values()]
        exprs += [c.test for c in f.conditions]
        exprs += [a.value for c in f.conditions for a in c.actions if a.value is not None]
        exprs += [a.value for a in f.on_start + f.event_actions() if a.value is not None]
        found: set[str] = set()
        for e in exprs:
            found |= ex.names(e)
        return found

    def _ion_names(self) -> dict[str, str]:
        """LEMS requirements NEURON's ion mechanisms provide (concentrations, currents, area)."""
        names: dict[str, str] = {}
        used = self._used_names()
        # Pools read by a mechanism that does not carry their ion (a channelDensityNernstCa2 of
        # ion ca reads the ca2 pool, as jLEMS's requirements reach the cell's caConc2).
        self.read_pools = [pool for pool, (inside, outside) in CALCIUM_POOLS.items()
                           if self.role.distributed and pool != self.ion and {inside, outside} & used]
        for pool in self.read_pools:
            inside, outside = CALCIUM_POOLS[pool]
            names.update({inside: f"{pool}i", outside: f"{pool}o"})
        if self.ion is None:
            return names
        ion = self.ion
        if ion == "ca":
            names.update(caConc=f"{ion}i", caConcExt=f"{ion}o")
        if ion == "ca2":  # the second calcium pool of cell2CaPools
            names.update(caConc2="ca2i", caConcExt2="ca2o")
        if self.role.pool:
            # Total current of the ion into this piece of membrane (A), from NEURON's density.
            names.update(iCa=f"((-i{ion}) * 10 * (area * 1e-12))", surfaceArea="(area * 1e-12)")
            if ion == "ca2":
                names["iCa2"] = names["iCa"]
        return names

    def _all_names(self) -> list[str]:
        f = self.flat
        return (list(f.params) + list(f.properties) + [n for n, _ in f.derived_params] + f.states
                + [n for n, _ in f.derived])

    def rename(self, name: str) -> str:
        """How a flat LEMS name is written in NMODL where the printer is."""
        if name == "t":
            # Equations and level conditions see the time at the end of the step, on the step
            # grid (NEURON evaluates currents at t + dt/2), as jLEMS does (it sets t before a
            # component's step: tests/data/child_order/LEMS_clock_reads.xml); event handlers see
            # the event's time.
            if self.in_event:
                return TLEMS if self.event_clock else "(t*0.001)"
            if self.clock_in_equations:
                return TINPUT
            return f"({TEND}*0.001)"
        if name == "v" and self.membrane_v and self.initializing:
            return f"({VINIT}*0.001)"
        if name == "v" and self.uses_v and not self.own_v:
            # Equations see v as it was at the start of the step (explicit Euler, as jLEMS);
            # conditions and event actions see NEURON's current v.
            return "(v*0.001)" if self.in_event else f"({VSTEP}*0.001)"
        if name == "temperature" and name not in self.names:
            return "(celsius + 273.15)"  # required by a child (q10 settings) or the component
        return self._rename_variable(name)

    def target(self, name: str) -> str:
        """How a LEMS variable assigned in OnStart, OnEvent or OnCondition is written in NMODL:
        always a variable, never an expression (v at the start of the step, a unit scaling)."""
        written = self.rename(name)
        if not _IDENTIFIER.fullmatch(written):
            raise TranslationError(f"{self.flat.type}: '{name}' is assigned in an event or OnStart "
                                   f"but is not a variable of the component nmlhub can set")
        return written

    def _rename_variable(self, name: str) -> str:
        if name in self.names:
            return self.names[name]
        if name in self.ion_names:
            return self.ion_names[name]
        if name in self.supplied:
            return safe_name(name)
        if name in self.pointers:
            # Linked by the driver to another cell's variable (a gap junction's vpeer).
            return f"({self.pointers[name]}*0.001)" if self.flat.requirements[name] == "voltage" else self.pointers[name]
        if name not in self.flat.requirements:
            raise TranslationError(undeclared_symbol(self.flat, name))
        raise TranslationError(f"'{name}' is required by {self.flat.type} but nmlhub cannot provide it")

    def e(self, expression: ex.Expr, rename=None) -> str:
        """An expression in NMODL."""
        return ex.to_nmodl(expression, rename or self.rename)

    @property
    def _once(self) -> bool:
        """Whether derived values are computed once per step in BREAKPOINT (channels, synapses)."""
        return self.role.computes_once and not self.pointers  # POINTERs are not ready there

    def _regimes_of(self, state: str) -> list[str | None]:
        """The regimes (None: all) in which a state has a time derivative."""
        return [r for r, tds in self.flat.time_derivatives.items() if state in tds]

    def _constant_in_time(self) -> set[str]:
        """States whose time derivative is zero in every regime: they change only in events."""
        f = self.flat
        moving = {s for group in f.kinetic_groups for s in group}
        for tds in f.time_derivatives.values():
            moving |= {s for s, d in tds.items() if not (isinstance(d, ex.Num) and d.value == 0)}
        return {s for tds in f.time_derivatives.values() for s in tds} - moving


def undeclared_symbol(flat: FlatComponent, name: str) -> str:
    """The error for a name a component's equations read that neither its type nor the types it
    extends declare (no Parameter, Constant, StateVariable, DerivedVariable, Exposure or
    Requirement): where it is read, as jLEMS's "No such variable" does not say."""
    where = next((f"{label}: {ex.to_nmodl(value)}" for label, value in _expressions(flat)
                  if name in ex.names(value)), "an expression")
    return (f"ComponentType {flat.type} reads '{name}', which neither it nor the types it extends declare "
            f"(no Parameter, StateVariable, DerivedVariable or Requirement of that name), in {where}")


def _expressions(flat: FlatComponent) -> list[tuple[str, ex.Expr]]:
    """Every expression of a flat component, with what it defines (flat names)."""
    found = [(f"DerivedVariable {name}", value) for name, value in flat.derived_params + flat.derived]
    found += [(f"TimeDerivative of {state}", value) for derivatives in flat.time_derivatives.values()
              for state, value in derivatives.items()]
    found += [("OnCondition test", c.test) for c in flat.conditions]
    actions = flat.on_start + flat.event_actions() + [a for c in flat.conditions for a in c.actions]
    actions += [a for entry in flat.on_entry.values() for a in entry]
    return found + [(f"StateAssignment of {a.target}", a.value) for a in actions if a.value is not None]


def measures_input_sum(flat: FlatComponent | None) -> bool:
    """Whether a point cell's mechanism measures its input sum itself, from the change of v
    over each step (its v has no time derivative, or the sum is read elsewhere than in dv/dt):
    it then holds the sum after each step, and none before the first."""
    if flat is None or not flat.external:
        return False
    return not any("v" in tds for tds in flat.time_derivatives.values()) or bool(input_sum_uses(flat))


def input_sum_uses(flat: FlatComponent) -> list[str]:
    """What in a cell's dynamics, other than time derivatives of ``v`` (and the derived variables
    only they read), reads the input sum (``synapses[*]/i`` and what is derived from it): its
    conditions, event and start actions and the time derivatives of its other states, each
    described for a message."""
    tainted = set(flat.external)
    changed = True
    while changed:
        changed = False
        for name, value in flat.derived:
            if name not in tainted and ex.names(value) & tainted:
                tainted.add(name)
                changed = True
    found: list[str] = []
    for cond in flat.conditions:
        if ex.names(cond.test) & tainted:
            found.append("an OnCondition test")
        found += [f"an assignment to {a.target} in an OnCondition" for a in cond.actions
                  if a.value is not None and ex.names(a.value) & tainted]
    found += [f"an assignment to {a.target} in an event or regime handler" for a in flat.event_actions()
              if a.value is not None and ex.names(a.value) & tainted]
    found += [f"an assignment to {a.target} in OnStart" for a in flat.on_start
              if a.value is not None and ex.names(a.value) & tainted]
    for tds in flat.time_derivatives.values():
        found += [f"the TimeDerivative of {state}" for state, value in tds.items()
                  if state != "v" and ex.names(value) & tainted]
    return found
