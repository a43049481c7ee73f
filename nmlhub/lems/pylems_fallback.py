"""Where pylems cannot read LEMS that jLEMS runs, nmlhub steps in.

nmlhub reads component dynamics through pylems (``flatten.py``) but parses every expression with
its own parser (``expr.py``). pylems parses expressions too, and refuses some that jLEMS reads
(``V .leq. ( -10 )``: its parser does not know ``.leq.``), so an expression pylems cannot parse is
handed to it as a stand-in name and put back, as written, in the flattened component.

Every other pylems failure becomes nmlhub's own one-line error naming the file, the line and the
construct; a pylems message is never what a user sees.
"""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

from lxml import etree

from ..errors import NmlhubError
from ..model.records import ComponentTypeDef

#: dynamics elements and their attributes that hold expressions
EXPRESSION_ATTRIBUTES = {
    "DerivedVariable": ("value",), "DerivedParameter": ("value",), "TimeDerivative": ("value",),
    "StateAssignment": ("value",), "Case": ("condition", "value"), "OnCondition": ("test",),
}
_STAND_IN = "nmlhub_expression_"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class TranslationError(NmlhubError):
    """A component cannot be turned into a NEURON mechanism."""


def pylems_parses(text: str) -> bool:
    """True when pylems's expression parser reads ``text``."""
    from lems.parser.expr import ExprParser

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ExprParser(text).parse()
    except Exception:  # pylems raises bare Exceptions for what it cannot parse
        return False
    return True


class ExpressionStandIns:
    """Expressions pylems cannot parse, replaced by stand-in names and put back after flattening."""

    def __init__(self) -> None:
        self.originals: dict[str, str] = {}

    def replace_in(self, xml: str) -> str:
        """``xml`` with every expression pylems cannot parse replaced by a stand-in name
        (unchanged when there is none)."""
        root = etree.fromstring(xml.encode(), _PARSER)
        changed = False
        for element in root.iter(etree.Element):
            for attribute in EXPRESSION_ATTRIBUTES.get(etree.QName(element).localname, ()):
                text = element.get(attribute)
                if text is not None and text.strip() and not pylems_parses(text):
                    name = f"{_STAND_IN}{len(self.originals)}"
                    self.originals[name] = text
                    element.set(attribute, name)
                    changed = True
        return etree.tostring(root, encoding="unicode") if changed else xml

    def restore(self, fat: Any) -> Any:
        """Put the original expressions back into a pylems FatComponent (and its children)."""
        if self.originals:
            self._restore(fat, set())
        return fat

    def _restore(self, obj: Any, seen: set[int]) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, dict):
            for value in obj.values():
                self._restore(value, seen)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                self._restore(value, seen)
        elif type(obj).__module__.startswith("lems.") and hasattr(obj, "__dict__"):
            for key, value in vars(obj).items():
                if isinstance(value, str):
                    if value in self.originals:
                        setattr(obj, key, self.originals[value])
                else:
                    self._restore(value, seen)


def model_unit_definitions(model: Any) -> list[str]:
    """``<Dimension>`` and ``<Unit>`` elements for what the model defines beyond the NeuroML2 core
    set (pylems is given the core types only; jLEMS reads the model's own definitions too)."""
    from ..units import BASE_DIMENSIONS, UnitRegistry

    core = UnitRegistry.core()
    parts = []
    for name, dimension in model.units.dimensions.items():
        if name not in core.dimensions:
            exponents = " ".join(f'{b}="{e}"' for b, e in zip(BASE_DIMENSIONS, dimension.exponents) if e)
            parts.append(f'<Dimension name="{name}" {exponents}/>')
    for symbol, unit in model.units.units.items():
        if symbol not in core.units:
            parts.append(f'<Unit symbol="{symbol}" dimension="{unit.dimension.name}" power="{unit.power}" '
                         f'scale="{unit.scale!r}" offset="{unit.offset!r}"/>')
    return parts


def without_instance_requirements(xml: str) -> str:
    """A ComponentType's XML without its ``InstanceRequirement`` declarations, which pylems cannot
    resolve (nmlhub links the peer a supported one names itself: ``support.py`` refuses the rest)."""
    if "InstanceRequirement" not in xml:
        return xml
    root = etree.fromstring(xml.encode(), _PARSER)
    for element in list(root.iter(etree.Element)):
        if etree.QName(element).localname == "InstanceRequirement" and element.getparent() is not None:
            element.getparent().remove(element)
    return etree.tostring(root, encoding="unicode")


def without_unread_paths(xml: str, all_types_xml: str) -> str:
    """A ComponentType's XML without the ``<Path>`` declarations no ComponentType of the model reads
    (its name nowhere else in their XML): pylems refuses every component that leaves one unset
    ("Path parameter ... not initialized"), which jLEMS 0.14 runs (measured)."""
    if "<Path" not in xml:
        return xml
    root = etree.fromstring(xml.encode(), _PARSER)
    removed = False
    for element in list(root):
        name = element.get("name", "") if isinstance(element.tag, str) else ""
        if (isinstance(element.tag, str) and etree.QName(element).localname == "Path" and name
                and len(re.findall(rf"\b{re.escape(name)}\b", all_types_xml)) == 1):
            root.remove(element)
            removed = True
    return etree.tostring(root, encoding="unicode") if removed else xml


def _line(component_type: ComponentTypeDef, element: etree._Element) -> int | None:
    start = component_type.location.line
    return start + element.sourceline - 1 if start and element.sourceline else start


_UNRESOLVED_TYPE = re.compile(r"Unable to resolve type '([^']+)' for component '([^']*)'")


def pylems_error(exc: Exception, model: Any, component_id: str | None = None) -> TranslationError:
    """nmlhub's one-line error for a pylems failure: what could not be read, and where (the
    model's own file when pylems's message names no place nmlhub can find)."""
    error = _translated(exc, model, component_id)
    if error.file is None and getattr(model, "path", None) is not None:
        error.file = str(model.path)
    return error


def _translated(exc: Exception, model: Any, component_id: str | None) -> TranslationError:
    if isinstance(exc, NmlhubError):
        return exc if isinstance(exc, TranslationError) else TranslationError(
            exc.message, file=exc.file, line=exc.line, element=exc.element)
    text = str(exc)
    unresolved = _UNRESOLVED_TYPE.search(text)
    if unresolved:
        return _unresolved_type(model, *unresolved.groups())
    unit = re.search(r"Unknown unit symbol '([^']+)'", text)
    if unit:
        return TranslationError(f"not supported: unit '{unit.group(1)}' is neither a NeuroML2 core unit "
                                "nor a <Unit> the model defines")
    from .pylems_messages import explain

    explained = explain(exc, model)
    if explained is not None:
        prefix = "not supported: " if explained.unsupported else ""
        return TranslationError(prefix + explained.message, file=explained.file, line=explained.line,
                                element=explained.element)
    component = model.components.get(component_id) if component_id else None
    construct, tags = _construct(text)
    if component is not None:
        what = f"{construct} of component" if construct else "component"
        return TranslationError(f"not supported: nmlhub's LEMS reader cannot read {what} "
                                f"'{component_id}'", file=component.location.file, line=component.location.line,
                                element=f"<{component.type} id='{component_id}'>")
    if construct is None:
        return _at_simulation(model, "the dynamics of the ComponentTypes this simulation uses")
    return _in_component_types(model, construct, tags)


#: (pattern on a pylems message, the construct in nmlhub's words, the LEMS elements that write it)
_CONSTRUCTS = (
    (r"[Cc]ase", "a conditional derived variable", ("Case", "ConditionalDerivedVariable")),
    (r"Regime", "a regime", ("Regime",)), (r"KineticScheme", "a kinetic scheme", ("KineticScheme",)),
    (r"[Ee]xpression|[Pp]arse", "an expression", ()),
    (r"Child|Children|Path|Tunnel|With", "a child, path or tunnel", ("Child", "Children", "Path", "Tunnel", "With")),
    (r"Event", "an event connection", ("EventConnection",)),
    (r"[Ii]nstantiate", "a structure", ("MultiInstantiate", "CoInstantiate")), (r"[Ii]nclude", "an include", ()),
)


def _construct(text: str) -> tuple[str | None, tuple[str, ...]]:
    """The LEMS construct a pylems message is about, in nmlhub's words, and the elements writing
    it (None when the message says none)."""
    for pattern, words, tags in _CONSTRUCTS:
        if re.search(pattern, text):
            return words, tags
    return None, ()


def _at_simulation(model: Any, what: str) -> TranslationError:
    """The error for a failure placed nowhere else: at the simulation, naming the model's own
    ComponentTypes (or saying it has none)."""
    from .pylems_messages import at_simulation

    types = list(getattr(model, "component_types", {}).values())
    names = ", ".join(f"'{ct.name}'" for ct in types[:5]) + (" ..." if len(types) > 5 else "")
    own = f"the model's own: {names}" if types else "the model defines none: NeuroML2 core types only"
    placed = at_simulation(model, f"not supported: nmlhub's LEMS reader cannot read {what} ({own})")
    return TranslationError(placed.message, file=placed.file, line=placed.line, element=placed.element)


def _in_component_types(model: Any, construct: str, tags: tuple[str, ...]) -> TranslationError:
    """The error for a construct pylems's message does not place: at the first of the model's own
    ComponentTypes that writes it (an expression: one pylems cannot parse), else naming them all."""
    types = list(getattr(model, "component_types", {}).values())
    for ct in types:
        for element in etree.fromstring(ct.xml.encode(), _PARSER).iter(etree.Element) if ct.xml else ():
            name = etree.QName(element).localname
            if name in tags or (not tags and construct == "an expression" and _unparsable(element)):
                return TranslationError(f"not supported: nmlhub's LEMS reader cannot read {construct} "
                                        f"(<{name}>)", file=ct.location.file, line=_line(ct, element),
                                        element=f"ComponentType '{ct.name}'")
    if not types:
        return _at_simulation(model, construct)
    names = ", ".join(f"'{ct.name}'" for ct in types[:5]) + (" ..." if len(types) > 5 else "")
    return TranslationError(f"not supported: nmlhub's LEMS reader cannot read {construct} of the model's "
                            f"ComponentTypes ({names})", file=types[0].location.file, line=types[0].location.line,
                            element=f"ComponentType '{types[0].name}'")


def _unparsable(element: etree._Element) -> bool:
    return any(element.get(attribute) and not pylems_parses(element.get(attribute))
               for attribute in EXPRESSION_ATTRIBUTES.get(etree.QName(element).localname, ()))


#: What jLEMS's Regime reads besides Dynamics (org.lemsml.jlems.core.type.dynamics.Regime, 0.14).
_JLEMS_REGIME_ELEMENTS = frozenset({"DerivedVariable", "StateVariable", "TimeDerivative", "OnStart",
                                    "OnEntry", "OnEvent", "OnCondition"})


def _unresolved_type(model: Any, type_name: str, component: str) -> TranslationError:
    for ct in model.component_types.values():
        if f"<{type_name}" not in ct.xml:
            continue
        root = etree.fromstring(ct.xml.encode(), _PARSER)
        for element in root.iter(etree.Element):
            if etree.QName(element).localname == type_name and element is not root:
                parent = etree.QName(element.getparent()).localname
                where = (f"<{type_name}> inside <Regime> (jLEMS runs it; nmlhub's LEMS reader does not "
                         f"read it there)" if parent == "Regime" and type_name in _JLEMS_REGIME_ELEMENTS
                         else f"<{type_name}> directly inside <{parent}>; LEMS reads it only inside <Dynamics>")
                return TranslationError(f"not supported: {where}", file=ct.location.file,
                                        line=_line(ct, element), element=f"ComponentType '{ct.name}'")
    record = model.components.get(component)
    if record is not None:
        return TranslationError(f"not supported: type '{type_name}' is defined by no ComponentType nmlhub has",
                                file=record.location.file, line=record.location.line,
                                element=f"<{record.type} id='{component}'>")
    return _unresolved_in_files(model, type_name) or TranslationError(
        f"not supported: an element <{type_name}> that no ComponentType defines")


def _unresolved_in_files(model: Any, type_name: str) -> TranslationError | None:
    """The first element of the model's files that names ``type_name`` (as ``type=`` or as its
    tag), so the error can say where (a child's type is often misspelt, e.g. in a gate)."""
    from ..xmlsafe import parse_xml_file

    for source in getattr(model, "files", []):
        if getattr(source, "kind", None) not in ("neuroml", "lems"):
            continue
        try:
            root = parse_xml_file(source.path).getroot()
        except Exception:  # a file nmlhub read once is read again only to locate the element
            continue
        for element in root.iter(etree.Element):
            if element.get("type") == type_name or etree.QName(element).localname == type_name:
                shown = f"<{etree.QName(element).localname}" + (f" type='{type_name}'>" if element.get("type") else ">")
                return TranslationError(f"not supported: type '{type_name}' is defined by no ComponentType "
                                        "nmlhub has (nor jNeuroML's core types)", file=str(source.path),
                                        line=element.sourceline, element=shown)
    return None
