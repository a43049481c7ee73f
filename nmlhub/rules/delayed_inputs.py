"""A stimulation's ``delay``: a copy of its input component that starts that much later.

NeuroML's ``inputList`` has no delay, so a stimulation rule with ``delay=`` gives its cells a
copy of the source component whose start is shifted: the ``delay`` of a current or voltage
clamp, of a sine or ramp generator and of a transient Poisson input, the ``start`` of a NetStim
(:mod:`nmlhub.rules.plasticity`'s LEMS components), every spike time of a spike array or timed
input; a Poisson input (``poissonFiringSynapse``) becomes a ``transientPoissonFiringSynapse``
starting at the delay. The copy is an ordinary component, so NEURON and jLEMS run it alike.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import neuroml

from ..units import UnitRegistry
from .values import RuleError

#: Attributes holding when an input starts, by LEMS component type.
START_ATTRIBUTES = {"nmlhubNetStimSynapse": "start", "nmlhubNetStimCell": "start"}
#: Lasting as long as any simulation (a transient Poisson input standing for a stationary one).
_FOREVER = "1e9ms"


def delayed_id(source: str, rule_id: str) -> str:
    """The id of the delayed copy of ``source`` a stimulation rule uses."""
    return f"{source}_delayed_{rule_id}"


def _shifted(text: str, delay_ms: float, what: str) -> str:
    try:
        value = UnitRegistry.core().parse_as(str(text), "time").to("ms")
    except Exception:
        raise RuleError(f"{what}: '{text}' is not a time") from None
    return f"{value + delay_ms!r}ms"


def delayed_copy(component: Any, delay_ms: float, new_id: str) -> Any:
    """A copy of the input ``component`` (libNeuroML object or
    :class:`~nmlhub.rules.plasticity.LemsComponent`) named ``new_id`` starting ``delay_ms`` later.

    Raises
    ------
    RuleError
        The component has no start time nmlhub knows how to shift.
    """
    what = f"input '{component.id}'"
    attributes = getattr(component, "attributes", None)
    if isinstance(attributes, dict):  # a LEMS component
        name = START_ATTRIBUTES.get(component.type, "delay" if "delay" in attributes else None)
        if name is None or name not in attributes:
            raise RuleError(f"{what}: a {component.type} has no start time to delay")
        return replace(component, id=new_id, attributes={**attributes, name: _shifted(attributes[name], delay_ms, what)})
    if isinstance(component, neuroml.PoissonFiringSynapse):
        return neuroml.TransientPoissonFiringSynapse(
            id=new_id, average_rate=component.average_rate, delay=f"{delay_ms!r}ms", duration=_FOREVER,
            synapse=component.synapse, spike_target=component.spike_target)
    made = copy.deepcopy(component)
    made.id = new_id
    if getattr(made, "delay", None) is not None:
        made.delay = _shifted(made.delay, delay_ms, what)
    elif getattr(made, "spikes", None):
        for spike in made.spikes:
            spike.time = _shifted(spike.time, delay_ms, what)
    else:
        raise RuleError(f"{what}: a {type(component).__name__} has no start time to delay (delays apply to "
                        "pulse, sine, ramp and Poisson inputs, voltage clamps, spike arrays and NetStims)")
    return made


def find_component(builder: Any, source: str) -> Any:
    """The component ``source`` among what the builder was given: its added components, or a
    top-level element of its included NeuroML files (read as libNeuroML).

    Raises
    ------
    RuleError
        No component of that id.
    """
    for component in list(builder.components) + list(builder.lems_components):
        if getattr(component, "id", None) == source:
            return component
    from neuroml.loaders import read_neuroml2_file

    for path in builder.includes:
        found = read_neuroml2_file(str(path), include_includes=False).get_by_id(source)
        if found is not None:
            return found
    raise RuleError(f"delay: input '{source}' is not a component added to the network or defined in its "
                    "included files")
