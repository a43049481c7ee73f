"""``nmlhub import-cell``: a HOC template, Python cell class or SWC file as a NeuroML cell."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..argtypes import finite_number


def add_parser(sub: Any) -> None:
    """Register ``import-cell`` on the main parser's subparsers."""
    parser = sub.add_parser("import-cell", help="write a HOC template, Python cell class or SWC "
                            "morphology as a NeuroML cell")
    parser.add_argument("file", type=Path, help="a .hoc, .py or .swc file")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--template", help="the HOC template to instantiate")
    which.add_argument("--class", dest="cls", help="the Python class to instantiate")
    parser.add_argument("--args", nargs="*", default=[], help="arguments of the template or class")
    parser.add_argument("--mod-dir", type=Path, help="folder of the .mod files the cell uses")
    parser.add_argument("--id", dest="cell_id", help="the NeuroML cell's id")
    parser.add_argument("--v-init", type=finite_number, default=-65.0, help="initial membrane potential (mV)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the NeuroML file to write")


def run(args: argparse.Namespace) -> int:
    """Import the cell; prints what was written. Returns the exit status."""
    import sys

    from .api import import_cell

    if not args.file.exists():
        print(f"nmlhub: error: {args.file}: file not found", file=sys.stderr)
        return 2
    if args.file.suffix.lower() != ".swc" and not (args.template or args.cls):
        print("nmlhub: error: give --template (HOC) or --class (Python) for a NEURON cell", file=sys.stderr)
        return 2
    done = import_cell(args.file, args.output, template=args.template, cls=args.cls, args=args.args,
                       mod_dir=args.mod_dir, cell_id=args.cell_id, v_init_mv=args.v_init)
    for warning in done["warnings"]:
        print(f"warning: {warning}")
    print(f"wrote {done['path']}: cell '{done['cell_id']}', {done['sections']} sections, "
          f"{done['segments']} segments")
    for mod in done["mod_files"]:
        print(f"  channel kept as NEURON mechanism {mod} (only nmlhub simulates it)")
    if done.get("celsius") is not None:
        print(f"  NEURON's celsius was {done['celsius']:g} degC: simulate at that temperature")
    return 0
