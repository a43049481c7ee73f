"""A simulation whose target is one cell, as jLEMS runs it: the cell on its own.

jLEMS simulates any component: with a cell as the ``<Simulation>`` target (the two-compartment
Pinsky-Rinzel cell of OSB's Figure 3), the recorded paths are the cell's own (``Vs``). nmlhub
runs networks, so the cell becomes a network of one population of that cell, and every recorded
path is read from its one instance (``Vs`` is ``pr2A[0]/Vs``): the same equations, the same
outputs, in the same files.
"""

from __future__ import annotations

from dataclasses import replace

import neuroml

from ..model.model import Model
from ..model.records import ComponentRecord, LemsComponent, Location
from ..model.simulation import OutputColumn, Simulation


def _inside(path: str, instance: str) -> str:
    path = path.strip()
    return f"{instance}/{path}" if path else instance


def _rewritten(simulation: Simulation, network_id: str, instance: str) -> Simulation:
    outputs = tuple(replace(output, columns=tuple(OutputColumn(c.id, _inside(c.quantity, instance))
                                                  for c in output.columns)) for output in simulation.outputs)
    events = tuple(replace(output, selections=tuple(replace(s, select=_inside(s.select, instance))
                                                     for s in output.selections))
                   for output in simulation.event_outputs)
    displays = tuple(replace(display, lines=tuple(replace(line, quantity=_inside(line.quantity, instance))
                                                   for line in display.lines)) for display in simulation.displays)
    return replace(simulation, target=network_id, outputs=outputs, event_outputs=events, displays=displays)


def _holds_a_network(model: Model, record: ComponentRecord) -> bool:
    children = getattr(record.obj, "children", None) or ()
    return any("network" in model.type_chain(child.type) for child in children)


def run_cell_target_in_a_network(model: Model) -> None:
    """When the model's simulation targets a cell, add a network holding that one cell and point
    the simulation and its recorded paths at it (in place; nothing else changes).

    Parameters
    ----------
    model
        A loaded model; left as it is when its simulation targets a network or nothing known.
    """
    simulation = model.simulation
    record = model.components.get(simulation.target) if simulation is not None else None
    if record is None or record.category not in ("cell", "other") or _holds_a_network(model, record):
        return
    from .structure import builds_a_network

    if isinstance(record.obj, LemsComponent) and builds_a_network(model, record.obj) is not None:
        return  # a network LEMS builds itself (lems/structure_network.py)
    cell_id = record.id
    network_id = f"{cell_id}_network"
    while network_id in model.components:
        network_id += "_"
    network = neuroml.Network(id=network_id)
    network.populations.append(neuroml.Population(id=cell_id, component=cell_id, size=1))
    model.document.networks.append(network)
    where = simulation.location or Location(str(model.path))
    model.components[network_id] = ComponentRecord(network_id, "network", "network", where, network)
    model.locations[f"{network_id}/{cell_id}"] = where
    model.simulations[simulation.id] = _rewritten(simulation, network_id, f"{cell_id}[0]")
