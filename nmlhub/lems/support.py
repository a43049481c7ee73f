"""Which LEMS constructs in a model's own ComponentTypes nmlhub's LEMS reader (pylems) and
translator can compute, checked before they are read.

jLEMS accepts some constructs pylems cannot read (a ``DerivedVariable`` inside an
``OnCondition``) or reads into something the translator would ignore (a ``DerivedVariable``
inside a ``Regime``). Such a model is refused with one line naming the file, the line and the
construct, by ``run`` and ``validate`` alike, instead of failing deep inside pylems.
"""

from __future__ import annotations

from lxml import etree

from ..model import Model
from ..model.records import Problem

_HANDLER = frozenset({"StateAssignment", "EventOut", "Transition"})

#: The elements each LEMS dynamics element may contain, for nmlhub.
ALLOWED_CHILDREN: dict[str, frozenset[str]] = {
    "Dynamics": frozenset({"StateVariable", "DerivedVariable", "ConditionalDerivedVariable",
                           "TimeDerivative", "OnStart", "OnCondition", "OnEvent", "OnEntry",
                           "Regime", "KineticScheme"}),
    "Regime": frozenset({"TimeDerivative", "OnCondition", "OnEvent", "OnEntry"}),
    "OnStart": _HANDLER,
    "OnCondition": _HANDLER,
    "OnEvent": _HANDLER,
    "OnEntry": _HANDLER,
    "ConditionalDerivedVariable": frozenset({"Case"}),
}


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def unsupported_constructs(model: Model) -> list[Problem]:
    """Constructs in the model's ComponentTypes that nmlhub cannot compute, one problem each.

    Parameters
    ----------
    model
        A loaded model.

    Returns
    -------
    list of Problem
        Errors naming the file and line of each construct; empty when everything is supported.
    """
    problems = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name, definition in model.component_types.items():
        root = etree.fromstring(definition.xml.encode(), parser)
        first_line = definition.location.line or 1
        for element in root.iter(etree.Element):
            allowed = ALLOWED_CHILDREN.get(_local(element))
            if allowed is None:
                continue
            for child in element:
                if isinstance(child.tag, str) and _local(child) not in allowed:
                    problems.append(Problem(
                        f"ComponentType {name}: <{_local(child)}> inside <{_local(element)}> is not "
                        f"supported (nmlhub reads {', '.join(sorted(allowed))} there)",
                        definition.location.file, first_line + child.sourceline - 1,
                        f"<{_local(child)}>"))
    return problems
