"""Cell and quantity paths: the one parser of the forms nmlhub accepts.

A path names a cell of a population, then optionally what to read on it:

- ``pop[3]``, ``pop[3]/v``, ``pop[3]/2/v`` (segment 2), ``pop[3]/syn/g``, ``pop[0]/synapses:syn:1/g``,
  ``pop[3]/caConc`` (LEMS quantity paths with a population of a size);
- ``pop/3/cellType``, ``pop/3/cellType/v``, ``pop/3/cellType/2/v`` (a ``populationList``'s form);
- ``../pop[3]``, ``../pop/3/cellType`` (NeuroML cell references of connections and inputs);
- a negative index (``pop[-1]``) parses, so that a reference check can name it.

Pure: no NEURON, no file access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import NmlhubError

_PATH = re.compile(
    r"^(?P<up>\.\./)?(?P<pop>[^/\[\]]+)"
    r"(?:\[(?P<i1>-?\d+)\]|/(?P<i2>-?\d+)(?:/(?P<comp>[^/]+))?)"
    r"(?P<rest>(?:/.*)?)$"
)

_EXPECTED = "expected pop[i]/... or pop/i/cell/..."


class QuantityPathError(NmlhubError):
    """A recorded quantity's path does not lead to anything in the network."""


@dataclass(frozen=True)
class CellPath:
    """A parsed cell path.

    Attributes
    ----------
    population
        The population id.
    index
        The cell's index (instance id) in the population; may be negative as written.
    component
        The cell component named in the ``pop/i/component`` form (None in the ``pop[i]`` form,
        and in ``pop/i`` without one).
    rest
        The path elements after the cell (empty elements dropped), e.g. ``("2", "v")``.
    bracketed
        True for the ``pop[i]`` form, False for ``pop/i/...``.
    relative
        True when written with a leading ``../`` (a NeuroML cell reference).
    """

    population: str
    index: int
    component: str | None = None
    rest: tuple[str, ...] = ()
    bracketed: bool = True
    relative: bool = False

    @property
    def segment(self) -> int | None:
        """The segment id of a ``.../SEGMENT/quantity`` path, else None."""
        if len(self.rest) == 2 and self.rest[0].isdigit():
            return int(self.rest[0])
        return None

    @property
    def quantity(self) -> str | None:
        """The last path element (the variable read), or None for a bare cell."""
        return self.rest[-1] if self.rest else None

    def cell(self) -> str:
        """The cell part of the path, as written (``../pop[3]``, ``pop/3/cellType``)."""
        head = "../" if self.relative else ""
        if self.bracketed:
            return f"{head}{self.population}[{self.index}]"
        tail = f"/{self.component}" if self.component is not None else ""
        return f"{head}{self.population}/{self.index}{tail}"

    def __str__(self) -> str:
        return self.cell() + "".join(f"/{part}" for part in self.rest)


def parse_path(text: str) -> CellPath | None:
    """Parse a cell path, or return None when ``text`` does not start with a cell.

    Parameters
    ----------
    text
        The path as written (not stripped here).

    Returns
    -------
    CellPath or None
        The parsed path; None for anything else (a path into the network itself, a number, ...).

    Examples
    --------
    >>> parse_path("pop/3/cell/2/v")
    CellPath(population='pop', index=3, component='cell', rest=('2', 'v'), bracketed=False, relative=False)
    >>> str(parse_path("pop[3]/v"))
    'pop[3]/v'
    """
    match = _PATH.match(text)
    if match is None:
        return None
    bracketed = match.group("i1") is not None
    return CellPath(
        population=match.group("pop"),
        index=int(match.group("i1") if bracketed else match.group("i2")),
        component=match.group("comp"),
        rest=tuple(part for part in match.group("rest").split("/") if part),
        bracketed=bracketed,
        relative=match.group("up") is not None,
    )


def quantity_path(text: str) -> CellPath:
    """Parse the path of a recorded quantity (``pop[3]/v``, ``pop/3/cell/v``; no ``../``, index >= 0).

    Raises
    ------
    QuantityPathError
        ``text`` does not name a cell, in one line naming the path.
    """
    parsed = parse_path(text.strip())
    if parsed is None or parsed.relative or parsed.index < 0:
        raise QuantityPathError(f"'{text}' does not name a cell ({_EXPECTED})")
    return parsed


def cell_key(path: str) -> tuple[str, int, list[str]]:
    """(population, index, remaining path elements) of a path such as ``pop[3]/v``.

    Raises
    ------
    QuantityPathError
        The path does not name a cell.
    """
    parsed = quantity_path(path)
    return parsed.population, parsed.index, list(parsed.rest)


def line_quoting(file: str | Path, text: str) -> int | None:
    """The first line of ``file`` holding ``text`` between double quotes (an attribute's value),
    to place an error; None when the file cannot be read or does not hold it."""
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if f'"{text}"' in line:
                    return number
    except OSError:
        return None
    return None
