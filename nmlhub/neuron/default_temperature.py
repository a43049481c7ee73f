"""Networks without a temperature whose mechanisms read one.

A ``network`` (not a ``networkWithTemperature``) sets no temperature. A channel whose q10 settings
read it (``q10ExpTemp``) then has none in jLEMS, which stops ('Problem while trying to return a
value for variable temperature: NaN'); jNeuroML's NEURON export and nmlhub run it at NEURON's
default ``celsius``, 6.3 degC. ``validate`` and ``run`` say so at the network, naming the first
component that reads the temperature.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..model import Model
from ..model.records import Problem

#: How generated NMODL reads the temperature (nmlhub.lems.nmodl_scope).
_READS_TEMPERATURE = re.compile(r"\bcelsius\b")


def default_temperature_warnings(model: Model, network: Any, mechanisms: dict[str, Any]) -> list[Problem]:
    """A warning when ``network`` sets no temperature and a generated mechanism reads it.

    Parameters
    ----------
    model
        The loaded model.
    network
        The simulated network.
    mechanisms
        The simulation's mechanisms by component id.

    Returns
    -------
    list of Problem
        At most one warning, naming the network's file, line and id and the component that reads
        the temperature.
    """
    if getattr(network, "temperature", None) or network is None:
        return []
    for comp_id, cm in mechanisms.items():
        reader = _reader(cm)
        if reader is None:
            continue
        record = model.components.get(network.id)
        location = record.location if record is not None else None
        return [Problem(
            f"network '{network.id}' sets no temperature (a networkWithTemperature does), and {reader} of "
            f"'{comp_id}' reads it: nmlhub, like jNeuroML's NEURON export, runs it at NEURON's default "
            "6.3 degC; jLEMS stops ('Problem while trying to return a value for variable temperature: NaN')",
            getattr(location, "file", None) or str(model.path), getattr(location, "line", None),
            f"<{record.type if record is not None else 'network'} id='{network.id}'>", "warning")]
    return []


def _reader(cm: Any) -> str | None:
    """What of a component's mechanisms reads the temperature: 'channel density X', 'the
    mechanism', or None."""
    biophysics = getattr(cm, "biophysics", None)
    for density in getattr(biophysics, "densities", None) or []:
        if _reads(density.mechanism.text):
            return f"channel density '{density.density_id.split('__', 1)[-1]}'"
    if _reads(_mechanism_text(cm)):
        return "the mechanism"
    return None


def _mechanism_text(cm: Any) -> str:
    """The NMODL of a component's own mechanism: generated, or the user's ``.mod`` file."""
    text = getattr(getattr(cm, "mechanism", None), "text", None)
    user_mod = getattr(cm, "user_mod", None)
    if text is None and user_mod is not None:
        text = Path(user_mod).read_text(errors="replace")
    return text or ""


def _reads(text: str) -> bool:
    """Whether an NMODL text computes with ``celsius`` (not only declares it)."""
    return any("=" in line and _READS_TEMPERATURE.search(line) for line in text.splitlines()
               if not line.lstrip().startswith(":"))
