"""``nmlhub import-netpyne``: a NetPyNE model (netParams and simConfig, as JSON or NetPyNE's output
pickle) as an nmlhub network."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Register ``import-netpyne`` on the main parser's subparsers."""
    parser = sub.add_parser("import-netpyne", help="write a NetPyNE model (netParams JSON, or the JSON or "
                            "pickle sim.saveData writes) as a NeuroML network of rules and a LEMS simulation")
    parser.add_argument("file", type=Path, help="NetPyNE JSON (or sim.saveData's .pkl) with netParams (and simConfig)")
    parser.add_argument("--sim-config", type=Path, help="a separate simConfig JSON (simConfig.save)")
    parser.add_argument("--mod-dir", type=Path, help="folder of .mod files for mechanisms other than hh and pas")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the network file to write (.net.nml)")


def run(args: argparse.Namespace) -> int:
    """Import the model; prints what was written and what was approximated. Returns the exit status."""
    from .netpyne import import_netpyne

    if not args.file.exists():
        print(f"nmlhub: error: {args.file}: file not found", file=sys.stderr)
        return 2
    done = import_netpyne(args.file, args.output, mod_dir=args.mod_dir, sim_config=args.sim_config)
    for note in done.notes:
        print(f"note: {note}")
    print(f"wrote {done.network}")
    if done.lems is not None:
        print(f"wrote {done.lems} (run it with: nmlhub run {done.lems})")
    return 0
