"""Electrical (gap junction) and continuous (graded synapse) projections as columns: the
connections, the component on each side and each connection's weight. Pure: no NEURON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import ConnectionColumns, projection_columns, with_local_rows


@dataclass
class CoupledRows:
    """Connections of an electrical or continuous projection as columns, with the component on
    each side and the weight of every connection (NaN where the connection gives none: each
    side's component then keeps its own default, as in jLEMS; :meth:`weights_or_one`)."""

    columns: ConnectionColumns
    pre_component: list[str]
    post_component: list[str]
    weight: np.ndarray

    def weights_or_one(self) -> np.ndarray:
        """The weights with 1 where a connection gives none (the core types' default)."""
        return np.where(np.isnan(self.weight), 1.0, self.weight)


def coupled_attrs(electrical: bool) -> tuple[str, str, str]:
    """The attributes of a NeuroML projection that hold its electrical or continuous connections."""
    prefix = "electrical" if electrical else "continuous"
    return (f"{prefix}_connections", f"{prefix}_connection_instances", f"{prefix}_connection_instance_ws")


def coupled_rows(proj: Any, electrical: bool, keep: Any = None) -> CoupledRows:
    """The connections of ``proj`` (those ``keep`` accepts: a selector of table rows, for NeuroML
    HDF5 tables read in part) with their components and weights."""
    attrs = coupled_attrs(electrical)
    part = proj if keep is None else with_local_rows(proj, attrs, keep)
    columns = projection_columns(part)
    pre: list[str] = []
    post: list[str] = []
    weights: list[np.ndarray] = []
    shared = getattr(proj, "nmlhub_components", {})  # components of a projection read from HDF5
    for attr in attrs:
        items = getattr(part, attr, None)
        if items is None or len(items) == 0:
            continue
        if hasattr(type(items), "array"):
            n = len(items)
            first = shared.get("synapse") if electrical else shared.get("pre_component")
            last = shared.get("synapse") if electrical else shared.get("post_component")
            pre += [first] * n
            post += [last] * n
            column = items.indices.get("weight")
            weights.append(np.asarray(items.array)[:, column].astype(float) if column is not None
                           else np.full(n, np.nan))
            continue
        for conn in items:
            pre.append(conn.synapse if electrical else conn.pre_component)
            post.append(conn.synapse if electrical else conn.post_component)
        # a weight of 0 is a weight: only a connection without one keeps the components' defaults
        weights.append(np.asarray([np.nan if getattr(c, "weight", None) is None else float(c.weight)
                                   for c in items]))
    weight = np.concatenate(weights) if weights else np.zeros(0)
    return CoupledRows(columns, pre, post, weight)
