"""Print a :class:`~nmlhub.lems.translate.FlatComponent` as an NMODL point process.

Inside the mechanism every LEMS quantity keeps its SI value; only the interface to NEURON is
converted: ``v`` (mV -> V), ``t`` (ms -> s), time derivatives (per s -> per ms) and the current
NEURON sees (A -> nA). Three roles:

``cell``
    The LEMS state ``v`` is the membrane potential of the section the mechanism sits in. The
    mechanism injects ``-C * dv/dt`` (computed without synaptic input, which NEURON adds itself),
    where ``C`` is the section's capacitance, set from the cell's own dynamics.
``current``
    Synapses and inputs: their exposure ``i`` (or dimensionless ``I``) is injected.
``source``
    Spike sources: no current, only events.

``OnCondition`` handlers become ``WATCH`` statements (edge-triggered, as threshold tests are), or
statements evaluated each step when they only set values (level-triggered, as for pulse
generators); ``OnEvent`` becomes ``NET_RECEIVE`` with the connection weight as argument.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from . import expr as ex
from .flatten import TranslationError
from .shorten import MAX_LINE, Shortener
from .translate import Action, Condition, FlatComponent

RESERVED = {
    "v", "t", "dt", "celsius", "area", "diam", "flag", "i", "e", "PI", "FARADAY", "R", "pi",
    "index", "error", "on", "off", "sec", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh",
    "fabs", "floor", "ceil", "first", "last", "if", "else", "while", "for", "from", "to", "by",
    "with", "LOCAL", "net_event", "net_send", "at_time", "VERBATIM", "ENDVERBATIM", "nrn_ghk",
    "weight", "w", "delay", "erf", "pow", "atan", "sinh", "cosh", "abs", "min", "max", "double",
    "int", "float", "const", "return", "static", "extern", "struct", "union", "char", "long",
    "short", "signed", "unsigned", "void", "default", "case", "switch", "break", "continue",
    "do", "goto", "register", "auto", "volatile", "sizeof", "typedef", "enum", "inline",
}

CURRENT = "i_nrn"
REGIME = "regime_nml"
CSEC = "csec_nml"
DL_SCALE = "dlscale_nml"
NET_WEIGHT = "w_nc"
VHOLD = "vhold_nml"
VINIT = "vinit_nml"
VSTEP = "vstep_nml"
TSTEP = "tstep_nml"
TLEMS = "tlems_nml"  # jLEMS's time at this step (s), accumulated as jLEMS does (nmlhub.neuron.eventgrid)
NLEMS = "nlems_nml"  # the step TLEMS belongs to
DTLEMS = "dtlems_nml"  # the step in seconds (a variable: dt * 0.001 + t could be fused, rounding otherwise)
ZERO_CONDUCTANCE = "gzero_nml"
INPUT_SUM = "isum_nml"
#: The longest line nocmodl reads (its buffer holds 512 characters with the newline).
NMODL_LINE_LIMIT = 510
#: A condition written ``.geq.``/``.leq.`` holds on equality; WATCH only knows ``>``, so the
#: difference may fall short of 0 by this much relative to the compared values (floating error).
NON_STRICT_TOLERANCE = "1e-9"


def transfer_buffer(pointer: str) -> str:
    """The RANGE variable beside a POINTER that a parallel run's transfer writes (NEURON's
    ``target_var`` needs a variable of the point process itself); the POINTER then aims at it."""
    return f"{pointer}_xfer"


def safe_name(name: str) -> str:
    """An NMODL-safe variable name for a flat LEMS name."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not clean or not clean[0].isalpha():
        clean = "x" + clean
    if clean in RESERVED or clean.endswith("_nml"):
        clean += "_l"
    return clean


@dataclass
class Mechanism:
    """A generated NMODL mechanism.

    Attributes
    ----------
    name
        The NEURON point-process name (``nml_<type>_<hash>``).
    role
        ``cell``, ``current`` or ``source``.
    text
        The NMODL source.
    parameters
        Parameter name in the mechanism -> default value (SI) from the component.
    variables
        Flat LEMS name -> name in the mechanism (for recording and setting).
    flat
        The flat equations it was printed from.
    pointers
        Requirements the driver links to another cell (LEMS name -> POINTER name), e.g. the
        ``vpeer`` of a gap junction (in mV, as NEURON's v).
    """

    name: str
    role: str
    text: str
    parameters: dict[str, float] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    flat: FlatComponent | None = None
    pointers: dict[str, str] = field(default_factory=dict)


#: Valence of ions NEURON does not know by name (it knows na, k and ca).
ION_VALENCE = {"ca2": 2}

#: The calcium pools of cell2CaPools and the requirements that read their concentrations.
CALCIUM_POOLS = {"ca": ("caConc", "caConcExt"), "ca2": ("caConc2", "caConcExt2")}

#: Requirements a concentration model gets from the driver as per-segment constants.
SUPPLIED = ("initialConcentration", "initialExtConcentration")


class _Printer:
    def __init__(self, flat: FlatComponent, role: str, ion: str | None = None) -> None:
        self.flat = flat
        self.role = role
        self.ion = ion
        self.names = {n: safe_name(n) for n in self._all_names()}
        self.regime_index = {name: k + 1 for k, name in enumerate(flat.regimes)}
        self.membrane_v = role == "cell" and "v" in flat.states
        self.initializing = False
        self.in_event = False
        # The sum of the attached inputs (``synapses[*]/i``) reaches the equations through
        # NEURON's membrane when the cell's v is the membrane potential and has a time
        # derivative; otherwise the cell measures it from its section (see _input_sum).
        self.senses_input = role == "cell" and bool(flat.external) and not any(
            "v" in tds for tds in flat.time_derivatives.values())
        if self.senses_input and len(flat.external) > 1:
            raise TranslationError(f"{flat.type}: more than one input sum ({', '.join(sorted(flat.external))}) "
                                   f"in a cell without a membrane dv/dt is not supported (one is)")
        for name, dimension in flat.external.items():
            if self.senses_input and dimension not in _INPUT_UNITS:
                raise TranslationError(f"{flat.type}: the input sum '{name}' has dimension {dimension} "
                                       f"(current or none are supported)")
        self.uses_v = self.membrane_v or "v" in flat.requirements or self.senses_input
        # Conditions and event handlers that read t see jLEMS's own clock (its time at the step,
        # accumulated in seconds step by step), so they act at the step jLEMS does. Synapses and
        # inputs are children of their cell, which jLEMS advances first in a step, at the step's
        # end time: their equations and level conditions see that time too (a pulse starting at
        # 20 ms drives the cell from the step ending at 20 ms).
        reads_t = "t" in self._used_names()
        self.event_clock = role not in ("density", "concentration") and (
            self._events_read_t() or (role == "current" and reads_t))
        self.clock_in_equations = role == "current" and reads_t
        if role == "concentration" and "concentration" in self.names:
            # The pool's concentration is NEURON's ion concentration itself (a STATE it writes).
            self.names["concentration"] = f"{ion}i"
        self.ion_names = self._ion_names()
        self.supplied = [n for n in SUPPLIED if n in flat.requirements] if role == "concentration" else []
        # Only point processes have variables the driver links (a gap junction's peer v);
        # anything else a distributed mechanism requires and NEURON does not provide is an error.
        self.pointers = {} if role in ("density", "concentration") else {
            name: safe_name(name) for name in flat.requirements
            if name not in ("v", "temperature") and name not in self.names
            and name not in self.ion_names and name not in self.supplied}

    def _events_read_t(self) -> bool:
        f = self.flat
        exprs = [c.test for c in f.conditions]
        exprs += [a.value for c in f.conditions for a in c.actions if a.value is not None]
        exprs += [a.value for a in f.on_event if a.value is not None]
        return any("t" in ex.names(e) for e in exprs)

    def _used_names(self) -> set[str]:
        f = self.flat
        exprs = [e for _, e in f.derived] + [e for _, e in f.derived_params]
        exprs += [e for tds in f.time_derivatives.values() for e in tds.values()]
        exprs += [c.test for c in f.conditions]
        exprs += [a.value for c in f.conditions for a in c.actions if a.value is not None]
        exprs += [a.value for a in f.on_start + f.on_event if a.value is not None]
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
                           if self.role in ("density", "concentration") and pool != self.ion
                           and {inside, outside} & used]
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
        if self.role == "concentration":
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
        if name == "t":
            # Equations and level conditions see the time at the start of the step, on the step
            # grid (NEURON evaluates currents at t + dt/2), as jLEMS does; event handlers see the
            # event's time.
            if self.in_event:
                return TLEMS if self.event_clock else "(t*0.001)"
            if self.clock_in_equations:
                return TLEMS
            return f"({TSTEP}*0.001)"
        if name == "v" and self.membrane_v and self.initializing:
            return f"({VINIT}*0.001)"
        if name == "v" and self.uses_v:
            # Equations see v as it was at the start of the step (explicit Euler, as jLEMS);
            # conditions and event actions see NEURON's current v.
            return "(v*0.001)" if self.in_event else f"({VSTEP}*0.001)"
        if name == "temperature" and name not in self.names:
            return "(celsius + 273.15)"  # required by a child (q10 settings) or the component
        if name in self.names:
            return self.names[name]
        if name in self.ion_names:
            return self.ion_names[name]
        if name in self.supplied:
            return safe_name(name)
        if name in self.pointers:
            # Linked by the driver to another cell's variable (a gap junction's vpeer).
            return f"({self.pointers[name]}*0.001)" if self.flat.requirements[name] == "voltage" else self.pointers[name]
        raise TranslationError(f"'{name}' is required by {self.flat.type} but nmlhub cannot provide it")

    def e(self, expression: ex.Expr, rename=None) -> str:
        return ex.to_nmodl(expression, rename or self.rename)

    # -- blocks --------------------------------------------------------------------------------
    def print(self, mech_name: str) -> str:
        f = self.flat
        integrated = f.integrated_states() - ({"v"} if self.membrane_v else set()) - self._constant_in_time()
        assigned_states = [s for s in f.states if s not in integrated and not (self.membrane_v and s == "v")]
        watched, level, polled = self._classify_conditions()
        ranges = ([self.names[p] for p in f.params] + [self.names[p] for p in f.properties]
                  + [self.names[n] for n, _ in f.derived_params]
                  + [self.names[s] for s in f.states if not (self.membrane_v and s == "v")]
                  + [self.names[n] for n, _ in f.derived])
        if self.ion:
            ranges = [r for r in ranges if r not in (f"{self.ion}i", f"{self.ion}o", f"i{self.ion}")]
        extra = [REGIME] if f.regimes else []
        if self.role == "cell":
            extra += [CSEC, VHOLD, VINIT]
        if self.role == "current":
            extra += [DL_SCALE]
        lines = ["COMMENT", f"Generated by nmlhub from the LEMS ComponentType {f.type}.",
                 "All quantities are SI inside; NEURON's v, t and current are converted.", "ENDCOMMENT",
                 "", "NEURON {",
                 f"    SUFFIX {mech_name}" if self.role in ("density", "concentration")
                 else f"    POINT_PROCESS {mech_name}"]
        ion = self.ion
        for pool in self.read_pools:
            pool_valence = f" VALENCE {ION_VALENCE[pool]}" if pool in ION_VALENCE else ""
            lines.append(f"    USEION {pool} READ {pool}i, {pool}o{pool_valence}")
        valence = f" VALENCE {ION_VALENCE[ion]}" if ion in ION_VALENCE else ""
        if self.role == "density" and ion:
            lines.append(f"    USEION {ion} READ {ion}i, {ion}o WRITE i{ion}{valence}")
        elif self.role == "concentration":
            lines.append(f"    USEION {ion} READ i{ion} WRITE {ion}i{valence}")
        elif self.role in ("cell", "current", "density"):
            lines.append(f"    NONSPECIFIC_CURRENT {CURRENT}")
        if self.pointers:
            lines.append("    POINTER " + ", ".join(self.pointers.values()))
        extra += [safe_name(n) for n in self.supplied]
        extra += [transfer_buffer(p) for p in self.pointers.values()]
        for chunk in _chunks(ranges + extra, 8):
            lines.append("    RANGE " + ", ".join(chunk))
        lines += ["}", "", "PARAMETER {"]
        # Values are set per instance, so that components of one type share one mechanism.
        for p in list(f.params) + list(f.properties):
            lines.append(f"    {self.names[p]} = 0")
        if self.role == "cell":
            lines.append(f"    {CSEC} = 1")
        if self.role == "current":
            lines.append(f"    {DL_SCALE} = 1")
        lines += [f"    {safe_name(n)} = 0" for n in self.supplied]
        lines += ["}", "", "ASSIGNED {", "    v", "    dt"]
        if self.role == "density" and ion:
            lines += [f"    i{ion}", f"    {ion}i", f"    {ion}o", "    area"]
        if self.role == "concentration":
            lines += [f"    i{ion}", "    area"]
        elif self.role != "source":
            lines.append(f"    {CURRENT}")
        for pool in self.read_pools:
            lines += [f"    {pool}i", f"    {pool}o"]
        for n, _ in f.derived_params:
            lines.append(f"    {self.names[n]}")
        for s in assigned_states:
            lines.append(f"    {self.names[s]}")
        for n, _ in f.derived:
            lines.append(f"    {self.names[n]}")
        if f.regimes:
            lines.append(f"    {REGIME}")
        lines += [f"    lastcheck{k}_nml" for k in range(len(watched))]
        timed = [k for k, cond in enumerate(watched) if self._timed_bound(cond) is not None]
        lines += [f"    {name}{k}_nml" for k in timed for name in ("alarm", "alarmx")]
        if self.role == "cell":
            lines += [f"    {VHOLD}", f"    {VINIT}"]
        if self.uses_v:
            lines.append(f"    {VSTEP}")
        lines.append(f"    {TSTEP}")
        if self.event_clock:
            lines += [f"    {TLEMS}", f"    {NLEMS}", f"    {DTLEMS}"]
        lines += [f"    {p}" for p in self.pointers.values()]
        lines += [f"    {transfer_buffer(p)}" for p in self.pointers.values()]
        if self._once:
            lines.append(f"    {ZERO_CONDUCTANCE}")
        if self.senses_input:
            lines.append(f"    {INPUT_SUM}")
        lines.append("}")
        if integrated:
            lines += ["", "STATE {"] + [f"    {self.names[s]}" for s in f.states if s in integrated] + ["}"]
        lines += ["", "INITIAL {"]
        shortener = Shortener(self.rename, "tmpi")
        parameter_lines = [line for n, value in f.derived_params
                           for line in shortener.assignment(self.names[n], value)]
        lines += shortener.local_line() + parameter_lines
        for s in f.states:
            if not (self.membrane_v and s == "v"):
                lines.append(f"    {self.names[s]} = 0")
        if f.regimes:
            lines.append(f"    {REGIME} = {self.regime_index.get(f.initial_regime, 1)}")
        if self.uses_v:
            lines.append(f"    {VSTEP} = v")
        lines.append(f"    {TSTEP} = t")
        if self.event_clock:
            lines += [f"    {TLEMS} = 0", f"    {NLEMS} = 0", f"    {DTLEMS} = dt * 0.001"]
        if self._once:
            lines.append(f"    {ZERO_CONDUCTANCE} = 0")
        if self.senses_input:
            lines.append(f"    {INPUT_SUM} = 0")
        if self.role == "cell":
            # NEURON's v cannot be set in INITIAL: the value is kept in vinit_nml and the driver
            # sets the section's v from it before the first step.
            lines.append(f"    {VINIT} = v")
        self.initializing = True
        lines.append("    rates_nml()")
        lines += ["    " + s for s in self._actions(f.on_start, in_event=False)]
        lines.append("    rates_nml()")
        self.initializing = False
        if self.role == "cell":
            lines.append(f"    {VHOLD} = {VINIT}")

        lines += [f"    lastcheck{k}_nml = -1e9" for k in range(len(watched))]
        lines += [f"    alarm{k}_nml = -1e9" for k in timed]
        if (watched or polled) and self.role in ("density", "concentration"):
            raise TranslationError(f"{f.type}: a distributed mechanism cannot send events or change regime")
        if watched or polled:
            lines.append("    net_send(0, 1)")
        lines.append("}")
        # Channels and synapses: every derived value depends only on the state at the start of
        # the step (v there, events delivered), so it is computed once per step, in BREAKPOINT,
        # before NEURON integrates states. NEURON evaluates BREAKPOINT once, not twice for di/dv,
        # when told the current's conductance: zero, as the current is explicit in v (as in
        # jLEMS). BEFORE BREAKPOINT would serve too, but NEURON 9 calls it instance by instance.
        # Concentration pools read the ion currents of this step, so they compute theirs when
        # integrating.
        once = self._once
        step_start = [f"    {TSTEP} = floor(t/dt + 0.25) * dt"] + ([f"    {VSTEP} = v"] if self.uses_v else [])
        if self.event_clock:
            # jLEMS adds its step to its time once per step (in s); conditions tested at the end of
            # this step, and events acted on at the start of the next, see its time then.
            step_start += [f"    while ({NLEMS} < floor(t/dt + 0.25) + 1) {{",
                           f"        {TLEMS} = {TLEMS} + {DTLEMS}", f"        {NLEMS} = {NLEMS} + 1", "    }"]
        if not once:
            lines += ["", "BEFORE BREAKPOINT {"] + step_start + ["}"]
        kinetic_states = {s for group in f.kinetic_groups for s in group}
        derived_states = [s for s in f.states if s in integrated and s not in kinetic_states]
        solved = bool(derived_states) or self.senses_input
        lines += ["", "BREAKPOINT {"]
        if once:
            current_ion = f" USEION {ion}" if self.role == "density" and ion else ""
            lines.append(f"    CONDUCTANCE {ZERO_CONDUCTANCE}{current_ion}")
        if solved:
            lines.append("    SOLVE states_nml")
        if f.kinetic:
            lines.append("    SOLVE kinetic_nml METHOD sparse")
        if once:
            lines += step_start
        lines += self._rates_and_levels(level)
        lines += ["    " + s for s in self._current()]
        lines.append("}")
        if solved:
            # Explicit Euler written out: every derivative from the start-of-step values, then
            # every update. (NEURON's METHOD euler does the same through a slower generic loop.)
            deltas = [f"d{k}_nml" for k in range(len(derived_states))]
            lines += ["", "PROCEDURE states_nml() {"] + (["    LOCAL " + ", ".join(deltas)] if deltas else [])
            lines += self._input_sum()
            lines += [] if once else ["    rates_nml()"]
            shortener = Shortener(self.rename, "tmpd")
            updates = []
            for s, d in zip(derived_states, deltas):
                line = f"    {d} = ({self._derivative(s)}) * 0.001"
                if len(line) > MAX_LINE and set(self._regimes_of(s)) == {None}:
                    updates += shortener.assignment(d, ex.BinOp("*", f.time_derivatives[None][s], ex.Num(0.001)))
                else:
                    updates.append(line)
            lines += shortener.local_line() + updates
            for s, d in zip(derived_states, deltas):
                lines.append(f"    {self.names[s]} = {self.names[s]} + dt * {d}")
            lines.append("}")
        if f.kinetic:
            lines += ["", "KINETIC kinetic_nml {"] + ([] if once else ["    rates_nml()"])
            for source, target, forward, reverse in f.kinetic:
                # rates are per second (SI); NEURON's time is in ms
                lines.append(f"    ~ {self.names[source]} <-> {self.names[target]} "
                             f"({self.names[forward]} * 0.001, {self.names[reverse]} * 0.001)")
            for group in f.kinetic_groups:
                lines.append("    CONSERVE " + " + ".join(self.names[s] for s in group) + " = 1")
            lines.append("}")
        lines += ["", "PROCEDURE rates_nml() {"]
        shortener = Shortener(self.rename)
        derived_lines = []
        for n, value in f.derived:
            if n in f.external and self.senses_input:
                derived_lines.append(f"    {self.names[n]} = {INPUT_SUM} * {_INPUT_UNITS[f.external[n]]}")
            elif n in f.external:
                derived_lines.append(f"    {self.names[n]} = 0 : supplied by NEURON (synapses on the section)")
            else:
                derived_lines += shortener.assignment(self.names[n], value)
        lines += shortener.local_line() + derived_lines + ["}", ""]
        if self.role not in ("density", "concentration"):
            lines += self._net_receive(watched, polled)
        if "random_uniform(rng_nml)" in "\n".join(lines):
            # random(): a Random123 stream of this instance; the driver gives it ids derived from
            # the run's seed and the instance's place in the network (not from the MPI rank).
            lines.insert(lines.index("NEURON {") + 2, "    RANDOM rng_nml")
        lines += _HELPERS
        too_long = next((line for line in lines if line is not None and len(line) > NMODL_LINE_LIMIT), None)
        if too_long is not None:
            raise TranslationError(f"{f.type}: an expression gives an NMODL line of {len(too_long)} characters "
                                   f"(NMODL allows {NMODL_LINE_LIMIT}), which nmlhub cannot split: "
                                   f"{too_long.strip()[:80]}...")
        text = "\n".join(line for line in lines if line is not None) + "\n"
        if text.count(TSTEP) == 3:  # declared and kept up to date, but read by nothing
            text = text.replace(f"    {TSTEP} = floor(t/dt + 0.25) * dt\n", "").replace(f"    {TSTEP} = t\n", "")
        return text

    @property
    def _once(self) -> bool:
        """Whether derived values are computed once per step in BREAKPOINT (channels, synapses)."""
        return self.role in ("density", "current") and not self.pointers  # POINTERs are not ready there

    def _input_sum(self) -> list[str]:
        """The current the attached inputs injected during this step (nA), measured after NEURON
        solved the section: what changed its charge, plus what the cell's own holding current
        (linear in v, so taken at the new v, as NEURON's implicit step does) took away."""
        if not self.senses_input:
            return []
        return [f"    {INPUT_SUM} = {CSEC} * (v - {VSTEP}) / dt + 1000 * {CSEC} / dt * (v - {VHOLD})"]

    def _rates_and_levels(self, level: list[Condition]) -> list[str]:
        lines = ["    rates_nml()"]
        for cond in level:
            lines.append(f"    if ({self._test(cond)}) {{")
            lines += ["        " + s for s in self._actions(cond.actions, in_event=False)]
            lines.append("    }")
        if level:
            lines.append("    rates_nml()")
        return lines

    def _regimes_of(self, state: str) -> list[str | None]:
        """The regimes (None: all) in which a state has a time derivative."""
        return [r for r, tds in self.flat.time_derivatives.items() if state in tds]

    def _derivative(self, state: str) -> str:
        f = self.flat
        per_regime = {r: tds[state] for r, tds in f.time_derivatives.items() if state in tds}
        if None in per_regime:
            return self.e(per_regime[None])
        text = "0"
        for regime, value in per_regime.items():
            text = f"ifelse_nml({REGIME} == {self.regime_index[regime]}, {self.e(value)}, {text})"
        return text

    def _current(self) -> list[str]:
        f = self.flat
        if self.role == "source":
            return []
        if self.role == "density":
            if "iDensity" not in f.exposures:
                raise TranslationError(f"{f.type} exposes no current density iDensity")
            target = f"i{self.ion}" if self.ion else CURRENT
            return [f"{target} = -({self.rename('iDensity')}) * 0.1 : A/m2 -> mA/cm2"]
        if self.role == "concentration":
            return []
        if self.role == "current":
            if "i" in f.exposures:
                return [f"{CURRENT} = -({self.rename('i')}) * 1e9"]
            if "I" in f.exposures:
                return [f"{CURRENT} = -({self.rename('I')}) * {DL_SCALE}"]
            raise TranslationError(f"{f.type} exposes no current i or I to inject")
        # cell: -C dv/dt, or a clamp in regimes where v does not change
        per_regime = {r: tds["v"] for r, tds in f.time_derivatives.items() if "v" in tds}
        if None in per_regime:
            return [f"{CURRENT} = -{CSEC} * ({self.e(per_regime[None])})"]
        clamp = f"1000 * {CSEC} / dt * (v - {VHOLD})"
        text = clamp
        for regime, value in per_regime.items():
            text = f"ifelse_nml({REGIME} == {self.regime_index[regime]}, -{CSEC} * ({self.e(value)}), {text})"
        return [f"{CURRENT} = {text}"]

    def _constant_in_time(self) -> set[str]:
        """States whose time derivative is zero in every regime: they change only in events."""
        f = self.flat
        moving = {s for group in f.kinetic_groups for s in group}
        for tds in f.time_derivatives.values():
            moving |= {s for s, d in tds.items() if not (isinstance(d, ex.Num) and d.value == 0)}
        return {s for tds in f.time_derivatives.values() for s in tds} - moving

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

    def _classify_conditions(self) -> tuple[list[Condition], list[Condition], list[Condition]]:
        watched, level, polled = [], [], []
        for cond in self.flat.conditions:
            assigned = {a.target for a in cond.actions if a.kind == "assign"}
            only_assign = all(a.kind == "assign" for a in cond.actions)
            distributed = self.role in ("density", "concentration")
            if only_assign and "v" not in assigned and (distributed or not assigned & ex.names(cond.test)):
                # Tested at each step; in a distributed mechanism (no events) a self-limiting
                # condition such as "concentration .lt. 0" is idempotent, so this is safe too.
                level.append(cond)
            elif self._scalar(cond.test) is not None:
                watched.append(cond)
            else:
                polled.append(cond)
        self._level = level
        return watched, level, polled

    def _scalar(self, test: ex.Expr) -> str | None:
        """A number that is > 0 exactly where the condition holds (None if there is none)."""
        if isinstance(test, ex.BinOp):
            if test.op in (".gt.", ".lt.", ".geq.", ".ge.", ".leq.", ".le."):
                high, low = (test.left, test.right) if test.op in (".gt.", ".geq.", ".ge.") else (test.right, test.left)
                high_text, low_text = self.e(high), self.e(low)
                if test.op in (".gt.", ".lt."):
                    return f"({high_text} - {low_text})"
                if TLEMS in high_text or TLEMS in low_text:
                    # jLEMS's own clock, summed as jLEMS sums it: compared exactly, as jLEMS does
                    return f"({high_text} - {low_text} + 1e-290)"
                return (f"({high_text} - {low_text} + {NON_STRICT_TOLERANCE} * (fabs({high_text}) + "
                        f"fabs({low_text}) + 1e-290))")
            if test.op == ".eq.":  # LEMS compares flags and counters this way
                return f"(0.5 - fabs({self.e(test.left)} - {self.e(test.right)}))"
            if test.op in (".neq.", ".ne."):
                return f"(fabs({self.e(test.left)} - {self.e(test.right)}) - 0.5)"
            if test.op in (".and.", ".or."):
                left, right = self._scalar(test.left), self._scalar(test.right)
                if left is None or right is None:
                    return None
                return _min_max(left, right, test.op == ".and.")
        return None

    def _watch_scalar(self, cond: Condition) -> str:
        scalar = self._scalar(cond.test)
        if cond.regime is not None:
            scalar = _min_max(scalar, f"(0.5 - fabs({REGIME} - {self.regime_index[cond.regime]}))", True)
        return scalar

    def _test(self, cond: Condition) -> str:
        text = self.e(cond.test)
        if cond.regime is not None:
            text = f"({text} && {REGIME} == {self.regime_index[cond.regime]})"
        return text

    def _net_receive(self, watched: list[Condition], polled: list[Condition]) -> list[str]:
        self.in_event = True
        try:
            return self._net_receive_body(watched, polled)
        finally:
            self.in_event = False

    def _net_receive_body(self, watched: list[Condition], polled: list[Condition]) -> list[str]:
        lines = [f"NET_RECEIVE({NET_WEIGHT}) {{", "    if (flag == 0) {"]
        weight_names = {n: NET_WEIGHT for n in ("weight",) if n in self.flat.properties}

        def rename_event(name: str) -> str:
            return weight_names.get(name) or self.rename(name)

        lines += ["        " + s for s in self._actions(self.flat.on_event, True, rename_event)]
        lines.append("    }")
        timed = {k: bound for k, cond in enumerate(watched) if (bound := self._timed_bound(cond)) is not None}
        if watched or polled:
            lines.append("    if (flag == 1) {")
            for k, cond in enumerate(watched):
                if k in timed:
                    lines += [f"        if (alarm{k}_nml < -1e8) {{",
                              f"            if ({self._watch_scalar(cond)} > 0) {{",
                              f"                alarm{k}_nml = t + dt",
                              f"                alarmx{k}_nml = {timed[k]}",
                              f"                net_send(dt, {k + 2})",
                              "            } else {"]
                    lines += ["                " + s for s in self._schedule(k, timed[k])]
                    lines += ["            }", "        }"]
                    continue
                lines.append(f"        WATCH ({self._watch_scalar(cond)} > 0) {k + 2}")
                # LEMS tests conditions after every step: one already true at the start fires in
                # the first step (after the initial values are recorded, as in jLEMS).
                first = "dt" if self.event_clock else "1e-9"
                lines.append(f"        if ({self._watch_scalar(cond)} > 0) {{ net_send({first}, {k + 2}) }}")
            for cond in polled:
                lines.append(f"        if ({self._test(cond)}) {{")
                lines += ["            " + s for s in self._actions(cond.actions, True)]
                lines.append("        }")
            if polled:
                lines.append("        net_send(dt, 1)")
            lines.append("    }")
        for k, cond in enumerate(watched):
            if k in timed:
                # Only the latest alarm counts: an earlier one is stale once the bound changed.
                lines += [f"    if (flag == {k + 2} && fabs(t - alarm{k}_nml) < 0.25 * dt) {{",
                          f"        if ({self._watch_scalar(cond)} > 0) {{"]
                lines += ["            " + s for s in self._actions(cond.actions, True)]
                lines += ["        }"] + ["        " + s for s in self._schedule(k, timed[k])] + ["    }"]
                continue
            # WATCH sees a condition become true; LEMS tests it at every step, so while it stays
            # true after the actions it is tested again one step later (once per time step).
            last = f"lastcheck{k}_nml"
            lines += [f"    if (flag == {k + 2} && t > {last}) {{",
                      f"        {last} = t",
                      f"        if ({self._watch_scalar(cond)} > 0) {{"]
            lines += ["            " + s for s in self._actions(cond.actions, True)]
            lines += [f"            net_send(dt, {k + 2})", "        }", "    }"]
        for k, bound in timed.items():
            # Any event may have moved the bound (a new spike time drawn, say).
            lines += [f"    if (alarm{k}_nml > -1e8 && {bound} != alarmx{k}_nml) {{"]
            lines += ["        " + s for s in self._schedule(k, bound)] + ["    }"]
        lines.append("}")
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

    def _actions(self, actions: list[Action], in_event: bool, rename=None) -> list[str]:
        out: list[str] = []
        for action in actions:
            if action.kind == "assign":
                value = self.e(action.value, rename)
                if action.target == "v" and self.membrane_v and self.initializing:
                    out.append(f"{VINIT} = ({value}) * 1000")
                elif action.target == "v" and self.membrane_v:
                    # Where v has no time derivative the holding current keeps v where the
                    # cell last put it (a voltage clamp), not where it was before.
                    out += [f"v = ({value}) * 1000", f"{VHOLD} = v"]
                else:
                    out.append(f"{self.rename(action.target)} = {value}")
            elif action.kind == "emit":
                if self.role == "current":
                    continue  # a synapse's or input's own output events have no listener in NEURON
                if not in_event:
                    raise TranslationError(f"{self.flat.type}: events can only be sent from conditions or events")
                out.append("net_event(t)")
            elif action.kind == "transition":
                out.append(f"{REGIME} = {self.regime_index[action.target]}")
                out += self._actions(self.flat.on_entry.get(action.target, []), in_event, rename)
                if self.role == "cell":
                    out.append(f"{VHOLD} = v")
        return out


#: What the measured input sum (nA) is multiplied by for each dimension of the cell's input
#: (dimensionless inputs inject 1 nA per unit into such a cell: its dl_scale is 1).
_INPUT_UNITS = {"current": "1e-9", "none": "1"}

_HELPERS = [
    "FUNCTION ifelse_nml(c, a, b) {", "    if (c) { ifelse_nml = a } else { ifelse_nml = b }", "}", "",
    "FUNCTION heaviside_nml(x) {", "    if (x > 0) { heaviside_nml = 1 } else { heaviside_nml = 0 }", "}", "",
    ": x^n, by multiplication for the small whole powers of gates (much faster than pow)",
    "FUNCTION powi_nml(x, n) {",
    "    if (n == 1) { powi_nml = x } else if (n == 2) { powi_nml = x * x } else if (n == 3) {",
    "        powi_nml = x * x * x } else if (n == 4) { powi_nml = (x * x) * (x * x) } else {",
    "        powi_nml = pow(x, n) }", "}",
]


def _min_max(a: str, b: str, minimum: bool) -> str:
    # Inline, because NMODL FUNCTION calls are not allowed inside WATCH in every NEURON build.
    sign = "-" if minimum else "+"
    return f"(({a} + {b} {sign} fabs({a} - {b})) / 2)"


def _chunks(items: list[str], size: int) -> list[list[str]]:
    items = [i for i in dict.fromkeys(items) if i]
    return [items[k:k + size] for k in range(0, len(items), size)]


def mechanism_for(flat: FlatComponent, role: str, ion: str | None = None, copy: int = 0) -> Mechanism:
    """Generate the NMODL mechanism of a flat component in a role (``cell``, ``current``, ``source``).

    The mechanism's name carries a hash of its text, so components of one type with different
    structure (e.g. other children) get different mechanisms, and identical ones share one.
    ``copy`` > 0 makes a distinct copy (two densities of one channel on the same membrane each
    need their own mechanism, as NEURON inserts a mechanism once per section).
    """
    printer = _Printer(flat, role, ion)
    draft = printer.print("MECHNAME")
    if copy:
        draft = draft.replace("ENDCOMMENT", f"Copy {copy}, for another density of the same channel.\nENDCOMMENT", 1)
    digest = hashlib.sha1(draft.encode()).hexdigest()[:10]
    name = f"nml_{safe_name(flat.type)[:30]}_{digest}"
    text = draft.replace("MECHNAME", name)
    parameters = {printer.names[p]: v for p, v in {**flat.params, **flat.properties}.items()}
    parameters.update({safe_name(n): 0.0 for n in printer.supplied})
    return Mechanism(name, role, text, parameters, dict(printer.names), flat, dict(printer.pointers))
