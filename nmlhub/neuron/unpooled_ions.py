"""Cells whose channels read an ion's concentration that no ``species`` of the cell declares.

jLEMS takes a cell's ``caConc`` from its species, so without one it is 0; nmlhub, like jNeuroML's
NEURON export, leaves NEURON's default concentration (``cai`` 5e-5 mM). ``validate`` and ``run``
say so at the cell, naming the channel density that reads it.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import Model
from ..model.records import Problem

#: Ions whose inside concentration a cell's species provide, with its LEMS name.
_POOLED = {"ca": "caConc", "ca2": "caConc2"}


def unpooled_ion_warnings(model: Model, mechanisms: dict[str, Any]) -> list[Problem]:
    """A warning per cell and ion read by a generated channel density without a species.

    Parameters
    ----------
    model
        The loaded model.
    mechanisms
        The simulation's mechanisms by component id (``biophysics`` set for morphological cells).

    Returns
    -------
    list of Problem
        Warnings naming the cell's file, line and id, the ion and the first density reading it.
    """
    warnings: list[Problem] = []
    for comp_id, cm in mechanisms.items():
        biophysics = getattr(cm, "biophysics", None)
        if biophysics is None or comp_id not in model.components:
            continue
        declared = {sp.ion for sp in biophysics.species}
        for ion, lems_name in _POOLED.items():
            readers = [d.density_id.split("__", 1)[-1] for d in biophysics.densities
                       if ion not in declared and _reads(d.mechanism.text, f"{ion}i")]
            if readers:
                record = model.components[comp_id]
                warnings.append(Problem(
                    f"cell '{comp_id}' has no species '{ion}', and its channel density '{readers[0]}' reads "
                    f"{lems_name}: jLEMS reads {lems_name} 0 there, nmlhub NEURON's default {ion}i "
                    f"(5e-5 mM unless the model sets it)", record.location.file, record.location.line,
                    f"<{record.type} id='{comp_id}'>", "warning"))
    return warnings


def _reads(text: str, name: str) -> bool:
    """Whether an NMODL text uses ``name`` in a computation (not only declares it)."""
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    return any("=" in line and pattern.search(line) for line in text.splitlines()
               if not line.lstrip().startswith(("USEION", ":")))
