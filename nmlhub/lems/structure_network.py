"""A network LEMS ``<Structure>`` builds, run as the NeuroML network it is.

:mod:`nmlhub.lems.structure` reads what the simulation's target builds (instances and event
connections); this module writes it as the network the NeuroML path builds: one population per
``MultiInstantiate`` (named as the component holding it, so the recorded paths jLEMS reads,
``pop[0]/v``, are the network's own), one projection per (source population, target population,
synapse) with a ``connectionWD`` per ``EventConnection`` (its weight and delay), and an explicit
input per ``EventConnection`` from an instance to itself. The driver, MPI ranks, recording and
results then work unchanged. A structure nmlhub cannot read is kept as an error of the model
(``run`` and ``validate`` refuse it in one line naming the file, the line and the element).
"""

from __future__ import annotations


import neuroml

from ..errors import NmlhubError
from ..model.model import Model
from ..model.records import ComponentRecord, LemsComponent, Problem
from ..model.simulation import Simulation
from .structure import BuiltNetwork, builds_a_network, read_structure


def _network_id(model: Model, target: str) -> str:
    network_id = f"{target}_network"
    taken = set(model.components) | {net.id for net in model.document.networks}
    while network_id in taken:
        network_id += "_"
    return network_id


def as_network(built: BuiltNetwork, network_id: str, model: Model) -> neuroml.Network:
    """The NeuroML network of what a structure builds (its locations kept in ``model.locations``)."""
    network = neuroml.Network(id=network_id)
    for population in built.populations.values():
        network.populations.append(neuroml.Population(id=population.id, component=population.component,
                                                      size=population.size))
        model.locations[f"{network_id}/{population.id}"] = population.where
    projections: dict[tuple[str, str, str], neuroml.Projection] = {}
    for connection in built.connections:
        # without a receiver the events go into the target cell itself: its own component stands
        # as the projection's synapse (the driver then connects to the cell's mechanism)
        synapse = connection.synapse or built.populations[connection.post.population].component
        key = (connection.pre.population, connection.post.population, synapse)
        projection = projections.get(key)
        if projection is None:
            projection = neuroml.Projection(id=f"{key[0]}_{key[1]}_{key[2]}_{len(projections)}",
                                            presynaptic_population=key[0], postsynaptic_population=key[1],
                                            synapse=key[2])
            projections[key] = projection
            network.projections.append(projection)
            model.locations[f"{network_id}/{projection.id}"] = connection.where
        pre = built.populations[key[0]]
        post = built.populations[key[1]]
        projection.connection_wds.append(neuroml.ConnectionWD(
            id=len(projection.connection_wds),
            pre_cell_id=f"../{pre.id}/{connection.pre.index}/{pre.component}",
            post_cell_id=f"../{post.id}/{connection.post.index}/{post.component}",
            weight=connection.weight, delay=f"{connection.delay_ms!r}ms"))
    for k, (cell, component, where) in enumerate(built.inputs):
        network.explicit_inputs.append(neuroml.ExplicitInput(target=str(cell), input=component))
        model.locations[f"{network_id}/explicitInput{k}"] = where
    return network


def _network_path(path: str, built: BuiltNetwork) -> str:
    """jLEMS's path to an instance as the network's: ``layer/pop[2]/v`` is ``layer_pop[2]/v``; the one
    instance a ChildInstance made (``solo/cell/v``) is ``solo[0]/v``."""
    stripped = path.strip()
    for population in built.populations.values():
        for name in built.singles.get(population.id, ()):
            prefix = f"{population.path}/{name}"
            if stripped == prefix or stripped.startswith(prefix + "/"):
                return f"{population.id}[0]{stripped[len(prefix):]}"
        prefix = f"{population.path}["
        if population.id not in built.singles and population.path != population.id and stripped.startswith(prefix):
            return f"{population.id}[{stripped[len(prefix):]}"
    return path


def _retargeted(simulation: Simulation, network_id: str, built: BuiltNetwork) -> Simulation:
    def moved(path: str) -> str:
        return _network_path(path, built)

    return simulation.with_paths(moved, target=network_id)


def run_structure_network(model: Model) -> None:
    """When the simulation's target is built by LEMS ``<Structure>`` elements of the model's own
    types, add the network they build and point the simulation at it (in place; the recorded paths
    stay as written, but for populations deeper than the target's children, ``layer/pop[2]/v`` is
    ``layer_pop[2]/v``, and the one instance a ``ChildInstance`` makes, ``solo/cell/v`` is
    ``solo[0]/v``). A structure nmlhub cannot read becomes an error of the model.

    Parameters
    ----------
    model
        A loaded model; left as it is unless its simulation targets such a component.
    """
    simulation = model.simulation
    record = model.components.get(simulation.target) if simulation is not None else None
    if record is None or not isinstance(record.obj, LemsComponent) or builds_a_network(model, record.obj) is None:
        return
    try:
        built = read_structure(model, record.obj)
    except NmlhubError as exc:
        model.problems.append(Problem(exc.message, exc.file, exc.line, exc.element))
        return
    for component_id, component in built.inline.items():
        model.components[component_id] = ComponentRecord(component_id, component.type,
                                                         model.category(component.type), record.location, component)
    network_id = _network_id(model, record.id)
    network = as_network(built, network_id, model)
    model.document.networks.append(network)
    model.components[network_id] = ComponentRecord(network_id, "network", "network", record.location, network)
    model.simulations[simulation.id] = _retargeted(simulation, network_id, built)
