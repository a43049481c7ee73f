"""What a batch is: the base model, the parameters and how their values are chosen, the simulation
settings, the metrics and what to keep. Built in Python or read from a small YAML/JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import NmlhubError


class BatchError(NmlhubError):
    """A batch specification or a batch folder is unusable."""


SAMPLING_METHODS = ("grid", "list", "random", "lhs")
_TOP_KEYS = ("name", "model", "output", "parameters", "sampling", "runs", "simulation", "metrics",
             "keep", "timeout_s", "seed_per_run", "executor")
EXECUTORS = ("local", "mpi", "slurm", "pbs")
#: The options each executor takes in a spec's ``executor`` mapping (besides ``kind``).
EXECUTOR_OPTIONS = {
    "local": ("jobs",),
    "mpi": ("workers", "mpiexec_args", "max_pools"),
    "slurm": ("mode", "queue", "cpus", "memory", "account", "directives", "modules", "setup", "max_parallel",
              "wait", "poll_s", "max_wait_s", "python"),
    "pbs": ("queue", "cpus", "memory", "account", "directives", "modules", "setup", "wait", "poll_s",
            "max_wait_s", "python"),
}


@dataclass(frozen=True)
class Parameter:
    """One parameter, addressed by path into the model (see :mod:`nmlhub.batch.params`).

    Attributes
    ----------
    path
        ``ID.attribute`` (a component's attribute such as ``RS.a``, a rule's ``weight`` or
        ``probability``, a population's ``size``), optionally prefixed by the kind of element
        (``component:``, ``population:``, ``rule:``), or ``simulation.duration|dt|seed``.
    values
        The values to take (grid, and random/LHS choices among them).
    low, high
        The range random and Latin hypercube samples are drawn from.
    log
        Draw samples uniformly in log space.
    """

    path: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False


@dataclass(frozen=True)
class Sampling:
    """How parameter values are combined into runs.

    Attributes
    ----------
    method
        ``"grid"`` (every combination of the parameters' values, the last parameter varying
        fastest), ``"list"`` (the explicit ``combinations``), ``"random"`` or ``"lhs"`` (Latin
        hypercube; ``samples`` points, seeded).
    """

    method: str = "grid"
    samples: int | None = None
    seed: int = 0
    combinations: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Metric:
    """A metric computed for every run (see :mod:`nmlhub.batch.metrics`).

    Attributes
    ----------
    name
        A named metric (``rate``, ``isi_cv``, ``synchrony``, ``spike_count``) or the name given to
        ``function``'s values.
    function
        ``"module:function"`` or ``"path/to/file.py:function"``, called as
        ``function(results, context, **options)``; returns a number or a dict of them.
    options
        Keyword options (e.g. ``start_ms``, ``bin_ms``).
    """

    name: str
    function: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchSpec:
    """A batch of simulations of one model.

    Attributes
    ----------
    model
        The base LEMS simulation file.
    parameters
        The parameters varied.
    sampling
        How their values are combined.
    duration_ms, dt_ms, seed
        Simulation settings for every run (``None``: the LEMS file's).
    seed_per_run
        Give run ``i`` the seed ``seed + i`` instead of one seed for all.
    metrics
        What is computed for every run.
    keep_spikes, keep_traces
        What each run keeps in its ``results.h5`` (spikes are always stored while metrics are
        computed; without ``keep_spikes`` the file is removed afterwards).
    timeout_s
        A run still going after this long is stopped and recorded as failed.
    name, output
        The batch's name and folder.
    executor
        Where to run by default: ``kind`` (``local``, ``mpi``, ``slurm``, ``pbs``) and that
        executor's options (e.g. ``jobs``; ``queue``, ``memory``, ``modules``, ``directives``).
    """

    model: Path
    parameters: tuple[Parameter, ...] = ()
    sampling: Sampling = Sampling()
    duration_ms: float | None = None
    dt_ms: float | None = None
    seed: int | None = None
    seed_per_run: bool = False
    metrics: tuple[Metric, ...] = (Metric("rate"), Metric("spike_count"))
    keep_spikes: bool = True
    keep_traces: bool = False
    timeout_s: float = 3600.0
    name: str = "batch"
    output: Path | None = None
    executor: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (what ``batch.json`` stores)."""
        data = asdict(self)
        data["model"] = str(self.model)
        data["output"] = str(self.output) if self.output is not None else None
        data["sampling"]["combinations"] = [dict(c) for c in self.sampling.combinations]
        data["executor"] = dict(self.executor)
        return data


def _fail(source: str, key: str, message: str) -> BatchError:
    return BatchError(f"{key}: {message}", file=source)


def _number(source: str, key: str, value: Any, kind: type = float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(source, key, f"expected a number, got {value!r}")
    if kind is int and int(value) != value:
        raise _fail(source, key, f"expected an integer, got {value!r}")
    if not math.isfinite(value):
        raise _fail(source, key, f"expected a finite number, got {value!r}")
    return kind(value)


def _parameter(source: str, path: str, entry: Any) -> Parameter:
    key = f"parameters.{path}"
    if isinstance(entry, (list, tuple)):
        entry = {"values": list(entry)}
    if not isinstance(entry, Mapping):
        raise _fail(source, key, "give a list of values or a mapping with values, or low and high")
    unknown = set(entry) - {"values", "low", "high", "log", "start", "stop", "num"}
    if unknown:
        raise _fail(source, key, f"unknown key(s) {', '.join(sorted(unknown))} "
                                 "(known: values, low, high, log, start, stop, num)")
    values = entry.get("values")
    if "start" in entry or "stop" in entry or "num" in entry:
        if values is not None or not {"start", "stop", "num"} <= set(entry):
            raise _fail(source, key, "an evenly spaced range needs start, stop and num (and no values)")
        start = _number(source, f"{key}.start", entry["start"])
        stop = _number(source, f"{key}.stop", entry["stop"])
        num = _number(source, f"{key}.num", entry["num"], int)
        if num < 1:
            raise _fail(source, f"{key}.num", "must be at least 1")
        values = [start + (stop - start) * i / (num - 1) if num > 1 else start for i in range(num)]
    if values is not None:
        if not isinstance(values, (list, tuple)) or not values:
            raise _fail(source, f"{key}.values", "expected a non-empty list")
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise _fail(source, f"{key}.values[{i}]", f"expected a number or a string, got {value!r}")
        values = tuple(values)
    low = _number(source, f"{key}.low", entry["low"]) if "low" in entry else None
    high = _number(source, f"{key}.high", entry["high"]) if "high" in entry else None
    if (low is None) != (high is None):
        raise _fail(source, key, "give both low and high")
    if low is not None and not low < high:
        raise _fail(source, key, f"low ({low}) must be below high ({high})")
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise _fail(source, f"{key}.log", f"expected true or false, got {log!r}")
    if log and low is not None and low <= 0:
        raise _fail(source, f"{key}.low", "must be positive when log is true")
    if values is None and low is None:
        raise _fail(source, key, "give values, or low and high")
    return Parameter(path, values, low, high, log)


def _metric(source: str, index: int, entry: Any, base: Path) -> Metric:
    key = f"metrics[{index}]"
    if isinstance(entry, str):
        return Metric(entry)
    if not isinstance(entry, Mapping) or "name" not in entry and "function" not in entry:
        raise _fail(source, key, "give a metric's name, or a mapping with name and/or function")
    function = entry.get("function")
    if function is not None and (not isinstance(function, str) or ":" not in function):
        raise _fail(source, f"{key}.function", f"expected 'module:function' or 'file.py:function', got {function!r}")
    name = entry.get("name") or function.rsplit(":", 1)[1]
    module, _, attribute = (function or "").rpartition(":")
    if module.endswith(".py") and not Path(module).is_absolute():
        function = f"{base / module}:{attribute}"
    options = {k: v for k, v in entry.items() if k not in ("name", "function")}
    return Metric(str(name), function, options)


def spec_from_dict(data: Mapping[str, Any], source: str = "<spec>", base: Path | None = None) -> BatchSpec:
    """Build a :class:`BatchSpec` from plain data (as read from YAML or JSON).

    Parameters
    ----------
    data
        The mapping; see the README's "Batch runs" for its keys.
    source
        Named in error messages (the file it came from).
    base
        Relative ``model`` and ``output`` paths are relative to this folder.

    Raises
    ------
    BatchError
        Naming ``source`` and the offending key.
    """
    _check_keys(source, data)
    base = base or Path.cwd()

    def resolve(value: Any, key: str) -> Path:
        if not isinstance(value, str):
            raise _fail(source, key, f"expected a path, got {value!r}")
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path)

    model = resolve(data["model"], "model")
    raw_params = data.get("parameters") or {}
    if not isinstance(raw_params, Mapping):
        raise _fail(source, "parameters", "expected a mapping of parameter path -> values")
    parameters = tuple(_parameter(source, str(path), entry) for path, entry in raw_params.items())

    sampling = _sampling(source, data)
    duration, dt, sim_seed = _simulation(source, data)
    raw_metrics = data.get("metrics", ["rate", "spike_count"])
    if not isinstance(raw_metrics, list):
        raise _fail(source, "metrics", "expected a list")
    metrics = tuple(_metric(source, i, m, base) for i, m in enumerate(raw_metrics))

    keep = _keep(source, data)
    timeout = _number(source, "timeout_s", data.get("timeout_s", 3600.0))
    if timeout <= 0:
        raise _fail(source, "timeout_s", "must be positive")
    seed_per_run = data.get("seed_per_run", False)
    if not isinstance(seed_per_run, bool):
        raise _fail(source, "seed_per_run", f"expected true or false, got {seed_per_run!r}")
    executor = _executor(source, data.get("executor") or {})
    name = str(data.get("name") or (Path(source).stem if source != "<spec>" else "batch"))
    output = resolve(data["output"], "output") if data.get("output") is not None else None
    spec = BatchSpec(model=model, parameters=parameters, sampling=sampling, duration_ms=duration, dt_ms=dt,
                     seed=sim_seed, seed_per_run=seed_per_run, metrics=metrics,
                     keep_spikes=bool(keep.get("spikes", True)), keep_traces=bool(keep.get("traces", False)),
                     timeout_s=timeout, name=name, output=output, executor=executor)
    check_spec(spec, source)
    return spec


def _check_keys(source: str, data: Any) -> None:
    """A spec is a mapping of known keys, with a model."""
    if not isinstance(data, Mapping):
        raise BatchError("a batch spec is a mapping (keys: model, parameters, ...)", file=source)
    unknown = set(data) - set(_TOP_KEYS)
    if unknown:
        raise BatchError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(_TOP_KEYS)})",
                         file=source)
    if "model" not in data:
        raise _fail(source, "model", "missing: the LEMS simulation file to run")


def _sampling(source: str, data: Mapping[str, Any]) -> Sampling:
    """The spec's ``sampling`` (a method name or a mapping) and explicit ``runs``."""
    raw_sampling = data.get("sampling", "grid")
    if isinstance(raw_sampling, str):
        raw_sampling = {"method": raw_sampling}
    if not isinstance(raw_sampling, Mapping):
        raise _fail(source, "sampling", "expected a method name or a mapping with method, samples, seed")
    method = raw_sampling.get("method", "grid")
    if method not in SAMPLING_METHODS:
        raise _fail(source, "sampling.method", f"unknown method {method!r} (methods: {', '.join(SAMPLING_METHODS)})")
    samples = raw_sampling.get("samples")
    if samples is not None:
        samples = _number(source, "sampling.samples", samples, int)
    seed = _number(source, "sampling.seed", raw_sampling.get("seed", 0), int)
    runs = data.get("runs") or []
    if runs and method != "list":
        raise _fail(source, "runs", "explicit runs need sampling: list")
    if not isinstance(runs, list) or not all(isinstance(r, Mapping) for r in runs):
        raise _fail(source, "runs", "expected a list of mappings parameter path -> value")
    return Sampling(method, samples, seed, tuple(dict(r) for r in runs))


def _simulation(source: str, data: Mapping[str, Any]) -> tuple[float | None, float | None, int | None]:
    """The spec's ``simulation``: duration (ms), time step (ms) and seed, each None when not given."""
    sim = data.get("simulation") or {}
    if not isinstance(sim, Mapping):
        raise _fail(source, "simulation", "expected a mapping with duration_ms, dt_ms, seed")
    unknown = set(sim) - {"duration_ms", "dt_ms", "seed"}
    if unknown:
        raise _fail(source, "simulation", f"unknown key(s) {', '.join(sorted(unknown))} (known: duration_ms, dt_ms, seed)")
    duration = _number(source, "simulation.duration_ms", sim["duration_ms"]) if "duration_ms" in sim else None
    dt = _number(source, "simulation.dt_ms", sim["dt_ms"]) if "dt_ms" in sim else None
    sim_seed = _number(source, "simulation.seed", sim["seed"], int) if "seed" in sim else None
    return duration, dt, sim_seed


def _keep(source: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the runs keep (``spikes``, ``traces``), as a mapping or a list of names."""
    keep = data.get("keep", {})
    if isinstance(keep, list):
        keep = {k: True for k in keep}
    if not isinstance(keep, Mapping) or set(keep) - {"spikes", "traces"}:
        raise _fail(source, "keep", "expected spikes and/or traces (true or false)")
    return keep


def _executor(source: str, entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):
        entry = {"kind": entry}
    if not isinstance(entry, Mapping):
        raise _fail(source, "executor", "expected an executor's name or a mapping with kind and options")
    kind = entry.get("kind", "local")
    if kind not in EXECUTORS:
        raise _fail(source, "executor.kind", f"unknown executor {kind!r} (executors: {', '.join(EXECUTORS)})")
    unknown = set(entry) - {"kind"} - set(EXECUTOR_OPTIONS[kind])
    if unknown:
        raise _fail(source, "executor", f"unknown option(s) {', '.join(sorted(unknown))} for {kind} "
                                        f"(options: {', '.join(EXECUTOR_OPTIONS[kind])})")
    for key in ("directives", "modules", "setup", "mpiexec_args"):
        if key in entry and not (isinstance(entry[key], list) and all(isinstance(v, str) for v in entry[key])):
            raise _fail(source, f"executor.{key}", "expected a list of strings")
    return {"kind": kind, **{k: v for k, v in entry.items() if k != "kind"}}


def check_spec(spec: BatchSpec, source: str = "<spec>") -> None:
    """Refuse specs whose sampling cannot work with their parameters (raises :class:`BatchError`)."""
    method = spec.sampling.method
    if method == "list":
        if not spec.sampling.combinations:
            raise _fail(source, "runs", "sampling: list needs runs (a list of parameter -> value mappings)")
        return
    if not spec.parameters:
        raise _fail(source, "parameters", "no parameters to vary")
    if method == "grid":
        for p in spec.parameters:
            if p.values is None:
                raise _fail(source, f"parameters.{p.path}", "a grid needs values (or start, stop, num)")
    elif spec.sampling.samples is None or spec.sampling.samples < 1:
        raise _fail(source, "sampling.samples", f"{method} sampling needs a number of samples (at least 1)")


def load_spec(path: str | Path) -> BatchSpec:
    """Read a batch spec from a YAML (``.yaml``, ``.yml``) or JSON (``.json``) file.

    Relative paths inside it are relative to the file's folder; the batch's folder defaults to
    ``<file's folder>/<name>``.

    Raises
    ------
    BatchError
        The file is missing or malformed, or a key is wrong (the message names file and key).
    """
    path = Path(path)
    if not path.is_file():
        raise BatchError("batch spec not found", file=path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, Exception) as exc:  # yaml.YAMLError and json.JSONDecodeError
        raise BatchError(f"not readable as {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}",
                         file=path) from None
    spec = spec_from_dict(data, source=str(path), base=path.resolve().parent)
    if spec.output is None:
        from dataclasses import replace

        spec = replace(spec, output=path.resolve().parent / spec.name)
    return spec
