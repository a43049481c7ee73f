"""One run of a batch, in its own process (``python -m nmlhub batch run-one RUN_DIR``): the model
as run written into the run's folder, simulated, its results and metrics stored, and its state
recorded whatever happens (an error, its time limit, a SIGTERM from a scheduler)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Iterator

from ..errors import NmlhubError
from ..neuron.options import RunOptions
from .metrics import RunContext, compute
from .spec import Metric
from .status import MODEL_DIR, RESULTS_FILE, RunStatus, read_config, read_status, write_status

log = logging.getLogger(__name__)

EXIT_DONE, EXIT_FAILED, EXIT_BUSY = 0, 1, 3


class RunInterrupted(NmlhubError):
    """The run was stopped from outside: its time limit, or a signal."""


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[bool]:
    """Hold the run's lock file while inside; yields False when another process holds it."""
    handle = open(Path(folder) / ".lock", "w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        handle.close()


class _Interrupter:
    """The handler of SIGUSR1 (sent by a timer thread at the run's time limit: NEURON uses
    SIGALRM and its interval timer itself) and SIGTERM: remembers why the run was stopped (the
    exception it raises may be wrapped by the code it interrupts) and stops it."""

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.reason: str | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGUSR1:
            self.reason = f"time limit of {self.timeout_s:g} s exceeded"
        else:
            self.reason = (f"terminated by {signal.Signals(signum).name} (a scheduler's time limit, "
                           "a cancellation, or the batch was stopped)")
        raise RunInterrupted(self.reason)


def settings_values(config: dict[str, Any]) -> dict[str, Any]:
    """The run's simulation settings and parameters as parameter paths -> values (parameters last,
    so a parameter ``simulation.dt`` wins over the batch's dt)."""
    values: dict[str, Any] = {}
    settings = config.get("settings", {})
    if settings.get("duration_ms") is not None:
        values["simulation.duration"] = float(settings["duration_ms"])
    if settings.get("dt_ms") is not None:
        values["simulation.dt"] = float(settings["dt_ms"])
    if settings.get("seed") is not None:
        values["simulation.seed"] = int(settings["seed"])
    values.update(config["params"])
    return values


def run_options(config: dict[str, Any]) -> RunOptions:
    """How a batch run is simulated: the run options its configuration names (``run_options``:
    e.g. ``engine``, ``event_timing``, ``share_synapses``), the model as run's settings otherwise
    (its duration, step and seed are written into it, see :func:`settings_values`)."""
    return RunOptions().with_values(config.get("run_options") or {})


def _simulate(config: dict[str, Any], folder: Path) -> dict[str, float]:
    import nmlhub
    from .params import model_as_run

    model_dir = folder / MODEL_DIR
    shutil.rmtree(model_dir, ignore_errors=True)
    lems = model_as_run(config["model"], model_dir, settings_values(config))
    print(f"model as run: {lems}", flush=True)
    model = nmlhub.load(lems)
    results = nmlhub.simulate(model, run_options(config))
    print(f"simulated {results.duration_ms:g} ms at dt {results.dt_ms:g} ms, seed {results.seed}: "
          f"{len(results.spikes)} cells, {results.spike_count()} spikes", flush=True)
    if not config.get("keep_traces", False):
        results.traces = {}
    nmlhub.save(results, folder / RESULTS_FILE)
    metrics = [Metric(m["name"], m.get("function"), m.get("options") or {}) for m in config["metrics"]]
    context = RunContext(params=dict(config["params"]), seed=results.seed, folder=folder)
    values = compute(results, metrics, context)
    if not config.get("keep_spikes", True):
        (folder / RESULTS_FILE).unlink()
    return values


def run_one(folder: str | Path) -> int:
    """Run the batch run in ``folder`` and record its state; returns an exit status (0 done,
    1 failed, 3 when another process is running it). A run already done is not run again."""
    folder = Path(folder).resolve()
    with run_lock(folder) as locked:
        if not locked:
            print(f"{folder}: another process is running this run", file=sys.stderr)
            return EXIT_BUSY
        previous = read_status(folder)
        if previous.state == "done":
            print(f"{folder}: already done", flush=True)
            return EXIT_DONE
        config = read_config(folder)
        status = RunStatus("running", attempt=previous.attempt + 1, started=time.time(),
                           host=socket.gethostname(), pid=os.getpid())
        write_status(folder, status)
        print(f"run {config['id']} (attempt {status.attempt}) on {status.host}, pid {status.pid}: "
              f"{config['params']}", flush=True)
        start = time.perf_counter()
        timeout = config.get("timeout_s")
        interrupter = _Interrupter(timeout)
        old_term = signal.signal(signal.SIGTERM, interrupter)
        old_usr1 = signal.signal(signal.SIGUSR1, interrupter)
        timer = threading.Timer(float(timeout), os.kill, (os.getpid(), signal.SIGUSR1)) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            metrics = _simulate(config, folder)
        except BaseException as exc:  # every failure is recorded; the batch goes on
            if timer is not None:
                timer.cancel()
            status.state = "failed"
            status.error = interrupter.reason or f"{type(exc).__name__}: {exc}"
            status.traceback = "".join(traceback.format_exception(exc)[-12:])
            print(status.traceback, file=sys.stderr, flush=True)
        else:
            if timer is not None:
                timer.cancel()
            status.state = "done"
            status.metrics = metrics
            print("metrics: " + ", ".join(f"{k}={v:.6g}" if math.isfinite(v) else f"{k}=nan"
                                          for k, v in metrics.items()), flush=True)
        finally:
            signal.signal(signal.SIGTERM, old_term)
            signal.signal(signal.SIGUSR1, old_usr1)
        status.finished = time.time()
        status.wall_s = time.perf_counter() - start
        write_status(folder, status)
        print(f"{status.state} in {status.wall_s:.2f} s" + (f": {status.error}" if status.error else ""), flush=True)
        return EXIT_DONE if status.state == "done" else EXIT_FAILED
