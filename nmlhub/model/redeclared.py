"""A Constant a ComponentType declares twice: jLEMS keeps the first declaration and ignores the
later ones without a word (openworm/NicolettiEtAl2024_MN_IN's ``slo1egl19.channel.nml`` declares
``F`` as ``96485.3 C_per_mol``, then as ``96485.0``); pylems would keep the last. Pure: XML only."""

from __future__ import annotations

from lxml import etree

from ..xmlsafe import local_name


def redeclared_constants(component_type: etree._Element) -> list[tuple[etree._Element, etree._Element]]:
    """Each ``<Constant>`` of ``component_type`` (its direct children) whose name an earlier one
    declares, with that first declaration: ``(first, again)`` in document order."""
    first: dict[str, etree._Element] = {}
    found: list[tuple[etree._Element, etree._Element]] = []
    for child in component_type:
        if not isinstance(child.tag, str) or local_name(child) != "Constant":
            continue
        name = child.get("name", "")
        if name in first:
            found.append((first[name], child))
        else:
            first[name] = child
    return found


def keep_first_constants(component_type: etree._Element) -> None:
    """Remove from ``component_type`` every Constant that redeclares a name (as jLEMS reads it)."""
    for _, again in redeclared_constants(component_type):
        component_type.remove(again)


def redeclaration_message(type_name: str, first: etree._Element, again: etree._Element) -> str | None:
    """The warning for a Constant declared again with another value or dimension (None when the
    two declarations say the same)."""
    said = [(c.get("value", "").replace(" ", ""), c.get("dimension", "")) for c in (first, again)]
    if said[0] == said[1]:
        return None
    return (f"ComponentType '{type_name}': Constant '{first.get('name')}' is declared again "
            f"(value '{again.get('value')}', dimension '{again.get('dimension')}'; first at line "
            f"{first.sourceline}: '{first.get('value')}', '{first.get('dimension')}'): jLEMS, and "
            "nmlhub, use the first declaration")
