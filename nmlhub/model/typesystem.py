"""What a component is (cell, synapse, channel, input...), from the LEMS ``extends`` chains of the
NeuroML2 core types and of the ComponentTypes a model defines."""

from __future__ import annotations

import functools
from typing import Mapping

from lxml import etree

from ..coretypes import core_component_types

#: Category of a component by the first base type found along its ``extends`` chain.
CATEGORY_BASES: tuple[tuple[str, str], ...] = (
    ("baseSynapse", "synapse"),
    ("baseCell", "cell"),
    ("baseSpikeSource", "cell"),
    ("baseIonChannel", "ion_channel"),
    ("concentrationModel", "concentration_model"),
    ("basePointCurrent", "input"),
    ("basePointCurrentDL", "input"),
    ("network", "network"),
)


@functools.lru_cache(maxsize=1)
def _core_parents() -> dict[str, str | None]:
    return {name: info.extends for name, info in core_component_types().items()}


@functools.lru_cache(maxsize=1)
def neuroml_tag_to_libneuroml() -> dict[str, tuple[str, type]]:
    """Map each top-level NeuroML element tag to its libNeuroML list attribute and class."""
    import neuroml.nml.nml as nml

    table: dict[str, tuple[str, type]] = {}
    for member in nml.NeuroMLDocument.member_data_items_:
        attrs = member.get_child_attrs()
        if not isinstance(attrs, dict) or "name" not in attrs:
            continue
        cls = getattr(nml, member.get_data_type(), None)
        if cls is not None:
            table[attrs["name"]] = (member.get_name(), cls)
    return table


def type_chain(type_name: str, user_parents: Mapping[str, str | None] | None = None) -> list[str]:
    """The type and every type it extends, nearest first (stops at cycles and unknown types)."""
    core = _core_parents()
    user_parents = user_parents or {}
    chain: list[str] = []
    current: str | None = type_name
    while current and current not in chain:
        chain.append(current)
        if current in user_parents:
            current = user_parents[current]
        else:
            current = core.get(current)
    return chain


def is_known_type(type_name: str, user_parents: Mapping[str, str | None] | None = None) -> bool:
    """True when the type is a core type or one the model defines."""
    return type_name in _core_parents() or bool(user_parents and type_name in user_parents)


def category_of(type_name: str, user_parents: Mapping[str, str | None] | None = None) -> str:
    """The category of a component type: ``cell``, ``synapse``, ``ion_channel``, ``input``,
    ``concentration_model``, ``network`` or ``other``."""
    chain = type_chain(type_name, user_parents)
    for base, category in CATEGORY_BASES:
        if base in chain:
            return category
    return "other"


def component_type_parameters(element: etree._Element) -> dict[str, str]:
    """``Parameter`` names and dimensions of a ComponentType element."""
    return {
        child.get("name", ""): child.get("dimension", "none")
        for child in element
        if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "Parameter"
    }


def parameter_dimensions(
    type_name: str,
    user_parents: Mapping[str, str | None] | None = None,
    user_parameters: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """Every ``Parameter`` of a type and of the types it extends, with its dimension."""
    core = core_component_types()
    user_parameters = user_parameters or {}
    dims: dict[str, str] = {}
    for name in reversed(type_chain(type_name, user_parents)):
        if name in user_parameters:
            dims.update(user_parameters[name])
        elif name in core:
            dims.update(core[name].parameters)
    return dims
