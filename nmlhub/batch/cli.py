"""``nmlhub batch``: run, resume, status, analyze (and run-one, worker, which executors start)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..argtypes import positive_int, positive_number

EXIT_OK, EXIT_FAILED_RUNS = 0, 1


def add_parser(sub: Any) -> None:
    """Add ``batch`` and its subcommands to the ``nmlhub`` command's subparsers."""
    batch = sub.add_parser("batch", help="parameter exploration: many runs of one model (local, MPI, SLURM, PBS)")
    commands = batch.add_subparsers(dest="batch_command", required=True)

    def executor_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--executor", choices=("local", "mpi", "slurm", "pbs"),
                            help="where to run (default: the spec's executor, else local)")
        parser.add_argument("-j", "--jobs", type=positive_int, help="local: runs at a time (default 1)")
        parser.add_argument("--workers", type=positive_int, help="mpi: worker ranks (default 2)")
        parser.add_argument("--mpiexec-arg", dest="mpiexec_args", action="append", metavar="ARG",
                            help="mpi: an argument for mpiexec (e.g. --mpiexec-arg=-hosts --mpiexec-arg=a,b)")
        parser.add_argument("--mode", choices=("array", "per-run"), help="slurm: a job array (default) or a job per run")
        parser.add_argument("--queue", help="slurm/pbs: partition or queue")
        parser.add_argument("--cpus", type=positive_int, help="slurm/pbs: CPUs per run (default 1)")
        parser.add_argument("--memory", help="slurm/pbs: memory per run (e.g. 2G)")
        parser.add_argument("--account", help="slurm/pbs: account to charge")
        parser.add_argument("--directive", dest="directives", action="append",
                            help="slurm/pbs: a further scheduler option, as written after #SBATCH/#PBS")
        parser.add_argument("--module", dest="modules", action="append", help="slurm/pbs: module to load")
        parser.add_argument("--setup", action="append", help="slurm/pbs: a shell line run first")
        parser.add_argument("--max-parallel", type=positive_int, help="slurm arrays: at most this many runs at a time")
        parser.add_argument("--no-wait", dest="wait", action="store_const", const=False,
                            help="slurm/pbs: return after submitting (see nmlhub batch status)")
        parser.add_argument("--poll", dest="poll_s", type=positive_number, help="slurm/pbs: seconds between queue polls")

    run = commands.add_parser("run", help="run the batch a spec file (YAML/JSON) describes")
    run.add_argument("spec", type=Path)
    run.add_argument("-o", "--output", type=Path, help="the batch's folder (default: the spec's output)")
    progress_help = "print runs done/running/pending/failed every S seconds when they change (0: never; default 5)"
    run.add_argument("--progress-every", type=float, default=5.0, metavar="S", help=progress_help)
    executor_options(run)
    resume = commands.add_parser("resume", help="run what a batch has not finished (failed runs too)")
    resume.add_argument("folder", type=Path)
    resume.add_argument("--progress-every", type=float, default=5.0, metavar="S", help=progress_help)
    resume.add_argument("--no-retry-failed", action="store_true", help="leave failed runs as they are")
    executor_options(resume)
    status = commands.add_parser("status", help="how many runs are pending, running, done, failed")
    status.add_argument("folder", type=Path)
    status.add_argument("--json", action="store_true")
    status.add_argument("--failed", action="store_true", help="list failed runs with their errors")
    analyze = commands.add_parser("analyze", help="curves, heatmaps and the best runs of a metric")
    analyze.add_argument("folder", type=Path)
    analyze.add_argument("--metric", help="the metric (default: the first)")
    analyze.add_argument("-x", help="parameter on the x axis (default: the first)")
    analyze.add_argument("-y", help="parameter on the y axis: a heatmap (default: a 1D curve)")
    analyze.add_argument("--fix", action="append", default=[], metavar="PARAM=VALUE",
                         help="keep only runs with this value of another parameter (others are averaged)")
    analyze.add_argument("--best", type=positive_int, default=10, help="rows of the best-runs table")
    analyze.add_argument("--lowest", action="store_true", help="best = lowest metric (default: highest)")
    analyze.add_argument("--out", type=Path, help="write the figure here (PNG, SVG, PDF)")
    one = commands.add_parser("run-one", help=argparse.SUPPRESS)
    one.add_argument("folder", type=Path)
    worker = commands.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("folder", type=Path)
    worker.add_argument("runs_file", type=Path)


_CLI_OPTIONS = ("jobs", "workers", "mpiexec_args", "mode", "queue", "cpus", "memory", "account", "directives",
                "modules", "setup", "max_parallel", "wait", "poll_s")


def _executor(args: argparse.Namespace, spec_executor: dict[str, Any]) -> Any:
    """The executor the command line asks for, with the spec's executor options as defaults."""
    from .driver import executor_for
    from .spec import EXECUTOR_OPTIONS

    kind = args.executor or spec_executor.get("kind", "local")
    options = {k: v for k, v in spec_executor.items() if k != "kind"} if kind == spec_executor.get("kind") else {}
    options.update({k: getattr(args, k) for k in _CLI_OPTIONS if getattr(args, k) is not None})
    ignored = sorted(set(options) - set(EXECUTOR_OPTIONS[kind]))
    if ignored:
        print(f"nmlhub batch: {', '.join(ignored)}: not options of the {kind} executor (ignored)", file=sys.stderr)
    return executor_for(kind, **{k: v for k, v in options.items() if k in EXECUTOR_OPTIONS[kind]})


def _report(batch: Any) -> int:
    counts = batch.counts()
    print(f"{batch.folder}: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    for run, status in zip(batch.runs, batch.statuses()):
        if status.state == "failed":
            print(f"  {run.name} failed: {status.error}")
    return EXIT_FAILED_RUNS if counts["failed"] else EXIT_OK


def _stop_on_sigterm() -> None:
    """A SIGTERM to the driver stops it as Ctrl-C does: the runs going on are killed and recorded."""
    import signal

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _progress(folder: Path, every_s: float) -> Any:
    """Print the runs' progress while the batch runs (every ``every_s`` s when it changed; 0: never)."""
    import contextlib

    from .progress import ProgressWatcher, describe

    if not every_s or every_s <= 0:
        return contextlib.nullcontext()
    return ProgressWatcher(folder, lambda counts, elapsed: print(f"{folder.name}: {describe(counts, elapsed)}",
                                                                 flush=True), every_s)


def _run(args: argparse.Namespace) -> int:
    from .driver import run_batch
    from .spec import load_spec

    spec = load_spec(args.spec)
    _stop_on_sigterm()
    folder = Path(args.output if args.output is not None else spec.output or spec.name).resolve()
    with _progress(folder, args.progress_every):
        batch, index = run_batch(spec, _executor(args, dict(spec.executor)), folder=args.output)
    print(f"index: {batch.folder / 'index.csv'}, {batch.folder / 'index.h5'}")
    return _report(batch)


def _resume(args: argparse.Namespace) -> int:
    from .driver import run_batch

    from .batch import Batch

    executor = _executor(args, Batch.open(args.folder).spec.get("executor") or {})
    _stop_on_sigterm()
    with _progress(args.folder, args.progress_every):
        batch, _ = run_batch(args.folder, executor, retry_failed=not args.no_retry_failed)
    return _report(batch)


def _status(args: argparse.Namespace) -> int:
    from .batch import Batch
    from .driver import executor_for
    from .executors.base import mark_failed_if_gone
    from .index import write_index

    batch = Batch.open(args.folder)
    for run in batch.runs:
        mark_failed_if_gone(run)
    queued: dict[str, int] = {}
    for kind in sorted({job["executor"] for job in batch.jobs()}):
        jobs = [job for job in batch.jobs() if job["executor"] == kind]
        try:
            queued[kind] = len(executor_for(kind).refresh(jobs))
        except Exception as exc:  # no scheduler reachable from here: say so, show the files' view
            print(f"({kind}: cannot ask the queue: {exc})", file=sys.stderr)
    write_index(batch)
    counts = batch.counts()
    if args.json:
        print(json.dumps({"folder": str(batch.folder), "counts": counts, "queued_jobs": queued,
                          "failed": {r.name: s.error for r, s in zip(batch.runs, batch.statuses())
                                     if s.state == "failed"}}, indent=2))
        return EXIT_OK
    print(f"{batch.name}: {len(batch.runs)} runs: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    for kind, n in queued.items():
        print(f"{kind}: {n} job(s) still queued or running")
    if args.failed:
        for run, status in zip(batch.runs, batch.statuses()):
            if status.state == "failed":
                print(f"  {run.name}: {status.error}")
    return EXIT_OK


def _analyze(args: argparse.Namespace) -> int:
    from .analyze import best_runs, format_table, plot_metric
    from .batch import Batch
    from .index import write_index

    index = write_index(Batch.open(args.folder))
    if not index.metrics:
        print("no run has metrics yet", file=sys.stderr)
        return EXIT_FAILED_RUNS
    metric = args.metric or next(iter(index.metrics))
    fixed = {}
    for item in args.fix:
        name, _, value = item.partition("=")
        fixed[name] = value
    figure = plot_metric(index, metric, x=args.x, y=args.y, fixed=fixed)
    out = args.out or (args.folder / f"{metric}{'_heatmap' if args.y else ''}.png")
    figure.savefig(out, dpi=120, bbox_inches="tight")
    print(f"wrote {out}")
    print(format_table(best_runs(index, metric, args.best, lowest=args.lowest, fixed=fixed), metric))
    return EXIT_OK


def main(args: argparse.Namespace) -> int:
    """Run the ``nmlhub batch`` subcommand ``args`` names."""
    if args.batch_command == "run-one":
        from .runner import run_one

        return run_one(args.folder)
    if args.batch_command == "worker":
        from .executors.mpi import serve

        return serve(args.folder, args.runs_file)
    return {"run": _run, "resume": _resume, "status": _status, "analyze": _analyze}[args.batch_command](args)
