"""The NMODL printer: one method per NMODL block of a generated mechanism (NEURON, PARAMETER,
ASSIGNED, STATE, INITIAL, BEFORE BREAKPOINT, BREAKPOINT, the states and rates PROCEDUREs,
KINETIC), the event blocks coming from nmlhub.lems.nmodl_events."""

from __future__ import annotations

from dataclasses import dataclass

from . import expr as ex
from .flatten import TranslationError
from .nmodl_conductance import IMPLICIT_SHARE_TEXT, chain, derivative_name
from .nmodl_lead import LEAD_STEP, LeadPrinter
from .nmodl_lean import local_candidates
from .nmodl_names import (AHEAD, CAPACITANCE, CSEC, CURRENT, DL_SCALE, DTLEMS, INPUT_HELD, INPUT_SUM, INPUT_UNITS,
                          ION_VALENCE, MIDSTEP, NLEMS, NMODL_LINE_LIMIT, REGIME, TEND, TINPUT, TLEMS, TSTEP, VHOLD, VINIT,
                          VSTEP, CONDUCTANCE_HINT,
                          WHOLE_CONDUCTANCE,
                          safe_name, transfer_buffer, watch_value)
from .shorten import Shortener, fitting_chunks, local_lines
from .translate import Condition


@dataclass
class _Plan:
    """What the blocks share: which states are integrated, how conditions are tested."""

    integrated: set[str]
    assigned_states: list[str]
    watched: list[Condition]
    level: list[Condition]
    polled: list[Condition]
    timed: list[int]
    #: The states a leading input advances in its BREAKPOINT (nmlhub.lems.nmodl_lead); None: not leading.
    lead_states: list[str] | None = None


class Printer(LeadPrinter):
    """Prints a flat component in a role as the text of an NMODL mechanism."""

    #: NMODL names of derived values kept LOCAL to rates_nml (a lean mechanism: nmlhub.lems.nmodl_lean)
    local_derived: frozenset[str] = frozenset()

    def print(self, mech_name: str, lean: bool = False) -> str:
        """The mechanism's NMODL text, named ``mech_name``; ``lean``: the derived values only
        ``rates_nml`` reads are LOCAL to it, not RANGE variables (they cannot be recorded)."""
        text = self._print(mech_name)
        if lean:
            derived = [self.names[n] for n, _ in self.flat.derived if n not in self.flat.external]
            self.local_derived = frozenset(local_candidates(text.splitlines(), derived))
            if self.local_derived:
                text = self._print(mech_name)
        return text

    def _print(self, mech_name: str) -> str:
        plan = self._plan()
        lines = self._neuron_block(mech_name) + self._parameter_block() + self._assigned_block(plan)
        lines += self._state_block(plan) + self._initial_block(plan)
        lines += self._breakpoint_blocks(plan) + self._kinetic_block() + self._rates_procedure()
        lines += self._lead_procedure(plan.lead_states) if plan.lead_states is not None else []
        lines += self._conductance_procedure()
        if not self.role.distributed:
            lines += self._net_receive(plan.watched, plan.polled)
            lines += self._condition_values(plan.watched)
        if "random_uniform(rng_nml)" in "\n".join(lines):
            # random(): a Random123 stream of this instance; the driver gives it ids derived from
            # the run's seed and the instance's place in the network (not from the MPI rank).
            lines.insert(lines.index("NEURON {") + 2, "    RANDOM rng_nml")
        lines += _HELPERS
        too_long = next((line for line in lines if line is not None and len(line) > NMODL_LINE_LIMIT), None)
        if too_long is not None:
            raise TranslationError(f"{self.flat.type}: an expression gives an NMODL line of {len(too_long)} "
                                   f"characters (NMODL allows {NMODL_LINE_LIMIT}), which nmlhub cannot split: "
                                   f"{too_long.strip()[:80]}...")
        text = "\n".join(line for line in lines if line is not None) + "\n"
        if text.count(TSTEP) == 3:  # declared and kept up to date, but read by nothing
            text = text.replace(f"    {TSTEP} = floor(t/dt + 0.25) * dt\n", "").replace(f"    {TSTEP} = t\n", "")
        if text.count(TEND) == 3:
            text = text.replace(f"    {TEND}\n", "", 1).replace(f"    {TEND} = floor(t/dt + 0.75) * dt\n", "")
            text = text.replace(f"    {TEND} = t\n", "")
        return text

    def _plan(self) -> _Plan:
        f = self.flat
        integrated = f.integrated_states() - ({"v"} if self.membrane_v else set()) - self._constant_in_time()
        lead_states = None
        if self._leads():
            lead_states, integrated = [s for s in f.states if s in integrated], set()
        assigned_states = [s for s in f.states if s not in integrated and not (self.membrane_v and s == "v")]
        watched, level, polled = self._classify_conditions()
        if lead_states is not None:
            watched, level, polled = [], [], []
        self._long = self._long_conditions(watched)
        timed = [k for k, cond in enumerate(watched) if self._timed_bound(cond) is not None]
        return _Plan(integrated, assigned_states, watched, level, polled, timed, lead_states)

    def _neuron_block(self, mech_name: str) -> list[str]:
        f = self.flat
        ion = self.ion
        lines = ["COMMENT", f"Generated by nmlhub from the LEMS ComponentType {f.type}.",
                 "All quantities are SI inside; NEURON's v, t and current are converted.", "ENDCOMMENT",
                 "", "NEURON {",
                 f"    SUFFIX {mech_name}" if self.role.distributed
                 else f"    {'ARTIFICIAL_CELL' if self.role.artificial else 'POINT_PROCESS'} {mech_name}"]
        for pool in self.read_pools:
            pool_valence = f" VALENCE {ION_VALENCE[pool]}" if pool in ION_VALENCE else ""
            lines.append(f"    USEION {pool} READ {pool}i, {pool}o{pool_valence}")
        valence = f" VALENCE {ION_VALENCE[ion]}" if ion in ION_VALENCE else ""
        if self.role.current == "density" and ion:
            lines.append(f"    USEION {ion} READ {ion}i, {ion}o WRITE i{ion}{valence}")
        elif self.role.pool:
            lines.append(f"    USEION {ion} READ i{ion} WRITE {ion}i{valence}")
        elif self.role.current != "none":
            lines.append(f"    NONSPECIFIC_CURRENT {CURRENT}")
        if self.pointers:
            lines.append("    POINTER " + ", ".join(self.pointers.values()))
        for chunk in _chunks(self._range_variables(), 8, NMODL_LINE_LIMIT - len("    RANGE ")):
            lines.append("    RANGE " + ", ".join(chunk))
        return lines + ["}", ""]

    def _range_variables(self) -> list[str]:
        f = self.flat
        ranges = ([self.names[p] for p in f.params] + [self.names[p] for p in f.properties]
                  + [self.names[n] for n, _ in f.derived_params]
                  + [self.names[s] for s in f.states if not (self.membrane_v and s == "v")]
                  + [self.names[n] for n, _ in f.derived if self.names[n] not in self.local_derived])
        if self.ion:
            ranges = [r for r in ranges if r not in (f"{self.ion}i", f"{self.ion}o", f"i{self.ion}")]
        extra = ([REGIME] if f.regimes else []) + list(self.role.own_variables)
        extra += [AHEAD] if self._sends_ahead else []
        extra += [MIDSTEP] if self.clock_in_equations else []
        extra += [CAPACITANCE, WHOLE_CONDUCTANCE] if self._implicit_in_v() is not None else []
        extra += [safe_name(n) for n in self.supplied]
        extra += [transfer_buffer(p) for p in self.pointers.values()]
        return ranges + extra

    @property
    def _sends_ahead(self) -> bool:
        """A spike source on jLEMS's clock: the driver may run a copy of it a step ahead."""
        return self.event_clock and self.role.name == "source"

    def _parameter_block(self) -> list[str]:
        f = self.flat
        lines = ["PARAMETER {"]
        # Values are set per instance, so that components of one type share one mechanism.
        lines += [f"    {self.names[p]} = 0" for p in list(f.params) + list(f.properties)]
        lines += [f"    {name} = {value}" for name, value in self.role.own_parameters]
        if self._sends_ahead:
            lines.append(f"    {AHEAD} = 0 : steps its jLEMS clock runs ahead (1: a copy sending events a step early)")
        if self.clock_in_equations:
            lines.append(f"    {MIDSTEP} = 0 : 1: read the middle of the step (the NEURON export's clock), 0: jLEMS's")
        if self._implicit_in_v() is not None:
            lines.append(f"    {CAPACITANCE} = 0 : uF/cm2, the segment's (set by the driver; 0: explicit in v)")
            lines.append(f"    {WHOLE_CONDUCTANCE} = 0 : 1 on a multi-compartment cell (set by the driver): implicit in v")
        lines += [f"    {safe_name(n)} = 0" for n in self.supplied]
        return lines + ["}", ""]

    def _assigned_block(self, plan: _Plan) -> list[str]:
        f = self.flat
        ion = self.ion
        lines = ["ASSIGNED {"] + ([] if self.role.artificial else ["    v"]) + ["    dt"]
        if self.role.current == "density" and ion:
            lines += [f"    i{ion}", f"    {ion}i", f"    {ion}o", "    area"]
        if self.role.pool:
            lines += [f"    i{ion}", "    area"]
        elif self.role.current != "none":
            lines.append(f"    {CURRENT}")
        for pool in self.read_pools:
            lines += [f"    {pool}i", f"    {pool}o"]
        lines += [f"    {self.names[n]}" for n, _ in f.derived_params]
        lines += [f"    {self.names[s]}" for s in plan.assigned_states]
        lines += [f"    {self.names[n]}" for n, _ in f.derived if self.names[n] not in self.local_derived]
        if f.regimes:
            lines.append(f"    {REGIME}")
        lines += [f"    lastcheck{k}_nml" for k in range(len(plan.watched))]
        lines += [f"    {watch_value(k)}" for k in sorted(self._long)]
        lines += [f"    {name}{k}_nml" for k in plan.timed for name in ("alarm", "alarmx")]
        lines += [f"    {LEAD_STEP}"] if plan.lead_states is not None else []
        return lines + self._assigned_clocks()

    def _assigned_clocks(self) -> list[str]:
        """The rest of ASSIGNED: holding and start-of-step values, clocks, links, input sum."""
        lines = [f"    {VHOLD}", f"    {VINIT}"] if self.role.membrane else []
        if self.uses_v:
            lines.append(f"    {VSTEP}")
        lines += [f"    {TSTEP}", f"    {TEND}"]
        if self.event_clock:
            lines += [f"    {TLEMS}", f"    {NLEMS}", f"    {DTLEMS}"]
        if self.clock_in_equations:
            lines.append(f"    {TINPUT}")
        lines += [f"    {p}" for p in self.pointers.values()]
        lines += [f"    {transfer_buffer(p)}" for p in self.pointers.values()]
        if self._once:
            lines.append(f"    {CONDUCTANCE_HINT}")
        if self.measures_input:
            lines.append(f"    {INPUT_SUM}")
        if self.measures_input and not self.senses_input:
            lines.append(f"    {INPUT_HELD}")
        return lines + ["}"]

    def _state_block(self, plan: _Plan) -> list[str]:
        if not plan.integrated:
            return []
        return ["", "STATE {"] + [f"    {self.names[s]}" for s in self.flat.states if s in plan.integrated] + ["}"]

    def _initial_block(self, plan: _Plan) -> list[str]:
        f = self.flat
        lines = ["", "INITIAL {"]
        shortener = Shortener(self.rename, "tmpi")
        parameter_lines = [line for n, value in f.derived_params
                           for line in shortener.assignment(self.names[n], value)]
        lines += shortener.local_line() + parameter_lines
        lines += [f"    {self.names[s]} = 0" for s in f.states if not (self.membrane_v and s == "v")]
        if f.regimes:
            lines.append(f"    {REGIME} = {self.regime_index.get(f.initial_regime, 1)}")
        if self.uses_v:
            lines.append(f"    {VSTEP} = v")
        lines += [f"    {TSTEP} = t", f"    {TEND} = t"]
        if self.event_clock:
            lines += [f"    {TLEMS} = 0", f"    {NLEMS} = 0", f"    {DTLEMS} = dt * 0.001"]
        if self.clock_in_equations:
            lines.append(f"    {TINPUT} = 0")
        if self._once:
            lines.append(f"    {CONDUCTANCE_HINT} = 0")
        if self.measures_input:
            lines.append(f"    {INPUT_SUM} = 0")
        if plan.lead_states is not None:
            lines.append(f"    {LEAD_STEP} = 0")
        if self.role.membrane:
            # NEURON's v cannot be set in INITIAL: the value is kept in vinit_nml and the driver
            # sets the section's v from it before the first step. Without an OnStart setting v it
            # starts at 0, as any LEMS StateVariable does in jLEMS (not at NEURON's -65 mV).
            sets_v = any(a.kind == "assign" and a.target == "v" for a in self.flat.on_start)
            lines.append(f"    {VINIT} = {'v' if sets_v else '0'}")
        return lines + self._initial_actions(plan)

    def _on_start_actions(self) -> list[str]:
        """OnStart's assignments in order, as jLEMS does them: one that reads a derived variable
        of a state an earlier one changed sees the derived value of the new state (the derived
        values are computed again before it: Morris-Lecar's ``W = Wss`` after ``V = VL``).

        jLEMS runs the OnStarts of a component and of its children more than once (six and
        twelve times in a two-level model), so an assignment that reads what a later one sets
        (a child's gate ``q = inf`` computed from the v its cell's OnStart sets afterwards:
        ``pointCellCondBased``) sees that value: such a sequence is done twice here."""
        states = set(self.flat.states)
        reads: dict[str, set[str]] = {}  # derived variable -> the states it is computed from
        for name, value in self.flat.derived:
            reads[name] = set().union(*[reads.get(n, {n} & states) for n in ex.names(value)])

        def read_by(action) -> set[str]:
            return set().union(*[reads.get(n, {n}) for n in ex.names(action.value)]) if action.value is not None else set()

        actions = self.flat.on_start
        later = [{a.target for a in actions[k + 1:] if a.kind == "assign"} for k in range(len(actions))]
        twice = any(read_by(a) & later[k] for k, a in enumerate(actions))
        lines: list[str] = []
        assigned: set[str] = set()
        for k, action in enumerate(actions):
            if action.value is not None and any(reads.get(n, set()) & assigned for n in ex.names(action.value)):
                lines.append("rates_nml()")
                assigned = set()
            lines += self._actions([action], in_event=False)
            if action.kind == "assign":
                assigned.add(action.target)
                if action.target == "v" and self.membrane_v and self.uses_v and (
                        twice or any("v" in read_by(a) for a in actions[k + 1:])):
                    lines.append(f"{VSTEP} = {VINIT}")  # the derived values computed next see the new v
        if twice:
            lines += ["rates_nml()"] + lines
        return lines

    def _initial_actions(self, plan: _Plan) -> list[str]:
        """OnStart, the first derived values, and the flag-1 event that starts the watching."""
        self.initializing = True
        lines = ["    rates_nml()"] + ["    " + s for s in self._on_start_actions()]
        lines.append("    rates_nml()")
        self.initializing = False
        if self.role.membrane:
            lines.append(f"    {VHOLD} = {VINIT}")
        lines += [f"    lastcheck{k}_nml = -1e9" for k in range(len(plan.watched))]
        lines += [f"    alarm{k}_nml = -1e9" for k in plan.timed]
        if (plan.watched or plan.polled) and self.role.distributed:
            raise TranslationError(f"{self.flat.type}: a distributed mechanism cannot send events or change regime")
        if plan.watched or plan.polled:
            lines.append("    net_send(0, 1)")
        return lines + ["}"]

    def _step_start(self) -> list[str]:
        """Statements taking the start-of-step time (and v, and jLEMS's clock)."""
        # (the step's end: NEURON evaluates step n's currents at t = (n - 1/2) dt, finitialize at 0)
        step_start = [f"    {TSTEP} = floor(t/dt + 0.25) * dt", f"    {TEND} = floor(t/dt + 0.75) * dt"] + ([f"    {VSTEP} = v"] if self.uses_v else [])
        if self.event_clock:
            # jLEMS adds its step to its time once per step (in s); conditions tested at the end of
            # this step, and events acted on at the start of the next, see its time then.
            # (a spike source's copy with its clock a step ahead sends events a step early: AHEAD)
            ahead = f" + {AHEAD}" if self._sends_ahead else ""
            step_start += [f"    while ({NLEMS} < floor(t/dt + 0.25) + 1{ahead}) {{",
                           f"        {TLEMS} = {TLEMS} + {DTLEMS}", f"        {NLEMS} = {NLEMS} + 1", "    }"]
        if self.clock_in_equations:
            # an input reads jLEMS's time at the step's end, or (MIDSTEP) the step's middle
            step_start += [f"    if ({MIDSTEP}) {{", f"        {TINPUT} = ({TSTEP} + 0.5 * dt) * 0.001",
                           "    } else {", f"        {TINPUT} = {TLEMS}", "    }"]
        return step_start

    def _breakpoint_blocks(self, plan: _Plan) -> list[str]:
        """BEFORE BREAKPOINT, BREAKPOINT and the states PROCEDURE.

        Channels and synapses: every derived value depends only on the state at the start of
        the step (v there, events delivered), so it is computed once per step, in BREAKPOINT,
        before NEURON integrates states. NEURON evaluates BREAKPOINT once, not twice for di/dv,
        when told the current's conductance: zero, as the current is explicit in v (as in
        jLEMS). BEFORE BREAKPOINT would serve too, but NEURON 9 calls it instance by instance.
        Concentration pools read the ion currents of this step, so they compute theirs when
        integrating.
        """
        f = self.flat
        once = self._once
        if self.role.artificial:
            if plan.integrated or plan.level or len(plan.timed) < len(plan.watched):
                # WATCH needs a place on a section: NEURON crashes on one in an ARTIFICIAL_CELL
                raise TranslationError(f"{f.type}: an event-only generator cannot integrate states, test levels "
                                       "or watch a condition whose time it cannot foresee")
            return []
        lines = [] if once else ["", "BEFORE BREAKPOINT {"] + self._step_start() + ["}"]
        derived_states = self._derived_states(plan)
        solved = bool(derived_states) or self.measures_input or bool(f.regime_derived)
        lines += ["", "BREAKPOINT {"]
        if once:
            current_ion = f" USEION {self.ion}" if self.role.current == "density" and self.ion else ""
            lines.append(f"    CONDUCTANCE {CONDUCTANCE_HINT}{current_ion}")
        if solved:
            lines.append("    SOLVE states_nml")
        if f.kinetic:
            lines.append("    SOLVE kinetic_nml METHOD sparse")
        if once:
            lines += self._step_start()
        early = self._current_before_levels(plan.level) if plan.lead_states is None else False
        lines += self._rates_and_levels(plan.level, early) if plan.lead_states is None else self._lead_call()
        if self.role.membrane and self.own_v:
            # The section follows the cell's own v (a DerivedVariable, as Pinsky-Rinzel's v = Vs):
            # its synapses read the section's v, and jLEMS gives them the cell's.
            lines.append(f"    {VHOLD} = {self.names['v']} * 1000")
        lines += [] if early else self._current_lines()
        if once and self._implicit_in_v() is not None:
            lines.append("    conductance_nml()")
        lines.append("}")
        return lines + (self._states_procedure(derived_states) if solved else [])

    def _derived_states(self, plan: _Plan) -> list[str]:
        kinetic_states = {s for group in self.flat.kinetic_groups for s in group}
        return [s for s in self.flat.states if s in plan.integrated and s not in kinetic_states]

    def _states_procedure(self, derived_states: list[str]) -> list[str]:
        """Explicit Euler written out: every derivative from the start-of-step values, then
        every update. (NEURON's METHOD euler does the same through a slower generic loop.)"""
        local, updates = self._euler_lines(derived_states)
        regime_lines, temporaries = self._regime_derived_lines()
        # one LOCAL statement per block (NMODL refuses a second), before any statement
        lines = ["", "PROCEDURE states_nml() {"] + local_lines(local + temporaries)
        lines += self._input_sum()
        lines += [] if self._once else ["    rates_nml()"]
        return lines + regime_lines + updates + ["}"]

    def _regime_derived_lines(self) -> tuple[list[str], list[str]]:
        """The active regime's derived variables, in the order of the file, from the values at the
        start of the step, before its time derivatives read them (jLEMS's ComponentRegime.advance);
        the statements and their LOCAL names."""
        shortener = Shortener(self.rename, "tmpg")
        lines = []
        for regime, target, value in self.flat.regime_derived:
            lines.append(f"    if ({REGIME} == {self.regime_index[regime]}) {{")
            lines += ["    " + line for line in shortener.assignment(self.names[target], value)]
            lines.append("    }")
        return lines, shortener.temporaries

    def _kinetic_block(self) -> list[str]:
        f = self.flat
        if not f.kinetic:
            return []
        lines = ["", "KINETIC kinetic_nml {"] + ([] if self._once else ["    rates_nml()"])
        for source, target, forward, reverse in f.kinetic:
            # rates are per second (SI); NEURON's time is in ms
            lines.append(f"    ~ {self.names[source]} <-> {self.names[target]} "
                         f"({self.names[forward]} * 0.001, {self.names[reverse]} * 0.001)")
        for group in f.kinetic_groups:
            lines.append("    CONSERVE " + " + ".join(self.names[s] for s in group) + " = 1")
        return lines + ["}"]

    def _rates_procedure(self) -> list[str]:
        f = self.flat
        lines = ["", "PROCEDURE rates_nml() {"]
        shortener = Shortener(self.rename)
        derived_lines = []
        for n, value in f.derived:
            if n in f.external and self.measures_input:
                derived_lines.append(f"    {self.names[n]} = {INPUT_SUM} * {INPUT_UNITS[f.external[n]]}")
            elif n in f.external:
                derived_lines.append(f"    {self.names[n]} = 0 : supplied by NEURON (synapses on the section)")
            else:
                derived_lines += shortener.assignment(self.names[n], value)
        local = [self.names[n] for n, _ in f.derived if self.names[n] in self.local_derived]
        return lines + local_lines(local + shortener.temporaries) + derived_lines + ["}", ""]

    def _current_lines(self) -> list[str]:
        """The current NEURON sees. A cell that measures its input sum but has a membrane dv/dt
        gets the sum from NEURON's membrane: its own current is computed with the sum 0, and
        its derived values with the measured sum again afterwards."""
        current = ["    " + s for s in self._current()]
        if not self.measures_input or self.senses_input:
            return current
        return ([f"    {INPUT_HELD} = {INPUT_SUM}", f"    {INPUT_SUM} = 0", "    rates_nml()"] + current
                + [f"    {INPUT_SUM} = {INPUT_HELD}", "    rates_nml()"])

    def _input_sum(self) -> list[str]:
        """The current the attached inputs injected during this step (nA), measured after NEURON
        solved the section: what changed its charge, plus what the cell's own current took away
        (a holding current, linear in v, taken at the new v as NEURON's implicit step does; a
        dv/dt's current, from the start of the step, computed again with the sum 0)."""
        if not self.measures_input:
            return []
        if self.senses_input:
            return [f"    {INPUT_SUM} = {CSEC} * (v - {VSTEP}) / dt + 1000 * {CSEC} / dt * (v - {VHOLD})"]
        own = self._current()[0].split(" = ", 1)[1]
        # Within the rounding of its terms the sum is 0, as jLEMS adds exact zeros (an iSyn > 0
        # test must not fire on rounding between inputs).
        return [f"    {INPUT_SUM} = 0", "    rates_nml()", f"    {INPUT_HELD} = {own}",
                f"    {INPUT_SUM} = {CSEC} * (v - {VSTEP}) / dt + {INPUT_HELD}",
                f"    if (fabs({INPUT_SUM}) < 1e-12 * ({CSEC} * (fabs(v) + fabs({VSTEP})) / dt + fabs({INPUT_HELD}))) {{",
                f"        {INPUT_SUM} = 0", "    }", "    rates_nml()"]

    def _current_before_levels(self, level: list[Condition]) -> bool:
        """Whether an input's current is taken before its conditions tested at each step act:
        it is a derived variable reading what they set. jLEMS computes a component's derived
        values before testing its conditions, and its cell reads them so (an impulseSynapse's
        ``i = PAMPERE * impulse`` the step its condition sets impulse back to 0); a current that
        is a state the conditions set (a pulseGenerator's i) is read after them, and so is one
        reading states a child's conditions set (its child is advanced first)."""
        if not (level and self.role.injected):
            return False
        exposed = "i" if "i" in self.flat.exposures else "I"
        derived = dict(self.flat.derived)
        if exposed not in derived:
            return False
        read, pending = set(), [exposed]
        while pending:
            name = pending.pop()
            if name not in read:
                read.add(name)
                pending += list(ex.names(derived[name])) if name in derived else []
        # only its own conditions: a child's (a compoundInput's pulses) act before the parent's derived values
        owners = self.flat.owners
        return any(a.target in read and not owners.get(a.target) for cond in level for a in cond.actions
                   if a.kind == "assign")

    def _rates_and_levels(self, level: list[Condition], current_first: bool = False) -> list[str]:
        lines = ["    rates_nml()"] + (self._current_lines() if current_first else [])
        for cond in level:
            lines.append(f"    if ({self._test(cond)}) {{")
            lines += ["        " + s for s in self._actions(cond.actions, in_event=False)]
            lines.append("    }")
        moving = bool(self.flat.kinetic) or any(not (isinstance(d, ex.Num) and d.value == 0)
                                                 for tds in self.flat.time_derivatives.values() for d in tds.values())
        if level and (moving or not current_first):
            # the states integrate from the values the conditions set (as jLEMS's conditions end its
            # step); without such states, the derived values stay as jLEMS records them
            lines.append("    rates_nml()")
        return lines

    def _derivative(self, state: str) -> str:
        f = self.flat
        per_regime = {r: tds[state] for r, tds in f.time_derivatives.items() if state in tds}
        if None in per_regime:
            return self.e(per_regime[None])
        text = "0"
        for regime, value in per_regime.items():
            text = f"ifelse_nml({REGIME} == {self.regime_index[regime]}, {self.e(value)}, {text})"
        return text

    def _implicit_in_v(self) -> list[tuple[str, ex.Expr]] | None:
        """For a channel density whose current is linear in v: the chain of its derivatives
        in v (nmlhub.lems.nmodl_conductance); None otherwise (the current stays explicit)."""
        if not (self._once and self.role.current == "density" and self.uses_v and not self.own_v):
            return None
        derivatives = chain(self.flat.derived, "iDensity")
        return derivatives if derivatives and derivatives[-1][0] == "iDensity" else None

    def _conductance_procedure(self) -> list[str]:
        """The PROCEDURE telling NEURON the share of the channel's conductance g = di/dv that
        its membrane step takes implicitly (see IMPLICIT_SHARE_TEXT)."""
        derivatives = self._implicit_in_v()
        if derivatives is None:
            return []
        local = {derivative_name(n): f"dv{k}_nml" for k, (n, _) in enumerate(derivatives)}

        def rename(n: str) -> str:
            return local.get(n) or self.rename(n)

        shortener = Shortener(rename, "tmpc")
        body = [line for n, d in derivatives for line in shortener.assignment(local[derivative_name(n)], d)]
        lines = ["PROCEDURE conductance_nml() {"] + local_lines(["x_nml"] + list(local.values()) + shortener.temporaries)
        lines += body + [f"    {CONDUCTANCE_HINT} = (-0.0001) * {local[derivative_name('iDensity')]} : S/m2 -> S/cm2"]
        return lines + [f"    {line}" for line in IMPLICIT_SHARE_TEXT] + ["}", ""]

    # -- the current NEURON sees, per role -----------------------------------------------------
    def _current(self) -> list[str]:
        return _CURRENT_PRINTERS[self.role.name](self)

    def _no_current(self) -> list[str]:
        return []

    def _density_current(self) -> list[str]:
        if "iDensity" not in self.flat.exposures:
            raise TranslationError(f"{self.flat.type} exposes no current density iDensity")
        target = f"i{self.ion}" if self.ion else CURRENT
        return [f"{target} = -({self.rename('iDensity')}) * 0.1 : A/m2 -> mA/cm2"]

    def _injected_current(self) -> list[str]:
        f = self.flat
        if "i" in f.exposures:
            return [f"{CURRENT} = -({self.rename('i')}) * 1e9"]
        if "I" in f.exposures:
            return [f"{CURRENT} = -({self.rename('I')}) * {DL_SCALE}"]
        raise TranslationError(f"{f.type} exposes no current i or I to inject")

    def _membrane_current(self) -> list[str]:
        """-C dv/dt, or a clamp in regimes where v does not change."""
        per_regime = {r: tds["v"] for r, tds in self.flat.time_derivatives.items() if "v" in tds}
        if None in per_regime:
            return [f"{CURRENT} = -{CSEC} * ({self.e(per_regime[None])})"]
        clamp = f"1000 * {CSEC} / dt * (v - {VHOLD})"
        text = clamp
        for regime, value in per_regime.items():
            text = f"ifelse_nml({REGIME} == {self.regime_index[regime]}, -{CSEC} * ({self.e(value)}), {text})"
        return [f"{CURRENT} = {text}"]


#: The method printing the current NEURON sees, for each role.
_CURRENT_PRINTERS = {"source": Printer._no_current, "generator": Printer._no_current, "concentration": Printer._no_current,
                     "density": Printer._density_current, "current": Printer._injected_current,
                     "cell": Printer._membrane_current}

_HELPERS = [
    "FUNCTION ifelse_nml(c, a, b) {", "    if (c) { ifelse_nml = a } else { ifelse_nml = b }", "}", "",
    "FUNCTION heaviside_nml(x) {", "    if (x > 0) { heaviside_nml = 1 } else { heaviside_nml = 0 }", "}", "",
    ": x^n, by multiplication for the small whole powers of gates (much faster than pow)",
    "FUNCTION powi_nml(x, n) {",
    "    if (n == 1) { powi_nml = x } else if (n == 2) { powi_nml = x * x } else if (n == 3) {",
    "        powi_nml = x * x * x } else if (n == 4) { powi_nml = (x * x) * (x * x) } else {",
    "        powi_nml = pow(x, n) }", "}",
]


def _chunks(items: list[str], size: int, width: int) -> list[list[str]]:
    return fitting_chunks([i for i in dict.fromkeys(items) if i], size, width)
