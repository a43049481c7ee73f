"""Print a :class:`~nmlhub.lems.translate.FlatComponent` as an NMODL mechanism.

Inside the mechanism every LEMS quantity keeps its SI value; only the interface to NEURON is
converted: ``v`` (mV -> V), ``t`` (ms -> s), time derivatives (per s -> per ms) and the current
NEURON sees (A -> nA). What each role (``cell``, ``current``, ``source``, ``density``,
``concentration``) asks of the mechanism is the table of nmlhub.lems.nmodl_roles.

``OnCondition`` handlers become ``WATCH`` statements (edge-triggered, as threshold tests are), or
statements evaluated each step when they only set values (level-triggered, as for pulse
generators); ``OnEvent`` becomes ``NET_RECEIVE`` with the connection weight as argument. The
printer is nmlhub.lems.nmodl_blocks (one method per NMODL block), on the names and analysis of
nmlhub.lems.nmodl_scope and the event blocks of nmlhub.lems.nmodl_events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .nmodl_blocks import Printer
from .nmodl_names import safe_name
from .translate import FlatComponent


@dataclass
class Mechanism:
    """A generated NMODL mechanism.

    Attributes
    ----------
    name
        The NEURON point-process name (``nml_<type>_<hash>``).
    role
        ``cell``, ``current``, ``source``, ``density`` or ``concentration``.
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
    own_v
        Whether the component's ``v`` is a variable of its own (a DerivedVariable ``v = Vs`` of a
        two-compartment cell), recorded from the mechanism, not from NEURON's membrane.
    """

    name: str
    role: str
    text: str
    parameters: dict[str, float] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    flat: FlatComponent | None = None
    pointers: dict[str, str] = field(default_factory=dict)
    own_v: bool = False


def mechanism_for(flat: FlatComponent, role: str, ion: str | None = None, copy: int = 0,
                  lean: bool = False) -> Mechanism:
    """Generate the NMODL mechanism of a flat component in a role (``cell``, ``current``,
    ``source``, ``density``, ``concentration``).

    The mechanism's name carries a hash of its text, so components of one type with different
    structure (e.g. other children) get different mechanisms, and identical ones share one.
    ``copy`` > 0 makes a distinct copy (two densities of one channel on the same membrane each
    need their own mechanism, as NEURON inserts a mechanism once per section). ``lean``: the
    derived values only its rates PROCEDURE reads are LOCAL there (faster on large networks; they
    are then not among its ``variables`` and cannot be recorded: nmlhub.lems.nmodl_lean).
    """
    printer = Printer(flat, role, ion)
    draft = printer.print("MECHNAME", lean=lean)
    if copy:
        draft = draft.replace("ENDCOMMENT", f"Copy {copy}, for another density of the same channel.\nENDCOMMENT", 1)
    digest = hashlib.sha1(draft.encode()).hexdigest()[:10]
    name = f"nml_{safe_name(flat.type)[:30]}_{digest}"
    text = draft.replace("MECHNAME", name)
    parameters = {printer.names[p]: v for p, v in {**flat.params, **flat.properties}.items()}
    parameters.update({safe_name(n): 0.0 for n in printer.supplied})
    variables = {lems: nmodl for lems, nmodl in printer.names.items() if nmodl not in printer.local_derived}
    return Mechanism(name, role, text, parameters, variables, flat, dict(printer.pointers), own_v=printer.own_v)
