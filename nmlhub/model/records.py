"""Plain records the loader produces: source files, components, ComponentTypes, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lxml import etree


@dataclass(frozen=True)
class Location:
    """Where an element was written: a file and a 1-based line (``None`` for HDF5 content)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass
class SourceFile:
    """One file read while loading a model.

    Attributes
    ----------
    path
        Absolute path of the file.
    kind
        ``"neuroml"`` (XML with a ``<neuroml>`` root), ``"lems"`` (``<Lems>`` root) or ``"hdf5"``.
    included_from
        Where the include that brought this file in was written (``None`` for the top file).
    tree
        The parsed XML tree, kept only when the model was loaded with ``keep_trees=True``.
    """

    path: Path
    kind: str
    included_from: Location | None = None
    tree: etree._ElementTree | None = field(default=None, repr=False)


@dataclass
class LemsComponent:
    """A component of a type libNeuroML has no class for (a user ComponentType, or LEMS ``<Component>``).

    Attributes
    ----------
    id
        The component id.
    type
        Its ComponentType name.
    parameters
        Every attribute other than ``id`` and ``type``, as written.
    children
        Nested components, in document order.
    """

    id: str
    type: str
    parameters: dict[str, str] = field(default_factory=dict)
    children: list["LemsComponent"] = field(default_factory=list)

    @classmethod
    def from_element(cls, element: etree._Element,
                     known_type: Callable[[str | None], bool] = lambda t: False) -> "LemsComponent":
        """Build from an XML element (a ``<Component type=...>`` or an element named by its type)."""
        attrs = dict(element.attrib)
        comp_id = attrs.pop("id", "")
        tag = element.tag.rsplit("}", 1)[-1]
        # ``<Component type=X>`` and forms such as ``<concentrationModel type=X>`` name their type.
        comp_type = attrs.pop("type", tag) if tag == "Component" or known_type(attrs.get("type")) else tag
        children = [cls.from_element(child, known_type) for child in element if isinstance(child.tag, str)]
        return cls(comp_id, comp_type, attrs, children)


@dataclass
class ComponentTypeDef:
    """A LEMS ``ComponentType`` a model defines.

    Attributes
    ----------
    name, extends, description
        As written.
    parameters
        Names of its ``Parameter`` elements, with their dimensions.
    location
        Where it was defined.
    xml
        The definition as XML text, for the LEMS tools (pylems) that resolve dynamics.
    """

    name: str
    extends: str | None
    description: str
    parameters: dict[str, str]
    location: Location
    xml: str = field(repr=False, default="")


@dataclass
class ComponentRecord:
    """A top-level component (cell, channel, synapse, input, network...) with its origin.

    Attributes
    ----------
    id
        The component id.
    type
        The ComponentType (the XML tag for NeuroML elements).
    category
        ``cell``, ``synapse``, ``ion_channel``, ``input``, ``concentration_model``, ``network`` or
        ``other``.
    location
        File and line of its definition.
    obj
        The libNeuroML object, or a :class:`LemsComponent`.
    """

    id: str
    type: str
    category: str
    location: Location
    obj: Any = field(repr=False)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model, as ``file:line: element: message``."""

    message: str
    file: str | None = None
    line: int | None = None
    element: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.element:
            parts.append(self.element)
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        parts.append(prefix + self.message)
        return ": ".join(parts)
