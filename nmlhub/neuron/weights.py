"""The synaptic weights of plastic connections, kept per connection while the network is built and
read at the end of a run (gathered on rank 0 in a parallel run) as a table: synapse, pre cell,
post cell, weight.

A synapse type is plastic when its ComponentType is in :data:`PLASTIC_WEIGHTS`,
which names the state variable holding its weight: nmlhub's STDP types
(:mod:`nmlhub.rules.plasticity`). The weight written is that variable's value at the end of the
run (the connection's strength is its ``weight`` times it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results import SynapseWeights

#: Plastic synapse types -> the state variable holding the plastic weight.
PLASTIC_WEIGHTS = {"nmlhubStdpSynapse": "w", "nmlhubRewardStdpSynapse": "w"}


def plastic_weight_variable(cm: Any) -> str | None:
    """The NMODL name of the plastic weight of a synapse mechanism, or None when not plastic."""
    mechanism = getattr(cm, "mechanism", None)
    flat = getattr(mechanism, "flat", None)
    if flat is None:
        return None
    variable = PLASTIC_WEIGHTS.get(flat.type)
    return mechanism.variables.get(variable) if variable is not None else None


@dataclass
class PlasticConnections:
    """The plastic connections made on this rank: who connects to whom through which synapse
    instance (whose weight variable is read at the end)."""

    rows: list[tuple[str, str, int, str, int, Any, str]] = field(default_factory=list)

    def add(self, synapse: str, pre: tuple[str, int], post: tuple[str, int], point: Any, variable: str) -> None:
        """Keep one connection: its synapse id, (population, cell) at each end, the synapse instance."""
        self.rows.append((synapse, pre[0], int(pre[1]), post[0], int(post[1]), point, variable))

    def table(self) -> SynapseWeights:
        """The weights now, in the order the connections were made."""
        columns = list(zip(*self.rows)) if self.rows else [()] * 7
        synapse, pre_pop, pre_cell, post_pop, post_cell, points, variables = columns
        return SynapseWeights(np.array(synapse, dtype=str), np.array(pre_pop, dtype=str),
                              np.array(pre_cell, dtype=np.int64), np.array(post_pop, dtype=str),
                              np.array(post_cell, dtype=np.int64),
                              np.array([getattr(p, v) for p, v in zip(points, variables)], dtype=np.float64))


def final_weights(connections: PlasticConnections, pc: Any = None, rank: int = 0) -> SynapseWeights | None:
    """The weights of the plastic connections now: this process's, or (given a ParallelContext,
    which every rank must call it with) every rank's on rank 0, sorted by post cell, pre cell and
    synapse; None on the other ranks and when there are none."""
    table = connections.table()
    if pc is None:
        return table if len(table) else None
    tables = pc.py_gather(table, 0)
    if rank != 0:
        return None
    merged = SynapseWeights.concatenate(tables)
    if not len(merged):
        return None
    order = np.lexsort((merged.synapse, merged.pre_cell, merged.pre_population, merged.post_cell,
                        merged.post_population))
    return merged.take(order)
