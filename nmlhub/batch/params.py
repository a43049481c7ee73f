"""Parameters addressed by path into a model, applied by editing a copy of its files.

A run's model is the base model's files copied into the run's folder, with the XML documents
holding the addressed elements edited, so the model as run is a real file anyone can load again.

Paths
-----
``ID.attribute``
    The attribute of the element whose ``id`` is ``ID``: a component (``RS.a``, ``syn_exc.gbase``),
    a population (``Exc.size``), a rule of ``<nmlhub:rules>`` (``EI.weight``, ``EI.probability``,
    ``E.size``). A number replacing a quantity keeps its unit (``RS.a = 0.02`` writes
    ``0.02per_ms`` where the file has ``0.03per_ms``); a string is written as given.
``component:ID.attribute``, ``population:ID.attribute``, ``rule:ID.attribute``
    The same, restricted to one kind of element, when an id is used by several.
``simulation.duration``, ``simulation.dt``, ``simulation.seed``
    The ``<Simulation>``'s length and step (in ms) and seed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterable

from lxml import etree

from ..errors import ModelError
from ..model.rdf_payload import packed, unpack_payloads
from ..rules.annotations import NAMESPACE as RULES_NAMESPACE
from ..rules.connectors import CONNECTORS, parameter_names
from ..rules.keywords import camel_case
from ..xmlsafe import local_name, parse_xml_file

_QUANTITY = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*(?P<unit>[A-Za-z_][A-Za-z0-9_]*)?\s*$")
_KINDS = ("component", "population", "rule")
_SIMULATION_ATTRIBUTES = {"duration": "length", "length": "length", "dt": "step", "step": "step", "seed": "seed"}
#: A rule's parameter by its own name (``EI.probability``) or as ``EI.parameter``.
_RULE_PARAMETER_NAMES = parameter_names() | {"parameter"}


class ParameterError(ModelError):
    """A parameter path names nothing in the model, or a value the model cannot take."""


def model_files(lems_file: str | Path) -> list[Path]:
    """The LEMS file and every file it includes, recursively (includes that are not found next
    to their file, such as NeuroML2's core type files, which nmlhub provides, are left out)."""
    found: list[Path] = []
    stack = [Path(lems_file).resolve()]
    while stack:
        path = stack.pop()
        if path in found:
            continue
        found.append(path)
        if path.suffix.lower() in (".h5", ".hdf5"):
            continue
        for element in parse_xml_file(path).getroot().iter():
            tag = local_name(element)
            target = element.get("href") if tag == "include" else element.get("file") if tag == "Include" else None
            if target and "://" not in target and (path.parent / target).is_file():
                stack.append((path.parent / target).resolve())
    return found


def copy_model(lems_file: str | Path, folder: str | Path) -> tuple[Path, list[Path]]:
    """Copy a model's files (the LEMS file and everything it includes, except nmlhub's core type
    files) into ``folder``, keeping their relative places.

    Returns
    -------
    (Path, list of Path)
        The copied LEMS file and every copied file.
    """
    lems_file = Path(lems_file).resolve()
    sources = model_files(lems_file)
    root = Path(os.path.commonpath([str(p.parent) for p in sources]))
    folder = Path(folder)
    copies = []
    for source in sources:
        target = folder / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copies.append(target)
    return folder / lems_file.relative_to(root), copies


def format_value(value: Any, old: str | None) -> str:
    """The text of ``value`` for an attribute that was ``old``: numbers keep ``old``'s unit."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"a parameter value must be a number or a string, not {value!r}")
    text = str(int(value)) if isinstance(value, int) else repr(float(value))
    match = _QUANTITY.match(old or "")
    if match and match.group("unit"):
        return text + match.group("unit")
    return text


def check_parameter_names(lems_file: str | Path, paths: Iterable[str]) -> None:
    """Check that every parameter path names an element and attribute of the model (values are
    checked run by run), so a misspelt path stops a batch before its first run.

    Raises
    ------
    ParameterError
        The first path that names nothing, or names several elements.
    """
    lems_file = Path(lems_file).resolve()
    documents = ModelDocuments(model_files(lems_file), lems_file)
    for path in paths:
        documents.check_name(path)


def _split(path: str) -> tuple[str | None, str, str]:
    kind = None
    if ":" in path:
        kind, path = path.split(":", 1)
        if kind not in _KINDS:
            raise ParameterError(f"parameter '{kind}:{path}': unknown kind '{kind}' (kinds: {', '.join(_KINDS)})")
    if "." not in path:
        raise ParameterError(f"parameter '{path}': write it as ID.attribute (e.g. RS.a, Exc.size, simulation.dt)")
    target, attribute = path.rsplit(".", 1)
    return kind, target, attribute


def _kind_of(element: etree._Element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag.startswith(f"{{{RULES_NAMESPACE}}}"):
        return "rule"
    return "population" if local_name(element) == "population" else "component"


def _describe(element: etree._Element, file: Path) -> str:
    return f"{_kind_of(element)} <{local_name(element)} id=\"{element.get('id')}\"> ({file.name}:{element.sourceline})"


class ModelDocuments:
    """The XML documents of a copied model, edited in memory and written back on :meth:`save`."""

    def __init__(self, files: Iterable[Path], lems_file: Path) -> None:
        self.lems_file = Path(lems_file)
        self.trees: dict[Path, etree._ElementTree] = {}
        for path in files:
            if Path(path).suffix.lower() in (".h5", ".hdf5"):
                continue
            self.trees[Path(path)] = parse_xml_file(path)
            # rules carried as annotation text become elements, to be found and edited by id
            unpack_payloads(self.trees[Path(path)].getroot(), RULES_NAMESPACE, path)
        self.changed: set[Path] = set()

    def _elements_with_id(self, target: str) -> list[tuple[Path, etree._Element]]:
        return [(path, el) for path, tree in self.trees.items()
                for el in tree.getroot().iter() if isinstance(el.tag, str) and el.get("id") == target]

    def apply(self, path: str, value: Any) -> str:
        """Set the parameter at ``path`` to ``value``; returns the attribute's new text.

        Raises
        ------
        ParameterError
            The path names no element or attribute, is ambiguous, or the value is unusable.
        """
        kind, target, attribute = _split(path)
        if kind is None and target == "simulation":
            return self._apply_simulation(path, attribute, value)
        found = self._elements_with_id(target)
        if kind is not None:
            found = [(f, el) for f, el in found if _kind_of(el) == kind]
        if not found:
            raise ParameterError(f"parameter '{path}': no element with id '{target}'"
                                 + (f" of kind {kind}" if kind else "") + " in the model")
        kinds = sorted(_kind_of(el) for _f, el in found)
        if attribute == "size" and kinds == ["population", "rule"]:
            # a network built from rules declares each population again, with its size: both change
            texts = [self._set(path, file, element, attribute, value) for file, element in found]
            return texts[0]
        if len(found) > 1:
            places = "; ".join(_describe(el, f) for f, el in found)
            raise ParameterError(f"parameter '{path}': the id '{target}' names {len(found)} elements ({places}); "
                                 "prefix the path with component:, population: or rule:")
        return self._set(path, *found[0], attribute, value)

    def check_name(self, path: str) -> None:
        """Raise :class:`ParameterError` unless ``path`` names one element's attribute (or the
        simulation's duration, dt or seed)."""
        kind, target, attribute = _split(path)
        if kind is None and target == "simulation":
            if attribute not in _SIMULATION_ATTRIBUTES:
                raise ParameterError(f"parameter '{path}': the simulation has duration, dt and seed")
            return
        found = self._elements_with_id(target)
        if kind is not None:
            found = [(f, el) for f, el in found if _kind_of(el) == kind]
        if not found:
            raise ParameterError(f"parameter '{path}': no element with id '{target}'"
                                 + (f" of kind {kind}" if kind else "") + " in the model")
        kinds = sorted(_kind_of(el) for _f, el in found)
        if len(found) > 1 and not (attribute == "size" and kinds == ["population", "rule"]):
            places = "; ".join(_describe(el, f) for f, el in found)
            raise ParameterError(f"parameter '{path}': the id '{target}' names {len(found)} elements ({places}); "
                                 "prefix the path with component:, population: or rule:")
        for file, element in found:
            tag = local_name(element)
            settable = (element.get(attribute) is not None or element.get(camel_case(attribute)) is not None
                        or (tag == "connection" and attribute in _RULE_PARAMETER_NAMES)
                        or (tag == "population" and attribute == "size"))
            if not settable:
                known = ", ".join(sorted(element.attrib)) or "none"
                raise ParameterError(f"parameter '{path}': <{tag} id=\"{element.get('id')}\"> has no attribute "
                                     f"'{attribute}' (it has: {known})", file=file)

    def _set(self, path: str, file: Path, element: etree._Element, attribute: str, value: Any) -> str:
        if _kind_of(element) == "rule":
            rules = element.getparent()
            if rules is not None and rules.get("expanded") == "true":
                raise ParameterError(f"parameter '{path}': the network's rules are expanded in the file "
                                     "(expanded=\"true\"), so changing a rule would change nothing; vary a "
                                     "model saved without its expansion", file=file)
        name = self._attribute_name(path, element, attribute, value)
        text = format_value(value, element.get(name))
        element.set(name, text)
        self.changed.add(file)
        return text

    def _attribute_name(self, path: str, element: etree._Element, attribute: str, value: Any) -> str:
        tag, kind = local_name(element), _kind_of(element)
        if kind == "rule" and tag == "connection" and attribute in _RULE_PARAMETER_NAMES:
            rule_kind = element.get("kind", "probability")
            connector = CONNECTORS.get(rule_kind)
            own_name = connector.parameter_name if connector is not None else None
            if attribute != "parameter" and attribute != own_name:
                raise ParameterError(f"parameter '{path}': rule '{element.get('id')}' is a {rule_kind} rule, "
                                     f"not {attribute}; use {element.get('id')}.parameter")
            return "parameter"
        if attribute == "size" and tag == "population":
            if isinstance(value, bool) or not isinstance(value, int) and not (
                    isinstance(value, float) and value.is_integer()):
                raise ParameterError(f"parameter '{path}': a population size is a whole number, not {value!r}")
            if value < 0:
                raise ParameterError(f"parameter '{path}': a population size cannot be negative ({value})")
            if kind == "rule":
                if element.get("density") is not None:
                    raise ParameterError(f"parameter '{path}': population rule '{element.get('id')}' is sized by "
                                         f"a density; vary {element.get('id')}.density instead")
                return "count"
            instances = sum(1 for child in element if local_name(child) == "instance")
            if instances:
                raise ParameterError(f"parameter '{path}': population '{element.get('id')}' lists its {instances} "
                                     "cells one by one (with their connections); its size cannot be changed "
                                     "(build the network from rules to vary it)")
            return "size"
        if element.get(attribute) is None and element.get(camel_case(attribute)) is not None:
            return camel_case(attribute)  # the builder's and libNeuroML's snake_case names
        if element.get(attribute) is None:
            known = ", ".join(sorted(element.attrib)) or "none"
            raise ParameterError(f"parameter '{path}': <{tag} id=\"{element.get('id')}\"> has no attribute "
                                 f"'{attribute}' (it has: {known})")
        return attribute

    def _apply_simulation(self, path: str, attribute: str, value: Any) -> str:
        if attribute not in _SIMULATION_ATTRIBUTES:
            raise ParameterError(f"parameter '{path}': the simulation has duration, dt and seed")
        name = _SIMULATION_ATTRIBUTES[attribute]
        tree = self.trees[self.lems_file]
        sims = [el for el in tree.getroot().iter() if isinstance(el.tag, str) and local_name(el) == "Simulation"]
        if len(sims) != 1:
            raise ParameterError(f"parameter '{path}': the LEMS file has {len(sims)} <Simulation> elements, not one",
                                 file=self.lems_file)
        if name == "seed":
            if isinstance(value, bool) or not float(value).is_integer():
                raise ParameterError(f"parameter '{path}': a seed is a whole number, not {value!r}")
            text = str(int(value))
        elif isinstance(value, str):
            text = value
        else:
            if not value > 0:
                raise ParameterError(f"parameter '{path}': must be positive, not {value!r}")
            text = f"{float(value)!r}ms"
        sims[0].set(name, text)
        self.changed.add(self.lems_file)
        return text

    def save(self) -> list[Path]:
        """Write the edited documents back (each through a temporary file); returns them."""
        from ..results import write_atomic_bytes

        for path in sorted(self.changed):
            tree = packed(self.trees[path], RULES_NAMESPACE)
            write_atomic_bytes(path, etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
        return sorted(self.changed)


def model_as_run(lems_file: str | Path, folder: str | Path, values: dict[str, Any]) -> Path:
    """Copy the model into ``folder`` and set every parameter of ``values`` (path -> value) in the copy.

    Returns
    -------
    Path
        The copied LEMS file, ready to load and run.

    Raises
    ------
    ParameterError
        A path names nothing in the model, or a value cannot be set.
    """
    lems, files = copy_model(lems_file, folder)
    documents = ModelDocuments(files, lems)
    for path, value in values.items():
        documents.apply(path, value)
    documents.save()
    return lems
