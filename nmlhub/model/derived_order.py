"""Derived variables jLEMS refuses for the order they are declared in.

jLEMS checks the dimensions of a ``DerivedVariable``'s expression against the variables declared
before it; one whose ``value`` reads a derived variable declared after it stops jLEMS (``Checking
derived variable ... No such variable in map``, with or without its own ``dimension``;
TheVirtualBrainShowcase's ``rww.lems.xml``). A ``ConditionalDerivedVariable``'s conditions may
read later ones (jLEMS 0.14 runs them), and so may a ``Regime``'s ``DerivedVariable``: jLEMS computes
a regime's in the order of the file, the earlier reading the later's value of the regime's previous
step, as nmlhub does (``tests/test_regime_derived.py``). nmlhub orders derived variables by what they read and runs
such a file, with the result jLEMS gives once they are declared in order; ``nmlhub validate`` says
so as a warning (``tests/test_validate_attributes.py`` asks jLEMS).
"""

from __future__ import annotations

import re
from lxml import etree

from ..xmlsafe import local_name
from .model import Model
from .records import Problem

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_OPERATOR = re.compile(r"\.\w+\.")  # .gt., .and. ...
_DERIVED = ("DerivedVariable", "ConditionalDerivedVariable")
#: What jLEMS knows the dimension of before any derived variable (a state also derived, as rww's S).
_KNOWN_BEFORE = ("StateVariable", "Parameter", "Constant", "Requirement", "DerivedParameter", "Property",
                 "IndexParameter")


def derived_order_warnings(model: Model) -> list[Problem]:
    """A warning per ``DerivedVariable`` whose value reads a derived variable declared after it in
    the same ``Dynamics``, in every ComponentType of the model's files.

    Parameters
    ----------
    model
        A model loaded with ``keep_trees=True``.

    Returns
    -------
    list of Problem
        Warnings naming the file, line, type and both variables.
    """
    problems = []
    for source in model.files:
        if source.tree is None:
            continue
        for type_element in source.tree.getroot().iter(etree.Element):
            if local_name(type_element) != "ComponentType":
                continue
            for dynamics in type_element.iter(etree.Element):
                if local_name(dynamics) == "Dynamics":
                    problems.extend(_warnings(dynamics, type_element, str(source.path)))
    return problems


def _warnings(dynamics: etree._Element, type_element: etree._Element, file: str) -> list[Problem]:
    type_name = type_element.get("name", "?")
    derived = [e for e in dynamics if isinstance(e.tag, str) and local_name(e) in _DERIVED]
    known = {e.get("name") for e in type_element.iter(etree.Element) if local_name(e) in _KNOWN_BEFORE}
    problems = []
    for k, variable in enumerate(derived):
        if local_name(variable) != "DerivedVariable":
            continue
        later = {e.get("name"): e for e in derived[k + 1:] if e.get("name") not in known}
        read = next((name for name in _IDENTIFIER.findall(_OPERATOR.sub(" ", variable.get("value") or ""))
                     if name in later), None)
        if read is None:
            continue
        name = variable.get("name")
        problems.append(Problem(
            f"jLEMS refuses this file: derived variable {name} reads {read} defined after it in type "
            f"{type_name} ({file}:{later[read].sourceline}); nmlhub orders them (declare {read} first for jLEMS)",
            file, variable.sourceline, f"ComponentType {type_name}", "warning"))
    return problems


__all__ = ["derived_order_warnings"]
