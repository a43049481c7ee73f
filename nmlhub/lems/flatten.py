"""Flatten model components with pylems: core types from the jNeuroML jar, plus the model's own
ComponentTypes, resolved into pylems ``FatComponent`` objects with their dynamics."""

from __future__ import annotations

import contextlib
import copy
import io
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from ..coretypes import CORE_TYPES_DIR, list_jar_files, read_jar_file
from ..model import Model
from ..model.records import LemsComponent
from ..model.redeclared import keep_first_constants
from .pylems_fallback import (ExpressionStandIns, TranslationError, model_unit_definitions,  # noqa: F401
                              pylems_error, without_instance_requirements, without_unread_paths)
from .child_types import type_named_children
from .flat_cache import FlatCache
from .regime_events import RegimeEvents
from .support import refuse_unsupported_constructs


def component_xml(record_obj: Any, tag: str) -> str:
    """The XML text of a component (libNeuroML object or :class:`LemsComponent`)."""
    if isinstance(record_obj, LemsComponent):
        return _lems_component_xml(record_obj)
    buffer = io.StringIO()
    record_obj.export(buffer, 0, name_=tag, namespacedef_="", pretty_print=False)
    return buffer.getvalue()


def _lems_component_xml(component: LemsComponent) -> str:
    element = _lems_element(component)
    return etree.tostring(element, encoding="unicode")


def _lems_element(component: LemsComponent) -> etree._Element:
    element = etree.Element(component.type)
    if component.id:
        element.set("id", component.id)
    for key, value in component.parameters.items():
        element.set(key, value)
    for child in component.children:
        element.append(_lems_element(child))
    return element


class Flattener:
    """Resolves the components of one model with pylems (core types loaded once).

    Parameters
    ----------
    model
        The loaded model; its ComponentTypes are added to the core types.
    component_ids
        The ids of the components that will be flattened (and any they refer to).
    extra_xml
        Components made up by the driver (e.g. a cell's channel densities as standalone
        components), by id, as LEMS XML.
    """

    def __init__(self, model: Model, component_ids: list[str],
                 extra_xml: dict[str, str] | None = None, cache_dir: Path | None = None) -> None:
        self._model = model
        refuse_unsupported_constructs(model)
        self._core = {Path(name).name: re.sub(rb"<InstanceRequirement[^>]*/>", b"", read_jar_file(name))
                      for name in list_jar_files(CORE_TYPES_DIR)}
        # (pylems cannot resolve InstanceRequirement, a gap junction's peer; nmlhub links the
        # peer's v itself, so the declaration is dropped.)
        parts = ['<Lems>', '<Include file="NeuroML2CoreTypes.xml"/>', '<Include file="PyNN.xml"/>']
        self._expressions = ExpressionStandIns()
        self._regime_events = RegimeEvents()  # read by nmlhub, as pylems cannot
        parts += model_unit_definitions(model)
        all_types_xml = "\n".join(ct.xml for ct in model.component_types.values())
        for ct in model.component_types.values():
            xml = without_unread_paths(without_instance_requirements(_strip_namespace(ct.xml)), all_types_xml)
            xml = self._expressions.replace_in(xml)
            parts.append(self._regime_events.take_from(xml))
        sources = _SourceXml()
        for comp_id in _with_references(model, component_ids, sources):
            sources.check_quantities(model, comp_id)
            parts.append(_strip_namespace(sources.xml(model, comp_id)))
        for xml in (extra_xml or {}).values():
            parts.append(self._expressions.replace_in(xml))
        parts.append("</Lems>")
        self._text = "\n".join(parts)
        self._resolved: Any = None
        self._own_derivatives: dict[str, list[Any]] = {}
        key = f"{self._text}\n{self._regime_events.fingerprint()}"
        self._cache = FlatCache(cache_dir, key, self._core) if cache_dir is not None else None
        if self._cache is None or not self._cache.entries:
            self._resolve()

    def _resolve(self) -> None:
        """Read the model and the core types with pylems and resolve them (once)."""
        import lems.api as lems

        if self._resolved is not None:
            return
        lems_model = lems.Model(include_includes=True, fail_on_missing_includes=True)
        with tempfile.TemporaryDirectory(prefix="nmlhub-lems-") as scratch:  # pylems reads files only
            folder = Path(scratch)
            for name, text in self._core.items():
                (folder / name).write_bytes(text)
            (folder / "model.xml").write_text(self._text)
            lems_model.add_include_directory(str(folder))
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    lems_model.import_from_file(str(folder / "model.xml"))
                    self._resolved = _resolve_model(lems_model, self._regime_events)
                    self._own_derivatives = _own_time_derivatives(lems_model.component_types)
                    changed = [_keep_nearest_declarations(ct, lems_model.component_types)
                               for ct in self._resolved.component_types]
                    if any(changed):
                        self._refatten()  # pylems flattens here too: its errors are named like the rest
            except Exception as exc:  # pylems raises plain exceptions; nmlhub names the element
                self._resolved = None  # never half resolved
                raise pylems_error(exc, self._model) from None

    def _refatten(self) -> None:
        """Flatten every component again (pylems flattened them while resolving, before the
        types were corrected, and reuses those for the components that refer to them)."""
        resolved = self._resolved
        resolved.fat_components.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            for component in resolved.components:
                if component.id not in resolved.fat_components:
                    resolved.add(resolved.fatten_component(component))

    def fatten(self, component_id: str) -> Any:
        """The pylems FatComponent of a component (from the cache of flattened components when
        it holds it: a fresh copy each time).

        Raises
        ------
        TranslationError
            pylems cannot flatten it.
        """
        if self._cache is not None and component_id in self._cache.entries:
            return self._cache.get(component_id)
        self._resolve()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                fat = self._resolved.fatten_component(self._resolved.components[component_id])
        except Exception as exc:
            raise pylems_error(exc, self._model, component_id) from None
        _restore_time_derivatives(fat, self._own_derivatives)
        fat = self._expressions.restore(fat)
        if self._cache is not None:
            self._cache.put(component_id, fat)
        return fat

    def translated(self, component_id: str, translate: Callable[[Any], Any]) -> Any:
        """``translate`` of the component's FatComponent (nmlhub's plain form, read from the cache
        when it holds it: a fresh copy each time; pylems is then neither run nor imported).
        ``translate`` must depend only on what the cache's key covers (the model's LEMS text and
        nmlhub's LEMS code), as ``Translator.translate`` does."""
        key = f"translated:{component_id}"
        if self._cache is not None and key in self._cache.entries:
            return self._cache.get(key)
        flat = translate(self.fatten(component_id))
        if self._cache is not None:
            self._cache.put(key, flat)
        return flat

    def close(self) -> None:
        """Store what was flattened in the cache (if any)."""
        if self._cache is not None:
            self._cache.save()


def _resolve_model(lems_model: Any, regime_events: RegimeEvents) -> Any:
    """pylems's ``Model.resolve``, with a DerivedParameter that a type declares in place of a
    Parameter of its base types (c302's cellW2D: ``C = tau * COND_SCALE`` over
    baseCellMembPotCap's Parameter C) taking that parameter's place, as in jLEMS: pylems keeps
    the base type's Parameter and refuses every component for not setting it. The regimes'
    ``OnEvent`` handlers pylems could not read are put back here (``regime_events``)."""
    resolved = lems_model.copy()
    for component_type in resolved.component_types:
        resolved.resolve_component_type(component_type)
    regime_events.add_to(resolved.component_types)
    for component_type in resolved.component_types:
        _derived_replaces_parameter(component_type, lems_model.component_types)
        _inherit_event_handlers(component_type, resolved.component_types, lems_model.component_types)
    for component in resolved.components:
        if component.id not in resolved.fat_components:
            resolved.add(resolved.fatten_component(component))
    last_type = list(resolved.component_types)[-1] if resolved.component_types else None
    for constant in (last_type.constants if last_type is not None else []):  # as pylems does
        constant = constant.copy()
        constant.numeric_value = resolved.get_numeric_value(constant.value, constant.dimension)
        resolved.add(constant)
    lems_model.resolved_model = resolved
    return resolved


def _own_time_derivatives(own_types: Any) -> dict[str, list[Any]]:
    """The ``TimeDerivative`` elements of the Dynamics each type with regimes runs: its own, or
    those of its nearest base type with Dynamics when it has none (``own_types``: before pylems
    merged their bases into them; a type's own Dynamics replaces its base's, as in jLEMS)."""
    found = {}
    for component_type in own_types:
        source, seen = component_type, set()
        while not source.dynamics.has_content() and source.extends in own_types and source.name not in seen:
            seen.add(source.name)
            source = own_types[source.extends]
        if source.dynamics.regimes and source.dynamics.time_derivatives:
            found[component_type.name] = list(source.dynamics.time_derivatives)
    return found


def _restore_time_derivatives(fat: Any, own_derivatives: dict[str, list[Any]]) -> None:
    """Put back the ``TimeDerivative`` elements of the Dynamics of a type with regimes
    (``own_derivatives``, by type), which pylems's ``fatten_component`` clears
    (``Dynamics.clear``): jLEMS integrates them in every regime, beside the active regime's own
    (tests/conformance/event_timing.md, "record_timing")."""
    if fat.dynamics.regimes and not fat.dynamics.time_derivatives:
        for derivative in own_derivatives.get(fat.type, []):
            fat.dynamics.add_time_derivative(derivative)
    for child in getattr(fat, "child_components", []):
        _restore_time_derivatives(child, own_derivatives)


def _derived_replaces_parameter(resolved: Any, own_types: Any) -> None:
    """Drop from a resolved type each Parameter whose name the nearest type of its chain that
    declares the name declares as a DerivedParameter (``own_types``: before pylems merged)."""
    for name in set(resolved.parameters.keys()) & set(resolved.derived_parameters.keys()):
        type_name, seen = resolved.name, set()
        while type_name in own_types and type_name not in seen:
            seen.add(type_name)
            own = own_types[type_name]
            if name in own.derived_parameters or name in own.parameters:
                if name in own.derived_parameters and name not in own.parameters:
                    del resolved.parameters[name]
                break
            type_name = own.extends


def _inherit_event_handlers(resolved: Any, resolved_types: Any, own_types: Any) -> None:
    """A type without ``<Dynamics>`` of its own runs the whole Dynamics of its nearest base type
    that has one, as in jLEMS (a ``myIaf`` extending ``iafCell`` with one more Parameter resets
    and spikes as an iafCell); pylems merges the base's variables into it but not its
    ``OnStart``/``OnCondition``/``OnEvent`` handlers and regimes, and the cell never started at
    its rest potential nor spiked. ``own_types``: the types before pylems merged their bases."""
    own = own_types[resolved.name] if resolved.name in own_types else None
    if own is None or own.dynamics.has_content():
        return
    base_name, seen = own.extends, set()
    while base_name in own_types and base_name not in seen and not own_types[base_name].dynamics.has_content():
        seen.add(base_name)
        base_name = own_types[base_name].extends
    if not base_name or base_name not in resolved_types:
        return
    base, dynamics = resolved_types[base_name].dynamics, resolved.dynamics
    if not dynamics.event_handlers:
        for handler in base.event_handlers:
            dynamics.add_event_handler(handler)
    for regime in base.regimes:
        if regime.name not in dynamics.regimes:
            dynamics.add_regime(regime)


def _own_declaration(name: str, component_type: Any) -> str | None:
    """How a type's own Dynamics (not its base types') declares a variable: state, derived or None."""
    dynamics = component_type.dynamics
    as_state = name in dynamics.state_variables
    as_derived = name in dynamics.derived_variables or name in dynamics.conditional_derived_variables
    if as_state == as_derived:
        return None  # not declared, or both (as Sisat in the Pinsky-Rinzel cell): left as it is
    return "state" if as_state else "derived"


def _keep_nearest_declarations(resolved: Any, own_types: Any) -> bool:
    """A variable a type declares as derived and a base type as a state (or the reverse) keeps
    only the nearest type's declaration, as in jLEMS (pylems keeps both: NEURON would refuse
    the mechanism with "Multiple declaration"). ``own_types``: the types before pylems merged
    their bases into them. Returns whether anything changed."""
    dynamics = resolved.dynamics
    changed = False
    # (pylems's maps iterate over their values; their keys are the names)
    derived = set(dynamics.derived_variables.keys()) | set(dynamics.conditional_derived_variables.keys())
    for name in set(dynamics.state_variables.keys()) & derived:
        kind, type_name, seen = None, resolved.name, set()
        while kind is None and type_name and type_name in own_types and type_name not in seen:
            seen.add(type_name)
            kind = _own_declaration(name, own_types[type_name])
            type_name = own_types[type_name].extends
        if kind == "derived":
            del dynamics.state_variables[name]
            if name in dynamics.time_derivatives:
                del dynamics.time_derivatives[name]
        elif kind == "state":
            for table in (dynamics.derived_variables, dynamics.conditional_derived_variables):
                if name in table:
                    del table[name]
        changed = changed or kind is not None
    return changed


class _SourceXml:
    """A component's XML as written in its file (libNeuroML drops elements it has no class for,
    such as a child written under its type name), re-read from the file it came from."""

    def __init__(self) -> None:
        self._trees: dict[str, etree._Element] = {}

    def xml(self, model: Model, comp_id: str) -> str:
        element = self.element(model, comp_id)
        if element is not None:
            element = copy.deepcopy(element)
            type_named_children(model, element, model.components[comp_id].type)
            return etree.tostring(element, encoding="unicode")
        record = model.components[comp_id]
        return component_xml(record.obj, record.type)

    def element(self, model: Model, comp_id: str) -> etree._Element | None:
        """The component's element in its file (None for one read from HDF5 or made in memory)."""
        from ..xmlsafe import parse_xml_file

        file = model.components[comp_id].location.file
        if file.lower().endswith((".h5", ".hdf5")) or not Path(file).is_file():
            return None
        if file not in self._trees:
            self._trees[file] = parse_xml_file(file).getroot()
        for element in self._trees[file]:
            if isinstance(element.tag, str) and element.get("id") == comp_id:
                return element
        return None

    def check_quantities(self, model: Model, comp_id: str) -> None:
        """Refuse a component whose quantities are malformed before pylems reads them (pylems
        loops forever on a value that does not start with a number)."""
        from ..model.unitcheck import quantity_problems

        element = self.element(model, comp_id)
        if element is None:
            return
        problems = quantity_problems(element.iter(etree.Element), model.components[comp_id].location.file, model)
        if problems:
            first = problems[0]
            raise TranslationError(first.message, file=first.file, line=first.line, element=first.element)


def _with_references(model: Model, component_ids: list[str], sources: "_SourceXml") -> list[str]:
    """The components and every component their attributes refer to by id, recursively."""
    ordered: list[str] = []
    pending = list(component_ids)
    while pending:
        comp_id = pending.pop(0)
        if comp_id in ordered or comp_id not in model.components:
            continue
        record = model.components[comp_id]
        if record.category == "network":
            continue
        ordered.append(comp_id)
        xml = sources.xml(model, comp_id)
        root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
        for element in root.iter(etree.Element):
            for value in element.attrib.values():
                if value in model.components and value not in ordered:
                    pending.append(value)
    # referenced components first, so that pylems meets definitions before uses
    return ordered[len(component_ids):][::-1] + ordered[:len(component_ids)]


def _strip_namespace(xml: str) -> str:
    root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    # Annotations (RDF metadata) and notes carry no dynamics and are not LEMS types.
    for element in list(root.iter(etree.Element)):
        if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] in ("annotation", "notes"):
            element.getparent().remove(element) if element.getparent() is not None else None
    for element in root.iter(etree.Element):
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    etree.cleanup_namespaces(root)
    keep_first_constants(root)  # a Constant declared twice: jLEMS uses the first, pylems the last
    return etree.tostring(root, encoding="unicode")
