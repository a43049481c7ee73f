"""A variable exposed under another name, which jLEMS reads as 0.

``<StateVariable name="B" exposure="Bx"/>`` (or a ``DerivedVariable`` so written) exposes B's value
as ``Bx``, as LEMS defines the attribute. jLEMS 0.14 (asked by ``tests/test_renamed_exposures.py``)
records ``B`` as 0 at every sample, reads 0 through a parent's ``select`` of ``Bx`` or of ``B``,
and refuses to record ``Bx`` (``Can't parse p/[0]/Bx``). nmlhub records ``B`` as it is and reads
it through a ``select`` of either name; ``validate`` and ``run`` warn at the variable.
"""

from __future__ import annotations

from lxml import etree

from ..xmlsafe import local_name
from .model import Model
from .records import Problem

_VARIABLES = ("StateVariable", "DerivedVariable", "ConditionalDerivedVariable")


def renamed_exposure_warnings(model: Model) -> list[Problem]:
    """A warning per variable of the model's own ComponentTypes exposed under another name.

    Parameters
    ----------
    model
        The loaded model.

    Returns
    -------
    list of Problem
        Warnings naming the file, line, variable, exposure, type and what jLEMS does instead.
    """
    from .attachments import type_definition

    problems = []
    for name, own in model.component_types.items():
        definition = type_definition(model, name, {})
        if definition is None:
            continue
        for element in definition.iter(etree.Element):
            tag = local_name(element)
            variable, exposure = element.get("name"), element.get("exposure")
            if tag not in _VARIABLES or not exposure or exposure == variable:
                continue
            line = own.location.line
            if line is not None and element.sourceline is not None and definition.sourceline is not None:
                line += element.sourceline - definition.sourceline
            problems.append(Problem(
                f"{variable} is exposed as '{exposure}' (in type {name}): jLEMS records '{variable}' as 0 at every "
                f"sample, reads 0 through a select of '{exposure}' or '{variable}' and cannot record '{exposure}' "
                f"('Can't parse'); nmlhub records {variable} and reads it through a select of either name, as "
                f"LEMS defines the exposure (name the exposure '{variable}' for jLEMS)",
                own.location.file, line, f"<{tag} name='{variable}'>", "warning"))
    return problems


__all__ = ["renamed_exposure_warnings"]
