"""Keep generated NMODL within NMODL's line length (nocmodl refuses lines over 511 characters).

An expression too long to print on one line is cut into temporaries: its largest subexpressions
are assigned first, each to a ``LOCAL`` of the block, and the expression uses their names. The
arithmetic is the same, in the same order. A conditional value is printed as an ``if``/``else``
chain (only the taken case is computed; a cut case's temporaries are computed inside its branch);
``ifelse_nml``, left only inside larger expressions and where a case draws a random number,
evaluates all its arguments anyway, so hoisting a branch out of it computes nothing more.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from . import expr as ex
from .nmodl_names import NMODL_LINE_LIMIT

#: Longest line nmlhub writes (nocmodl's limit is 511 characters, newline included).
MAX_LINE = 400


def _children(node: ex.Expr) -> list[tuple[str, ex.Expr]]:
    if isinstance(node, ex.BinOp):
        return [("left", node.left), ("right", node.right)]
    if isinstance(node, ex.Neg):
        return [("operand", node.operand)]
    if isinstance(node, ex.Call):
        return [("arg", node.arg)]
    if isinstance(node, ex.IfElse):
        return [("test", node.test), ("then", node.then), ("other", node.other)]
    return []


class Shortener:
    """Cuts expressions of one NMODL block into temporaries named ``<stem><k>_nml``.

    Parameters
    ----------
    rename
        How names are printed (the printer's renaming); temporaries print as themselves.
    stem
        Start of the temporaries' names, unique to the block.
    """

    def __init__(self, rename: Callable[[str], str], stem: str = "tmp") -> None:
        self._rename = rename
        self.stem = stem
        self.temporaries: list[str] = []

    def _print(self, node: ex.Expr) -> str:
        return ex.to_nmodl(node, lambda n: n if n in self.temporaries else self._rename(n))

    def assignment(self, target: str, value: ex.Expr, indent: str = "    ") -> list[str]:
        """Lines assigning ``value`` to ``target`` (the printed name), none longer than MAX_LINE.

        A conditional value (a ConditionalDerivedVariable's cases) becomes an ``if``/``else if``
        chain assigning the taken case only, unless a case draws a random number (then every case
        is evaluated, as before, so the random stream does not depend on which case is taken)."""
        if isinstance(value, ex.IfElse) and not (_draws(value.then) or _draws(value.other)):
            return self._branches(target, value, indent)
        lines: list[str] = []
        head = f"{indent}{target} = "
        short = self._fit(value, MAX_LINE - len(head), lines, indent)
        return lines + [head + self._print(short)]

    def _branches(self, target: str, value: ex.IfElse, indent: str) -> list[str]:
        lines: list[str] = []
        test = self._fit(value.test, MAX_LINE - len(indent) - 8, lines, indent)
        lines.append(f"{indent}if ({self._print(test)}) {{")
        node: ex.Expr = value
        while isinstance(node, ex.IfElse):
            lines += self.assignment(target, node.then, indent + "    ")
            node = node.other
            chained = (isinstance(node, ex.IfElse) and not (_draws(node.then) or _draws(node.other))
                       and len(self._print(node.test)) <= MAX_LINE - len(indent) - 16)
            if not chained:
                break  # what is left (a plain value, or a case whose test must be cut) goes in the else
            lines.append(f"{indent}}} else if ({self._print(node.test)}) {{")
        lines.append(f"{indent}}} else {{")
        lines += self.assignment(target, node, indent + "    ")
        return lines + [f"{indent}}}"]

    def _fit(self, node: ex.Expr, room: int, lines: list[str], indent: str) -> ex.Expr:
        if len(self._print(node)) <= room:
            return node
        parts = dict(_children(node))
        for key, child in parts.items():
            parts[key] = self._fit(child, room, lines, indent)
        node = replace(node, **parts) if parts else node
        while len(self._print(node)) > room:
            candidates = [(len(self._print(c)), key) for key, c in parts.items()
                          if not isinstance(c, (ex.Name, ex.Num))]
            if not candidates:
                break  # nothing left to cut: the caller's line check reports it
            _, key = max(candidates)
            name = f"{self.stem}{len(self.temporaries)}_nml"
            self.temporaries.append(name)
            lines.append(f"{indent}{name} = {self._print(parts[key])}")
            parts[key] = ex.Name(name)
            node = replace(node, **parts)
        return node

    def local_line(self, indent: str = "    ") -> list[str]:
        """The ``LOCAL`` declaration of the temporaries (none if there are none)."""
        return local_lines(self.temporaries, indent)


def _draws(node: ex.Expr) -> bool:
    """Whether an expression draws a random number."""
    if isinstance(node, ex.Call) and node.func == "random":
        return True
    return any(_draws(child) for _, child in _children(node))


def local_lines(names: list[str], indent: str = "    ") -> list[str]:
    """A ``LOCAL`` declaration of ``names`` (none if there are none), on one line if it fits,
    else continued over lines of eight names: NMODL allows one LOCAL statement per block, and
    nocmodl reads lines of at most 511 characters (a spikeArray of 500 spikes has 500 states)."""
    if names and len(f"{indent}LOCAL " + ", ".join(names)) <= MAX_LINE:
        return [f"{indent}LOCAL " + ", ".join(names)]
    chunks = [", ".join(chunk) for chunk in fitting_chunks(names, 8, NMODL_LINE_LIMIT - len(indent) - 7)]
    lines = [f"{indent}    {chunk}," for chunk in chunks]
    if not lines:
        return []
    lines[0] = f"{indent}LOCAL " + lines[0].lstrip()
    lines[-1] = lines[-1].removesuffix(",")
    return lines


def fitting_chunks(names: list[str], size: int, width: int) -> list[list[str]]:
    """``names`` in lists of ``size``, a list split further where its names joined by ", " would
    be wider than ``width`` characters (ids generated by neuroConstruct run to 70 characters, and
    a flat name joins several: eight of them made a RANGE line of 750 characters, past nocmodl's
    limit)."""
    chunks: list[list[str]] = []
    for k in range(0, len(names), size):
        chunks.append([])
        for name in names[k:k + size]:
            if chunks[-1] and len(", ".join([*chunks[-1], name])) > width:
                chunks.append([])
            chunks[-1].append(name)
    return chunks
