"""Recording more than a LEMS file's outputs (``nmlhub run --record``, ``--record-every``): an
extra ``OutputFile`` of the expanded paths (:mod:`nmlhub.model.record_paths`), and the sampling
interval in steps. Imports no NEURON."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..model.record_paths import expand_record_paths
from ..model.simulation import OutputColumn, OutputFile, Simulation
from .options import SimulationError


def with_recorded_output(settings: Simulation, patterns: Sequence[str], network: Any, file_name: str) -> Simulation:
    """The simulation settings with one more ``OutputFile`` (``file_name``) holding every quantity
    ``patterns`` name (the settings unchanged without patterns).

    Raises
    ------
    QuantityPathError
        A pattern that names no population, cell or quantity.
    """
    if not patterns:
        return settings
    from .plan import network_populations

    populations = {view.id: (view.component, view.ids) for view in network_populations(network)}
    paths = expand_record_paths(patterns, populations)
    columns = tuple(OutputColumn(path, path) for path in paths)
    output = OutputFile("nmlhub_record", file_name, columns)
    return dataclasses.replace(settings, outputs=settings.outputs + (output,))


def sample_steps(name: str, every_ms: float | None, dt_ms: float, file: Any = None) -> int:
    """Time steps per sample of a quantity recorded every ``every_ms`` (None: every step).

    Raises
    ------
    SimulationError
        ``every_ms`` is not a positive multiple of the time step.
    """
    if every_ms is None:
        return 1
    steps = every_ms / dt_ms
    if every_ms <= 0 or round(steps) < 1 or abs(steps - round(steps)) > 1e-6 * steps:
        raise SimulationError(f"{name} ({every_ms:g} ms) must be a positive multiple of the time step "
                              f"({dt_ms:g} ms), e.g. {max(1, round(steps)) * dt_ms:g} ms", file=file)
    return int(round(steps))


def record_every_ms(option: float | None, settings: Simulation) -> float | None:
    """The sampling interval: the run option, else the simulation's ``<Meta for="nmlhub"
    recordEvery="MS"/>`` (as :meth:`NetworkBuilder.record` writes it), else None (every step).

    Raises
    ------
    SimulationError
        A ``recordEvery`` that is not a number.
    """
    if option is not None:
        return option
    written = dict(settings.meta).get("recordEvery")
    if written is None:
        return None
    try:
        return float(written)
    except ValueError:
        raise SimulationError(f"<Meta recordEvery=\"{written}\">: not a number of ms",
                              file=settings.location.file if settings.location else None) from None
