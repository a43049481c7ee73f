"""Requirements of a population's cell that nothing provides.

A ``<Requirement>`` is resolved from the component's parent: a synapse's or input's from the cell
it sits on, a gap junction's peer from the other end (both linked by :mod:`nmlhub.neuron.coupling`),
``temperature`` from the network. A cell of a population has nothing else above it: jLEMS stops
(``Problem while trying to return a value for variable vext: NaN``), and the generated mechanism's
POINTER would stay unlinked, which crashed NEURON (a segmentation fault, no message). ``run``
refuses such a cell before anything is compiled, ``validate`` says so as an error.
"""

from __future__ import annotations

from typing import Any

from ..model import Model
from ..model.records import Problem


def unprovided_requirement_problems(model: Model, network: Any, mechanisms: dict[str, Any]) -> list[Problem]:
    """An error per population whose cell, defined by LEMS dynamics, requires a variable nothing
    provides.

    Parameters
    ----------
    model
        The loaded model.
    network
        The network simulated.
    mechanisms
        The network's mechanisms, by component id (:func:`nmlhub.neuron.mechanisms.build_mechanisms`).

    Returns
    -------
    list of Problem
        Errors at the cell's ComponentType (the model's own) or at the population.
    """
    problems = []
    for pop in network.populations:
        mechanism = getattr(mechanisms.get(pop.component), "mechanism", None)
        pointers = sorted(getattr(mechanism, "pointers", None) or {})
        if mechanism is None or mechanism.role != "cell" or not pointers:
            continue
        record = model.components.get(pop.component)
        type_name = record.type if record is not None else "?"
        own = model.component_types.get(type_name)
        location = own.location if own is not None else model.locations.get(f"{network.id}/{pop.id}")
        names = ", ".join(f"'{name}'" for name in pointers)
        problems.append(Problem(
            f"cell '{pop.component}' of population {pop.id} requires {names} (a <Requirement> of ComponentType "
            f"{type_name}), which nothing provides to a cell of a population: jLEMS stops ('Problem while trying "
            f"to return a value for variable {pointers[0]}: NaN') and nmlhub cannot run it",
            str(location.file) if location else str(model.path), location.line if location else None,
            f"ComponentType {type_name}" if own is not None else f"population {pop.id}"))
    return problems


__all__ = ["unprovided_requirement_problems"]
