"""pylems's messages in nmlhub's words: what could not be read (element, attribute, expression)
and where (the file and line of the ComponentType or component it is in), never pylems's text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Explained:
    """A pylems failure explained: the message and where it is; ``unsupported`` when the model is
    valid LEMS nmlhub cannot read (``not supported: ...``), not an error of the model."""

    message: str
    file: str | None = None
    line: int | None = None
    element: str | None = None
    unsupported: bool = True


def _in_types(model: Any, test: Callable[[etree._Element], bool]) -> tuple[Any, etree._Element] | None:
    """The first element of the model's own ComponentTypes that ``test`` accepts, with its type."""
    for definition in model.component_types.values():
        if not definition.xml:
            continue
        root = etree.fromstring(definition.xml.encode(), _PARSER)
        for element in root.iter(etree.Element):
            if test(element):
                return definition, element
    return None


def _at_element(model: Any, test: Callable[[etree._Element], bool], message: str) -> Explained:
    found = _in_types(model, test)
    if found is None:
        return Explained(message)
    definition, element = found
    start = definition.location.line
    line = start + element.sourceline - 1 if start and element.sourceline else start
    return Explained(f"ComponentType {definition.name}: {message}", definition.location.file, line,
                     f"<{etree.QName(element).localname}>")


def _at_tag(model: Any, tag: str, message: str) -> Explained:
    return _at_element(model, lambda e: etree.QName(e).localname == tag, message)


def _at_attribute(model: Any, tag: str, attribute: str, value: str, message: str) -> Explained:
    def test(element: etree._Element) -> bool:
        return etree.QName(element).localname == tag and " ".join(element.get(attribute, "").split()) == value

    return _at_element(model, test, message)


def _at_type(model: Any, name: str, message: str, unsupported: bool = True) -> Explained:
    definition = model.component_types.get(name)
    if definition is None:
        return Explained(message, unsupported=unsupported)
    return Explained(message, definition.location.file, definition.location.line, f"ComponentType '{name}'",
                     unsupported)


def _at_component(model: Any, component_id: str, message: str, unsupported: bool = True) -> Explained:
    record = model.components.get(component_id)
    if record is None:
        return Explained(message, unsupported=unsupported)
    return Explained(message, record.location.file, record.location.line, f"<{record.type} id='{component_id}'>",
                     unsupported)


def _not_implemented(model: Any, m: re.Match) -> Explained:
    construct = m.group(1).split()[-1] if m.group(1).startswith("Attribute") else m.group(1)
    tag = "ComponentReference" if m.group(1).startswith("Attribute") else construct
    what = "the attribute 'local' of <ComponentReference>" if tag != construct else f"<{tag}>"
    return _at_tag(model, tag, f"{what} (nmlhub's LEMS reader cannot read it yet)")


#: pylems's messages (as its source writes them) and what nmlhub says instead.
_PATTERNS: tuple[tuple[str, Callable[[Any, re.Match], Explained]], ...] = (
    (r"Component type '([^']+)' trying to extend unknown component type '([^']+)'",
     lambda model, m: _at_type(model, m.group(1), f"ComponentType '{m.group(1)}' extends '{m.group(2)}', which "
                               "neither the NeuroML2 core types nor the model define", unsupported=False)),
    (r"(Parameter|Link parameter|Path parameter|Component reference) '([^']+)' not initialized for component "
     r"'([^']*)'",
     lambda model, m: _at_component(model, m.group(3), f"component '{m.group(3)}' does not set its "
                                                       f"{m.group(1).lower()} '{m.group(2)}'", False)),
    (r"(InstanceRequirement|ComponentRequirement|IndexParameter|Attribute local on ComponentReference) not yet "
     r"implemented", _not_implemented),
    (r"(Tunnel|KineticScheme)", lambda model, m: _at_tag(model, m.group(1), f"<{m.group(1)}> (nmlhub's LEMS "
                                                                            "reader cannot read it yet)")),
    (r"Parse error when parsing OnCondition test '([^']*)'",
     lambda model, m: _at_attribute(model, "OnCondition", "test", " ".join(m.group(1).split()),
                                    f"the OnCondition test '{m.group(1)}' cannot be parsed")),
    (r"Parse error when parsing case with condition '([^']*)'",
     lambda model, m: _at_attribute(model, "Case", "condition", " ".join(m.group(1).split()),
                                    f"the Case condition '{m.group(1)}' cannot be parsed")),
    (r"Unable to resolve (With|child instance|event connection|multi-instantiate) parameters.*?'([^']+)'\s*$",
     lambda model, m: _at_tag(model, {"With": "With", "child instance": "ChildInstance",
                                      "event connection": "EventConnection",
                                      "multi-instantiate": "MultiInstantiate"}[m.group(1)],
                              f"the parameters of <{m.group(1)}> ('{m.group(2)}') do not resolve")),
    (r"Invalid direction '([^']*)' in event port '([^']+)'",
     lambda model, m: _at_attribute(model, "EventPort", "name", m.group(2),
                                    f"<EventPort name='{m.group(2)}'> has direction '{m.group(1)}' "
                                    "(LEMS reads 'in' or 'out')")),
    (r"Unknown derived variable '([^']+)' in '([^']+)'",
     lambda model, m: _at_component(model, m.group(2), f"a path reads '{m.group(1)}', which '{m.group(2)}' "
                                                       "does not define")),
)


def explain(exc: Exception, model: Any) -> Explained | None:
    """What a pylems failure is about, in nmlhub's words, or None when nothing is known of it."""
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        name = exc.args[0]
        if name not in model.components and name not in model.component_types:
            return Explained(f"'{name}' names no component or ComponentType in the files read "
                             "(is an include missing?)", unsupported=False)
    text = str(exc)
    for pattern, explained in _PATTERNS:
        match = re.search(pattern, text, re.DOTALL)
        if match:
            return explained(model, match)
    return _named(text, model)


def _named(text: str, model: Any) -> Explained | None:
    """A message naming one of the model's ComponentTypes or components, or any id, type,
    attribute or element its files write: where that is (the first element carrying it)."""
    quoted = re.findall(r"""['"]([A-Za-z_][\w.:/\[\]-]*)['"]""", text)
    for name in quoted:
        if name in model.component_types:
            return _at_type(model, name, f"ComponentType '{name}' cannot be read by nmlhub's LEMS reader")
        if name in model.components:
            return _at_component(model, name, f"component '{name}' cannot be read by nmlhub's LEMS reader")
    bare = [word for word in re.findall(r"[A-Za-z_]\w*", text) if word not in quoted]
    for name in list(dict.fromkeys(quoted)) + list(dict.fromkeys(bare)):
        found = _first_carrying(model, name, ids_only=name not in quoted)
        if found is not None:
            file, element = found
            return Explained(f"nmlhub's LEMS reader cannot read {_described(element)}, which carries '{name}'",
                             file, element.sourceline, _described(element))
    return None


def _first_carrying(model: Any, name: str, ids_only: bool) -> tuple[str, etree._Element] | None:
    """The first element of the model's files (in the order read) carrying ``name``: as its id,
    or, unless ``ids_only`` (an unquoted word of a message: English, unless an id), as any
    attribute's value or name, or as its tag."""
    from ..xmlsafe import parse_xml_file

    for source in getattr(model, "files", []):
        if source.kind not in ("lems", "neuroml"):
            continue
        try:
            tree = source.tree if source.tree is not None else parse_xml_file(source.path)
        except Exception:  # an unreadable file was reported when the model was loaded
            continue
        for element in tree.getroot().iter(etree.Element):
            if element.get("id") == name or (not ids_only and (
                    name in element.attrib.values() or name in element.attrib
                    or etree.QName(element).localname == name)):
                return str(source.path), element
    return None


def _described(element: etree._Element) -> str:
    """``<tag id='x'>`` (or its name), as messages name an element."""
    tag = etree.QName(element).localname
    for key in ("id", "name"):
        if element.get(key):
            return f"<{tag} {key}='{element.get(key)}'>"
    return f"<{tag}>"


def at_simulation(model: Any, message: str) -> Explained:
    """``message`` placed at the model's ``<Simulation>`` (file and line), or at its file when
    it has none: where a failure that names nothing is said to be."""
    simulation = getattr(model, "simulation", None)
    location = getattr(simulation, "location", None)
    if location is not None:
        return Explained(message, location.file, location.line, f"Simulation {simulation.id}")
    return Explained(message, str(model.path) if getattr(model, "path", None) is not None else None)
