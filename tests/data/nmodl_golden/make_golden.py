"""Hashes of the NMODL nmlhub generates for the core examples and the OSB corpus.

Refactoring the NMODL printer must leave its output byte-identical. This script loads every
core example (``examples/`` and ``LEMSexamples/`` of the jNeuroML jar that pyNeuroML ships) and
every corpus model it can (``$NMLHUB_CORPUS``, default ``../shared/corpus``), generates the
mechanisms of each network as ``nmlhub run`` does, and stores a sha256 per generated file (or the
one-line error nmlhub gives) in ``core.json`` and ``corpus.json`` beside it;
tests/test_nmodl_golden.py regenerates them and compares.

Run from the repository root, in its virtualenv::

    python tests/data/nmodl_golden/make_golden.py            # both sets
    python tests/data/nmodl_golden/make_golden.py --core     # the core examples only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def _jar() -> Path:
    import pyneuroml

    return sorted((Path(pyneuroml.__file__).parent / "lib").glob("jNeuroML*.jar"))[-1]


def corpus_root() -> Path:
    return Path(os.environ.get("NMLHUB_CORPUS", REPO.parent / "shared" / "corpus")) / "osb"


def extract_core(target: Path) -> list[Path]:
    """The jar's example folders extracted under ``target``; their model files, sorted."""
    with zipfile.ZipFile(_jar()) as jar:
        for name in jar.namelist():
            if name.startswith(("examples/", "LEMSexamples/")) and not name.endswith("/"):
                jar.extract(name, target)
    return _model_files(target)


def _model_files(root: Path) -> list[Path]:
    files = set(root.rglob("*.nml")) | set(root.rglob("LEMS_*.xml")) | set(root.rglob("*.nml.h5"))
    return sorted(files)


def _networks(model) -> list:
    simulation = model.simulation
    if simulation is not None:
        try:
            return [model.network(simulation.target)]
        except Exception:  # a LEMS-defined network or a target that is no network
            pass
    return list(model.document.networks)


def generated(path: Path, root: Path) -> dict[str, str] | str:
    """Mechanism name -> sha256 of its NMODL for every network of a model file, or the error
    (its first line, ``root`` written ``<root>``) that stops nmlhub from generating them."""
    from nmlhub.errors import NmlhubError
    from nmlhub.model import load
    from nmlhub.neuron.mechanisms import build_mechanisms
    from nmlhub.neuron.network import needed_components

    try:
        model = load(path)
        texts: dict[str, str] = {}
        for network in _networks(model):
            rules = model.rules.get(network.id)
            if rules is not None and getattr(rules, "expanded_in_file", False):
                rules = None
            ids = [i for i in needed_components(network, model.network_extras.get(network.id), rules)
                   if i in model.components]
            for item in build_mechanisms(model, ids).values():
                mechanisms = [item.mechanism] if item.mechanism else []
                if item.biophysics:
                    mechanisms += [d.mechanism for d in item.biophysics.densities]
                    mechanisms += [sp.mechanism for sp in item.biophysics.species]
                texts.update({m.name: m.text for m in mechanisms})
    except (NmlhubError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"error: {type(exc).__name__}: {first.replace(str(root), '<root>')}"
    return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in sorted(texts.items())}


def hashes(files: list[Path], root: Path) -> dict[str, dict[str, str] | str]:
    """:func:`generated` for each file, keyed by its path relative to ``root``."""
    return {str(f.relative_to(root)): generated(f, root) for f in files}


def core_hashes() -> dict[str, dict[str, str] | str]:
    with tempfile.TemporaryDirectory() as scratch:
        files = extract_core(Path(scratch))
        return hashes(files, Path(scratch))


def corpus_hashes() -> dict[str, dict[str, str] | str]:
    root = corpus_root()
    return hashes(_model_files(root), root)


def _write(name: str, data: dict) -> None:
    target = HERE / name
    partial = target.with_suffix(".json.part")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    partial.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", action="store_true", help="the core examples only")
    args = parser.parse_args(argv)
    _write("core.json", core_hashes())
    if not args.core:
        if not corpus_root().is_dir():
            print(f"no corpus at {corpus_root()}", file=sys.stderr)
            return 1
        _write("corpus.json", corpus_hashes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
