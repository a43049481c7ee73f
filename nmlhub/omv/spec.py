"""Open Source Brain model-validation tests (``.test*.omt`` with their ``.mep``) as plain data.

An ``.omt`` names a target (a LEMS or NeuroML file, relative to the ``.omt``), the engine that
runs it, a ``.mep`` file of expected values and, per experiment, the observable: spike times or a
spike rate, read from a trace (with a spike detection method) or from a spike-times file. The
``.mep`` holds the expected values per experiment. The layout is the one OSB's validation tool
(omv) reads.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import ModelError

#: engines whose targets nmlhub runs in NEURON, as jNeuroML, its NEURON and its NetPyNE export do
SIMULATING_ENGINES = ("jNeuroML", "jNeuroML_NEURON", "jNeuroML_NetPyNE")
#: the engine that only validates its target
VALIDATING_ENGINE = "jNeuroML_validate"
#: omv's tolerance when an experiment states none
DEFAULT_TOLERANCE = 0.1


@dataclass(frozen=True)
class Observation:
    """Where an experiment's observed spikes come from.

    ``kind`` is ``"trace"`` (a column file: time and value columns, spikes detected with
    ``method`` and ``threshold``), ``"times"`` (a column file already holding spike times) or
    ``"spike file"`` (an event file of ``(id, time)`` or ``(time, id)`` rows, cell ``ids``).
    ``path`` is absolute, resolved from the ``.omt``'s folder as omv does.
    """

    kind: str
    path: Path
    columns: tuple[int, ...] = (0, 1)
    scaling: tuple[float, ...] = (1.0, 1.0)
    header: int = 0
    method: str = "threshold"
    threshold: float = 0.0
    spike_format: str = "ID_TIME"
    ids: object = 0


@dataclass(frozen=True)
class Experiment:
    """One experiment of an ``.omt``: an observable, its source, tolerance and expected value.

    ``observable`` is ``"spike times"`` (``expected`` a list of times) or ``"spike rate"``
    (``expected`` a number). ``expected`` is None when the ``.mep`` does not give it.
    """

    name: str
    observable: str
    observation: Observation | None
    tolerance: float
    expected: object
    problem: str = ""


@dataclass
class OmtTest:
    """One ``.omt`` file: its target, engine and experiments."""

    path: Path
    target: Path
    engine: str
    mep: Path | None
    experiments: list[Experiment] = field(default_factory=list)
    target_text: str = ""

    @property
    def simulates(self) -> bool:
        """True when nmlhub runs the target for this engine."""
        return self.engine in SIMULATING_ENGINES

    @property
    def validates(self) -> bool:
        """True when the engine only validates the target."""
        return self.engine == VALIDATING_ENGINE

    def validation_targets(self) -> list[Path]:
        """The files a validation test names: its target, space-separated glob patterns
        relative to the ``.omt``'s folder, as ``jnml -validate`` receives them from a shell."""
        files: list[Path] = []
        for pattern in self.target_text.split():
            full = os.path.join(self.path.parent, pattern)
            matches = sorted(glob.glob(full)) if glob.has_magic(pattern) else []
            files.extend(Path(p).resolve() for p in matches) if matches else files.append(Path(full).resolve())
        return files


def find_omt_files(paths: list[Path]) -> list[Path]:
    """Every ``.test*.omt`` file under ``paths`` (folders searched recursively; files kept)."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p.resolve() for p in path.rglob(".test*.omt") if p.is_file())
        elif path.is_file():
            found.add(path.resolve())
    return sorted(found)


def _yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read: {exc}", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ModelError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=path,
                         line=mark.line + 1 if mark else None) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelError("expected a mapping of keys (target, engine, mep, experiments)", file=path)
    return data


def read_omt(path: Path) -> OmtTest:
    """Read an ``.omt`` file and the expected values of its ``.mep``.

    Raises
    ------
    ModelError
        When the file is not YAML, has no target or engine, or its ``.mep`` cannot be read.
    """
    path = Path(path).resolve()
    omt = _yaml(path)
    for key in ("target", "engine"):
        if not str(omt.get(key) or "").strip():
            raise ModelError(f"no '{key}'", file=path)
    target_text = str(omt["target"]).strip().strip('"').strip()
    target = (path.parent / target_text).resolve()
    engine = str(omt["engine"]).strip()
    mep_path = (path.parent / str(omt["mep"]).strip()).resolve() if omt.get("mep") else None
    test = OmtTest(path, target, engine, mep_path, target_text=target_text)
    experiments = omt.get("experiments") or {}
    if not isinstance(experiments, dict):
        raise ModelError("'experiments' is not a mapping of experiment names", file=path)
    expected_by_name: dict = {}
    if experiments and mep_path is not None and mep_path.is_file():
        expected_by_name = _yaml(mep_path).get("experiments") or {}
    for name, spec in experiments.items():
        test.experiments.append(_experiment(str(name), spec or {}, path.parent, mep_path,
                                            (expected_by_name.get(name) or {}).get("expected") or {}))
    return test


def _experiment(name: str, spec: dict, folder: Path, mep: Path | None, expected: dict) -> Experiment:
    observables = spec.get("observables") or {}
    kinds = [k for k in ("spike times", "spike rate") if k in observables]
    if not kinds:
        return Experiment(name, ", ".join(map(str, observables)) or "none", None, DEFAULT_TOLERANCE,
                          None, f"observable {', '.join(map(str, observables)) or 'none'} is not read by nmlhub")
    kind = kinds[0]
    observable = observables[kind] or {}
    tolerance = observable.get("tolerance")
    tolerance = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    problem = ""
    try:
        observation = _observation(observable, folder)
    except (KeyError, TypeError, ValueError) as exc:
        observation, problem = None, f"cannot read the observable's file entry: {exc}"
    value = expected.get(kind)
    if mep is None or not mep.is_file():
        problem = problem or f"its .mep ({mep.name if mep else 'none named'}) is not there"
    elif value is None and not problem:
        problem = f"no expected {kind} for {name} in {mep.name}"
    elif kind == "spike times" and not isinstance(value, list) and not problem:
        problem = f"expected spike times given as {type(value).__name__}, not a list (not read by nmlhub)"
    return Experiment(name, kind, observation, tolerance, value, problem)


def _observation(observable: dict, folder: Path) -> Observation:
    if "spiketimes file" in observable:
        entry = observable["spiketimes file"]
        return Observation("spike file", (folder / str(entry["path"])).resolve(),
                           scaling=(float(entry.get("scaling", 1)),),
                           spike_format=str(entry.get("format", "ID_TIME")), ids=entry.get("ids", 0))
    entry = observable["file"]
    columns = tuple(int(c) for c in entry.get("columns", (0, 1)))
    scaling = tuple(float(s) for s in entry.get("scaling", [1.0] * len(columns)))
    detection = observable.get("spike detection")
    path = (folder / str(entry["path"])).resolve()
    if detection is None:
        return Observation("times", path, columns, scaling, int(entry.get("header", 0)))
    return Observation("trace", path, columns, scaling, int(entry.get("header", 0)),
                       str(detection.get("method", "threshold")).strip(),
                       float(detection.get("threshold", 0)))
