"""Keyword arguments gathered into a frozen dataclass of options, checked against its fields, so
a function with many options takes them as ``**keywords`` and a misspelt name gets a clear error
that lists the valid ones."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any, Mapping, TypeVar

from .values import RuleError

T = TypeVar("T")


def options_from(cls: type[T], keywords: Mapping[str, Any], what: str) -> T:
    """An instance of the dataclass ``cls`` from ``keywords``.

    Raises
    ------
    RuleError
        A keyword that is no field of ``cls``, or a field without a default that is not given
        (the message names ``what`` and lists the valid names).
    """
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(keywords) - set(names))
    if unknown:
        raise RuleError(f"{what}: unknown parameter(s) {', '.join(unknown)} (parameters: {', '.join(names)})")
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
               and f.name not in keywords]
    if missing:
        raise RuleError(f"{what}: missing parameter(s) {', '.join(missing)} (parameters: {', '.join(names)})")
    return cls(**keywords)


def camel_case(name: str) -> str:
    """``average_rate`` -> ``averageRate`` (the XML attribute of a snake_case Python name)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
