"""The order of a flattened component's Euler step: children before their parent, as jLEMS.

jLEMS advances a component's children (recursively) before the component itself; each component's
step computes its derived variables, then its time derivatives and Euler updates, then its
conditions (``StateInstance.advance``, ``StateType.eulerAdvance``). A parent's derived variable
that selects a child's *state* therefore reads the value the child's step has just left, and a
child's *derived* variable as the child computed it at the start of its step. A flattened
mechanism holds the parent and its children in one explicit Euler step: where a parent's time
derivative reads such a derived variable, the step is printed in stages, deepest scope first, each
stage computing again the derived variables of its scope that read its children's new states, then
integrating the scope's states (tests/conformance/event_timing.md, "child_order").

What a child's *condition* sets reaches the parent's derivative a step after jLEMS (a mechanism's
conditions act after its step): :func:`late_through_conditions` names such reads for a warning.
"""

from __future__ import annotations

from . import expr as ex
from .translate import FlatComponent


def _below(scope: str, owner: str) -> bool:
    """Whether the scope ``scope`` lies inside (is a descendant of) the scope ``owner``."""
    return scope != owner and scope.startswith(owner)


def after_children(flat: FlatComponent) -> tuple[list[str], list[str]]:
    """The derived variables jLEMS computes from its children's states of the step's end (a
    parent's reading, directly or through its own or its descendants' such variables, a
    descendant's state), in the order they are computed, and the descendants' states they read."""
    owners = flat.owners
    fresh: list[str] = []
    states: list[str] = []
    for name, value in flat.derived:  # in the order they read each other
        owner = owners.get(name, "")
        read = ex.names(value)
        upward = [s for s in read if s in flat.states and _below(owners.get(s, ""), owner)]
        via = [d for d in read if d in fresh and (owners.get(d, "") == owner or _below(owners.get(d, ""), owner))]
        if upward or via:
            fresh.append(name)
            states += [s for s in upward if s not in states]
    return fresh, states


def _derivative_reads(flat: FlatComponent, state: str) -> set[str]:
    """Every name the time derivatives of ``state`` (in any regime) read, through derived variables."""
    derived = dict(flat.derived)
    direct = set().union(*(ex.names(tds[state]) for tds in flat.time_derivatives.values() if state in tds))
    return ex.reads_through(derived, list(direct))


def stages(flat: FlatComponent, states: list[str]) -> list[tuple[list[str], list[str]]] | None:
    """The Euler step of ``states`` in jLEMS's order: (derived variables to compute again, states
    to integrate) per scope, deepest first; None when no time derivative reads a derived variable
    computed from the children's new states (one stage, every derivative from the start values)."""
    fresh, _ = after_children(flat)
    if not fresh:
        return None
    needed = set().union(*(_derivative_reads(flat, s) for s in states)) & set(fresh) if states else set()
    if not needed:
        return None
    owners = flat.owners
    scopes = {owners.get(s, "") for s in states} | {owners.get(d, "") for d in needed}
    ordered = sorted(scopes, key=len, reverse=True)  # a child's prefix extends its parent's
    return [([d for d in fresh if d in needed and owners.get(d, "") == scope],
             [s for s in states if owners.get(s, "") == scope]) for scope in ordered]


def late_through_conditions(flat: FlatComponent, states: list[str]) -> list[tuple[str, str]]:
    """(state, child's state) pairs: a time derivative of ``state`` reads, through a parent's
    derived variable, a descendant's state that a condition sets. jLEMS's parent reads it as the
    child's condition left it in the step; the mechanism acts on conditions after its step."""
    fresh, _ = after_children(flat)
    if not fresh:
        return []
    derived = dict(flat.derived)
    assigned = {a.target for c in flat.conditions for a in c.actions if a.kind == "assign"}
    found = []
    for state in states:
        reads = _derivative_reads(flat, state)
        if not reads & set(fresh):
            continue
        owner = flat.owners.get(state, "")
        for child_state in sorted(ex.reads_through(derived, sorted(reads & set(fresh))) & assigned):
            if child_state in flat.states and _below(flat.owners.get(child_state, ""), owner):
                found.append((state, child_state))
    return found
