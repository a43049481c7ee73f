"""Which derived values of a generated mechanism can live only inside its rates PROCEDURE.

A generated mechanism computes every LEMS DerivedVariable in ``rates_nml`` and, by default, keeps
each as a RANGE variable, so that any of them can be recorded. On a large network most are
intermediate values nothing else reads (a gate's forward rate before its ``alpha``, a channel's
``fopen``...): each RANGE variable is an array NEURON 9 stores per mechanism, and writing some thirty
of them per instance per step makes a channel's step cost grow with the network (measured:
``rates_nml`` of the HH sodium channel 1.44 times the time per instance at 10,000 cells as at
2,000, where NEURON's own ``hh`` stays flat). A *lean* mechanism makes those values ``LOCAL`` to
``rates_nml``; the driver asks for one only where nothing records them.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.*)$")
RATES_HEADER = "PROCEDURE rates_nml() {"


def rates_body(lines: list[str]) -> tuple[int, int] | None:
    """The indices of ``rates_nml``'s first and last body lines (None if there is no such
    procedure). The printer closes each block with a ``}`` line of its own."""
    if RATES_HEADER not in lines:
        return None
    start = lines.index(RATES_HEADER) + 1
    end = next(k for k in range(start, len(lines)) if lines[k] == "}")
    return start, end - 1


def local_candidates(lines: list[str], derived: list[str]) -> set[str]:
    """The NMODL names among ``derived`` that only ``rates_nml`` reads, each assigned there before
    it is read (so its value never needs to outlive one call).

    Parameters
    ----------
    lines
        The printed mechanism, one NMODL line per item (``None`` items are skipped).
    derived
        The NMODL names of the component's derived variables, in the order computed.
    """
    body = rates_body([line for line in lines if line is not None])
    if body is None:
        return set()
    text = [line for line in lines if line is not None]
    start, end = body
    outside = set()
    declaring = False
    for k, line in enumerate(text):
        if start <= k <= end:
            continue
        stripped = line.strip()
        if stripped.startswith("ASSIGNED {"):
            declaring = True
            continue
        if declaring:
            declaring = stripped != "}"
            continue  # a declaration is no read
        if stripped.startswith("RANGE "):
            continue
        outside.update(_IDENTIFIER.findall(line.split(":", 1)[0]))
    candidates = set(derived) - outside
    assigned: set[str] = set()
    read_first: set[str] = set()
    for line in text[start:end + 1]:
        code = line.split(":", 1)[0]
        match = _ASSIGNMENT.match(code)
        reads = _IDENTIFIER.findall(match.group(2) if match else code)
        read_first.update(name for name in reads if name in candidates and name not in assigned)
        if match:
            assigned.add(match.group(1))
    return candidates - read_first
