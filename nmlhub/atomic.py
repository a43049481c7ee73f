"""Files written atomically: a temporary file beside the target, then a rename.

The temporary file's name carries the writing process's id, so that one left behind by a killed
process (SIGKILL) is recognised and removed by the next write to the same file. The file ends with
the mode the process umask gives a new file, or the mode of the file it replaces.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

_TAG = "nmlhub-"


def temporary_file(path: str | os.PathLike) -> tuple[int, str]:
    """Open a new temporary file beside ``path`` (after removing those that writers of ``path``
    killed before they finished left behind).

    Returns
    -------
    tuple
        The open descriptor and the temporary file's path, as :func:`tempfile.mkstemp` gives.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    return tempfile.mkstemp(prefix=f".{path.name}.{_TAG}{os.getpid()}.", dir=path.parent)


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give the finished temporary file its final mode and rename it to ``path``."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~process_umask()
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: an interrupted write leaves any old file intact."""
    handle, tmp = temporary_file(path)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def process_umask() -> int:
    """The process umask (read from ``/proc`` where possible, so it is never changed, even briefly)."""
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of writes to ``path`` whose process no longer exists."""
    path = Path(path)
    removed = []
    prefix = f".{path.name}.{_TAG}"
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for candidate in candidates:
        pid_text = candidate.name[len(prefix):].split(".", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
