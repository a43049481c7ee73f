"""Gap junctions (electrical projections) and graded synapses (continuous projections).

Each connection puts a point process on both cells; each sees the membrane potential at the other
end through a POINTER. When the other end lives on another rank, its potential travels through
ParallelContext's transfer (``source_var``/``target_var``), so a coupled network runs on any number
of ranks with the serial answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..lems.nmodl_names import transfer_buffer
from ..model.columns import parse_cell_reference
from ..model.coupled import coupled_attrs, coupled_rows
from .cells import make_point_process
from ..errors import UnsupportedComponentError
from .mechanisms import ComponentMechanism

#: A place on a cell: (population, cell index, segment, fraction along it).
Place = tuple[str, int, int, float]


def coupled_components(proj: Any, electrical: bool) -> list[str]:
    """The components (gap junctions, graded synapses) an electrical or continuous projection
    uses, in order of first use; a table read from NeuroML HDF5 names them once, for the whole
    projection, so it is not read."""
    found: list[str] = []
    shared = getattr(proj, "nmlhub_components", {})
    for attr in coupled_attrs(electrical):
        items = getattr(proj, attr, None)
        if items is None or len(items) == 0:
            continue
        if hasattr(type(items), "array"):
            keys = ("synapse",) if electrical else ("pre_component", "post_component")
            found += [shared[k] for k in keys if shared.get(k)]
            continue
        for conn in items:
            found += [conn.synapse] if electrical else [conn.pre_component, conn.post_component]
    return list(dict.fromkeys(found))




def connect_coupled(proj: Any, electrical: bool, mechanisms: dict[str, ComponentMechanism],
                    instance: Any) -> None:
    """Instantiate an electrical or continuous projection: on each rank, the sides on its cells."""
    wiring = instance.parallel if instance.parallel is not None and instance.parallel.nhost > 1 else None
    pre_population, post_population = proj.presynaptic_population, proj.postsynaptic_population
    keep = _rows_touching_this_rank(wiring, pre_population, post_population) if wiring is not None else None

    rows = coupled_rows(proj, electrical, keep)
    cols = rows.columns
    pre_fraction, post_fraction = cols.fractions()
    pre_places = [(pre_population, int(c), int(s), float(f)) for c, s, f in
                  zip(cols.pre_cell.tolist(), cols.pre_segment.tolist(), np.round(pre_fraction, 9).tolist())]
    post_places = [(post_population, int(c), int(s), float(f)) for c, s, f in
                   zip(cols.post_cell.tolist(), cols.post_segment.tolist(), np.round(post_fraction, 9).tolist())]
    sides = [(pre_places[k], post_places[k], rows.pre_component[k], float(rows.weight[k])) for k in range(len(cols))]
    sides += [(post_places[k], pre_places[k], rows.post_component[k], float(rows.weight[k])) for k in range(len(cols))]
    local = [side for side in sides if instance.is_local(side[0][0], side[0][1])]
    if wiring is not None:
        remote = {there for _, there, component, _ in local
                  if mechanisms[component].mechanism.pointers and not instance.is_local(there[0], there[1])}
        _share_potentials(remote, instance)
    for here, there, component, weight in local:
        _attach(here, there, component, weight, mechanisms, instance)


def _share_potentials(needed: set[Place], instance: Any) -> None:
    """Number the places whose potential some rank needs from another (gathered from every rank,
    in one sorted order, continuing earlier projections' numbers) and offer each from its owner."""
    wiring = instance.parallel
    gathered = wiring.pc.py_allgather(sorted(needed))
    every = sorted({tuple(place) for found in gathered for place in found} - set(instance.transfer_ids))
    for place in every:
        instance.transfer_ids[place] = len(instance.transfer_ids)
        if instance.is_local(place[0], place[1]):
            section, x = instance.cell(place[0], place[1]).locate(place[2], place[3])
            wiring.pc.source_var(section(x)._ref_v, instance.transfer_ids[place], sec=section)
            instance.transfer_sources[instance.transfer_ids[place]] = section(x)


def resend_potentials(instance: Any) -> None:
    """Send every transferred potential again (collective). NEURON transfers them when
    ``finitialize`` sets v, before the INITIAL blocks; a point cell whose INITIAL decides its v
    gets that v later, so without this the other rank would see the old v for one step."""
    wiring = instance.parallel
    if not instance.transfer_ids or wiring is None:
        return
    values: dict[int, float] = {}
    for found in wiring.pc.py_allgather({k: seg.v for k, seg in instance.transfer_sources.items()}):
        values.update(found)
    for point, buffer, transfer_id in instance.transfer_targets:
        setattr(point, buffer, values[transfer_id])


def _attach(here: Place, there: Place, component: str, weight: float,
            mechanisms: dict[str, ComponentMechanism], instance: Any) -> None:
    from neuron import h

    cm = mechanisms[component]
    cell = instance.cell(here[0], here[1])
    section, x = cell.locate(here[2], here[3])
    point = make_point_process(cm, section, x, weight)
    for name, pointer in cm.mechanism.pointers.items():
        variable, place = _linked(name, here, there, cm)
        if variable != "v" or instance.is_local(place[0], place[1]):
            h.setpointer(_variable_ref(place, variable, component, mechanisms, instance), pointer, point)
        else:
            buffer = getattr(point, f"_ref_{transfer_buffer(pointer)}")
            h.setpointer(buffer, pointer, point)
            instance.parallel.pc.target_var(point, buffer, instance.transfer_ids[there])
            instance.transfer_targets.append((point, transfer_buffer(pointer), instance.transfer_ids[there]))
    cell.attach(component, point)
    instance.synapses.append(point)


def link_to_own_cell(point: Any, component: str, place: Place, mechanisms: dict[str, ComponentMechanism],
                     instance: Any) -> None:
    """Link the POINTERs of a synapse or input that sits on a cell at ``place`` (not an end of a
    coupled connection): each variable it requires (a dimensionless cell's ``V``) is that cell's
    own, as jLEMS resolves a Requirement from the component's parent; a variable the cell lacks
    is refused in one line (an unlinked POINTER would crash NEURON)."""
    from neuron import h

    mechanism = getattr(mechanisms.get(component), "mechanism", None)
    for name, pointer in getattr(mechanism, "pointers", {}).items():  # a user's .mod file has none of ours
        h.setpointer(_variable_ref(place, name, component, mechanisms, instance), pointer, point)


def _linked(name: str, here: Place, there: Place, cm: ComponentMechanism) -> tuple[str, Place]:
    """The variable a POINTER of a coupled component reads, and at which end: a peer's variable
    (``peer/v``, ``peer/r``) at the other end; any other requirement (a synapse's ``Requirement
    r``) is the variable of the cell the component is on, as in jLEMS."""
    peer_variables = cm.mechanism.flat.peer_variables if cm.mechanism.flat is not None else {}
    return (peer_variables[name], there) if name in peer_variables else (name, here)


def _missing_variable(component: str, variable: str, population: str, cell_component: str,
                      mechanisms: dict[str, ComponentMechanism]) -> str | None:
    """Why a coupled component cannot read ``variable`` of a cell, or None when it can."""
    cell_cm = mechanisms.get(cell_component)
    mechanism = getattr(cell_cm, "mechanism", None)
    if variable == "v" or (mechanism is not None and mechanism.role == "cell" and variable in mechanism.variables):
        return None
    return (f"'{component}' reads '{variable}' of the cells of population '{population}' (component "
            f"'{cell_component}'), which have no variable '{variable}' nmlhub can link")


def coupled_variable_problems(network: Any, mechanisms: dict[str, ComponentMechanism]) -> list[tuple[Any, str]]:
    """The variables the network's gap junctions and graded synapses read (``peer/r``) that the
    cells at that end do not have, without building anything: (projection, message) pairs."""
    cells = {pop.id: pop.component for pop in network.populations}
    problems = []
    for electrical, projections in ((True, network.electrical_projections), (False, network.continuous_projections)):
        for proj in projections:
            for component, here, there in _sides(proj, electrical):
                cm = mechanisms.get(component)
                for name in cm.mechanism.pointers if cm is not None and cm.mechanism is not None else ():
                    variable, place = _linked(name, (here, 0, 0, 0.5), (there, 0, 0, 0.5), cm)
                    why = _missing_variable(component, variable, place[0], cells.get(place[0], ""), mechanisms)
                    if why and (proj, why) not in problems:
                        problems.append((proj, why))
    return problems


def own_cell_variable_problems(network: Any, singles: list[tuple[str, str]],
                               mechanisms: dict[str, ComponentMechanism]) -> list[str]:
    """The variables that the synapses of projections and of single connections (``singles``:
    (target cell, synapse) pairs) and the inputs of input lists read from the cells they sit on
    and those cells lack, without building anything: the messages run would stop with."""
    cells = {pop.id: pop.component for pop in network.populations}
    placed = [(proj.synapse, proj.postsynaptic_population) for proj in getattr(network, "projections", None) or []]
    placed += [(inputs.component, inputs.populations) for inputs in getattr(network, "input_lists", None) or []]
    placed += [(synapse, parse_cell_reference(target)[0] or "") for target, synapse in singles]
    problems: list[str] = []
    for component, population in dict.fromkeys(placed):
        mechanism = getattr(mechanisms.get(component), "mechanism", None)
        for name in getattr(mechanism, "pointers", {}):  # a user's .mod file has none of ours
            why = _missing_variable(component, name, population, cells.get(population, ""), mechanisms)
            if why and why not in problems:
                problems.append(why)
    return problems


def _sides(proj: Any, electrical: bool) -> list[tuple[str, str, str]]:
    """(component, its population, the population at the other end) for each end of a projection's
    connections: a gap junction is on both ends, a graded connection's pre (post) component on the
    presynaptic (postsynaptic) cell."""
    pre, post = proj.presynaptic_population, proj.postsynaptic_population
    shared = getattr(proj, "nmlhub_components", {})
    found: list[tuple[str, str, str]] = []
    for attr in coupled_attrs(electrical):
        items = getattr(proj, attr, None)
        if items is None or len(items) == 0:
            continue
        if hasattr(type(items), "array"):
            pairs = [(shared.get("synapse"), shared.get("synapse"))] if electrical else \
                [(shared.get("pre_component"), shared.get("post_component"))]
        else:
            pairs = [(c.synapse, c.synapse) if electrical else (c.pre_component, c.post_component) for c in items]
        for on_pre, on_post in pairs:
            found += [(on_pre, pre, post), (on_post, post, pre)]
    return [side for side in dict.fromkeys(found) if side[0]]


def _variable_ref(place: Place, variable: str, component: str, mechanisms: dict[str, ComponentMechanism],
                  instance: Any) -> Any:
    """A NEURON reference to a cell's variable at a place, for a coupled component's POINTER:
    the membrane potential, or a variable of a point cell's own mechanism (a rate cell's r)."""
    if not instance.is_local(place[0], place[1]):
        raise UnsupportedComponentError(
            f"not supported: '{component}' reads '{variable}' of {place[0]}[{place[1]}] on another MPI rank "
            "(nmlhub passes only the membrane potential v between ranks); run it on one rank")
    cell = instance.cell(place[0], place[1])
    why = _missing_variable(component, variable, place[0], cell.component, mechanisms)
    if why:
        raise UnsupportedComponentError(why)
    if variable == "v":
        section, x = cell.locate(place[2], place[3])
        return section(x)._ref_v
    return getattr(cell.mechanism, f"_ref_{mechanisms[cell.component].mechanism.variables[variable]}")


def _rows_touching_this_rank(wiring: Any, pre_population: str, post_population: str) -> Any:
    """A filter of a projection's row blocks: the rows with a side on this rank's cells."""
    def keep(block: np.ndarray, indices: dict[str, int]) -> np.ndarray:
        pre = block[:, indices["pre_cell_id"]].astype(np.int64)
        post = block[:, indices["post_cell_id"]].astype(np.int64)
        return wiring.local_mask(pre_population, pre) | wiring.local_mask(post_population, post)
    return keep
