"""Compile generated NMODL once, into a cache shared by every model and run.

Each mechanism is compiled in its own folder named after the mechanism (whose name carries a
hash of its text) under a folder for the NEURON version, so a second run of the same model
compiles nothing and two models share what they share. A folder is compiled in a private
temporary folder and renamed into place, so concurrent runs never see a half-built library.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NmlhubError
from ..lems.nmodl import Mechanism

log = logging.getLogger(__name__)


class CompileError(NmlhubError):
    """nrnivmodl failed on a generated mechanism."""


def default_cache_root() -> Path:
    """``$NMLHUB_CACHE`` or ``~/.cache/nmlhub``, with a folder per NEURON version."""
    import neuron

    from ..coretypes import cache_base

    return cache_base() / "mechanisms" / f"neuron-{neuron.__version__}-{platform.machine()}"


def _nrnivmodl() -> str:
    found = shutil.which("nrnivmodl")
    if found:
        return found
    import sys

    candidate = Path(sys.executable).parent / "nrnivmodl"
    if candidate.exists():
        return str(candidate)
    raise CompileError("nrnivmodl was not found (it comes with the neuron package)")


@dataclass
class MechanismCache:
    """Compiled mechanisms on disk.

    Attributes
    ----------
    root
        The cache folder.
    compiled
        Names of the mechanisms this object compiled (empty when everything was cached).
    """

    root: Path = field(default_factory=default_cache_root)
    compiled: list[str] = field(default_factory=list)

    def library(self, mechanism: Mechanism) -> Path | None:
        """The compiled library of a mechanism, if it is in the cache."""
        folder = self.root / mechanism.name
        libs = sorted(folder.glob("*/libnrnmech.so")) + sorted(folder.glob("*/.libs/libnrnmech.so"))
        return libs[0] if libs else None

    def checked_library(self, mechanism: Mechanism) -> Path | None:
        """The mechanism's library if it is in the cache and intact (its recorded hash matches);
        a damaged one is removed (so it is compiled again) with a warning."""
        library = self.library(mechanism)
        if library is None:
            return None
        problem = library_problem(library, [mechanism.name])
        if problem is None:
            return library
        discard(self.root / mechanism.name, problem)
        return None

    def ensure(self, mechanisms: list[Mechanism], jobs: int = 2) -> list[Path]:
        """Compile what is missing or damaged (in parallel) and return every mechanism's library."""
        self.root.mkdir(parents=True, exist_ok=True)
        unique = {m.name: m for m in mechanisms}
        missing = [m for m in unique.values() if self.checked_library(m) is None]
        if missing:
            from collections import Counter

            kinds = Counter(m.flat.type if m.flat else m.name for m in missing)
            names = ", ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in sorted(kinds.items()))
            log.info("compiling %d NEURON mechanisms (once; cached in %s): %s", len(missing), self.root, names)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                list(pool.map(self._compile, missing))
            log.info("compiled %d mechanisms in %.1f s", len(missing), time.perf_counter() - started)
        return [self.library(m) for m in unique.values()]  # type: ignore[misc]

    def _compile(self, mechanism: Mechanism) -> None:
        flat = mechanism.flat
        _compile_into(self.root / mechanism.name, {f"{mechanism.name}.mod": mechanism.text.encode()}, [],
                      f"the mechanism generated for ComponentType '{flat.type if flat else mechanism.name}'")
        self.compiled.append(mechanism.name)

    def combined(self, mechanisms: list[Mechanism], coreneuron: bool = True) -> Path:
        """One library holding all ``mechanisms`` (for CoreNEURON, which loads a single mechanism
        library: ``nrnivmodl -coreneuron`` builds it and its CoreNEURON twin
        ``libcorenrnmech.so`` side by side); compiled once, then taken from the cache."""
        import hashlib

        unique = sorted({m.name: m for m in mechanisms}.values(), key=lambda m: m.name)
        key = hashlib.sha256("\n".join(m.name for m in unique).encode()).hexdigest()[:12]
        final = self.root / f"combined-{key}{'-coreneuron' if coreneuron else ''}"
        library = final / platform.machine() / "libnrnmech.so"
        if library.exists():
            problem = library_problem(library, [m.name for m in unique])
            if problem is None:
                return library
            discard(final, problem)
        log.info("compiling %d mechanisms into one library%s", len(unique), " for CoreNEURON" if coreneuron else "")
        started = time.perf_counter()
        _compile_into(final, {f"{m.name}.mod": m.text.encode() for m in unique},
                      ["-coreneuron"] if coreneuron else [], "the model's mechanisms")
        log.info("compiled %d mechanisms in %.1f s", len(unique), time.perf_counter() - started)
        self.compiled.extend(m.name for m in unique)
        return library


def _compile_into(final: Path, files: dict[str, bytes], options: list[str], what: str) -> None:
    """Compile ``files`` (name -> NMODL text) with ``nrnivmodl`` in a temporary folder beside
    ``final``, then rename it to ``final``, so concurrent runs never see a half-built library.
    Processes wanting the same library (MPI ranks of one run, say) take turns: the first builds
    it, the others find it built."""
    import fcntl

    locks = final.parent / "locks"  # kept: removing a lock file others may hold is a race
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not final.exists():
            _build(final, files, options, what)


def _build(final: Path, files: dict[str, bytes], options: list[str], what: str) -> None:
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        for name, data in files.items():
            (work / name).write_bytes(data)
        result = _run_nrnivmodl(work, options)
        if result.returncode != 0 or not (work / platform.machine() / "libnrnmech.so").exists():
            errors = [line for line in (result.stdout + result.stderr).splitlines()
                      if "error" in line.lower() or "nocmodl" in line.lower() or "what():" in line]
            raise CompileError(f"nrnivmodl{''.join(' ' + o for o in options)} failed on {what}: "
                               + " | ".join(errors[:5]) + f" (mod files kept in {work})")
        record_hash(work / platform.machine() / "libnrnmech.so")
        try:
            os.rename(work, final)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)  # another run put it there first
    except CompileError:
        raise
    except Exception:
        shutil.rmtree(work, ignore_errors=True)
        raise


def nrnivmodl_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ``nrnivmodl``: this process's, without an ``NMODLHOME`` under which the
    NMODL tool finds no ``share/nmodl/nrnunits.lib``.

    NEURON 9's Python module sets ``NMODLHOME`` to its ``share/nrn`` folder, which holds no
    ``share/nmodl``, as soon as a density mechanism is looked up by name (``h.hh``, or
    ``hasattr(h, "pas")``). ``nrnivmodl`` keeps a variable already set, and ``-coreneuron``'s NMODL
    tool then aborts on NEURON's own ``hh.mod`` ("Could not find nrnunits.lib"). Without it,
    ``nrnivmodl`` sets the right one itself.
    """
    env = dict(os.environ if environ is None else environ)
    home = env.get("NMODLHOME")
    if home is not None and not (Path(home) / "share" / "nmodl" / "nrnunits.lib").is_file():
        del env["NMODLHOME"]
    return env


def _run_nrnivmodl(work: Path, options: list[str]) -> subprocess.CompletedProcess:
    """``nrnivmodl OPTIONS .`` in ``work``."""
    return subprocess.run([_nrnivmodl(), *options, "."], cwd=work, capture_output=True, text=True,
                          env=nrnivmodl_environment())


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash_file(library: Path) -> Path:
    return library.with_name(library.name + ".sha256")


def record_hash(library: Path) -> None:
    """Record a library's sha256 beside it (``libnrnmech.so.sha256``)."""
    from ..atomic import write_bytes

    write_bytes(_hash_file(library), _sha256(library).encode())


def library_problem(library: Path, names: list[str]) -> str | None:
    """What is wrong with a cached library, or None: its content no longer matches the hash
    recorded when it was built (truncated, replaced by another library). A library cached
    before hashes were recorded is adopted when it is a whole ELF file that names ``names``."""
    record = _hash_file(library)
    try:
        if record.exists():
            return None if record.read_text().strip() == _sha256(library) else "does not match its recorded hash"
        data = library.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    problem = _elf_problem(data) or next((f"does not define mechanism '{name}'" for name in names
                                          if name.encode() not in data), None)
    if problem is None:
        record_hash(library)
    return problem


def _elf_problem(data: bytes) -> str | None:
    """Whether bytes are a whole 64- or 32-bit ELF file: its section headers end inside it."""
    import struct

    if len(data) < 64 or data[:4] != b"\x7fELF":
        return "is not an ELF library"
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2:
        shoff, = struct.unpack_from(order + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(order + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x2E)
    if shoff + shentsize * shnum > len(data):
        return "is truncated"
    return None


def discard(folder: Path, problem: str) -> None:
    """Remove a damaged cache folder (so its library is compiled again), saying why."""
    log.warning("cached mechanism library in %s %s: compiling it again", folder, problem)
    aside = folder.with_name(f".discarded-{folder.name}-{os.getpid()}")
    try:
        os.rename(folder, aside)
    except OSError:
        return  # another process moved it first
    shutil.rmtree(aside, ignore_errors=True)


def load_combined(library: Path, mechanisms: list[Mechanism]) -> None:
    """Load a combined library, unless this process has every one of its mechanisms already
    (a library per mechanism cannot be mixed with it: NEURON refuses a name defined twice)."""
    from neuron import h

    loaded = [m.name for m in mechanisms if hasattr(h, m.name)]
    if len(set(loaded)) == len({m.name for m in mechanisms}):
        return
    if loaded:
        raise CompileError(f"mechanisms {', '.join(sorted(set(loaded))[:3])} are already loaded in this process "
                           "from their own libraries; CoreNEURON needs the model's mechanisms in one library "
                           "(run it in a fresh process)")
    if not h.nrn_load_dll(str(library)):
        raise CompileError(f"NEURON could not load {library}")


def load_libraries(libraries: list[Path], mechanisms: list[Mechanism]) -> None:
    """Load compiled libraries into NEURON, skipping mechanisms already loaded in this process."""
    from neuron import h

    for library, mechanism in zip(libraries, {m.name: m for m in mechanisms}.values()):
        if hasattr(h, mechanism.name):
            continue
        if not h.nrn_load_dll(str(library)):
            raise CompileError(f"NEURON could not load {library}")


def user_library(mod_files: list[Path], root: Path | None = None) -> Path:
    """One library compiled from a user's own ``.mod`` files, cached under a key made from
    their names and contents (so an edited file is compiled again, an unchanged one never)."""
    import hashlib

    root = root or default_cache_root()
    contents = sorted((Path(p).name, Path(p).read_bytes()) for p in mod_files)
    names = [name for name, _ in contents]
    if len(set(names)) != len(names):
        raise CompileError(f"two user .mod files share a name: {sorted(names)}")
    digest = hashlib.sha256()
    for name, data in contents:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    final = root / f"user-{digest.hexdigest()[:16]}"
    library = final / platform.machine() / "libnrnmech.so"
    if library.exists():
        problem = library_problem(library, [])
        if problem is None:
            return library
        discard(final, problem)
    log.info("compiling %d user mechanisms (once; cached): %s", len(contents), ", ".join(names))
    started = time.perf_counter()
    _compile_into(final, dict(contents), [], ", ".join(names))
    log.info("compiled %d user mechanisms in %.1f s", len(contents), time.perf_counter() - started)
    return library


def load_user_library(library: Path, names: list[str]) -> None:
    """Load a user library unless every mechanism it defines is in this process already."""
    from neuron import h

    loaded = [n for n in names if hasattr(h, n)]
    if len(loaded) == len(names):
        return
    if loaded:
        raise CompileError(f"mechanisms {', '.join(loaded[:3])} are already defined in this process "
                           f"(NEURON's own, or loaded from another library); {library} cannot be added")
    if not h.nrn_load_dll(str(library)):
        raise CompileError(f"NEURON could not load {library}")
