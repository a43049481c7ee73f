"""Inputs and synapses the simulation does not use that leave a parameter of their type unset.

nmlhub builds only what the simulation uses, so such a component does not stop ``nmlhub run``
(a used one is refused when its mechanism is made). jNeuroML resolves every component of the
files and refuses the whole file (``no value supplied for parameter``), as it does for a
``voltageClamp`` written with the ``seriesResistance`` of older NeuroML versions: ``validate``
says so in a warning at the component.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ..xmlsafe import local_name, parse_xml_file
from .model import Model
from .records import Problem
from .typesystem import parameter_dimensions

#: Categories whose parameters are all written as attributes of the component's element.
_ATTRIBUTE_CATEGORIES = ("input", "synapse")


def unused_unset_parameter_warnings(model: Model, used: set[str]) -> list[Problem]:
    """A warning for each input or synapse outside ``used`` that does not set a parameter.

    Parameters
    ----------
    model
        The loaded model.
    used
        The ids of the components the simulation builds.

    Returns
    -------
    list of Problem
        Warnings naming the file, line, component and the first parameter left unset.
    """
    parents = model.user_type_parents()
    user_parameters = {name: ct.parameters for name, ct in model.component_types.items()}
    trees: dict[str, etree._Element] = {}
    warnings: list[Problem] = []
    for comp_id, record in model.components.items():
        if comp_id in used or record.category not in _ATTRIBUTE_CATEGORIES:
            continue
        element = _element(record.location.file, comp_id, trees)
        if element is None:
            continue
        declared = parameter_dimensions(record.type, parents, user_parameters)
        missing = [name for name in declared if name not in element.attrib]
        if missing:
            warnings.append(Problem(
                f"component '{comp_id}' ({record.type}) does not set its parameter '{missing[0]}': the "
                f"simulation does not use it, so nmlhub runs the file; jNeuroML refuses the file "
                f"('no value supplied for parameter: {missing[0]}')",
                record.location.file, element.sourceline, f"<{local_name(element)} id='{comp_id}'>", "warning"))
    return warnings


def _element(file: str, comp_id: str, trees: dict[str, etree._Element]) -> etree._Element | None:
    """The top-level element of ``comp_id`` in ``file`` (None for HDF5 or a file not on disk)."""
    if not file or file.lower().endswith((".h5", ".hdf5")) or not Path(file).is_file():
        return None
    if file not in trees:
        trees[file] = parse_xml_file(file).getroot()
    return next((e for e in trees[file] if isinstance(e.tag, str) and e.get("id") == comp_id), None)
