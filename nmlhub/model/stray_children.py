"""Child elements of a component that fill none of its type's ``<Child>`` or ``<Children>``.

jLEMS matches a component's child element to a ``<Child>`` by the element's name only, and
otherwise to a ``<Children>`` whose type the element's type is or extends; any other child
element stops it (``No such children list for type: (leakPart) in parted``;
``tests/test_missing_children.py`` asks it). nmlhub binds ``<leakPart id="leak">`` to the Child
``leak`` by its id (or its type), and builds an element that fills nothing without reading it:
``validate`` and ``run`` warn of each, at its line, for components of the model's own types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from lxml import etree

from ..xmlsafe import local_name, parse_xml_file
from .model import Model
from .records import Problem

#: Elements that are not components, or that every tool reads whatever the type (notes...).
_SKIPPED = frozenset({"notes", "annotation", "property", "Meta", "ComponentType", "Include", "include", "Target",
                      "Dimension", "Unit", "Constant", "Assertion", "Simulation"})


def stray_child_problems(model: Model) -> list[Problem]:
    """Warnings for the child elements jLEMS cannot place, in the files the model kept the trees of
    (``validate`` loads with ``keep_trees=True``).

    Parameters
    ----------
    model
        The loaded model.

    Returns
    -------
    list of Problem
        One warning per child element, naming the file, line, element, the parent's type and
        what nmlhub does with it.
    """
    return _problems(model, [(str(s.path), s.tree.getroot()) for s in model.files if s.tree is not None])


def stray_child_warnings(model: Model, trees: list[tuple[Any, str, etree._ElementTree]] | None = None
                         ) -> list[Problem]:
    """:func:`stray_child_problems` for a model loaded without its trees (as ``run`` loads it):
    in the files holding components of the model's own types, taken from ``trees`` (path, kind,
    tree: those the run has parsed again already) or read again."""
    files = {str(r.location.file) for r in model.components.values()
             if r.type in model.component_types and r.location is not None}
    if trees is not None:
        parsed = {str(path): tree for path, _, tree in trees}
        if files <= set(parsed):
            return _problems(model, [(file, parsed[file].getroot()) for file in sorted(files)])
    roots = []
    for file in sorted(files):
        if not Path(file).is_file() or file.lower().endswith((".h5", ".hdf5")):
            continue
        try:
            roots.append((file, parse_xml_file(file).getroot()))
        except Exception:  # read once already; a file changed since is the run's problem
            continue
    return _problems(model, roots)


def _problems(model: Model, roots: list[tuple[str, etree._Element]]) -> list[Problem]:
    if not model.component_types:
        return []
    problems = []
    for file, root in roots:
        for element in root:
            if isinstance(element.tag, str) and local_name(element) not in _SKIPPED:
                problems.extend(_check(model, element, _type_of(element), file))
    return problems


def _type_of(element: etree._Element) -> str:
    return element.get("type") or local_name(element)


def _check(model: Model, element: etree._Element, type_name: str, file: str) -> Iterator[Problem]:
    if type_name not in model.component_types:
        return
    declarations = _declarations(model, type_name)
    if declarations is None:
        return
    singles, collections = declarations
    for child in element:
        if not isinstance(child.tag, str) or local_name(child) in _SKIPPED:
            continue
        tag = local_name(child)
        if tag in singles:
            yield from _check(model, child, child.get("type") or singles[tag], file)
            continue
        child_type = _type_of(child)
        chain = model.type_chain(child_type)
        if any(kind in chain for kind in collections):
            yield from _check(model, child, child_type, file)
            continue
        yield _stray(child, child_type, chain, type_name, singles, file)


def _stray(child: etree._Element, child_type: str, chain: list[str], parent_type: str, singles: dict[str, str],
           file: str) -> Problem:
    tag, ident = local_name(child), child.get("id")
    label = f"<{tag} id='{ident}'>" if ident else f"<{tag}>"
    fitting = [name for name, kind in singles.items() if kind in chain]
    if ident in singles:
        done, hint = f"reads it as the Child '{ident}' (its id)", f"write it as <{ident} type=\"{child_type}\" .../>"
    elif len(fitting) == 1:
        done, hint = (f"reads it as the Child '{fitting[0]}' (its type)",
                      f"write it as <{fitting[0]} type=\"{child_type}\" .../>")
    else:
        done, hint = "builds it without reading it", "take it out"
    return Problem(f"jLEMS refuses this file: {label} fills no <Child> of ComponentType {parent_type} (matched by the "
                   f"element's name) nor a <Children> of its type ('No such children list for type: ({child_type}) "
                   f"in {parent_type}'); nmlhub {done} ({hint})", file, child.sourceline, label, "warning")


def _declarations(model: Model, type_name: str) -> tuple[dict[str, str], set[str]] | None:
    """The type's Child names with their types, and its Children's types (with those of the types it
    extends); None when a type of its chain is defined nowhere."""
    from .attachments import type_definition
    from .ignored_attributes import core_definitions

    singles: dict[str, str] = {}
    collections: set[str] = set()
    for name in reversed(model.type_chain(type_name)):
        definition = type_definition(model, name, core_definitions())
        if definition is None:
            return None
        for item in definition:
            if isinstance(item.tag, str) and local_name(item) == "Child":
                singles[item.get("name", "")] = item.get("type", "")
            elif isinstance(item.tag, str) and local_name(item) == "Children":
                collections.add(item.get("type", ""))
    return singles, collections


__all__ = ["stray_child_problems", "stray_child_warnings"]
