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
