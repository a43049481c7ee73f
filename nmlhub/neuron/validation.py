"""What ``nmlhub run`` would refuse, found without running: the driver's part of ``nmlhub validate``.

The model layer's :func:`nmlhub.model.validate.validate` checks the files; :func:`validate` here
adds :func:`translation_problems`, which generates the simulation's NEURON mechanisms as ``run``
does (nothing is compiled).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import NmlhubError
from ..model import Model
from ..model.paths import CellPath, parse_path
from ..model.records import Problem
from ..model.meta_hints import unfollowed_meta_warnings
from ..model.unset_parameters import unused_unset_parameter_warnings
from .cell_requirements import unprovided_requirement_problems
from .unpooled_ions import unpooled_ion_warnings
from .default_temperature import default_temperature_warnings
from ..model.validate import validate as validate_files


def validate(path: str | Path) -> list[Problem]:
    """``nmlhub validate``'s problems: the model's checks, then what ``run`` would refuse.

    Parameters
    ----------
    path
        A NeuroML2 file, NeuroML HDF5 file or LEMS simulation file.

    Returns
    -------
    list of Problem
        Errors and warnings, each naming file, line and element; empty when the model is valid.
    """
    return validate_files(path, extra_checks=(translation_problems,
                                              lambda model: unfollowed_meta_warnings(model.simulation)))


def translation_problems(model: Model) -> list[Problem]:
    """What stops ``nmlhub run`` from generating the NEURON mechanisms of the simulation's
    network, with run's message: an error when a LEMS expression names a symbol its
    ComponentType neither defines nor requires, or a component's type is defined nowhere (the
    model is wrong), a warning otherwise (valid LEMS that nmlhub cannot run yet). Nothing when the
    model has no simulation or its target is not one network."""
    from ..errors import ModelError, UnsupportedComponentError
    from .mechanisms import build_mechanisms
    from .network import needed_components

    simulation = model.simulation
    if simulation is None:
        return []
    try:
        network = model.network(simulation.target)
    except UnsupportedComponentError as exc:  # valid LEMS that run refuses (e.g. a LEMS-defined network)
        if any(p.severity == "error" for p in model.problems):
            return []  # refused while loading, more precisely (a LEMS <Structure> element nmlhub cannot read)
        return [Problem(f"nmlhub run cannot run this model: {exc.message}", exc.file or str(model.path),
                        exc.line, exc.element, "warning")]
    except ModelError:
        return []
    rules = model.rules.get(network.id)
    if rules is not None and getattr(rules, "expanded_in_file", False):
        rules = None
    ids = [i for i in needed_components(network, model.network_extras.get(network.id), rules)
           if i in model.components]
    unused = unused_unset_parameter_warnings(model, set(ids))
    try:
        mechanisms = build_mechanisms(model, ids)
    except NmlhubError as exc:
        file = exc.file or str(model.path)  # a problem always names a file
        if _names_undefined_symbol(model, exc.message) or _UNDEFINED_TYPE.search(exc.message) \
                or _UNSET_PARAMETER.search(exc.message) or _MISSING_CHILD.search(exc.message):
            return [*unused, Problem(exc.message, file, exc.line, exc.element)]
        return [*unused, Problem(f"nmlhub run cannot run this model: {exc.message}", file, exc.line,
                                 exc.element, "warning")]
    components = {pop.id: pop.component for pop in network.populations}
    problems = unused + unpooled_ion_warnings(model, mechanisms) + _coupling_problems(model, network, mechanisms)
    problems += unprovided_requirement_problems(model, network, mechanisms)
    problems += default_temperature_warnings(model, network, mechanisms)
    for path in _recorded_quantities(simulation):
        parsed = _point_cell_variable(path)
        if parsed is None or components.get(parsed.population) is None:
            continue
        component = components[parsed.population]
        named = parsed.component
        cm = mechanisms.get(component)
        if (named is not None and named != component) or cm is None or cm.mechanism is None or cm.biophysics:
            continue  # not a point cell defined by LEMS dynamics: left to the run
        var = parsed.quantity
        if var not in cm.mechanism.variables and not (var == "v" and cm.mechanism.role == "cell"):
            problems.append(Problem(f"recorded quantity '{path}': {cm.mechanism.flat.type if cm.mechanism.flat else 'component'} "
                                    f"'{component}' has no variable '{var}'", str(simulation.location.file)
                                    if simulation.location else None,
                                    simulation.location.line if simulation.location else None,
                                    f"Simulation {simulation.id}"))
    return problems


def _coupling_problems(model: Model, network: Any, mechanisms: dict) -> list[Problem]:
    """Variables gap junctions and graded synapses read that the cells at that end lack, as errors
    at the projection (run refuses them when it links them)."""
    from .coupling import coupled_variable_problems, own_cell_variable_problems

    problems = []
    for proj, message in coupled_variable_problems(network, mechanisms):
        location = model.locations.get(f"{network.id}/{proj.id}")
        problems.append(Problem(message, str(location.file) if location else str(model.path),
                                location.line if location else None, f"projection {proj.id}"))
    singles = [(conn.to, conn.synapse) for conn in getattr(network, "synaptic_connections", None) or []]
    singles += [(extra.parameters["to"], extra.parameters["synapse"]) for extra in model.network_extras.get(network.id, [])
                if extra.type == "synapticConnectionWD"]
    location = model.locations.get(network.id)
    for message in own_cell_variable_problems(network, singles, mechanisms):
        problems.append(Problem(message, str(location.file) if location else str(model.path),
                                location.line if location else None, f"network {network.id}"))
    return problems


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _point_cell_variable(path: str) -> CellPath | None:
    """``pop/3/cell/var`` or ``pop[3]/var``: a variable of a point cell; None for other paths."""
    parsed = parse_path(path)
    if parsed is None or parsed.relative or parsed.index < 0 or len(parsed.rest) != 1 \
            or "//" in path or path.endswith("/"):
        return None
    if not parsed.bracketed and parsed.component is None:
        return None
    return parsed if _IDENTIFIER.fullmatch(parsed.rest[0]) else None


def _recorded_quantities(simulation: Any) -> list[str]:
    paths = [c.quantity for o in simulation.outputs for c in o.columns]
    paths += [line.quantity for d in simulation.displays for line in d.lines]
    return list(dict.fromkeys(paths))


_REQUIRED = re.compile(r"'(\w+)' is required by (\w+) but nmlhub cannot provide it")
#: A component of a type that neither the model's files nor the core types define (jLEMS refuses
#: the file too): the model is wrong, not beyond nmlhub.
_UNDEFINED_TYPE = re.compile(r"type '[^']+' is defined by no ComponentType")
#: A component the simulation uses that leaves a parameter of its type unset (a misspelt one,
#: say): jLEMS refuses the file ('no value supplied for parameter') and run cannot build it.
_UNSET_PARAMETER = re.compile(r"component '[^']+' does not set its parameter '")
#: A component without the child a select of its type reads (jLEMS refuses it too).
_MISSING_CHILD = re.compile(r"has no child '\w+' \(a <Child> of type")
_UNDECLARED = re.compile(r"ComponentType \w+ reads '\w+', which neither it nor the types it extends declare")


def _names_undefined_symbol(model: Model, message: str) -> bool:
    """Whether a translation error is about a name that no ComponentType in the chain declares
    as a Requirement (an undefined symbol), rather than a requirement nmlhub cannot meet."""
    from ..coretypes import core_component_types, read_jar_file

    if _UNDECLARED.search(message):
        return True
    match = _REQUIRED.search(message)
    if match is None:
        return False
    name, type_name = match.groups()
    declared = re.compile(rf'<Requirement\b[^>]*\bname="{re.escape(name)}"')
    core = core_component_types()
    for chain_type in model.type_chain(type_name):
        if chain_type in model.component_types:
            text = model.component_types[chain_type].xml
        elif chain_type in core:
            text = read_jar_file(core[chain_type].file).decode(errors="replace")
        else:
            return False
        if declared.search(text):
            return False
    return True
