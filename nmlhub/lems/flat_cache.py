"""A content-keyed cache of flattened components, beside the compiled mechanisms.

Reading the core types and a model's components with pylems and resolving them costs the same on
every run and on every MPI rank. What it gives for a component depends only on the LEMS text
nmlhub hands pylems (the model's ComponentTypes and components, the core types), pylems's version
and nmlhub's flattening code; so the flattened components are kept in one file per such text,
named by a hash of it, and read back (a fresh copy for each use) on the next run. The file is
written to a temporary file beside it and renamed, so ranks and runs writing at once never leave a
half-written file; a file that cannot be read is ignored (the components are flattened again).

Beside each pylems FatComponent the cache keeps nmlhub's translation of it (a plain
``FlatComponent``): a run that finds every translation there never imports pylems's object model,
whose import alone costs a tenth of a second on every rank (it imports ``xml.sax.saxutils``, hence
``urllib.request`` and ``ssl``). So the key covers the translating code too (every module of
``nmlhub/lems``, the units and the type system).
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path
from typing import Any

from ..atomic import write_bytes

#: The modules outside ``nmlhub/lems`` whose code decides what a translated component holds.
_OTHER_CODE = ("units.py", "model/typesystem.py")


def _code_files() -> list[Path]:
    """The files whose code decides what a flattened or translated component holds (a change
    starts a new cache)."""
    here = Path(__file__).resolve().parent
    return sorted(here.glob("*.py")) + [here.parent / name for name in _OTHER_CODE]


def cache_key(text: str, core: dict[str, bytes]) -> str:
    """Hash of everything a flattened component depends on."""
    import lems

    digest = hashlib.sha256()
    for part in ([sys.version.encode(), getattr(lems, "__version__", "?").encode()]
                 + [path.read_bytes() for path in _code_files()]
                 + [name.encode() + b"\0" + data for name, data in sorted(core.items())] + [text.encode()]):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


class FlatCache:
    """The flattened components of one LEMS text: pickled, by component id.

    Parameters
    ----------
    folder
        Where the cache files are (made when first written).
    text, core
        The LEMS text given to pylems and the core-type files it includes (name -> bytes).
    """

    def __init__(self, folder: Path, text: str, core: dict[str, bytes]) -> None:
        self.path = Path(folder) / f"{cache_key(text, core)}.pickle"
        self.entries: dict[str, bytes] = {}
        self._changed = False
        try:
            entries = pickle.loads(self.path.read_bytes())
            if isinstance(entries, dict):
                self.entries = entries
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
            self.entries = {}

    def get(self, component_id: str) -> Any:
        """A fresh copy of a cached flattened component."""
        return pickle.loads(self.entries[component_id])

    def put(self, component_id: str, fat: Any) -> None:
        """Keep a flattened component (pickled now: later changes to it are not kept)."""
        try:
            self.entries[component_id] = pickle.dumps(fat, protocol=pickle.HIGHEST_PROTOCOL)
            self._changed = True
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            pass  # not kept: flattened again next time

    def save(self) -> None:
        """Write the file if something was added (atomically; a failure leaves the cache as it was)."""
        if not self._changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(self.path, pickle.dumps(self.entries, protocol=pickle.HIGHEST_PROTOCOL))
            self._changed = False
        except OSError:
            pass
