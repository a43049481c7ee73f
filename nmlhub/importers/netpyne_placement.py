"""Where NetPyNE puts synapses and stimulation inputs on a cell, as nmlhub placements.

- ``sec`` (a section, a section list, or a list of either) and ``loc``: each synapse at ``loc``
  along one section (drawn uniformly among several, as NetPyNE's ``connRandomSecFromList``); a
  list of ``loc`` values pairs with the sections, or with ``synsPerConn`` places each synapse;
  without ``sec``, the soma (or the cell's first section), as NetPyNE;
- ``synsPerConn``: that many synapses per connection, spread evenly along the sections end to
  end, each with the connection's weight and delay (NetPyNE's ``distributeSynsUniformly``);
- a stimulation's ``cellList`` condition: those cells (indices within the one population);
- ``subConnParams``: a connection rule whose pre and post cells are all among a sub-connectivity
  rule's gets its ``sec`` and ``density`` (``uniform``: by length; ``1Dmap``/``2Dmap``: by
  length times the map's density at each segment, with ``fixedSomaY``).

NetPyNE shares its connections out over segments by rounded expected counts; nmlhub draws each
synapse's segment with the same probabilities (so counts per segment agree on average).
"""

from __future__ import annotations

from typing import Any

from ..rules.connectivity import Placement
from ..rules.values import RuleError
from .netpyne_expr import NetPyNEError

#: The x range of a 1D map made 2D (constant across x).
_WIDE = 1e9


def clean_id(name: str) -> str:
    """A NetPyNE name as a NeuroML id (as the importer names sections and rules)."""
    import re

    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
    return text if re.match(r"[A-Za-z_]", text) else f"n_{text}"


def section_groups(cells: list[Any], sec: Any, what: str) -> tuple[str, ...]:
    """The segment groups of the sections ``sec`` names on NeuroML ``cells`` (imported
    cellParams): a section list is its sections; no ``sec``: ``soma`` or the first section."""
    names = [sec] if isinstance(sec, str) else list(sec or [])
    out: list[str] = []
    for cell in cells:
        groups = {g.id: g for g in cell.morphology.segment_groups}
        wanted = names or (["soma"] if "soma" in groups else [cell.morphology.segment_groups[0].id])
        found: list[str] = []
        for name in wanted:
            group = groups.get(clean_id(name))
            if group is None:
                raise NetPyNEError(f"{what}: cell '{cell.id}' has no section or section list '{name}'")
            found += [inc.segment_groups for inc in group.includes] if group.includes and not group.members \
                else [group.id]
        if out and found != out:
            raise NetPyNEError(f"{what}: sections {names} differ between the target cells")
        out = found
    return tuple(out)


def connection_placement(rule: dict, cells: list[Any], what: str) -> Placement | None:
    """The placement of a connParams rule's synapses on its post cells (``cells``, NeuroML; none
    for point cells, where a synapse has one place)."""
    loc, count = rule.get("loc", 0.5), rule.get("synsPerConn", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise NetPyNEError(f"{what}: synsPerConn {count!r} is not imported (a whole number >= 1 is)")
    if not cells:
        return None
    if rule.get("sec") is None and loc == 0.5 and count == 1:
        return None
    groups = section_groups(cells, rule.get("sec"), what)
    try:
        if isinstance(loc, (list, tuple)):
            return Placement(groups, loc=tuple(float(v) for v in loc), syns_per_conn=count)
        if count > 1:
            return Placement(groups, syns_per_conn=count)
        return Placement(groups, loc=float(loc))
    except RuleError as exc:
        raise NetPyNEError(f"{what}: sec {rule.get('sec')!r}, loc {loc!r}, synsPerConn {count}: {exc.message}") from None


def density_placement(sub: dict, cells: list[Any], what: str) -> Placement:
    """The placement a subConnParams rule gives: its sections and density."""
    groups = section_groups(cells, sub.get("sec"), what)
    density = sub.get("density", "uniform")
    kind = density if isinstance(density, str) else dict(density).get("type")
    if kind == "uniform":
        return Placement(groups)
    if kind not in ("1Dmap", "2Dmap"):
        raise NetPyNEError(f"{what}: density type {kind!r} is not imported (uniform, 1Dmap and 2Dmap are)")
    unknown = set(density) - {"type", "gridX", "gridY", "gridValues", "fixedSomaY"}
    if unknown:
        raise NetPyNEError(f"{what}: density key(s) {', '.join(sorted(unknown))} are not imported")
    try:
        grid_y = [float(v) for v in density["gridY"]]
        if kind == "2Dmap":
            grid_x = [float(v) for v in density["gridX"]]
            values = [[float(v) for v in row] for row in density["gridValues"]]
        else:
            grid_x = [-_WIDE, _WIDE]
            row = [float(v) for v in density["gridValues"]]
            values = [row, row]
        fixed = density.get("fixedSomaY")
        return Placement(groups, "map2d", grid_x=tuple(grid_x), grid_y=tuple(grid_y),
                         grid_values=tuple(map(tuple, values)),
                         fixed_soma_y=float(fixed) if fixed is not None else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise NetPyNEError(f"{what}: a {kind} density needs numbers gridX, gridY and gridValues ({exc})") from None


def exact_place(cells: list[Any], group: str, loc: float, what: str) -> tuple[int, float]:
    """The segment and fraction of ``loc`` along section ``group``, the same on every cell of
    ``cells`` (they must share their section layout)."""
    import numpy as np

    from ..rules.placement import locate_along, segment_table
    from ..rules.values import RuleError

    found = set()
    for cell in cells:
        try:
            segment, fraction = locate_along(segment_table(cell.morphology, (group,)), np.array([loc]))
        except RuleError as exc:
            raise NetPyNEError(f"{what}: cell '{cell.id}': {exc.message}") from None
        found.add((int(segment[0]), float(fraction[0])))
    if len(found) != 1:
        raise NetPyNEError(f"{what}: section '{group}' differs between the targeted cells")
    return found.pop()


def listed_cells(target: dict, cells: Any, what: str) -> list[int]:
    """A stimulation's ``cellList`` condition: indices of cells within its one population."""
    listed = target["conds"]["cellList"]
    if len(cells.populations) != 1 or cells.ranges:
        raise NetPyNEError(f"{what}: cellList is imported with conditions naming one population (pop) only")
    try:
        return [int(i) for i in (listed if isinstance(listed, (list, tuple)) else [listed])]
    except (TypeError, ValueError):
        raise NetPyNEError(f"{what}: cellList {listed!r} is not a list of cell indices") from None
