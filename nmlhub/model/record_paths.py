"""What ``nmlhub run --record`` and :meth:`NetworkBuilder.record` ask for: quantity paths with cell
patterns (``E/*/v``, ``E/0-3,7/soma_0/na/m/q``, ``E[2]/syn_ampa/weight``) expanded into one LEMS
quantity path per cell (``E[0]/v``, ...), checked against the network's populations.

Pure: no NEURON, no file access. Whether the rest of a path (segment, channel, synapse, variable)
exists on the cell is decided where the cell is built (:mod:`nmlhub.neuron.recording`).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from .paths import QuantityPathError

_PATTERN = re.compile(r"^(?P<pop>[^/\[\]]+)(?:\[(?P<i1>[^\]]+)\]|/(?P<i2>[^/]+))(?P<rest>(?:/.*)?)$")
_SELECTION_HELP = "a cell index, '*', a list '0,2,5' or a range '0-4'"


def cell_indices(selection: str, ids: Sequence[int], where: str) -> list[int]:
    """The cell ids a selection names: ``*`` (all), ``3``, ``0,2,5``, ``0-4`` (inclusive), or
    a list mixing them (``0-4,9``), in the order written.

    Raises
    ------
    QuantityPathError
        A malformed selection, or an index the population does not have (naming ``where``).
    """
    if selection.strip() == "*":
        return list(ids)
    known = set(ids)
    chosen: list[int] = []
    for part in selection.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None:
            raise QuantityPathError(f"'{where}': '{selection}' is not {_SELECTION_HELP}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise QuantityPathError(f"'{where}': range {part.strip()} runs backwards")
        for index in range(first, last + 1):
            if index not in known:
                raise QuantityPathError(f"'{where}': no cell {index} in population of {len(ids)} cells "
                                        f"(ids {_span(ids)})")
            chosen.append(index)
    return chosen


def _span(ids: Sequence[int]) -> str:
    if list(ids) == list(range(len(ids))):
        return f"0-{len(ids) - 1}" if ids else "none"
    shown = ", ".join(str(i) for i in list(ids)[:8])
    return shown + (", ..." if len(ids) > 8 else "")


def expand_record_paths(patterns: Iterable[str], populations: dict[str, tuple[str, Sequence[int]]]) -> list[str]:
    """One quantity path ``POP[i]/...`` per cell each pattern names, without repeats.

    Parameters
    ----------
    patterns
        Paths such as ``E/*/v``, ``E/0/syn_ampa/weight``, ``E[0-3]/v`` or ``E/1/pyr/5/v`` (the
        population's cell component after the index may be written, as in a ``populationList``).
    populations
        Population id -> (cell component, cell ids).

    Raises
    ------
    QuantityPathError
        A path that names no population (the network's are listed), no cell of it, or no quantity.

    Examples
    --------
    >>> expand_record_paths(["E/*/v", "E[1]/syn/g"], {"E": ("pyr", [0, 1])})
    ['E[0]/v', 'E[1]/v', 'E[1]/syn/g']
    """
    paths: list[str] = []
    for pattern in patterns:
        text = pattern.strip()
        match = _PATTERN.match(text)
        if match is None:
            raise QuantityPathError(f"'{pattern}' is not a quantity path (expected POP/CELLS/QUANTITY, "
                                    f"CELLS being {_SELECTION_HELP})")
        population = match.group("pop")
        if population not in populations:
            raise QuantityPathError(f"'{pattern}': no population '{population}' in the network "
                                    f"(populations: {', '.join(populations) or 'none'})")
        component, ids = populations[population]
        indices = cell_indices(match.group("i1") or match.group("i2"), ids, pattern)
        rest = [part for part in match.group("rest").split("/") if part]
        if rest and rest[0] == component:
            rest = rest[1:]
        if not rest:
            raise QuantityPathError(f"'{pattern}' names cells but no quantity (e.g. {population}/0/v)")
        paths += [f"{population}[{index}]/{'/'.join(rest)}" for index in indices]
    return list(dict.fromkeys(paths))
