"""``nmlhub validate``: the NeuroML schema plus semantic checks across every included file."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Callable, Sequence

from lxml import etree

from ..errors import NmlhubError
from ..xmlsafe import local_name, parse_xml_file
from .checks import check_model
from .child_condition_reads import late_child_condition_warnings
from .derived_order import derived_order_warnings
from .dynamics_refusals import dynamics_refusal_warnings
from .ignored_attributes import SCHEMA_NAME, ignored_attribute_problems
from .loader import load
from .model import Model
from .records import Problem
from .renamed_exposures import renamed_exposure_warnings
from .stray_children import stray_child_problems
from .unitcheck import unit_problems

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


def validate(path: str | Path, extra_checks: Sequence[Callable[[Model], list[Problem]]] = ()) -> list[Problem]:
    """Validate a model file and everything it includes.

    Parameters
    ----------
    path
        A NeuroML2 file, NeuroML HDF5 file or LEMS simulation file.
    extra_checks
        Checks of the loaded model by higher layers, run last, in order (``nmlhub validate`` adds
        :func:`nmlhub.neuron.validation.translation_problems`, what ``run`` would refuse; see
        :func:`nmlhub.neuron.validation.validate`).

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
    problems.extend(_not_reported_yet(ignored_attribute_problems(model), problems))
    problems.extend(derived_order_warnings(model))
    problems.extend(dynamics_refusal_warnings(model))
    problems.extend(late_child_condition_warnings(model))
    problems.extend(renamed_exposure_warnings(model))
    problems.extend(stray_child_problems(model))
    problems.extend(check_model(model))
    from ..importers.custom_mechanisms import model_problems
    from ..importers.mod_synapses import model_problems as mod_synapse_problems
    from ..lems.support import unsupported_constructs

    problems.extend(model_problems(model))
    problems.extend(mod_synapse_problems(model))
    problems.extend(unsupported_constructs(model))  # what `run` would refuse
    for check in extra_checks:
        problems.extend(check(model))
    return problems


_ATTRIBUTE = re.compile(r"attribute '([^']+)'")


def _not_reported_yet(found: list[Problem], reported: list[Problem]) -> list[Problem]:
    """``found`` without the attributes the schema already named at the same file and line."""
    seen = {_attribute_key(p) for p in reported if _ATTRIBUTE.search(p.message)}
    return [p for p in found if _attribute_key(p) not in seen]


def _attribute_key(problem: Problem) -> tuple[str | None, int | None, str | None]:
    match = _ATTRIBUTE.search(problem.message)
    return problem.file, problem.line, match.group(1) if match else None


def is_valid(problems: list[Problem]) -> bool:
    """True when no problem is an error."""
    return not any(p.severity == "error" for p in problems)


__all__ = ["validate", "is_valid", "schema_problems", "neuroml_schema", "local_name"]
