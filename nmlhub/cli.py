"""The ``nmlhub`` command: parses arguments, prints, sets exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import __version__
from .argtypes import positive_int, positive_number
from .errors import NmlhubError

if TYPE_CHECKING:
    from .neuron.options import RunOptions

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmlhub", description="NeuroML models: inspect, validate, run in NEURON (serially or on MPI ranks), "
                    "build from rules, import (NEURON cells, NetPyNE models), convert, plot, explore in batches."
    )
    parser.add_argument("--version", action="version", version=f"nmlhub {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_info_parser(sub)
    _add_validate_parser(sub)
    _add_run_parser(sub)
    from .importers.cli import add_parser as add_import_cell
    from .importers.netpyne_cli import add_parser as add_import_netpyne

    add_import_cell(sub)
    add_import_netpyne(sub)
    _add_convert_parser(sub)
    from .batch.cli import add_parser as add_batch_parser
    from .omv.cli import add_parser as add_omv
    from .plots.cli import add_parser as add_plot

    add_batch_parser(sub)
    add_plot(sub)
    add_omv(sub)
    return parser


def _add_info_parser(sub: Any) -> None:
    info = sub.add_parser("info", help="summarise a NeuroML, NeuroML HDF5 or LEMS file")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")


def _add_validate_parser(sub: Any) -> None:
    validate = sub.add_parser("validate", help="check files against the schema and for dangling references")
    validate.add_argument("files", type=Path, nargs="+")
    validate.add_argument("--json", action="store_true", help="print problems as JSON")
    validate.add_argument("--no-warnings", action="store_true", help="print errors only")


def _add_run_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run a LEMS simulation file in NEURON and write its outputs")
    run.add_argument("file", type=Path)
    run.add_argument("--duration", type=positive_number, help="simulated time (ms), instead of the file's length")
    run.add_argument("--dt", type=positive_number, help="time step (ms), instead of the file's step")
    run.add_argument("--seed", type=int, help="random seed, instead of the file's")
    run.add_argument("--outdir", type=Path, help="write output files here instead of next to the LEMS file")
    run.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    run.add_argument("-n", "--ranks", type=positive_int, default=1,
                     help="run on this many MPI ranks (starts mpiexec; under mpiexec already, ranks come from it)")
    run.add_argument("--share-synapses", action="store_true",
                     help="connections of a linear synapse type onto one place of a cell share one instance")
    run.add_argument("--write-every", type=positive_number, metavar="MS",
                     help="append everything recorded to an HDF5 file every MS ms (see --intervals)")
    run.add_argument("--intervals", type=Path, metavar="FILE.h5",
                     help="the HDF5 file --write-every appends to (default: next to the LEMS file)")
    run.add_argument("--balance", action="store_true",
                     help="spread cells over ranks by estimated cost instead of round-robin")
    _add_engine_arguments(run)
    run.add_argument("--max-connections", type=positive_int, metavar="N",
                     help="the most connections the network's rules may make (default: what the "
                          "available memory holds); a rule beyond it is refused before allocation")
    run.add_argument("--switch-cell", action="append", default=[], metavar="POP=CELL_ID",
                     help="population POP uses cell CELL_ID instead (same cells, same connections); repeatable")
    run.add_argument("--output", action="append", default=[], type=Path, metavar="FILE",
                     help="also write the results to FILE, in the format its extension names (run.nwb, "
                          "run.h5, run.json, ...; see nmlhub convert); repeatable")
    run.add_argument("--gather", choices=("rank0", "none"), default="rank0",
                     help="rank0 (default): rank 0 gathers every spike and trace and writes the outputs; "
                          "none: each rank writes its own part, NAME.rank<k>.h5 (NAME: the first --output "
                          "ending in .h5, else the LEMS file's name), merged by nmlhub convert NAME.rank0.h5 OUT")
    _add_record_arguments(run)


def _add_record_arguments(run: argparse.ArgumentParser) -> None:
    """The options of ``run`` recording more than the LEMS file's outputs."""
    run.add_argument("--record", action="append", default=[], metavar="PATH",
                     help="also record this LEMS quantity, e.g. 'E/*/v', 'E/0-3/5/v' (segment 5), "
                          "'E/0/syn_ampa/g', 'E/3/soma_0/naChans/na/m/q'; cells as an index, '*', "
                          "a list 0,2,5 or a range 0-4; written to NAME.recorded.dat beside the "
                          "other outputs and to every --output file; repeatable")
    run.add_argument("--record-every", type=positive_number, metavar="MS",
                     help="sample every recorded trace (the LEMS file's too) every MS ms, a multiple "
                          "of the time step (default: every step)")


def _add_engine_arguments(run: argparse.ArgumentParser) -> None:
    """The options of ``run`` saying how the model is integrated and what else is recorded."""
    run.add_argument("--engine", choices=("neuron", "coreneuron"), default="neuron",
                     help="integrate with NEURON (default) or CoreNEURON (same results; the model's "
                          "mechanisms are compiled for it once)")
    run.add_argument("--event-timing", choices=("jlems", "jlems-exact", "neuron"), default="jlems",
                     help="when a spike acts on its targets: at the step jLEMS does (default; delays "
                          "rounded up to whole steps, whole-step delays decided spike by spike; "
                          "jlems-exact: its former name) or as NEURON delivers it (delays as written)")
    run.add_argument("--input-clock", choices=("jlems", "neuron"), default="jlems",
                     help="when an input with a start and a stop (pulse, sine, ramp, clamp) acts: from "
                          "the step ending at its delay, as jLEMS (default), or from the step whose "
                          "middle is at or after it, as pyNeuroML's NEURON export")
    run.add_argument("--lfp-probe", type=_probe, metavar="X,Z,Y0,Y1,N",
                     help="record the LFP at N contacts from depth Y0 to Y1 (um) at x=X, z=Z; written "
                          "to NAME.lfp.dat (time in s, then V per contact) beside the other outputs")
    run.add_argument("--lfp-every", type=positive_number, metavar="MS",
                     help="LFP sampling interval (a multiple of the time step; default: every step)")


def without_rank_option(argv: Sequence[str]) -> list[str]:
    """The command line with ``-n N`` / ``--ranks N`` (in any spelling) taken out, and nothing
    else: an argument equal to the rank count stays."""
    out: list[str] = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg in ("-n", "--ranks"):
            skip_next = True
        elif arg.startswith("--ranks=") or (arg.startswith("-n") and not arg.startswith("--")):
            continue
        else:
            out.append(arg)
    return out


def _probe(text: str) -> tuple:
    from .lfp.data import parse_probe

    try:
        return parse_probe(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_convert_parser(sub: argparse._SubParsersAction) -> None:
    """``nmlhub convert``: its formats listed from the registry (converters/formats.py)."""
    from .converters.formats import REGISTRY

    convert = sub.add_parser("convert", help="convert a model or results file into another format")
    convert.add_argument("source", type=Path)
    convert.add_argument("target", type=Path)
    convert.add_argument("--to", dest="fmt", metavar="FORMAT",
                         help="the target's format if its extension does not say: "
                              + "; ".join(f"{f.name} ({' '.join(f.extensions)}, {f.holds})" for f in REGISTRY.values()))
    convert.add_argument("--no-check", action="store_true",
                         help="convert a model even if it has the errors validate reports (dangling references, "
                              "indices out of range, numbers that are not finite or outside their domain)")


def _convert(args: argparse.Namespace) -> int:
    from .converters import convert, kind_of
    from .converters.rank_parts import is_rank_part

    if not args.source.exists():
        print(f"nmlhub: error: {args.source}: file not found", file=sys.stderr)
        return EXIT_USAGE
    if not args.no_check and not is_rank_part(args.source) and kind_of(args.source) == "model":
        from .model import load
        from .model.checks import require_runnable

        require_runnable(load(args.source, strict=False))  # what validate and run refuse, before writing
    for path in convert(args.source, args.target, args.fmt):
        print(f"wrote {path}")
    return EXIT_OK


def run_options(args: argparse.Namespace) -> "RunOptions":
    """The run options ``nmlhub run``'s arguments ask for."""
    from .neuron import mpi
    from .neuron.options import RunOptions

    lfp = None
    if args.lfp_probe is not None:
        from .lfp import laminar_probe

        lfp = laminar_probe(*args.lfp_probe)
    intervals = (args.intervals or args.file.with_suffix(".intervals.h5")) if args.write_every else None
    return RunOptions(duration_ms=args.duration, dt_ms=args.dt, seed=args.seed,
                      parallel=mpi.started_by_mpi_launcher() or None, balance=args.balance,
                      share_synapses=args.share_synapses, write_every_ms=args.write_every,
                      intervals_file=intervals, engine=args.engine, lfp=lfp, lfp_every_ms=args.lfp_every,
                      max_connections=args.max_connections, event_timing=args.event_timing,
                      input_clock=args.input_clock,
                      record=tuple(args.record), record_every_ms=args.record_every,
                      gather=args.gather)


def _run(args: argparse.Namespace) -> int:
    from .model import load
    from .neuron import mpi
    from .neuron.simulation import NeuronSimulation

    if not args.file.exists():
        print(f"nmlhub: error: {args.file}: file not found", file=sys.stderr)
        return EXIT_USAGE
    if args.ranks > 1 and not mpi.started_by_mpi_launcher():
        command = mpi.mpiexec_command(args.ranks, without_rank_option(args.argv))
        return mpi.launch(command, mpi.environment())
    options = run_options(args)
    model = load(args.file)
    if args.switch_cell:
        from .rules.hybrid import parse_switches, switch_cells

        switch_cells(model, parse_switches(args.switch_cell))
    stop = _TerminationRequest() if not options.parallel else None
    progress = None if args.no_progress else text_progress()
    if stop is not None:
        progress = stop.checking(progress)
    sim = NeuronSimulation(model, options, progress=progress)
    try:
        if stop is not None:
            stop.install()
        results = sim.run()
    except _Terminated:
        return _terminated(sim, stop, model, args)
    finally:
        if stop is not None:
            stop.restore()
    if options.gather == "none":
        print(f"wrote {sim.save_rank_part(results, rank_part_base(args))}")
    elif sim.rank == 0:
        _write_run_outputs(sim, results, model, args)
    sim.finish()
    if sim.rank == 0:
        problem = first_non_finite_trace(results)
        if problem is not None:
            print(f"nmlhub: error: {args.file}: {problem}", file=sys.stderr)
            return EXIT_INVALID
    return EXIT_OK


def rank_part_base(args: argparse.Namespace) -> Path:
    """The results file whose parts the ranks of ``run --gather none`` write (``NAME.rank<k>.h5``)."""
    for output in args.output:
        if output.suffix.lower() in (".h5", ".hdf5"):
            return output
    return (args.outdir or args.file.parent) / (args.file.stem.removeprefix("LEMS_") + ".h5")


def _terminated(sim: Any, stop: "_TerminationRequest", model: Any, args: argparse.Namespace) -> int:
    """Keep what a run stopped by SIGTERM computed (its outputs up to where it got, each written
    whole, or the interval file of ``--write-every``) and say so; the exit status."""
    if args.write_every:
        kept = f"{sim.intervals_file} holds the run up to {stop.reached_ms:g} ms"
    elif sim.started:
        _write_run_outputs(sim, sim.results_so_far(), model, args)
        kept = f"the outputs hold the run up to {stop.reached_ms:g} ms"
    else:
        kept = "nothing was written (the run had not started)"
    print(f"nmlhub: terminated (SIGTERM) at {stop.reached_ms:g} of {sim.duration_ms:g} ms; {kept}", file=sys.stderr)
    return 128 + signal.SIGTERM


def _write_run_outputs(sim: Any, results: Any, model: Any, args: argparse.Namespace) -> None:
    """Write the simulation's output files, the LFP and any ``--output`` file; print a summary."""
    for path in sim.write_outputs(results, args.outdir):
        print(f"wrote {path}")
    if results.lfp is not None:
        from .lfp.files import write_lfp_file

        name = args.file.stem.removeprefix("LEMS_") + ".lfp.dat"
        print(f"wrote {write_lfp_file(results.lfp, (args.outdir or args.file.parent) / name)}")
    if results.weights is not None:
        from .results import write_atomic_text

        name = args.file.stem.removeprefix("LEMS_") + ".weights.csv"
        path = (args.outdir or args.file.parent) / name
        write_atomic_text(path, results.weights.to_csv())
        print(f"wrote {path} (final weights of {len(results.weights)} plastic connections)")
    _save_outputs(results, model, args.output)
    print(f"simulated {results.duration_ms:g} ms at dt {results.dt_ms:g} ms: "
          f"{len(results.spikes)} cells on {sim.nhost} rank(s), {results.spike_count()} spikes")


def text_progress(stream: Any = None) -> Callable[[float], None]:
    """A progress bar on a terminal ``stream`` (default: stderr), shown once a run has taken
    more than two seconds."""
    import time

    stream = sys.stderr if stream is None else stream
    state = {"started": None, "shown": False}

    def show(fraction: float) -> None:
        if not getattr(stream, "isatty", lambda: False)():
            return
        if state["started"] is None:
            state["started"] = time.monotonic()
        if not state["shown"] and time.monotonic() - state["started"] < 2.0:
            return
        state["shown"] = True
        done = int(fraction * 30)
        stream.write(f"\r[{'#' * done}{' ' * (30 - done)}] {fraction * 100:5.1f}%")
        if fraction >= 1.0:
            stream.write("\n")
        stream.flush()

    return show


def _save_outputs(results, model, outputs: list[Path]) -> None:
    from .converters.results_io import save_results

    for output in outputs:
        for path in save_results(results, output, model=model):
            print(f"wrote {path}")


def first_non_finite_trace(results) -> str | None:
    """Which recorded trace first stops being a finite number, and when (a division by zero or
    an overflow in the model's dynamics), or None when every value is finite."""
    import numpy as np

    first: tuple[float, str] | None = None
    for path, values in results.traces.items():
        bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=float)))
        if len(bad):
            when = float(results.time_ms[bad[0]]) if bad[0] < len(results.time_ms) else float("nan")
            if first is None or when < first[0]:
                first = (when, path)
    if first is None:
        return None
    return (f"trace '{first[1]}' is not a finite number from t = {first[0]:g} ms (a division by zero "
            "or an overflow in the model's dynamics?); the outputs written hold those values")


class _Terminated(BaseException):
    """SIGTERM arrived during a run (a BaseException: nothing on the way catches it as an error)."""


class _TerminationRequest:
    """SIGTERM during a serial run: noted by the handler, acted on at the next progress point,
    after the simulation's step (and interval write) has finished, so nothing is half-written."""

    def __init__(self) -> None:
        self.requested = False
        self.reached_ms = 0.0
        self._previous: object = None

    def install(self) -> None:
        """Handle SIGTERM from now on (until :meth:`restore`)."""
        self._previous = signal.signal(signal.SIGTERM, self._note)

    def _note(self, signum: int, frame: object) -> None:
        if self.requested:  # a second SIGTERM: stop now
            raise _Terminated()
        self.requested = True

    def checking(self, progress):
        """A progress callback that ends the run at the first progress point after a SIGTERM."""
        def check(fraction: float) -> None:
            if progress is not None:
                progress(fraction)
            if self.requested:
                from neuron import h

                self.reached_ms = float(h.t)
                raise _Terminated()

        return check

    def restore(self) -> None:
        """Handle SIGTERM as before :meth:`install`."""
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None


def _info(args: argparse.Namespace) -> int:
    from .model import load
    from .model.summary import summarize

    if not args.file.exists():
        print(f"nmlhub: error: {args.file}: file not found", file=sys.stderr)
        return EXIT_USAGE
    summary = summarize(load(args.file, strict=False))
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(summary.to_text())
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from .model.validate import is_valid
    from .neuron.validation import validate

    missing = [f for f in args.files if not f.exists()]
    if missing:
        for f in missing:
            print(f"nmlhub: error: {f}: file not found", file=sys.stderr)
        return EXIT_USAGE
    all_valid = True
    report = {}
    for path in args.files:
        problems = validate(path)
        if args.no_warnings:
            problems = [p for p in problems if p.severity == "error"]
        valid = is_valid(problems)
        all_valid &= valid
        if args.json:
            report[str(path)] = {
                "valid": valid,
                "problems": [
                    {"file": p.file, "line": p.line, "element": p.element,
                     "severity": p.severity, "message": p.message}
                    for p in problems
                ],
            }
            continue
        for problem in problems:
            print(problem)
        errors = sum(p.severity == "error" for p in problems)
        warnings = len(problems) - errors
        verdict = "valid" if valid else "INVALID"
        print(f"{path}: {verdict} ({errors} errors, {warnings} warnings)")
    if args.json:
        print(json.dumps(report, indent=2))
    return EXIT_OK if all_valid else EXIT_INVALID


def _batch(args: argparse.Namespace) -> int:
    from .batch.cli import main as batch_main

    return batch_main(args)


def _import_cell(args: argparse.Namespace) -> int:
    from .importers.cli import run

    return run(args)


def _import_netpyne(args: argparse.Namespace) -> int:
    from .importers.netpyne_cli import run

    return run(args)


def _plot(args: argparse.Namespace) -> int:
    from .plots.cli import run

    return run(args)


def _omv(args: argparse.Namespace) -> int:
    from .omv.cli import run

    return run(args)


def _input_named(args: argparse.Namespace) -> str:
    """The file a command reads (for a message that has no other place to name)."""
    for name in ("file", "source", "spec", "input", "folder"):
        value = getattr(args, name, None)
        if value is not None:
            return str(value)
    files = getattr(args, "files", None)
    return str(files[0]) if files else "input"


_COMMANDS = {"omv": _omv, "import-cell": _import_cell, "import-netpyne": _import_netpyne, "info": _info, "validate": _validate, "run": _run, "convert": _convert, "batch": _batch, "plot": _plot}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:  # long steps say what they do: compiling mechanisms
        compile_log = logging.getLogger("nmlhub.neuron.mechcache")
        compile_log.setLevel(logging.INFO)
        compile_log.propagate = False
        if not compile_log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("nmlhub: %(message)s"))
            compile_log.addHandler(handler)
    try:
        return _COMMANDS[args.command](args)
    except NmlhubError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"nmlhub: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("nmlhub: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full or read-only disk, a folder where a file should be...
        if args.debug:
            raise
        where = exc.filename if exc.filename is not None else _input_named(args)
        print(f"nmlhub: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except RecursionError:
        if args.debug:
            raise
        print(f"nmlhub: error: {_input_named(args)}: nested too deeply to read", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # the CLI never shows a bare traceback without --debug
        if args.debug:
            raise
        print(f"nmlhub: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
