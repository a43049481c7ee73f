"""Check every quantity a model writes against the dimension its ComponentType declares."""

from __future__ import annotations

from typing import Iterable

from lxml import etree

from ..errors import UnitError
from ..xmlsafe import lems_type, local_name
from .model import Model
from .records import Problem
from .typesystem import is_known_type, parameter_dimensions


def _element_type(element: etree._Element, parents: dict) -> str | None:
    type_attr = element.get("type")
    if type_attr and is_known_type(type_attr, parents):
        return type_attr
    name = lems_type(element)
    return name if is_known_type(name, parents) else None


def unit_problems(tree: etree._ElementTree, file: str, model: Model) -> list[Problem]:
    """Attributes whose value is not a quantity of the dimension their type declares.

    Each element is matched to its ComponentType (its tag, or its ``type`` attribute); the
    ``Parameter`` elements of that type and of every type it extends give the dimensions.
    """
    return quantity_problems(tree.iter(etree.Element), file, model)


def quantity_problems(elements: Iterable[etree._Element], file: str, model: Model) -> list[Problem]:
    """:func:`unit_problems` for the given elements (not their children)."""
    parents = model.user_type_parents()
    user_params = {name: ct.parameters for name, ct in model.component_types.items()}
    cache: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for element in elements:
        if local_name(element) in ("ComponentType", "Dimension", "Unit"):
            continue
        comp_type = _element_type(element, parents)
        if comp_type is None:
            continue
        if comp_type not in cache:
            cache[comp_type] = parameter_dimensions(comp_type, parents, user_params)
        dims = cache[comp_type]
        for attr, value in element.attrib.items():
            dimension = dims.get(attr)
            if dimension is None or dimension == "*":  # "*": LEMS's any dimension
                continue
            label = f"<{local_name(element)} id='{element.get('id', '')}'> attribute {attr}"
            try:
                model.units.parse_as(value, dimension)
            except UnitError as exc:
                problems.append(Problem(exc.message, file, element.sourceline, label))
    return problems
