"""Simulator hints of a LEMS ``<Simulation>`` (``<Meta>`` children) that nmlhub does not follow.

``<Meta for="neuron" method="cvode" abs_tolerance="..." rel_tolerance="..."/>`` asks jNeuroML's
NEURON export to integrate with NEURON's variable step (CVode) at those tolerances; jLEMS ignores
it. nmlhub runs every simulation at the ``step`` of the file, so ``validate`` and ``run`` say so
at the ``<Meta>`` element, with the method and tolerances the file asks for.
"""

from __future__ import annotations

from .records import Problem
from .simulation import Simulation

#: NEURON integration methods that are the fixed step nmlhub runs.
_FIXED_STEP = {"", "fixed", "fixed_step", "fixedstep"}


def unfollowed_meta_warnings(simulation: Simulation | None) -> list[Problem]:
    """A warning per ``<Meta for="neuron">`` whose ``method`` is not the fixed step.

    Parameters
    ----------
    simulation
        The model's simulation settings (None: no simulation, no warning).

    Returns
    -------
    list of Problem
        Warnings naming the file, the line of the ``<Meta>`` element and what it asks for.
    """
    if simulation is None or simulation.location is None:
        return []
    warnings = []
    for line, items in simulation.meta_elements:
        attributes = dict(items)
        method = attributes.get("method", "")
        if attributes.get("for", "").lower() != "neuron" or method.lower() in _FIXED_STEP:
            continue
        settings = ", ".join(f"{name} {value}" for name, value in items if name not in ("for", "method"))
        asked = f"method '{method}'" + (f" ({settings})" if settings else "")
        warnings.append(Problem(
            f"{asked} is not followed: nmlhub runs NEURON at the fixed step of the simulation "
            f"({simulation.step_ms:g} ms), as jLEMS does; jNeuroML's NEURON export uses the method asked for",
            simulation.location.file, line, "<Meta for='neuron'>", "warning"))
    return warnings
