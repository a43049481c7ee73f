"""A morphological cell's current of one ion, the quantity the NeuroML2 core types expose on a
``cell`` as ``iCa`` (and ``iCa2`` on a ``cell2CaPools``).

The core types compute it in the membrane properties as the sum of the channels of that ion
(``channelDensities[ion='ca']/iDensity`` times the membrane area, plus ``populations[ion='ca']/i``),
positive inward, in amperes. In NEURON every channel density of an ion writes that ion's current
(``ica``, mA/cm2, positive outward), so the cell's current is minus the sum over its NEURON
segments of that current times each segment's area.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Callable

import numpy as np

from ..coretypes import CORE_TYPES_DIR, read_jar_file
from ..xmlsafe import local_name, parse_xml_bytes

#: mA/cm2 times um2 -> A (1 cm2 = 1e8 um2)
_TO_AMPERES = 1e-3 / 1e8

_ION_SELECT = re.compile(r"channelDensities\[ion='(?P<ion>\w+)'\]/iDensity")


@functools.lru_cache(maxsize=1)
def cell_ion_currents() -> Mapping[str, str]:
    """The ion currents of a whole cell that the core types define: exposure name -> ion
    (``{'iCa': 'ca', 'iCa2': 'ca2'}`` in NeuroML v2.3), read from ``Cells.xml``: each
    exposed DerivedVariable of a membrane properties type that adds a ``channelDensities[ion='X']``
    selection."""
    root = parse_xml_bytes(read_jar_file(CORE_TYPES_DIR + "Cells.xml"), source="Cells.xml").getroot()
    currents: dict[str, str] = {}
    for component_type in root:
        if local_name(component_type) != "ComponentType":
            continue
        derived = [d for d in component_type.iter() if local_name(d) == "DerivedVariable"]
        ions = {d.get("name"): m.group("ion") for d in derived
                if (m := _ION_SELECT.fullmatch(d.get("select") or "")) is not None}
        for variable in derived:
            words = set(re.findall(r"\w+", variable.get("value") or ""))
            summed = {ions[name] for name in words & set(ions)}
            if variable.get("exposure") and len(summed) == 1:
                currents[variable.get("exposure")] = summed.pop()
    return MappingProxyType(currents)


def membrane_ion_current(built: Any, ion: str) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
    """What records a morphological cell's current of ``ion`` (A, positive inward): a reference
    recorded at every step (the first section's v) and the ``derive`` of its probe giving the
    current at each sample (0 when no section of the cell holds the ion).

    ``built``: the cell's sections (nmlhub.neuron.morphology)."""
    from neuron import h

    terms = [(h.Vector().record(getattr(seg, f"_ref_i{ion}")), -seg.area() * _TO_AMPERES)
             for section in built.sections if h.ismembrane(f"{ion}_ion", sec=section)
             for seg in section]

    def current(values: np.ndarray) -> np.ndarray:
        total = np.zeros(len(values))
        for vector, factor in terms:
            total += factor * np.asarray(vector)[:len(total)]
        return total

    return built.sections[0](0.5)._ref_v, current
