"""The format registry: one :class:`Format` per file format, in :data:`REGISTRY`.

Everything that depends on which formats exist derives from it: :func:`format_of`, what a file
holds, :func:`read_model`, :func:`write_model`, :func:`results_format`, the error messages that
list the formats and ``nmlhub convert --help``. Adding a format is one entry here (and its module).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nmlhub.results import Results

from .csv_results import read as read_csv, write as write_csv
from .jneuroml_files import read as read_jneuroml, write as write_jneuroml
from .model_tree import tree_from_xml_bytes, tree_from_xml_file, write_xml
from .neuroml_hdf5 import write_neuroml_hdf5
from .neuroml_hdf5_read import read_neuroml_hdf5
from .nwb import read as read_nwb, write as write_nwb
from .plain import READERS, WRITERS, ConversionError
from .result_mapping import from_plain, to_plain
from .results_hdf5 import read as read_results_hdf5, write as write_results_hdf5
from .sonata_read import read as read_sonata
from .sonata_spikes import is_spike_file, read as read_sonata_spikes, write as write_sonata_spikes
from .sonata_write import write as write_sonata
from .tree_checks import check_tree

MODEL, RESULTS, BOTH = "model", "results", "both"


@dataclass(frozen=True)
class Format:
    """One file format: its name, its extensions, what it holds, how it is read and written.

    Attributes
    ----------
    name
        The name given as ``fmt`` (``nmlhub convert --to``).
    extensions
        File extensions (lower case, with the dot) that select it; ``.spikes.h5`` is a double one.
    holds
        ``"model"``, ``"results"`` or ``"both"``.
    read_model
        ``read_model(path)``: the model's plain tree (:mod:`converters.model_tree`).
    write_model
        ``write_model(obj, path)``: writes a model given as anything :func:`model_tree` takes,
        atomically; returns the files written.
    read_results
        ``read_results(path)``: the :class:`~nmlhub.results.Results`.
    write_results
        ``write_results(results, path)``: writes atomically, returns the files written.
    results_take_model
        ``write_results`` also takes ``model=``, the model that was run (cell positions and types).
    holds_in
        For a format that holds both: ``holds_in(path)`` tells which one a file holds.
    claims
        ``claims(path)``: whether an existing file is in this format whatever its extension says
        (a SONATA spike file is a ``.h5`` file too).
    """

    name: str
    extensions: tuple[str, ...]
    holds: str
    read_model: Callable[[Path], dict] | None = None
    write_model: Callable[[Any, Path], list[Path]] | None = None
    read_results: Callable[[Path], Results] | None = None
    write_results: Callable[..., list[Path]] | None = None
    results_take_model: bool = False
    holds_in: Callable[[Path], str] | None = None
    claims: Callable[[Path], bool] | None = None


# ---------------------------------------------------------------- adapters of the format modules

def _tree_writer(write: Callable[[dict, Path], None]) -> Callable[[Any, Path], list[Path]]:
    """A model writer of a format that writes a plain tree."""

    def write_model_obj(obj: Any, path: Path) -> list[Path]:
        write(model_tree(obj), path)
        return [path]

    return write_model_obj


def _write_xml(tree: dict, path: Path) -> None:
    try:
        write_xml(tree, path)
    except ValueError as exc:  # a namespace without a prefix in scope, a column of the wrong length
        raise ConversionError(f"cannot write the model as XML: {exc}", file=path) from None


def _write_sonata(obj: Any, path: Path) -> list[Path]:
    return write_sonata(obj, path, tree_of=model_tree)


def _hdf5_holds(path: Path) -> str:
    from nmlhub.interval_files import is_interval_file, open_hdf5_for_reading

    try:
        with open_hdf5_for_reading(path) as f:
            spikes = "spikes" in f and "neuroml" not in f  # SONATA's spike layout
            kind = f.attrs.get("nmlhub_kind")
            results = kind in ("results", "results-rank") or spikes or is_interval_file(f)  # a rank's part too
            return RESULTS if results else MODEL
    except OSError as exc:
        raise ConversionError(f"not a readable HDF5 file: {exc}", file=path) from None


def _plain_format(name: str, extensions: tuple[str, ...]) -> Format:
    """A format of :mod:`converters.plain`: a model's tree, or :func:`to_plain`'s dict of results."""

    def read_model_tree(path: Path) -> dict:
        _, tree = READERS[name](path, (MODEL,))
        check_tree(tree, path)
        return tree

    def write_model_tree(tree: dict, path: Path) -> None:
        WRITERS[name](path, MODEL, tree)

    def read_results(path: Path) -> Results:
        if not path.is_file():
            raise ConversionError("no such file", file=path)
        _, data = READERS[name](path, (RESULTS,))
        try:
            return from_plain(data)
        except ConversionError as exc:
            raise ConversionError(exc.message, file=path) from None

    def write_results(results: Results, path: Path) -> list[Path]:
        WRITERS[name](path, RESULTS, to_plain(results))
        return [path]

    return Format(name, extensions, BOTH, read_model_tree, _tree_writer(write_model_tree), read_results,
                  write_results, holds_in=lambda path: READERS[name](path, (MODEL, RESULTS))[0])


def _registry(*formats: Format) -> dict[str, Format]:
    """The formats by name; a name or an extension taken twice is a mistake here, refused."""
    extensions = [e for f in formats for e in f.extensions]
    if len({f.name for f in formats}) != len(formats) or len(set(extensions)) != len(extensions):
        raise ValueError("two formats share a name or an extension")
    return {f.name: f for f in formats}


REGISTRY: dict[str, Format] = _registry(
    Format("xml", (".nml", ".xml"), MODEL, tree_from_xml_file, _tree_writer(_write_xml)),
    Format("hdf5", (".h5", ".hdf5"), BOTH, read_neuroml_hdf5, _tree_writer(write_neuroml_hdf5),
           read_results_hdf5, write_results_hdf5, holds_in=_hdf5_holds),
    _plain_format("json", (".json",)),
    _plain_format("pickle", (".pkl", ".pickle")),
    _plain_format("matlab", (".mat",)),
    Format("csv", (".csv",), RESULTS, read_results=read_csv, write_results=write_csv),
    Format("jneuroml", (".dat", ".spikes"), RESULTS, read_results=read_jneuroml, write_results=write_jneuroml),
    Format("nwb", (".nwb",), RESULTS, read_results=read_nwb, write_results=write_nwb, results_take_model=True),
    Format("sonata", (".sonata",), MODEL, read_sonata, _write_sonata),
    Format("sonata_spikes", (".spikes.h5",), RESULTS, read_results=read_sonata_spikes,
           write_results=write_sonata_spikes, claims=is_spike_file),
)

#: Files that are a SONATA circuit whatever their extension (a folder is one too).
SONATA_CONFIGS = ("circuit_config.json",)


# ---------------------------------------------------------------- lookups

def names(holding: str | None = None) -> tuple[str, ...]:
    """The names of the formats that hold ``holding`` (``"model"`` or ``"results"``), or of all."""
    return tuple(f.name for f in REGISTRY.values() if holding is None or f.holds in (holding, BOTH))


def _by_extension(path: Path, candidates: list[Format]) -> Format | None:
    double = "".join(path.suffixes[-2:]).lower()
    for suffix in (double, path.suffix.lower()):
        for candidate in candidates:
            if suffix in candidate.extensions:
                return candidate
    return None


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The format of ``path``: ``fmt`` if given, else from the extension (``.nml.h5`` is HDF5,
    ``.spikes.h5`` SONATA spikes, a folder or ``circuit_config.json`` a SONATA circuit)."""
    if fmt is not None:
        if fmt not in REGISTRY:
            raise ConversionError(f"unknown format {fmt!r}; formats: {', '.join(names())}", file=path)
        return fmt
    path = Path(path)
    if path.is_dir() or path.name in SONATA_CONFIGS:
        return "sonata"
    found = _by_extension(path, list(REGISTRY.values()))
    if found is None:
        extensions = sorted(e for f in REGISTRY.values() for e in f.extensions if e.count(".") == 1)
        raise ConversionError(f"cannot tell the format from the extension {path.suffix.lower() or '(none)'!r}; "
                              f"use one of {', '.join(extensions)} or give the format ({', '.join(names())})",
                              file=path)
    return found.name


def kind_of(path: str | Path, fmt: str | None = None) -> str:
    """``"model"`` or ``"results"``: what the file at ``path`` holds."""
    chosen = REGISTRY[format_of(path, fmt)]
    if chosen.holds != BOTH:
        return chosen.holds
    return chosen.holds_in(Path(path))


def results_format(path: str | Path, fmt: str | None = None) -> Format:
    """The results format named ``fmt``, else the one that claims the file at ``path``, else the one
    its extension selects.

    Raises
    ------
    ConversionError
        Unknown format name or extension; the message lists the results formats.
    """
    results = [f for f in REGISTRY.values() if f.holds in (RESULTS, BOTH)]
    if fmt is not None:
        if fmt not in names(RESULTS):
            raise ConversionError(f"unknown results format {fmt!r}; formats: {_listing(results)}", file=path)
        return REGISTRY[fmt]
    path = Path(path)
    for candidate in results:
        if candidate.claims is not None and path.is_file() and candidate.claims(path):
            return candidate
    found = _by_extension(path, results)
    if found is None:
        raise ConversionError(f"cannot tell a results format from the extension {path.suffix.lower() or '(none)'!r}; "
                              f"formats: {_listing(results)}", file=path)
    return found


def _listing(formats: list[Format]) -> str:
    return ", ".join(f"{f.name} ({' '.join(f.extensions)})" for f in formats)


def model_format(path: Path, fmt: str | None = None) -> Format:
    """The model format of ``path`` (or ``fmt``); a results-only format is refused, naming them."""
    chosen = REGISTRY[format_of(path, fmt)]
    if chosen.holds == RESULTS:
        raise ConversionError(f"{chosen.name} files hold results, not models "
                              f"(model formats: {', '.join(names(MODEL))})", file=path)
    return chosen


# ---------------------------------------------------------------- models

def read_model(path: str | Path, fmt: str | None = None) -> dict:
    """Read a model file of any model format into the plain tree."""
    path = Path(path)
    fmt = format_of(path, fmt)
    if not path.exists():
        raise ConversionError("file not found", file=path)
    return model_format(path, fmt).read_model(path)


def write_model(obj: Any, path: str | Path, fmt: str | None = None) -> list[Path]:
    """Write a model (anything :func:`model_tree` takes) in the format of ``path`` (or ``fmt``),
    atomically (a temporary file, then a rename); returns the files written."""
    path = Path(path)
    return model_format(path, fmt).write_model(obj, path)


def model_tree(obj: Any) -> dict:
    """The plain tree of a model given as a file path, an :class:`nmlhub.Model` (its top file),
    a libNeuroML ``NeuroMLDocument`` or a tree already."""
    if isinstance(obj, dict) and "root" in obj:
        return obj
    if isinstance(obj, (str, Path)):
        return read_model(Path(obj))
    path = getattr(obj, "path", None)
    if path is not None and hasattr(obj, "components"):  # an nmlhub Model
        return read_model(Path(path))
    if type(obj).__name__ == "NeuroMLDocument":
        import io

        from neuroml.writers import NeuroMLWriter

        text = io.StringIO()
        NeuroMLWriter.write(obj, text, close=False)
        return tree_from_xml_bytes(text.getvalue().encode(), f"<NeuroMLDocument {obj.id}>")
    raise ConversionError(f"cannot convert a {type(obj).__name__}: give a model file, an nmlhub Model, "
                          "a libNeuroML NeuroMLDocument or a model tree")
