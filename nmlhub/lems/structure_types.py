"""What a ComponentType declares, along its type chain, as LEMS ``<Structure>`` reads it.

A ``<Structure>`` builds instances and connects them; which connections are possible depends on
what the types of those instances declare: the ``Attachments`` sets a receiver may join
(``receiverContainer``), the ``EventPort``\\ s an event may enter (an ``EventConnection`` without a
receiver), the ``Child`` components a reference may name (a component written inline). This module
reads those declarations from the model's own ComponentTypes and from the NeuroML2 core types
alike, without running anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ..coretypes import core_component_types, read_jar_file
from ..model.model import Model
from ..xmlsafe import local_name, parse_xml_bytes


@dataclass
class TypeDeclarations:
    """Reads the declarations of the types of one model (each type's XML parsed once).

    Parameters
    ----------
    model
        The loaded model (its own ComponentTypes; the core types come from the jNeuroML jar).
    """

    model: Model
    _parsed: dict[str, etree._Element | None] = field(default_factory=dict, repr=False)
    _core_files: dict[str, etree._Element] = field(default_factory=dict, repr=False)

    def of(self, type_name: str, tag: str) -> list[etree._Element]:
        """The ``tag`` elements (``Attachments``, ``EventPort``, ``Child``...) the type and every
        type it extends declare, nearest type first."""
        found: list[etree._Element] = []
        for name in self.model.type_chain(type_name):
            definition = self._definition(name)
            if definition is not None:
                found += [e for e in definition if isinstance(e.tag, str) and local_name(e) == tag]
        return found

    def names(self, type_name: str, tag: str, **attributes: str) -> list[str]:
        """The names of the ``tag`` elements of the type chain whose attributes have the given values
        (``direction="in"``), in declaration order, nearest type first, each once."""
        names: list[str] = []
        for element in self.of(type_name, tag):
            if all(element.get(key) == value for key, value in attributes.items()):
                if element.get("name", "") not in names:
                    names.append(element.get("name", ""))
        return names

    def _definition(self, name: str) -> etree._Element | None:
        if name not in self._parsed:
            self._parsed[name] = self._read(name)
        return self._parsed[name]

    def _read(self, name: str) -> etree._Element | None:
        own = self.model.component_types.get(name)
        if own is not None:
            return parse_xml_bytes(own.xml.encode()).getroot() if own.xml else None
        core = core_component_types().get(name)
        if core is None:
            return None
        if core.file not in self._core_files:
            self._core_files[core.file] = parse_xml_bytes(read_jar_file(core.file), source=core.file).getroot()
        root = self._core_files[core.file]
        return next((e for e in root if isinstance(e.tag, str) and local_name(e) == "ComponentType"
                     and e.get("name") == name), None)
