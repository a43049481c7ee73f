"""A user's own ``.mod`` files, as a model refers to them: which mechanisms each file defines.
Pure text reading: compiling and loading them is the NEURON driver's (``nmlhub.neuron.mechcache``)."""

from __future__ import annotations

import re
from pathlib import Path

_COMMENT_BLOCK = re.compile(r"COMMENT.*?ENDCOMMENT", re.S)
_LINE_COMMENT = re.compile(r":[^\n]*")
_DEFINES = re.compile(r"\b(?:SUFFIX|POINT_PROCESS|ARTIFICIAL_CELL)\s+(\w+)")


def mod_suffixes(text: str) -> list[str]:
    """Names of the mechanisms an NMODL file defines (its ``SUFFIX``, ``POINT_PROCESS`` and
    ``ARTIFICIAL_CELL`` statements), comments removed.

    Examples
    --------
    >>> mod_suffixes("NEURON { SUFFIX kdr : a comment\\n }")
    ['kdr']
    """
    text = _COMMENT_BLOCK.sub("", text)
    text = _LINE_COMMENT.sub("", text)
    return _DEFINES.findall(text)


def mechanisms_in(files: list[Path]) -> dict[str, str]:
    """Each mechanism the ``.mod`` files define, with the file defining it (as given)."""
    found: dict[str, str] = {}
    for file in files:
        for name in mod_suffixes(Path(file).read_text(errors="replace")):
            found[name] = str(file)
    return found


_POINT_PROCESS = re.compile(r"\bPOINT_PROCESS\s+(\w+)")
_RANGE = re.compile(r"\bRANGE\s+([\w\s,]+?)(?=\n|\b(?:GLOBAL|USEION|NONSPECIFIC_CURRENT|POINTER|BBCOREPOINTER|"
                    r"ELECTRODE_CURRENT|THREADSAFE|RANGE|SUFFIX|POINT_PROCESS)\b|\})")
_BLOCK = r"\b{}\s*\{{([^{{}}]*)\}}"


def point_process_synapse(text: str) -> tuple[str | None, bool, set[str]]:
    """What an NMODL file offers as a synapse: its ``POINT_PROCESS`` name (None if it has none),
    whether it has a ``NET_RECEIVE`` block, and the names of its ``RANGE`` parameters (those
    in its ``PARAMETER`` block that each instance holds), comments removed.

    Examples
    --------
    >>> point_process_synapse("NEURON { POINT_PROCESS S RANGE tau }\\nPARAMETER { tau = 1 (ms) g }\\n"
    ...                       "NET_RECEIVE(w) { }")
    ('S', True, {'tau'})
    """
    text = _LINE_COMMENT.sub("", _COMMENT_BLOCK.sub("", text))
    name = _POINT_PROCESS.search(text)
    ranged = {n for found in _RANGE.findall(text) for n in re.split(r"[\s,]+", found) if n}
    block = re.search(_BLOCK.format("PARAMETER"), text)
    declared = set(re.findall(r"^\s*(\w+)", block.group(1), re.M)) if block else set()
    return (name.group(1) if name else None, re.search(r"\bNET_RECEIVE\b", text) is not None,
            declared & ranged)


#: SI value of one of the units NMODL files commonly declare (NEURON's conventions).
_SI_OF_UNIT = {"mV": 1e-3, "ms": 1e-3, "nA": 1e-9, "pA": 1e-12, "uA": 1e-6, "uS": 1e-6, "umho": 1e-6,
               "nS": 1e-9, "pS": 1e-12, "mM": 1.0, "uM": 1e-3, "1": 1.0}


def variables_in_si(text: str) -> dict[str, float]:
    """The variables an NMODL file declares in its ``PARAMETER``, ``ASSIGNED`` and ``STATE``
    blocks with a unit of :data:`_SI_OF_UNIT` (or none), and the factor taking each to SI.

    Examples
    --------
    >>> variables_in_si("ASSIGNED { g (uS) i (nA) x (furlong) }\\nSTATE { A }")
    {'g': 1e-06, 'i': 1e-09, 'A': 1.0}
    """
    text = _LINE_COMMENT.sub("", _COMMENT_BLOCK.sub("", text))
    found: dict[str, float] = {}
    for block in ("PARAMETER", "ASSIGNED", "STATE"):
        body = re.search(_BLOCK.format(block), text)
        for name, unit in re.findall(r"\b([A-Za-z_]\w*)\s*(?:=\s*[-+\d.eE]+\s*)?(?:\(([^)]*)\))?(?:\s*<[^>]*>)?",
                                     body.group(1) if body else ""):
            unit = unit.strip() or "1"
            if unit in _SI_OF_UNIT:
                found[name] = _SI_OF_UNIT[unit]
    return found
