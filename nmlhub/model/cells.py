"""Facts about cell definitions: morphology (segments, unbranched sections) and channels."""

from __future__ import annotations

from typing import Any

#: NeuroLex id that marks a segment group as one unbranched cable (a NEURON section).
CABLE_GROUP_NEUROLEX_ID = "sao864921383"


def cell_morphology(cell: Any, components: dict[str, Any]) -> Any | None:
    """The morphology of a ``cell``, inline or referenced by id (``morphology="..."``)."""
    morphology = getattr(cell, "morphology", None)
    if morphology is None and getattr(cell, "morphology_attr", None):
        record = components.get(cell.morphology_attr)
        morphology = getattr(record, "obj", record)
    return morphology


def cell_biophysics(cell: Any, components: dict[str, Any]) -> Any | None:
    """The biophysical properties of a cell, inline or referenced."""
    for attr in ("biophysical_properties", "biophysical_properties2_ca_pools"):
        value = getattr(cell, attr, None)
        if value is not None:
            return value
    ref = getattr(cell, "biophysical_properties_attr", None)
    if ref:
        record = components.get(ref)
        return getattr(record, "obj", record)
    return None


def segment_ids(morphology: Any) -> set[int]:
    """Ids of the segments of a morphology."""
    return {int(seg.id) for seg in morphology.segments}


def count_sections(morphology: Any) -> int:
    """Number of unbranched sections.

    Cable groups (``neuroLexId="sao864921383"``) are used when the morphology declares them;
    otherwise every segment is a section, as jNeuroML's NEURON export builds the cell.
    """
    cables = [g for g in morphology.segment_groups if g.neuro_lex_id == CABLE_GROUP_NEUROLEX_ID]
    if cables:
        return len(cables)
    return len(morphology.segments)


def channel_ids(cell: Any, components: dict[str, Any]) -> list[str]:
    """Ion channel ids a cell's membrane uses, in order of first use."""
    biophysics = cell_biophysics(cell, components)
    membrane = getattr(biophysics, "membrane_properties", None) or getattr(
        biophysics, "membrane_properties2_ca_pools", None
    )
    if membrane is None:
        return []
    found: list[str] = []
    for _kind, values in membrane_items(membrane):
        for value in values:
            channel = getattr(value, "ion_channel", None)
            if channel and channel not in found:
                found.append(channel)
    return found


def membrane_items(properties: Any) -> list[tuple[str, list]]:
    """(element name, non-empty list) for each child list of a libNeuroML properties object,
    including those of its base classes (``membraneProperties2CaPools`` extends
    ``membraneProperties``)."""
    found: list[tuple[str, list]] = []
    seen: set[str] = set()
    for cls in reversed(type(properties).__mro__):
        for member in getattr(cls, "member_data_items_", []) or []:
            name = member.get_name()
            values = getattr(properties, name, None)
            if name in seen or not isinstance(values, list) or not values:
                continue
            seen.add(name)
            found.append((member.get_child_attrs().get("name", name), values))
    return found
