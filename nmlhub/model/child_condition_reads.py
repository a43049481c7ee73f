"""A parent's TimeDerivative reading a state its child's condition sets: one step behind jLEMS.

jLEMS advances a component's children before the component, each child's step ending with its
conditions, so a parent's derived variable selecting a child's state reads the state as the
child's condition left it in that step. nmlhub integrates the children's states before the
parent's derivatives in the same step (nmlhub.lems.child_order), but a generated mechanism acts on
conditions after its step: the parent's derivative reads such a state a step late
(tests/conformance/event_timing.md, "child_order"). ``validate`` and ``run`` warn at the
TimeDerivative, naming the variable.
"""

from __future__ import annotations

import re

from lxml import etree

from ..xmlsafe import local_name
from .model import Model
from .records import Problem

_NAME = re.compile(r"[A-Za-z_]\w*")


def late_child_condition_warnings(model: Model) -> list[Problem]:
    """A warning per TimeDerivative of the model's own ComponentTypes reading, through its
    type's derived variables, a descendant's state that the descendant's OnCondition sets.

    Parameters
    ----------
    model
        The loaded model.

    Returns
    -------
    list of Problem
        Warnings naming the file, line, type, variable and the child's state.
    """
    from .attachments import type_definition
    from .dynamics_refusals import element_line
    from .ignored_attributes import core_definitions

    core: dict[str, etree._Element] | None = None
    problems = []
    for name, own in model.component_types.items():
        definition = type_definition(model, name, {})
        if definition is None or not _elements(definition, "TimeDerivative"):
            continue
        if core is None:
            core = core_definitions()
        types = _Types(model, core, type_definition)
        derived = types.derived(name)
        for element in _elements(definition, "TimeDerivative"):
            for via, path in types.late_reads(name, _names(element.get("value", "")), derived):
                variable = element.get("variable", "")
                problems.append(Problem(
                    f"'{variable}' is one step behind jLEMS: its TimeDerivative reads '{path}' (through '{via}'), "
                    f"a state the child's <OnCondition> sets, which jLEMS's parent reads as the condition left it "
                    f"in the same step and nmlhub's a step later (in type {name})",
                    own.location.file, element_line(own.location.line, definition, element),
                    "<TimeDerivative>", "warning"))
    return problems


def _elements(definition: etree._Element, tag: str) -> list[etree._Element]:
    return [e for e in definition.iter(etree.Element) if local_name(e) == tag]


def _names(text: str) -> set[str]:
    return set(_NAME.findall(text or ""))


class _Types:
    """The model's and the core's type definitions, read along ``extends`` chains."""

    def __init__(self, model: Model, core: dict, type_definition) -> None:
        self.model, self.core, self.definition = model, core, type_definition

    def _chain(self, name: str) -> list[etree._Element]:
        found = []
        for type_name in self.model.type_chain(name):
            definition = self.definition(self.model, type_name, self.core)
            if definition is not None:
                found.append(definition)
        return found

    def derived(self, name: str) -> dict[str, tuple[str | None, str]]:
        """The type's derived variables: name -> (select, value)."""
        table: dict[str, tuple[str | None, str]] = {}
        for definition in reversed(self._chain(name)):
            for element in _elements(definition, "DerivedVariable"):
                table[element.get("name", "")] = (element.get("select"), element.get("value", ""))
        return table

    def _child_type(self, name: str, child: str) -> str | None:
        for definition in self._chain(name):
            for element in definition:
                if isinstance(element.tag, str) and local_name(element) in ("Child", "Children") \
                        and element.get("name") == child:
                    return element.get("type")
        return None

    def _condition_set(self, name: str) -> set[str]:
        return {a.get("variable", "") for definition in self._chain(name)
                for condition in _elements(definition, "OnCondition")
                for a in condition.iter(etree.Element) if local_name(a) == "StateAssignment"}

    def late_reads(self, name: str, read: set[str], derived: dict, seen: frozenset = frozenset()):
        """(derived variable, path) pairs: what of ``read`` (names of type ``name``) reaches,
        through derived variables, a descendant's state its condition sets."""
        todo, done = list(read), set()
        while todo:
            variable = todo.pop()
            if variable in done or variable not in derived:
                continue
            done.add(variable)
            select, value = derived[variable]
            if not select:
                todo += sorted(_names(value))
                continue
            *steps, last = [re.sub(r"\[.*\]", "", step) for step in select.strip().split("/")]
            owner = name
            for step in steps:
                owner = self._child_type(owner, step) if owner else None
            if not steps or owner is None or (owner, last) in seen:
                continue
            if last in self._condition_set(owner):
                yield variable, select
            else:
                for _, path in self.late_reads(owner, {last}, self.derived(owner), seen | {(owner, last)}):
                    yield variable, "/".join(steps) + "/" + path
