"""Synapses from the user's own ``.mod`` point processes (:mod:`nmlhub.importers.mod_synapses`):
the NEURON side, a :class:`ComponentMechanism` naming the compiled point process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NmlhubError
from ..model import Model
from ..model.mod_files import variables_in_si
from .options import SimulationError


@dataclass
class UserPointProcess:
    """A point process from the user's ``.mod`` file: its name, the values it is given (as
    :func:`nmlhub.neuron.cells.make_point_process` reads a generated mechanism), and the
    variables it declares with a known unit, by name, with their factors to SI (for recording)."""

    name: str
    parameters: dict[str, float] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    to_si: dict[str, float] = field(default_factory=dict)
    role: str = "current"
    flat: Any = None
    own_v: bool = False


def user_synapse(model: Model, comp_id: str) -> tuple[UserPointProcess, Path] | None:
    """The point process and ``.mod`` file of a component kept as a ``.mod`` synapse, or None."""
    from ..importers.mod_synapses import check_mod_synapse, component_mod_synapse

    record = model.components[comp_id]
    try:
        synapse = component_mod_synapse(record.obj)
        if synapse is None:
            return None
        path = synapse.path(record.location.file)
        check_mod_synapse(synapse, path, comp_id)
    except NmlhubError as exc:
        raise SimulationError(exc.message, file=record.location.file, line=record.location.line) from None
    to_si = variables_in_si(path.read_text(errors="replace"))
    to_si.pop("v", None)
    return UserPointProcess(synapse.mechanism, dict(synapse.parameters), {n: n for n in to_si}, to_si), path
