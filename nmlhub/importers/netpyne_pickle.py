"""NetPyNE's pickled output (``sim.saveData`` with ``savePickle``) read as plain data.

NetPyNE pickles its parameter containers as instances of its own classes (``netpyne.specs``'s
``Dict``, ``ODict``, ``PopParams``...). This unpickler never imports NetPyNE nor runs anything
the file names: those classes are replaced by a plain ``dict`` stand-in that only stores what
the pickle gives it, ``collections.OrderedDict`` and numpy scalars are allowed, and every other
global is refused before it is looked up.
"""

from __future__ import annotations

import collections
import io
import pickle
from pathlib import Path
from typing import Any

from .netpyne_expr import NetPyNEError

_NUMPY = {("numpy", "dtype"), ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar")}


class _Container(dict):
    """Stands in for a NetPyNE container class: its items as a dict, its state kept aside."""

    def __setstate__(self, state: Any) -> None:
        self.__dict__["state"] = state


class _Unpickler(pickle.Unpickler):
    def __init__(self, stream: io.BufferedIOBase, path: Path) -> None:
        super().__init__(stream)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("netpyne.specs.") and name.isidentifier():
            return _Container
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        raise NetPyNEError(f"refused: the pickle asks for {module}.{name}, which is not NetPyNE's data "
                           "(a pickle that names other code could run it)", file=self.path)


def _plain(value: Any) -> Any:
    if isinstance(value, _Container) and not value and isinstance(value.__dict__.get("state"), dict):
        value = value.__dict__["state"]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return value.item()
    return value


def read_netpyne_pickle(path: str | Path) -> dict[str, Any]:
    """The plain data of a NetPyNE output pickle.

    Raises
    ------
    NetPyNEError
        The file is not a pickle, is truncated, or names code that is not NetPyNE's data.
    """
    path = Path(path)
    try:
        with path.open("rb") as stream:
            data = _Unpickler(stream, path).load()
    except NetPyNEError:
        raise
    except Exception as exc:  # pickle raises many kinds for a damaged file
        raise NetPyNEError(f"not a readable pickle ({type(exc).__name__}: {exc})", file=path) from None
    if not isinstance(data, dict):
        raise NetPyNEError("expected NetPyNE's saved data (a dict) in the pickle", file=path)
    return _plain(data)
