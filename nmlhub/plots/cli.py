"""``nmlhub plot``: draw plots of a results file, or of a model / LEMS file (simulated first when a
plot needs results)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..analysis.connectivity import LEVELS, MEASURES
from ..argtypes import non_negative_number, positive_number
from ..lfp.files import LFP_FILE_SUFFIX
from .figure import FORMATS

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``plot`` command to the ``nmlhub`` command's subparsers."""
    plot = subparsers.add_parser(
        "plot", help="plot spikes, traces, connectivity, shapes, spectra and causality of a run or model",
        description="INPUT is a results file (.h5, .json, .pkl, .mat, .csv, .dat) or a model / LEMS file "
                    "(simulated first when a plot needs results).")
    plot.add_argument("input", type=Path, metavar="INPUT")
    plot.add_argument("-o", "--outdir", type=Path, default=Path("."), help="folder to write the figures to")
    plot.add_argument("--format", choices=FORMATS, default="png", dest="fmt")
    plot.add_argument("--model", type=Path, help="the model of a results file (for network plots and --order depth)")
    plot.add_argument("--time", metavar="START:END", help="time range (ms), e.g. 100:300 or 100:")
    plot.add_argument("--bin", type=positive_number, default=5.0, metavar="MS",
                      help="bin width (ms) of histograms, population rates and synchrony (default 5)")
    what = plot.add_argument_group("plots")
    what.add_argument("--raster", action="store_true", help="spike raster coloured by population")
    what.add_argument("--order", choices=("population", "depth"), default="population",
                      help="raster rows by population or by depth (the model's y coordinate)")
    what.add_argument("--histogram", action="store_true", help="spike-time histogram per population")
    what.add_argument("--rates", action="store_true",
                      help="firing rates and ISI CVs per population (box plots and histograms; Golomb synchrony)")
    what.add_argument("--traces", action="append", metavar="PATTERN",
                      help="recorded quantities whose paths match PATTERN (shell wildcards; repeatable)")
    what.add_argument("--stacked", action="store_true", help="one panel per trace")
    what.add_argument("--connectivity", action="append", choices=MEASURES, metavar="MEASURE",
                      help=f"connectivity matrix of {', '.join(MEASURES)} (repeatable)")
    what.add_argument("--level", choices=LEVELS, default="population", help="connectivity matrix level")
    what.add_argument("--positions", action="append", metavar="A,B",
                      help="cells and connections in two axes, e.g. x,y or x,z (repeatable)")
    what.add_argument("--shape", action="store_true",
                      help="3D morphologies at their positions, coloured by synapses per segment")
    what.add_argument("--shape-at", type=non_negative_number, metavar="MS",
                      help="colour the shape plot by the recorded v at this time instead")
    what.add_argument("--psd", action="store_true", help="power spectra of the population rates")
    what.add_argument("--granger", action="store_true", help="spectral Granger causality between population rates")
    what.add_argument("--transfer-entropy", action="store_true",
                      help="normalised transfer entropy between population rates")
    what.add_argument("--lfp", action="store_true",
                      help="the recorded LFP: traces per contact by depth, current-source density, power spectra")
    what.add_argument("--lfp-probe", type=_probe, metavar="X,Z,Y0,Y1,N",
                      help="the laminar probe of the LFP (as for run --lfp-probe): needed to plot a run's "
                           "NAME.lfp.dat, which holds no contact positions, or to record the LFP of a model")
    return plot


def _probe(text: str) -> tuple:
    from ..lfp.data import parse_probe

    try:
        return parse_probe(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time_range(text: str | None) -> tuple[float | None, float | None]:
    if not text:
        return None, None
    start, sep, stop = text.partition(":")
    message = f"--time {text}: give START:END in ms, e.g. 100:300 or 100:"
    if not sep:
        raise ValueError(message)
    try:
        return (float(start) if start.strip() else None, float(stop) if stop.strip() else None)
    except ValueError:
        raise ValueError(message) from None


def _axes_pairs(values: list[str] | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values or []:
        parts = tuple(p.strip() for p in value.split(","))
        if len(parts) != 2 or not all(p in ("x", "y", "z") for p in parts):
            raise ValueError(f"--positions {value}: give two of x, y, z, e.g. x,y")
        pairs.append(parts)
    return tuple(pairs)


def run(args: argparse.Namespace) -> int:
    """Draw the plots ``args`` ask for; returns the exit status."""
    from .report import PlotRequest, write_plots

    try:
        start, stop = _time_range(args.time)
        positions = _axes_pairs(args.positions)
    except ValueError as exc:
        print(f"nmlhub: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    request = PlotRequest(raster=args.raster, order=args.order, histogram=args.histogram, rates=args.rates,
                          traces=tuple(args.traces or ()), stacked=args.stacked,
                          connectivity=tuple(args.connectivity or ()), level=args.level, positions=positions,
                          shape=args.shape or args.shape_at is not None, shape_at_ms=args.shape_at,
                          psd=args.psd, granger=args.granger, transfer_entropy=args.transfer_entropy,
                          lfp=args.lfp, bin_ms=args.bin, start_ms=start, stop_ms=stop)
    if not request.anything():
        print("nmlhub: error: choose at least one plot (--raster, --histogram, --rates, --traces, "
              "--connectivity, --positions, --shape, --psd, --granger, --transfer-entropy, --lfp)", file=sys.stderr)
        return EXIT_USAGE
    for path in (args.input, args.model):
        if path is not None and not path.exists():
            print(f"nmlhub: error: {path}: file not found", file=sys.stderr)
            return EXIT_USAGE
    if str(args.input).endswith(LFP_FILE_SUFFIX):
        results, model = _lfp_file(args.input, args.lfp_probe, request), None
    else:
        results, model = _inputs(args.input, args.model, request, args.lfp_probe)
    for path in write_plots(request, args.outdir, results=results, model=model, fmt=args.fmt):
        print(f"wrote {path}")
    return EXIT_OK


def _lfp_file(source: Path, probe: tuple | None, request: Any) -> Any:
    """Results holding only the LFP of a run's ``NAME.lfp.dat``, at the contacts of ``probe``."""
    from ..analysis.errors import AnalysisError
    from ..lfp import laminar_probe
    from ..lfp.files import read_lfp_file
    from ..results import Results

    if probe is None:
        raise AnalysisError(f"{source} holds no contact positions: give the run's --lfp-probe X,Z,Y0,Y1,N")
    only_lfp = type(request)(lfp=True, start_ms=request.start_ms, stop_ms=request.stop_ms)
    if request != only_lfp:
        raise AnalysisError(f"{source} holds the LFP only: plot it with --lfp (and --time)")
    lfp = read_lfp_file(source, laminar_probe(*probe).positions_um)
    return Results(time_ms=lfp.time_ms, lfp=lfp)


def _inputs(source: Path, model_file: Path | None, request: Any, probe: tuple | None = None) -> tuple[Any, Any]:
    """Results and model for the plots: read from a results file, or loaded (and simulated when
    results are needed) from a model file."""
    from .. import load, simulate
    from ..analysis.errors import AnalysisError
    from ..converters import kind_of, load as load_file

    model = load(model_file) if model_file is not None else None
    if kind_of(source) == "results":
        if request.needs_model() and model is None:
            raise AnalysisError(f"{source} holds results; network plots (connectivity, positions, shape, "
                                "depth order) need the model: give --model FILE")
        return load_file(source), model
    model = load(source)
    if not request.needs_results():
        return None, model
    if model.simulation is None:
        raise AnalysisError(f"{source} is a model without a <Simulation>: spike and trace plots need "
                            "results; give a LEMS simulation file or a results file")
    if request.lfp and probe is None:
        raise AnalysisError(f"{source} is a model: give --lfp-probe X,Z,Y0,Y1,N to record its LFP")
    print(f"simulating {source} ...", file=sys.stderr)
    if request.lfp:
        from ..lfp import laminar_probe

        return simulate(model, lfp=laminar_probe(*probe)), model
    return simulate(model), model
