"""Hybrid networks: change the cell model of a population without touching any rule.

Connections are expanded from positions and the rules' own random streams, never from the cells'
morphologies, so the same pre/post pairs come out whatever cell a population uses; only where
synapses land on the cell changes (onto a point cell, on the cell itself).
"""

from __future__ import annotations

from typing import Any

from .values import RuleError


def parse_switches(items: list[str]) -> dict[str, str]:
    """``["E=izh_RS", "I=fs"]`` as ``{"E": "izh_RS", "I": "fs"}``."""
    switches = {}
    for item in items:
        population, sep, cell = item.partition("=")
        if not sep or not population.strip() or not cell.strip():
            raise RuleError(f"--switch-cell '{item}': expected POPULATION=CELL_ID")
        switches[population.strip()] = cell.strip()
    return switches


def switch_cells(model: Any, switches: dict[str, str], network_id: str | None = None) -> None:
    """Make populations of a loaded model use other cell components (in memory).

    Parameters
    ----------
    model
        A :class:`~nmlhub.model.Model`; its network's populations (from rules or written out)
        are changed in place.
    switches
        Population id -> id of a cell component the model defines.
    network_id
        The network (default: the simulation's target, or the model's only network).

    Raises
    ------
    RuleError
        An unknown population, or a cell id that is not a cell of the model.
    """
    network = model.network(network_id)
    rules = model.rules.get(network.id)
    for population, cell_id in switches.items():
        record = model.components.get(cell_id)
        if record is None or record.category != "cell":
            raise RuleError(f"population '{population}': '{cell_id}' is not a cell defined in the model")
        found = False
        for pop in getattr(rules, "populations", None) or []:
            if pop.id == population:
                pop.use_cell(cell_id)
                found = True
        for pop in network.populations:
            if pop.id == population:
                pop.component = cell_id
                found = True
        if not found:
            raise RuleError(f"network '{network.id}' has no population '{population}'")
