"""What each role of a generated mechanism asks of the NMODL printer, as one table.

``cell``
    The LEMS state ``v`` is the membrane potential of the section the mechanism sits in. The
    mechanism injects ``-C * dv/dt`` (computed without synaptic input, which NEURON adds itself),
    where ``C`` is the section's capacitance, set from the cell's own dynamics.
``current``
    Synapses and inputs: their exposure ``i`` (or dimensionless ``I``) is injected.
``source``
    Spike sources: no current, only events.
``generator``
    The spike generator of an input split from its synapse (nmlhub.lems.input_split): an
    ARTIFICIAL_CELL with no work between its events; its jLEMS clock is brought up to date
    when an event arrives.
``density``
    A channel density: a distributed mechanism writing its ion's current (or a nonspecific one).
``concentration``
    A concentration model: a distributed mechanism writing its ion's inner concentration.
"""

from __future__ import annotations

from dataclasses import dataclass

from .nmodl_names import CSEC, DL_SCALE, VHOLD, VINIT


@dataclass(frozen=True)
class Role:
    """How a role's mechanism is printed.

    Attributes
    ----------
    name
        The role's name (``cell``, ``current``, ``source``, ``density``, ``concentration``).
    distributed
        A SUFFIX mechanism of the membrane (no events, no POINTERs); else a POINT_PROCESS.
    membrane
        Its ``v`` is the section's membrane potential (a cell): capacitance, holding and initial v.
    injected
        A synapse or input: a child of its cell, which sees its cell's clock; its events go nowhere.
    pool
        A concentration model writing its ion's concentration.
    computes_once
        Derived values are computed once per step in BREAKPOINT (unless it has POINTERs).
    current
        The current it writes: ``nonspecific``, ``density`` (its ion's, or nonspecific) or ``none``.
    own_variables
        Variables nmlhub adds to its RANGE list.
    own_parameters
        Parameters nmlhub adds, with their default values.
    artificial
        An ARTIFICIAL_CELL: events only, no v, no states integrated, no BREAKPOINT.
    """

    name: str
    distributed: bool = False
    membrane: bool = False
    injected: bool = False
    pool: bool = False
    computes_once: bool = False
    current: str = "none"
    own_variables: tuple[str, ...] = ()
    own_parameters: tuple[tuple[str, int], ...] = ()
    artificial: bool = False


ROLES = {
    "cell": Role("cell", membrane=True, current="nonspecific", own_variables=(CSEC, VHOLD, VINIT),
                 own_parameters=((CSEC, 1),)),
    "current": Role("current", injected=True, computes_once=True, current="nonspecific",
                    own_variables=(DL_SCALE,), own_parameters=((DL_SCALE, 1),)),
    "source": Role("source"),
    "generator": Role("generator", artificial=True),
    "density": Role("density", distributed=True, computes_once=True, current="density"),
    "concentration": Role("concentration", distributed=True, pool=True),
}
