"""When events act: jLEMS's step grid, and how NEURON is made to follow it.

jLEMS advances a simulation in steps n = 1, 2, ... ending at times t_n. A spike emitted in step n
with a connection delay d is queued for t_n + d and acts at the start of the first step m whose
time t_m is at or past it: its effect is first seen in the state at t_m. A delay is therefore
rounded *up* to whole steps, k = m - n (a delay of at most one step acts in the next step).

NEURON's fixed-step queue instead acts on an event at the step whose start is nearest to its time:
a spike at t_n with delay d is seen at about t_n + d + dt, so a delay of exactly k steps acts one
step later than in jLEMS, and delays off the grid land half a step early or late. nmlhub gives
each NetCon a delay between ``(k - 1) * dt`` and ``(k - 1 + SPREAD) * dt`` (in the first part
of the window NEURON acts on at the start of step m, far from its edges, so rounding of t cannot
move it; within it in the order of the arrival times in jLEMS, which is also the order jLEMS acts
on them), which makes NEURON act in step m on any number of MPI ranks and with CoreNEURON: the
rounding happens once, when the network is built.

``"neuron"`` timing keeps the delays as written (NEURON's own semantics, as in hand-written
NEURON models).

Delays of a whole number k of steps: jLEMS adds ``dt`` to its time at every step, so its t_n
carries floating-point rounding, and whether t_n + d falls at or just past t_(n+k) depends on the
step n (some spikes act after k steps, the others after k + 1). Such connections (k >= 2) go
through a relay per source and delay (:func:`relay_mechanism`) that redoes jLEMS's
arithmetic for each spike and passes it on to act at jLEMS's step, on any number of ranks and with
CoreNEURON (the relays sit with the target cells and are built the same way on every engine). A
relay decides a step ahead of the spike's action: it hears the spike ``(k - 2 + LEAD)`` steps
after it was sent, which for k = 2 is under one step, so for a source on another rank the relay
sits on the source's rank and its spikes travel by gid (``1 + SPREAD - LEAD`` steps, above the
one step NEURON needs between ranks). CoreNEURON on several ranks needs two steps between ranks
(:func:`remote_relay`): a relay of 3 steps from another rank sits on the source's rank and
decides two steps ahead, and a connection between ranks that jLEMS acts on within 2 steps is
refused (:func:`crosses_ranks`; spike sources on jLEMS's clock have copies on their targets'
ranks instead, :meth:`nmlhub.neuron.network.NetworkInstance.copied_here`). A delay of one step
always acts after one (t_n + dt is t_(n+1) exactly).

``"jlems-exact"`` is the former name of the default and means the same.

Conditions on ``t`` (spike sources) see jLEMS's accumulated clock itself (t_400 at dt = 0.025 ms
is 10.00000000000003 ms; nmlhub.lems.nmodl keeps the same sum) and compare it exactly, as jLEMS
does (t_10000 at dt = 0.005 ms is 49.999999999996964 ms: a spike at 50 ms fires in step 10001),
so a spikeArray time on the grid fires at jLEMS's step.

A spike without delay: jLEMS connects a delay of 0 directly: the target acts on the spike as it
is sent, and its dynamics see it within that step if its population is updated (declared) after
the source's, in the next step otherwise. NEURON delivers no event within the step it is sent, so
it acts in the next step, the second case. For the first, a spike source whose spikes depend on
jLEMS's clock and its own random draws alone (spikeArray, spikeGenerator, spikeGeneratorRandom,
spikeGeneratorPoisson: no requirements) gets a copy next to it whose clock runs a step ahead
(``ahead_nml = 1`` in its mechanism) and which draws from the source's random stream, so it
sends those targets the same spikes a step early
(:meth:`nmlhub.neuron.network.NetworkInstance.ahead_copy`). A cell's spike in step n comes from
its state at the end of NEURON's step n, which NEURON computes for every cell at once: no target
can act on it in that step (acts in the next).

jLEMS records the exposed states of a component with regimes a step late (:func:`one_step_late`),
and so do nmlhub's recordings with this timing (:func:`recorded_as_jlems`).
"""

from __future__ import annotations

import numpy as np

#: How connection delays are applied: on jLEMS's grid (the default; "jlems-exact" is its former
#: name) or as NEURON does.
EVENT_TIMINGS = ("jlems", "jlems-exact", "neuron")

#: A delay within this fraction of a step of the grid counts as a whole number of steps.
_ON_GRID = 1e-9

#: Events acting in one step reach NEURON within this fraction of a step after its start, in the
#: order of their arrival in jLEMS (NEURON acts on events up to half a step after its start).
SPREAD = 0.4

#: A relay hears a spike this fraction of a step after the start of the step before the one it
#: acts in (away from the edges of the step, whichever time NEURON gives its NET_RECEIVE).
LEAD = 0.25


def delivery_steps(delays_ms: np.ndarray, dt_ms: float) -> np.ndarray:
    """The number of steps k after which a spike acts in jLEMS, for each delay (0 for delays of 0
    or less, which jLEMS delivers at once).

    Examples
    --------
    >>> delivery_steps(np.array([0.0, 0.01, 0.025, 1.0, 1.013, 1.0374]), 0.025).tolist()
    [0, 1, 1, 40, 41, 42]
    """
    ratio = np.asarray(delays_ms, dtype=float) / float(dt_ms)
    nearest = np.round(ratio)
    on_grid = np.abs(ratio - nearest) <= _ON_GRID * np.maximum(1.0, nearest)
    steps = np.where(on_grid, nearest, np.ceil(ratio))
    return np.where(ratio > 0, np.maximum(steps, 1), 0).astype(np.int64)


def netcon_delays(delays_ms: np.ndarray, dt_ms: float, timing: str = "jlems") -> np.ndarray:
    """The NetCon delays (ms) that make NEURON act on each event at the step ``timing`` says.

    Parameters
    ----------
    delays_ms
        Connection delays as the model gives them (ms).
    dt_ms
        The fixed time step (ms).
    timing
        ``"jlems"``: act at jLEMS's step (``(k - 1) * dt``, see the module docstring; whole-step
        delays relayed per spike, :func:`decided_per_spike`, act after k steps when they cannot
        be); ``"neuron"``: the delays unchanged.
    """
    delays = np.asarray(delays_ms, dtype=float)
    if timing == "neuron":
        return delays
    if timing not in EVENT_TIMINGS:
        raise ValueError(f"unknown event timing {timing!r}; timings: {', '.join(EVENT_TIMINGS)}")
    steps = delivery_steps(delays, dt_ms)
    # In the step it acts in, each event keeps the place of its arrival time in jLEMS (jLEMS acts
    # on them in that order): a delay past the grid by a fraction f of a step becomes
    # (k - 1 + SPREAD * f) steps, and one of whole steps k - 1 + SPREAD.
    past = delays - (steps - 1) * float(dt_ms)
    return np.where(steps > 0, (steps - 1) * float(dt_ms) + SPREAD * np.clip(past, 0.0, float(dt_ms)), 0.0)


def jlems_times(dt_ms: float, steps: int) -> np.ndarray:
    """jLEMS's time (ms) at the end of steps 0..``steps``, accumulated as jLEMS does (in seconds,
    adding the step each time), for comparing spike times with jLEMS's to the step."""
    increments = np.full(int(steps), float(dt_ms) * 0.001)
    return np.concatenate([[0.0], np.add.accumulate(increments)]) * 1000.0


def _whole_steps(delays_ms: np.ndarray, dt_ms: float) -> np.ndarray:
    ratio = np.asarray(delays_ms, dtype=float) / float(dt_ms)
    nearest = np.round(ratio)
    return np.abs(ratio - nearest) <= _ON_GRID * np.maximum(1.0, nearest)


def decided_per_spike(delays_ms: np.ndarray, dt_ms: float) -> np.ndarray:
    """Which delays jLEMS may act on after k or k + 1 steps depending on the spike's step (a whole
    number k >= 2 of steps, where its accumulated time decides): these go through a relay
    (:func:`relay_mechanism`) that decides as jLEMS does for each spike. (A delay of one step
    acts after one: t_n + dt is t_(n+1).)"""
    ratio = np.asarray(delays_ms, dtype=float) / float(dt_ms)
    return _whole_steps(delays_ms, dt_ms) & (np.round(ratio) >= 2)


def relay_delays(steps: int, dt_ms: float, ahead: int = 1) -> tuple[float, float, float]:
    """The NetCon delays (ms) of a delay of ``steps`` whole steps through its relay deciding
    ``ahead`` steps before the spike acts: the two into it, and the one out of it. A spike sent
    at the end of step n reaches the relay at the start of step n + steps - ahead (LEAD of a
    step in), where it decides whether jLEMS acts on it at step n + steps, and again a step
    later, where it decides whether jLEMS acts on it at step n + steps + 1; passed on, it acts
    ``ahead`` steps later, SPREAD of a step into that step, after events arriving there directly."""
    dt = float(dt_ms)
    return (steps - 1 - ahead + LEAD) * dt, (steps - ahead + LEAD) * dt, (ahead + SPREAD - LEAD) * dt


def remote_relay(steps: int, exchange_steps: int) -> tuple[bool, int] | None:
    """Where the relay of a ``steps``-step delay goes when its source is on another rank, whose
    spikes take at least ``exchange_steps`` steps to reach this one (1 with NEURON; 2 with
    CoreNEURON on several ranks, which runs at least two threads and subtracts a step from the
    shortest delay between ranks, see docs/conformance.md): (on the target's rank, steps it
    decides ahead), or None when no relay can act at jLEMS's step (the spike would have to cross
    ranks in fewer steps than the exchange allows).

    Examples
    --------
    >>> [remote_relay(k, 1) for k in (2, 3)], [remote_relay(k, 2) for k in (2, 3, 4)]
    ([(False, 1), (True, 1)], [None, (False, 2), (True, 1)])
    """
    if steps - 2 + LEAD >= exchange_steps:  # both NetCons into it cross ranks
        return True, 1
    if steps - 1 - exchange_steps + LEAD >= 0:  # only its spikes cross, ``exchange_steps`` ahead
        return False, exchange_steps
    return None


def crosses_ranks(delays_ms: np.ndarray, dt_ms: float, timing: str, exchange_steps: int) -> np.ndarray:
    """Which connection delays can act at the step ``timing`` says when their spikes cross ranks
    (exchanged at least ``exchange_steps`` steps after they were sent): directly, with a NetCon
    delay of at least ``exchange_steps`` steps, or through a relay (:func:`remote_relay`)."""
    delays = np.asarray(delays_ms, dtype=float)
    applied = netcon_delays(delays, dt_ms, timing)
    direct = applied >= exchange_steps * float(dt_ms) * (1 - 1e-9)
    if timing == "neuron":
        return direct
    steps = delivery_steps(delays, dt_ms)
    relayed = decided_per_spike(delays, dt_ms)
    kinds, which = np.unique(steps, return_inverse=True)  # a few step counts for many connections
    can_relay = np.array([remote_relay(int(k), exchange_steps) is not None for k in kinds], dtype=bool)[which]
    return np.where(relayed, can_relay, direct)


_RELAY = """COMMENT
Generated by nmlhub (nmlhub.neuron.eventgrid): passes a spike on at the step jLEMS acts on it.
Each spike arrives twice, through two NetCons from its source: with weight later = 0 at the start
of step n + steps - ahead and with later = 1 a step after (n: the step it left its source, at its
end). jLEMS acts on it in step n + steps if its time of arrival, t_n + delay in jLEMS's
accumulated time (seconds), is not past t_(n + steps), else one step later: the relay passes it
on at the arrival that says so, through NetCons whose delays make it act at the start of the step
ahead steps later (deciding ahead, with no self-events: an event sent within the step it acts in, or a
self-event, is handled a step apart in CoreNEURON).
ENDCOMMENT

NEURON {
    ARTIFICIAL_CELL MECHNAME
    RANGE steps, delay_s, ahead
}

PARAMETER {
    steps = 3
    delay_s = 0
    ahead = 1
}

ASSIGNED {
    dt
    tlems_nml
    nlems_nml
    dtlems_nml
}

INITIAL {
    tlems_nml = 0
    nlems_nml = 0
    : the step in seconds, once: adding dt * 0.001 could be fused into one multiply-add by the
    : compiler, which rounds differently from jLEMS's additions of its step
    dtlems_nml = dt * 0.001
}

NET_RECEIVE(later) {
    LOCAL base, sent, arrival, k, on_time
    : the clock follows the spikes arriving a second time (their step n), which never go back
    base = floor(t/dt + 0.5) - (steps - ahead)
    while (nlems_nml < base) {
        tlems_nml = tlems_nml + dtlems_nml
        nlems_nml = nlems_nml + 1
    }
    sent = tlems_nml
    if (later == 0) {
        sent = tlems_nml + dtlems_nml
    }
    arrival = sent
    k = 0
    while (k < steps) {
        arrival = arrival + dtlems_nml
        k = k + 1
    }
    on_time = (sent + delay_s <= arrival)
    if (on_time != later) {
        net_event(t)
    }
}
"""


def relay_mechanism():
    """The relay that acts on spikes of a whole-step delay at jLEMS's step (see
    :func:`decided_per_spike`), as an :class:`nmlhub.lems.nmodl.Mechanism` to compile and load."""
    import hashlib

    from ..lems.nmodl import Mechanism

    name = "nml_jlems_relay_" + hashlib.sha1(_RELAY.encode()).hexdigest()[:10]
    return Mechanism(name, "source", _RELAY.replace("MECHNAME", name), {"steps": 3.0, "delay_s": 0.0, "ahead": 1.0})


def one_step_late(values: np.ndarray) -> np.ndarray:
    """A recorded series as jLEMS records an exposed state of a component with regimes: the value
    at step n is the one at the end of step n - 1 (the first sample, the initial state, is kept).

    jLEMS advances such a component in two parts: its own dynamics (derived variables, time
    derivatives outside the regimes, conditions), which ends by copying its variables to what
    its outputs read, and then its active regime (the time derivatives and conditions inside
    it). Its recorded exposures are therefore the ones of the step before (a state without an
    exposure is read from the state itself, not late); its dynamics and its spikes are not late (measured with ``jnml`` 0.14 on iafCell against iafRefCell, see
    tests/test_event_timing.py).

    Examples
    --------
    >>> one_step_late(np.array([0.0, 1.0, 2.0, 3.0])).tolist()
    [0.0, 0.0, 1.0, 2.0]
    """
    values = np.asarray(values)
    return np.concatenate([values[:1], values[:-1]]) if len(values) else values


def recorded_as_jlems(probe):
    """``probe`` (:class:`nmlhub.neuron.recording.Probe`) recording as jLEMS records: a step late
    for a variable of a component with regimes (:func:`one_step_late`), unchanged otherwise."""
    import dataclasses

    if not probe.in_regimes:
        return probe
    derive = probe.derive
    late = one_step_late if derive is None else (lambda values: one_step_late(derive(values)))
    return dataclasses.replace(probe, derive=late, in_regimes=False)
