"""``nmlhub validate``: the NeuroML schema plus semantic checks across every included file."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lxml import etree

from ..errors import NmlhubError
from ..xmlsafe import local_name, parse_xml_file
from .checks import check_model
from .loader import load
from .model import Model
from .records import Problem
from .unitcheck import unit_problems

SCHEMA_NAME = "NeuroML_v2.3.1.xsd"
_NS = re.compile(r"\{[^}]*\}")


@functools.lru_cache(maxsize=1)
def neuroml_schema() -> etree.XMLSchema:
    """The NeuroML2 XML schema shipped with libNeuroML (the newest version it has)."""
    import neuroml.nml

    xsd = Path(neuroml.nml.__file__).parent / SCHEMA_NAME
    return etree.XMLSchema(parse_xml_file(xsd))


def schema_problems(tree: etree._ElementTree, file: str, user_types: set[str]) -> list[Problem]:
    """Schema violations of one NeuroML file.

    Elements of a ComponentType the model itself defines are outside the schema but valid LEMS
    (jNeuroML runs them); they are reported as warnings.
    """
    schema = neuroml_schema()
    if schema.validate(tree):
        return []
    problems = []
    by_line: dict[int, list[etree._Element]] | None = None
    for error in schema.error_log:
        message = _NS.sub("", error.message)
        element_match = re.match(r"Element '([^']+)'", message)
        tag = element_match.group(1) if element_match else None
        value_match = re.search(r"The value '([^']+)' is not an element of the set", message)
        path = _NS.sub("", error.path or "")
        severity = "error"
        if tag in user_types and "not expected" in message:
            severity = "warning"
            message = (f"element <{tag}> of a ComponentType defined in the model is not in the "
                       f"NeuroML schema (valid LEMS; jNeuroML accepts it)")
        elif tag and "not expected" in message and _typed_by_user(
            by_line := by_line or _elements_by_line(tree), error.line, tag, user_types
        ):
            severity = "warning"
            message = (f"<{tag} type=...> names a ComponentType defined in the model; outside the "
                       f"NeuroML schema but valid LEMS")
        elif "/ComponentType" in path:
            severity = "warning"
            message = f"LEMS definition beyond what the NeuroML schema describes: {message}"
        elif value_match and value_match.group(1) in user_types:
            severity = "warning"
            message = (f"type '{value_match.group(1)}' is a ComponentType defined in the model, "
                       f"not one the NeuroML schema lists")
        problems.append(Problem(f"schema: {message}", file, error.line, None, severity))
    return problems


def _elements_by_line(tree: etree._ElementTree) -> dict[int, list[etree._Element]]:
    table: dict[int, list[etree._Element]] = {}
    for element in tree.iter(etree.Element):
        table.setdefault(element.sourceline, []).append(element)
    return table


def _typed_by_user(by_line: dict, line: int, tag: str, user_types: set[str]) -> bool:
    return any(local_name(e) == tag and e.get("type") in user_types for e in by_line.get(line, []))


def validate(path: str | Path) -> list[Problem]:
    """Validate a model file and everything it includes.

    Parameters
    ----------
    path
        A NeuroML2 file, NeuroML HDF5 file or LEMS simulation file.

    Returns
    -------
    list of Problem
        Errors and warnings, each naming file, line and element; empty when the model is valid.
        An unreadable file gives a single problem.
    """
    try:
        model = load(path, strict=False, keep_trees=True)
    except NmlhubError as exc:
        return [Problem(exc.message, exc.file, exc.line, exc.element)]
    problems = list(model.problems)
    user_types = set(model.component_types)
    for source in model.files:
        if source.tree is None:
            continue
        if source.kind == "neuroml":
            problems.extend(schema_problems(source.tree, str(source.path), user_types))
        problems.extend(unit_problems(source.tree, str(source.path), model))
    problems.extend(check_model(model))
    from ..importers.custom_mechanisms import model_problems
    from ..lems.support import unsupported_constructs

    problems.extend(model_problems(model))
    problems.extend(unsupported_constructs(model))  # what `run` would refuse
    problems.extend(translation_problems(model))
    return problems


def translation_problems(model: Model) -> list[Problem]:
    """What stops ``nmlhub run`` from generating the NEURON mechanisms of the simulation's
    network, with run's message: an error when a LEMS expression names a symbol its
    ComponentType neither defines nor requires (the model is wrong), a warning otherwise (valid
    LEMS that nmlhub cannot run yet). Nothing when the model has no simulation or its target is
    not one network."""
    from ..errors import ModelError, UnsupportedComponentError
    from ..neuron.mechanisms import build_mechanisms
    from ..neuron.network import needed_components

    simulation = model.simulation
    if simulation is None:
        return []
    try:
        network = model.network(simulation.target)
    except UnsupportedComponentError as exc:  # valid LEMS that run refuses (e.g. a LEMS-defined network)
        return [Problem(f"nmlhub run cannot run this model: {exc.message}", exc.file or str(model.path),
                        exc.line, exc.element, "warning")]
    except ModelError:
        return []
    rules = model.rules.get(network.id)
    if rules is not None and getattr(rules, "expanded_in_file", False):
        rules = None
    ids = [i for i in needed_components(network, model.network_extras.get(network.id), rules)
           if i in model.components]
    try:
        mechanisms = build_mechanisms(model, ids)
    except NmlhubError as exc:
        file = exc.file or str(model.path)  # a problem always names a file
        if _names_undefined_symbol(model, exc.message):
            return [Problem(exc.message, file, exc.line, exc.element)]
        return [Problem(f"nmlhub run cannot run this model: {exc.message}", file, exc.line,
                        exc.element, "warning")]
    components = {pop.id: pop.component for pop in network.populations}
    problems = []
    for path in _recorded_quantities(simulation):
        match = _POINT_CELL_VARIABLE.match(path)
        if match is None or components.get(match.group("pop")) is None:
            continue
        component = components[match.group("pop")]
        named = match.group("comp")
        cm = mechanisms.get(component)
        if (named is not None and named != component) or cm is None or cm.mechanism is None or cm.biophysics:
            continue  # not a point cell defined by LEMS dynamics: left to the run
        var = match.group("var")
        if var not in cm.mechanism.variables and not (var == "v" and cm.mechanism.role == "cell"):
            problems.append(Problem(f"recorded quantity '{path}': {cm.mechanism.flat.type if cm.mechanism.flat else 'component'} "
                                    f"'{component}' has no variable '{var}'", str(simulation.location.file)
                                    if simulation.location else None,
                                    simulation.location.line if simulation.location else None,
                                    f"Simulation {simulation.id}"))
    return problems


#: ``pop/3/cell/var`` or ``pop[3]/var``: a variable of a point cell.
_POINT_CELL_VARIABLE = re.compile(
    r"^(?P<pop>[^/\[\]]+)(?:\[(?P<i1>\d+)\]|/(?P<i2>\d+)/(?P<comp>[^/]+))/(?P<var>[A-Za-z_]\w*)$")


def _recorded_quantities(simulation) -> list[str]:
    paths = [c.quantity for o in simulation.outputs for c in o.columns]
    paths += [line.quantity for d in simulation.displays for line in d.lines]
    return list(dict.fromkeys(paths))


_REQUIRED = re.compile(r"'(\w+)' is required by (\w+) but nmlhub cannot provide it")


def _names_undefined_symbol(model: Model, message: str) -> bool:
    """Whether a translation error is about a name that no ComponentType in the chain declares
    as a Requirement (an undefined symbol), rather than a requirement nmlhub cannot meet."""
    from ..coretypes import core_component_types, read_jar_file

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


def is_valid(problems: list[Problem]) -> bool:
    """True when no problem is an error."""
    return not any(p.severity == "error" for p in problems)


__all__ = ["validate", "is_valid", "schema_problems", "neuroml_schema", "local_name"]
