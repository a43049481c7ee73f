"""Resolve LEMS quantity paths (``pop[3]/v``, ``pop/0/cell/v``, ``pop[0]/syn/g``,
``pop[0]/synapses:syn:1/g``) to NEURON references."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import NmlhubError
from .mechanisms import ComponentMechanism
from .network import NetworkInstance, PointCell

_CELL = re.compile(r"^(?P<pop>[^/\[\]]+)(?:\[(?P<i1>\d+)\]|/(?P<i2>\d+)(?:/(?P<comp>[^/]+))?)(?P<rest>(?:/.*)?)$")


class QuantityPathError(NmlhubError):
    """A recorded quantity's path does not lead to anything in the network."""


@dataclass
class Probe:
    """A resolved quantity: a NEURON reference and the factor to SI."""

    path: str
    reference: Any
    to_si: float


def resolve_cell(path: str, instance: NetworkInstance) -> tuple[PointCell, list[str]]:
    """The cell a path starts with, and the remaining path elements."""
    match = _CELL.match(path.strip())
    if match is None:
        raise QuantityPathError(f"'{path}' does not name a cell (expected pop[i]/... or pop/i/cell/...)")
    index = int(match.group("i1") if match.group("i1") is not None else match.group("i2"))
    try:
        cell = instance.cell(match.group("pop"), index)
    except NmlhubError:
        raise QuantityPathError(f"'{path}': no cell {index} in population '{match.group('pop')}'") from None
    rest = [p for p in match.group("rest").split("/") if p]
    return cell, rest


def resolve_quantity(path: str, instance: NetworkInstance,
                     mechanisms: dict[str, ComponentMechanism]) -> Probe:
    """Find what a LEMS quantity path records.

    Raises
    ------
    QuantityPathError
        The population, cell, attached component or variable does not exist.
    """
    cell, rest = resolve_cell(path, instance)
    if not rest:
        raise QuantityPathError(f"'{path}' names a cell but no variable")
    if len(rest) == 1:
        return _variable(path, cell.mechanism, mechanisms[cell.component], rest[0], cell, membrane=True)
    if rest[0].isdigit() and len(rest) == 2:
        if rest[0] != "0":
            raise QuantityPathError(f"'{path}': segment {rest[0]} of a point cell (point cells have segment 0 only)")
        return _variable(path, cell.mechanism, mechanisms[cell.component], rest[1], cell, membrane=True)
    inner = "_".join(rest)
    if cell.mechanism is not None and inner in mechanisms[cell.component].mechanism.variables:
        # A variable inside the cell's own children (pointCellCondBased: naChans/na/m/q).
        return _variable(path, cell.mechanism, mechanisms[cell.component], inner, cell, membrane=False)
    if len(rest) >= 2:
        target, var = rest[0], "_".join(rest[1:])
        parts = target.split(":")
        if len(parts) == 3 and parts[0] == "synapses":
            comp, k = parts[1], int(parts[2])
        else:
            comp, k = target, 0
        attached = cell.attached.get(comp, [])
        if k >= len(attached):
            raise QuantityPathError(f"'{path}': cell {cell.population}[{cell.index}] has no {comp} number {k} attached")
        return _variable(path, attached[k], mechanisms[comp], var, cell, membrane=False)
    raise QuantityPathError(f"'{path}' is not a path nmlhub can record")


def _variable(path: str, point: Any, cm: ComponentMechanism, var: str, cell: PointCell,
              membrane: bool) -> Probe:
    if membrane and var == "v" and cm.mechanism.role == "cell":
        return Probe(path, cell.section(0.5)._ref_v, 1e-3)
    name = cm.mechanism.variables.get(var)
    if name is None or not hasattr(point, f"_ref_{name}"):
        raise QuantityPathError(
            f"'{path}': {cm.mechanism.flat.type if cm.mechanism.flat else 'component'} "
            f"'{cm.component_id}' has no variable '{var}'"
        )
    return Probe(path, getattr(point, f"_ref_{name}"), 1.0)
