"""Exceptions raised by nmlhub.

Every error that a user's input can cause is an :class:`NmlhubError`; its message names the file,
the line and the element where that is known, as ``file:line: element: message``.
"""

from __future__ import annotations

from pathlib import Path


class NmlhubError(Exception):
    """Base class of nmlhub's errors.

    Parameters
    ----------
    message
        What is wrong, in words a modeller understands.
    file
        The file in which the problem was found, if any.
    line
        The 1-based line in ``file``, if known.
    element
        The element (tag and id) the problem concerns, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.element = element
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.element:
            parts.append(self.element)
        parts.append(self.message)
        return ": ".join(parts)


class ModelError(NmlhubError):
    """A model file is missing, unreadable, malformed or inconsistent."""


class XmlSecurityError(ModelError):
    """An XML file asks for something nmlhub refuses to do (entities, DTDs, huge input)."""


class UnitError(NmlhubError):
    """A quantity is malformed, uses an unknown unit, or has the wrong dimension."""


class CoreTypesError(NmlhubError):
    """The NeuroML2 core type definitions could not be read."""


class UnsupportedComponentError(NmlhubError):
    """A component of a type, or using a construct, the NEURON driver cannot run (yet)."""
