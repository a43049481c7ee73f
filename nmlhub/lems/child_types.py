"""The type of a child component written under its ``Child`` name, without ``type=``.

jLEMS reads ``<sbmlHelperCell id="cell"><sbml vin="0.05" .../></sbmlHelperCell>`` as the
component filling the ``<Child name="sbml" type="Lavrentovich2008"/>`` that ``sbmlHelperCell``
declares: the element names the Child, the declaration gives the type (SBMLShowcase's
``Lavrentovich2008.xml``). pylems reads the element name as the type and cannot resolve it. Here
such an element gets the declared type written out, as jLEMS reads it, before pylems sees it.
"""

from __future__ import annotations

from lxml import etree

from ..model.model import Model

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def declared_children(model: Model, type_name: str) -> dict[str, str]:
    """The ``Child``/``Children`` declarations (name -> type) of a type of the model and of the
    model's types it extends (core types are not searched: their children are written typed)."""
    found: dict[str, str] = {}
    for name in reversed(model.type_chain(type_name)):
        definition = model.component_types.get(name)
        if definition is None:
            continue
        root = etree.fromstring(definition.xml.encode(), _PARSER)
        for element in root:
            if isinstance(element.tag, str) and _local(element) in ("Child", "Children"):
                found[element.get("name", "")] = element.get("type", "")
    return found


def type_named_children(model: Model, element: etree._Element, type_name: str,
                        known: dict[str, dict[str, str]] | None = None) -> None:
    """Write ``type=`` on every child element (at any depth) named after a Child of its parent's
    type and lacking one, in place (``known``: the declarations read so far, by type)."""
    known = {} if known is None else known
    if type_name not in known:
        known[type_name] = declared_children(model, type_name)
    declared = known[type_name]
    for child in element:
        if not isinstance(child.tag, str):
            continue
        tag = _local(child)
        child_type = child.get("type")
        if child_type is None and tag in declared and tag not in model.component_types:
            child_type = declared[tag]
            child.set("type", child_type)
        type_named_children(model, child, child_type or tag, known)
