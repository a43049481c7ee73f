"""Imports deferred until first use, for libraries nmlhub's dependencies import at module level but
rarely call: libNeuroML imports networkx (20 MB resident, 285 modules) for a few methods of
``Cell`` (its segment graph), which loading and running a network never calls."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _DeferredModule(types.ModuleType):
    """Stands in for a module until an attribute of it is first read: then the module is imported,
    takes its own place in ``sys.modules``, and this stand-in forwards every read to it."""

    def __getattr__(self, attribute: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attribute)


def defer_import(name: str) -> None:
    """Make ``import name`` cheap until the module is used (nothing to do if it is already imported
    or not installed)."""
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    stand_in = _DeferredModule(name)
    stand_in.__spec__ = None  # no spec being initialised: ``import name`` returns the stand-in as is
    sys.modules[name] = stand_in
