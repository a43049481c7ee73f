"""Shared fixtures: the NeuroML2 core examples (from pyNeuroML's jar) and the OSB corpus."""

from __future__ import annotations

import os
import re
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings

# The same generated cases on every run, so CI passes or fails on the code alone; set
# HYPOTHESIS_PROFILE=explore to look for new cases (and add any failure as an @example).
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "nml_examples"
CORPUS = Path(os.environ.get("NMLHUB_CORPUS", REPO.parent / "shared" / "corpus")) / "osb"


def jar_path() -> Path:
    import pyneuroml

    jars = sorted((Path(pyneuroml.__file__).parent / "lib").glob("jNeuroML*.jar"))
    assert jars, "pyNeuroML ships no jNeuroML jar"
    return jars[-1]


@pytest.fixture(scope="session")
def core_examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The jar's ``examples/`` and ``LEMSexamples/`` extracted to a temporary folder."""
    target = tmp_path_factory.mktemp("jar")
    with zipfile.ZipFile(jar_path()) as jar:
        for name in jar.namelist():
            if name.startswith(("examples/", "LEMSexamples/")) and not name.endswith("/"):
                jar.extract(name, target)
    return target


def corpus_files() -> list[Path]:
    """Every ``*.nml``, ``LEMS_*.xml`` and ``*.nml.h5`` of the OSB corpus (empty if absent)."""
    if not CORPUS.is_dir():
        return []
    files = set(CORPUS.rglob("*.nml")) | set(CORPUS.rglob("LEMS_*.xml")) | set(CORPUS.rglob("*.nml.h5"))
    return sorted(files)


def corpus_files_spread() -> list[Path]:
    """:func:`corpus_files` taken in turn from each repository (its first file, then every
    repository's second...), so a test that stops when its time budget is spent has still seen
    every repository."""
    return spread_by_repository(corpus_files(), lambda path: path.relative_to(CORPUS).parts[0])


def spread_by_repository(items: list, repository_of) -> list:
    """``items`` (in their order within each repository) taken in turn from each repository, the
    repositories by name: what a time budget leaves out is then spread over the corpus, not always
    the same repositories at the end of the alphabet."""
    by_repository: dict[str, list] = defaultdict(list)
    for item in items:
        by_repository[repository_of(item)].append(item)
    queues = [by_repository[name] for name in sorted(by_repository)]
    return [queue[k] for k in range(max(map(len, queues), default=0)) for queue in queues if k < len(queue)]


_INCLUDE = re.compile(rb"""<\s*[Ii]nclude\s[^>]*?(?:file|href)\s*=\s*["']([^"']+)["']""")


def model_bytes(path: Path) -> int:
    """The size of a model file and of every file it includes, transitively (missing ones left
    out): a cheap estimate of how long loading and running it takes, to run the cheapest first."""
    seen: set[Path] = set()
    todo = [path.resolve()]
    total = 0
    while todo:
        current = todo.pop()
        if current in seen or not current.is_file():
            continue
        seen.add(current)
        data = current.read_bytes()
        total += len(data)
        if current.suffix in (".xml", ".nml"):
            todo += [(current.parent / name.decode(errors="replace").lstrip("/")).resolve()
                     for name in _INCLUDE.findall(data)]
    return total


_SIMULATION = re.compile(rb"<\s*Simulation\s[^>]*>")
_SECONDS = {b"s": 1.0, b"ms": 1e-3, b"us": 1e-6}


def _seconds(element: bytes, attribute: bytes) -> float | None:
    found = re.search(rb"\s" + attribute + rb"""\s*=\s*["']\s*([0-9.eE+-]+)\s*(ms|us|s)\s*["']""", element)
    try:
        return float(found.group(1)) * _SECONDS[found.group(2)] if found else None
    except ValueError:
        return None


def run_cost(path: Path) -> float:
    """:func:`model_bytes` times the steps of the file's ``<Simulation>`` in tens of thousands (at
    least 1): what orders the corpus-wide tests' items, the cheapest first."""
    steps = 0.0
    found = _SIMULATION.search(path.read_bytes()) if path.is_file() else None
    if found:
        length, step = _seconds(found.group(0), b"length"), _seconds(found.group(0), b"step")
        steps = length / step if length and step else 0.0
    return model_bytes(path) * max(1.0, steps / 1e4)


@dataclass
class TimeBudget:
    """Seconds a corpus-wide test may spend, from its first item, read from an environment
    variable (so a longer run can ask for everything)."""

    variable: str
    default_s: float
    started: float | None = field(default=None)

    @property
    def seconds(self) -> float:
        return float(os.environ.get(self.variable, self.default_s))

    def spent(self) -> bool:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        return now - self.started > self.seconds

    def skip_if_spent(self) -> None:
        if self.spent():
            pytest.skip(f"the time budget of {self.seconds:g} s ({self.variable}) is spent")


def example_files() -> list[Path]:
    """Every model file of ``nml_examples/``."""
    return sorted(set(EXAMPLES.rglob("*.nml")) | set(EXAMPLES.rglob("LEMS_*.xml")))


def core_example_names() -> list[str]:
    with zipfile.ZipFile(jar_path()) as jar:
        return sorted(
            n for n in jar.namelist()
            if n.startswith(("examples/", "LEMSexamples/")) and n.endswith((".nml", ".xml"))
            and (n.endswith(".nml") or Path(n).name.startswith("LEMS_"))
        )


requires_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"OSB corpus not found at {CORPUS} (set NMLHUB_CORPUS)"
)


def assert_ran(run) -> None:
    """``run`` (a finished ``nmlhub run`` process) succeeded; its standard error tells why not."""
    assert run.returncode == 0, run.stderr[-2000:]
