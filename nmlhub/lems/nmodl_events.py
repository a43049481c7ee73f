"""The event side of a generated mechanism: LEMS actions as NMODL statements, ``OnCondition``
handlers as WATCH statements or self-events, ``OnEvent`` as NET_RECEIVE's flag 0, and the
PROCEDUREs that keep the value of conditions too long for one line."""

from __future__ import annotations

from . import expr as ex
from .flatten import TranslationError
from .nmodl_conditions import REGIME_NAME, in_regime_tree, min_max, min_max_tree, scalar_text, scalar_tree
from .nmodl_names import DTLEMS, NET_WEIGHT, NLEMS, NMODL_LINE_LIMIT, REGIME, TLEMS, VHOLD, VINIT, watch_value
from .nmodl_scope import Scope
from .shorten import Shortener
from .translate import Action, Condition

#: A watched condition whose value printed inline would give a line longer than this has its
#: value kept in an ASSIGNED variable instead (the tests lower it to check both forms agree).
WATCH_INLINE_LIMIT = NMODL_LINE_LIMIT


def tested_at_each_step(cond: Condition, distributed: bool) -> bool:
    """Whether a mechanism tests ``cond`` in BREAKPOINT at each step (before integrating its
    states) rather than watching it: its actions only assign, not v, and nothing its test reads.
    In a distributed mechanism (no events) a self-limiting condition such as "concentration .lt.
    0" is idempotent, so it is tested at each step too."""
    assigned = {a.target for a in cond.actions if a.kind == "assign"}
    only_assign = all(a.kind == "assign" for a in cond.actions)
    return only_assign and "v" not in assigned and (distributed or not assigned & ex.names(cond.test))


class EventPrinter(Scope):
    """Prints a flat component's conditions, actions and event handlers."""

    #: Indexes of the watched conditions whose value is kept in a variable (set by the printer).
    _long: frozenset[int] | set[int] = frozenset()

    def _scalar(self, test: ex.Expr) -> str | None:
        return scalar_text(test, self.e)

    def _watch_scalar(self, cond: Condition) -> str:
        scalar = self._scalar(cond.test)
        if cond.regime is not None:
            scalar = min_max(scalar, f"(0.5 - fabs({REGIME} - {self.regime_index[cond.regime]}))", True)
        return scalar

    def _test(self, cond: Condition) -> str:
        text = self.e(cond.test)
        if cond.regime is not None:
            text = f"({text} && {REGIME} == {self.regime_index[cond.regime]})"
        return text

    def _classify_conditions(self) -> tuple[list[Condition], list[Condition], list[Condition]]:
        """The conditions that are watched, tested at each step (level) and polled."""
        watched, level, polled = [], [], []
        for cond in self.flat.conditions:
            if tested_at_each_step(cond, self.role.distributed):
                level.append(cond)
            elif self._scalar(cond.test) is not None:
                watched.append(cond)
            else:
                polled.append(cond)
        self._level = level
        if self._tested_in_turn(watched + polled):
            # tested in turn at every step, in the file's order
            return [], level, [c for c in self.flat.conditions if c in watched or c in polled]
        return watched, level, polled

    def _tested_in_turn(self, conditions: list[Condition]) -> bool:
        """Whether conditions must be tested together, in the file's order, at every step: one's
        actions change what another's test reads (an ``OnCondition`` jumping v beside another
        resetting it). jLEMS tests each condition once per step, in order, each seeing what the
        earlier ones set; separate WATCHes let one act again at once on what a later one set.
        Cells only: synapses whose conditions chain so (MiglioreEtAl14's AmpaNmdaSynapse) keep their
        WATCHes, unmeasured against jLEMS."""
        if not self.role.membrane:
            return False
        reads: dict[str, set[str]] = {}
        for name, value in self.flat.derived:
            reads[name] = set().union(*[reads.get(n, {n}) for n in ex.names(value)])
        tests = [set().union(*[reads.get(n, {n}) for n in ex.names(c.test)]) for c in conditions]
        assigned = [{a.target for a in c.actions if a.kind == "assign"} for c in conditions]
        return any(assigned[j] & tests[i] for i in range(len(conditions)) for j in range(len(conditions)) if i != j)

    def _timed_bound(self, cond: Condition) -> str | None:
        """For a condition ``t > X`` whose X changes only in events: X (SI seconds), else None.

        Such a condition is met at a step known in advance, so it is scheduled as a self-event
        instead of being watched at every step.
        """
        test = cond.test
        if cond.regime is not None or not isinstance(test, ex.BinOp):
            return None
        if test.op in (".gt.", ".geq.", ".ge.") and test.left == ex.Name("t"):
            bound = test.right
        elif test.op in (".lt.", ".leq.", ".le.") and test.right == ex.Name("t"):
            bound = test.left
        else:
            return None
        f = self.flat
        level_assigned = {a.target for c in f.conditions if c in self._level for a in c.actions}
        steady = (set(f.params) | set(f.properties) | {n for n, _ in f.derived_params}
                  | ((set(f.states) - f.integrated_states()) | self._constant_in_time()))
        if not ex.names(bound) <= steady - level_assigned - {"v", "t"}:
            return None
        return self.e(bound)

    # -- conditions too long for one line ------------------------------------------------------
    def _long_conditions(self, watched: list[Condition]) -> set[int]:
        """The watched conditions whose value printed inline would make a line too long for
        nocmodl: their value is kept in an ASSIGNED variable instead (see _condition_values)."""
        self.in_event = True
        try:
            first = "dt"
            long = set()
            for k, cond in enumerate(watched):
                scalar = self._watch_scalar(cond)
                widest = (f"            if ({scalar} > 0) {{" if self._timed_bound(cond) is not None
                          else f"        if ({scalar} > 0) {{ net_send({first}, {k + 2}) }}")
                if len(widest) > WATCH_INLINE_LIMIT:
                    long.add(k)
            return long
        finally:
            self.in_event = False

    def _watched(self, k: int, cond: Condition) -> str:
        """The value of watched condition k as NET_RECEIVE and WATCH read it."""
        return watch_value(k) if k in self._long else self._watch_scalar(cond)

    def _refresh(self, k: int, indent: str) -> list[str]:
        """Brings the kept value of a long condition up to date before it is read."""
        return [f"{indent}update_watch{k}_nml()"] if k in self._long else []

    def _condition_values(self, watched: list[Condition]) -> list[str]:
        """A PROCEDURE per long condition computing its value into its ASSIGNED variable, cut
        into LOCAL temporaries (the same arithmetic as the inline form, in the same order), and
        a BEFORE STEP block calling them. NEURON and CoreNEURON test WATCH conditions at the
        start of each step (FUNCTION calls are not allowed there in CoreNEURON); BEFORE STEP
        runs just before, after the step's states and events, so WATCH reads the value its
        inline expression would have. NET_RECEIVE refreshes it before reading it."""
        if not self._long:
            return []
        lines: list[str] = []
        self.in_event = True
        try:
            for k in sorted(self._long):
                shortener = Shortener(lambda n: REGIME if n == REGIME_NAME else self.rename(n), f"tmpw{k}_")
                body = shortener.assignment(watch_value(k), self._watch_tree(watched[k]))
                lines += [f"PROCEDURE update_watch{k}_nml() {{"] + shortener.local_line() + body + ["}", ""]
        finally:
            self.in_event = False
        steps = [f"    update_watch{k}_nml()" for k in sorted(self._long)
                 if self._timed_bound(watched[k]) is None]
        return lines + (["BEFORE STEP {"] + steps + ["}", ""] if steps else [])

    def _watch_tree(self, cond: Condition) -> ex.Expr:
        """:meth:`_watch_scalar` as an expression tree (the same operations, grouped alike)."""
        scalar = scalar_tree(cond.test, self.e)
        if cond.regime is not None:
            scalar = min_max_tree(scalar, in_regime_tree(self.regime_index[cond.regime]), True)
        return scalar

    # -- NET_RECEIVE ---------------------------------------------------------------------------
    def _net_receive(self, watched: list[Condition], polled: list[Condition]) -> list[str]:
        self.in_event = True
        try:
            lines = [f"NET_RECEIVE({NET_WEIGHT}) {{"] + self._clock_on_event() + self._incoming_event()
            timed = {k: bound for k, cond in enumerate(watched) if (bound := self._timed_bound(cond)) is not None}
            lines += self._start_watching(watched, polled, timed)
            lines += self._condition_handlers(watched, timed)
            for k, bound in timed.items():
                # Any event may have moved the bound (a new spike time drawn, say).
                lines += [f"    if (alarm{k}_nml > -1e8 && {bound} != alarmx{k}_nml) {{"]
                lines += ["        " + s for s in self._schedule(k, bound)] + ["    }"]
            return lines + ["}"]
        finally:
            self.in_event = False

    def _clock_on_event(self) -> list[str]:
        """An event-only generator's jLEMS clock, brought to the count a point process's
        BREAKPOINT would have reached when an event at t is delivered (t / dt steps)."""
        if not (self.role.artificial and self.event_clock):
            return []
        return [f"    while ({NLEMS} < floor(t/dt + 0.25)) {{", f"        {TLEMS} = {TLEMS} + {DTLEMS}",
                f"        {NLEMS} = {NLEMS} + 1", "    }"]

    def _incoming_event(self) -> list[str]:
        """Flag 0: an event from a connection (OnEvent), its weight as the connection's."""
        weight_names = {n: NET_WEIGHT for n in ("weight",) if n in self.flat.properties}

        def rename_event(name: str) -> str:
            return weight_names.get(name) or self.rename(name)

        lines = ["    if (flag == 0) {"] + ["        " + s for s in self._actions(self.flat.on_event, True, rename_event)]
        # Only the active regime's handler runs, once: a transition it makes must not run the next's.
        for k, (regime, actions) in enumerate(self.flat.regime_on_event.items()):
            test = f"if ({REGIME} == {self.regime_index[regime]}) {{"
            if k:
                lines.pop()  # the closing brace of the previous regime's branch
            lines.append(f"        {'} else ' if k else ''}{test}")
            lines += ["            " + s for s in self._actions(actions, True, rename_event)] + ["        }"]
        return lines + ["    }"]

    def _start_watching(self, watched: list[Condition], polled: list[Condition], timed: dict[int, str]) -> list[str]:
        """Flag 1, sent by INITIAL: WATCH statements, first alarms, and polled conditions."""
        if not (watched or polled):
            return []
        lines = ["    if (flag == 1) {"]
        for k, cond in enumerate(watched):
            if k in timed:
                lines += [f"        if (alarm{k}_nml < -1e8) {{"] + self._refresh(k, "            ")
                lines += [f"            if ({self._watched(k, cond)} > 0) {{",
                          f"                alarm{k}_nml = t + dt",
                          f"                alarmx{k}_nml = {timed[k]}",
                          f"                net_send(dt, {k + 2})",
                          "            } else {"]
                lines += ["                " + s for s in self._schedule(k, timed[k])]
                lines += ["            }", "        }"]
                continue
            lines += self._refresh(k, "        ")
            lines.append(f"        WATCH ({self._watched(k, cond)} > 0) {k + 2}")
            # LEMS tests conditions after every step: one already true at the start fires in
            # the first step (after the initial values are recorded, as in jLEMS).
            first = "dt"
            lines.append(f"        if ({self._watched(k, cond)} > 0) {{ net_send({first}, {k + 2}) }}")
        for cond in polled:
            lines.append(f"        if ({self._test(cond)}) {{")
            lines += ["            " + s for s in self._actions(cond.actions, True)]
            lines.append("        }")
        if polled:
            lines.append("        net_send(dt, 1)")
        return lines + ["    }"]

    def _condition_handlers(self, watched: list[Condition], timed: dict[int, str]) -> list[str]:
        """Flag k + 2: watched condition k became true (or its alarm rang)."""
        lines: list[str] = []
        for k, cond in enumerate(watched):
            if k in timed:
                # Only the latest alarm counts: an earlier one is stale once the bound changed.
                lines += [f"    if (flag == {k + 2} && fabs(t - alarm{k}_nml) < 0.25 * dt) {{"]
                lines += self._refresh(k, "        ") + [f"        if ({self._watched(k, cond)} > 0) {{"]
                lines += ["            " + s for s in self._actions(cond.actions, True)]
                lines += ["        }"] + ["        " + s for s in self._schedule(k, timed[k])] + ["    }"]
                continue
            # WATCH sees a condition become true; LEMS tests it at every step, so while it stays
            # true after the actions it is tested again one step later (once per time step).
            last = f"lastcheck{k}_nml"
            lines += [f"    if (flag == {k + 2} && t > {last}) {{", f"        {last} = t"]
            lines += self._refresh(k, "        ") + [f"        if ({self._watched(k, cond)} > 0) {{"]
            lines += ["            " + s for s in self._actions(cond.actions, True)]
            lines += [f"            net_send(dt, {k + 2})", "        }", "    }"]
        return lines

    @staticmethod
    def _schedule(k: int, bound: str) -> list[str]:
        """Statements that send the self-event of timed condition k for the bound's current value.

        The alarm rings a step before the first step whose start is past the bound (LEMS tests
        conditions on the step grid), so rounding cannot make it late: the handler tests the
        condition itself and, if it does not hold yet, rings again one step later.
        """
        return [f"alarmx{k}_nml = {bound}",
                f"alarm{k}_nml = (floor({bound} * 1000 / dt) - 1) * dt",
                f"if (alarm{k}_nml < t + dt) {{ alarm{k}_nml = t + dt }}",
                f"if (alarm{k}_nml - t < 1e15) {{ net_send(alarm{k}_nml - t, {k + 2}) }}"]

    # -- actions -------------------------------------------------------------------------------
    def _actions(self, actions: list[Action], in_event: bool, rename=None) -> list[str]:
        out: list[str] = []
        for action in actions:
            if action.kind == "assign":
                out += self._assignment(action, rename)
            elif action.kind == "emit":
                if self.role.injected:
                    continue  # a synapse's or input's own output events have no listener in NEURON
                if not in_event:
                    raise TranslationError(f"{self.flat.type}: events can only be sent from conditions or events")
                out.append("net_event(t)")
            elif action.kind == "transition":
                out.append(f"{REGIME} = {self.regime_index[action.target]}")
                out += self._actions(self.flat.on_entry.get(action.target, []), in_event, rename)
                if self.role.membrane:
                    out.append(f"{VHOLD} = v")
        return out

    def _assignment(self, action: Action, rename=None) -> list[str]:
        value = self.e(action.value, rename)
        if action.target == "v" and self.membrane_v and self.initializing:
            return [f"{VINIT} = ({value}) * 1000"]
        if action.target == "v" and self.membrane_v:
            # Where v has no time derivative the holding current keeps v where the
            # cell last put it (a voltage clamp), not where it was before.
            return [f"v = ({value}) * 1000", f"{VHOLD} = v"]
        return [f"{self.target(action.target)} = {value}"]
