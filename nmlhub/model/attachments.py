"""Cells jLEMS cannot attach synapses, inputs or gap junctions to: ComponentTypes without
``<Attachments>`` of their own.

jLEMS gives an instance only the ``<Attachments>`` sets its own ComponentType declares: a type
inherits its base types' Parameters, Exposures, EventPorts, Children and (when it has none of its
own) Dynamics, but not their Attachments (jLEMS's ``ComponentType.resolve``; the core types
re-declare them, as ``iafRefCell`` does ``iafCell``'s). A synapse, input or gap junction attached
to a cell of such a type stops jLEMS (``ConnectionError: No attachments list in cell[myIaf]``, a
``NullPointerException`` when the connection names its ``destination``), whatever kind of cell
it extends. nmlhub runs the file (with the base type's Attachments; a type whose chain declares
none gets what is attached added to its ``v`` through NEURON), so ``validate`` and ``run`` warn at
the type's definition (``tests/test_validate_jlems.py`` asks jLEMS).

A type with Attachments whose Dynamics (its own, or its nearest base type's) select nothing of
them runs in jLEMS with what is attached having no effect on its ``v``; nmlhub's cell is a NEURON
section, whose ``v`` every point process on it changes: warned too (``tests/test_unread_attachments.py``).
"""

from __future__ import annotations

from typing import Iterator

from lxml import etree

from ..xmlsafe import local_name, parse_xml_bytes
from .columns import CONNECTION_ATTRS, parse_cell_reference
from .model import Model
from .records import Problem

_BOTH_ENDS = ("electrical_projections", "continuous_projections")  # a Tunnel attaches at each end


def attachment_warnings(model: Model) -> list[Problem]:
    """A warning per ComponentType of the model's own that declares no ``<Attachments>`` itself
    and whose cells the networks attach something to (which jLEMS refuses).

    Parameters
    ----------
    model
        The loaded model.

    Returns
    -------
    list of Problem
        Warnings at each such type's definition, naming what attaches to it, the base type whose
        Attachments nmlhub uses (if any) and the declaration jLEMS needs.
    """
    from .ignored_attributes import core_definitions

    problems, reported = [], set()
    for what, population, component_id in _receivers(model):
        record = model.components.get(component_id)
        if record is None or record.type not in model.component_types or record.type in reported:
            continue
        chain = [type_definition(model, name, core_definitions()) for name in model.type_chain(record.type)]
        if not chain or chain[0] is None:
            continue
        if not _attachments(chain[0]):
            reported.add(record.type)
            problems.append(_warning(model, record.type, chain, what, population, component_id))
        elif _membrane_v(chain) and not _reads_attachments(chain):
            reported.add(record.type)
            problems.append(_unread_warning(model, record.type, chain[0], what, population, component_id))
    return problems


def _unread_warning(model: Model, type_name: str, own: etree._Element, what: str, population: str,
                    component_id: str) -> Problem:
    names = ", ".join(f"{a.get('name')}[*]" for a in _attachments(own))
    message = (f"{what} attaches to population {population} of cell '{component_id}', whose ComponentType "
               f"{type_name} has Dynamics that read nothing of what is attached (no DerivedVariable selects "
               f"{names}): jLEMS leaves its v unchanged by it; nmlhub's NEURON cell adds the attached "
               f"current to v (select and add it, e.g. <DerivedVariable name=\"iSyn\" dimension=\"current\" "
               f"select=\"synapses[*]/i\" reduce=\"add\"/>, for the same model in both)")
    location = model.component_types[type_name].location
    return Problem(message, location.file, location.line, f"ComponentType {type_name}", "warning")


def _effective_dynamics(chain: list[etree._Element | None]) -> etree._Element | None:
    """The Dynamics jLEMS runs for the first type of ``chain``: its own, else its nearest base type's."""
    for definition in chain:
        if definition is None:
            return None
        dynamics = [e for e in definition if isinstance(e.tag, str) and local_name(e) == "Dynamics"]
        if dynamics:
            return dynamics[0]
    return None


def _reads_attachments(chain: list[etree._Element | None]) -> bool:
    """Whether the Dynamics the type runs select anything of its attachments (``synapses[*]/i``)."""
    dynamics = _effective_dynamics(chain)
    if dynamics is None:
        return True  # nothing to tell: no Dynamics found along the chain
    names = {a.get("name") for d in chain if d is not None for a in _attachments(d)}
    selects = [e.get("select", "") for e in dynamics.iter() if isinstance(e.tag, str)]
    return any(select.startswith(f"{name}[") for select in selects for name in names)


def _membrane_v(chain: list[etree._Element | None]) -> bool:
    """Whether the type exposes a membrane potential ``v`` (the cells nmlhub gives a NEURON v)."""
    return any(d is not None and any(isinstance(e.tag, str) and local_name(e) == "Exposure" and e.get("name") == "v"
                                     for e in d) for d in chain)


def _warning(model: Model, type_name: str, chain: list[etree._Element | None], what: str,
             population: str, component_id: str) -> Problem:
    own = model.component_types[type_name]
    base = next((d for d in chain[1:] if d is not None and _attachments(d)), None)
    refusal = (f"jLEMS refuses this file: {what} attaches to population {population} of cell '{component_id}', "
               f"and ComponentType {type_name} declares no <Attachments> itself ('No attachments list in "
               f"{component_id}[{type_name}]')")
    if base is None:
        said = ("; nmlhub runs it, adding what is attached to the cell's v through NEURON "
                "(declare <Attachments name=\"synapses\" type=\"basePointCurrent\"/> for jLEMS)")
    else:
        sets = " ".join(f'<Attachments name="{a.get("name")}" type="{a.get("type")}"/>' for a in _attachments(base))
        said = (f"; jLEMS does not inherit those of {base.get('name')}, which nmlhub uses "
                f"(declare {sets} in {type_name} for jLEMS)")
    return Problem(refusal + said, own.location.file, own.location.line, f"ComponentType {type_name}", "warning")


def _receivers(model: Model) -> Iterator[tuple[str, str, str]]:
    """(what attaches, population, its component) for everything the networks attach to a cell."""
    for net in model.document.networks:
        components = {pop.id: pop.component for pop in net.populations}
        for attr in ("projections", *_BOTH_ENDS):
            for proj in getattr(net, attr, None) or []:
                if not any(len(getattr(proj, a, None) or []) for a in CONNECTION_ATTRS):
                    continue
                if attr == "projections" and proj.synapse and proj.synapse == components.get(proj.postsynaptic_population):
                    continue  # a LEMS EventConnection without a receiver: the events go into the cell itself
                ends = [proj.postsynaptic_population]
                if attr in _BOTH_ENDS:
                    ends.insert(0, proj.presynaptic_population)
                for end in ends:
                    yield f"{_KIND[attr]} {proj.id}", end, components.get(end, "")
        for input_list in net.input_lists:
            if len(getattr(input_list, "input", None) or []) + len(getattr(input_list, "input_ws", None) or []):
                yield f"inputList {input_list.id}", input_list.populations, components.get(input_list.populations, "")
        targets = [("explicitInput", e.target) for e in net.explicit_inputs]
        targets += [("synapticConnection", c.to) for c in getattr(net, "synaptic_connections", None) or []]
        targets += [(extra.type, extra.parameters.get("to", "")) for extra in model.network_extras.get(net.id, [])
                    if extra.type in ("synapticConnection", "synapticConnectionWD")]
        for kind, target in targets:
            population = parse_cell_reference(target)[0] or ""
            yield f"{kind} to {target}", population, components.get(population, "")


_KIND = {"projections": "projection", "electrical_projections": "electricalProjection",
         "continuous_projections": "continuousProjection"}


def type_definition(model: Model, name: str, core: dict[str, etree._Element]) -> etree._Element | None:
    """The definition of ComponentType ``name``: the model's own (re-read), else the core type's in
    ``core``; None when neither has it."""
    own = model.component_types.get(name)
    if own is None:
        return core.get(name)
    try:
        return parse_xml_bytes(own.xml.encode(), source=name).getroot() if own.xml else None
    except Exception:  # a definition the loader kept but cannot be re-read: not checked
        return None


def _attachments(definition: etree._Element) -> list[etree._Element]:
    return [e for e in definition if isinstance(e.tag, str) and local_name(e) == "Attachments"]


__all__ = ["attachment_warnings", "type_definition"]
