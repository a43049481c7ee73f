"""Read NeuroML HDF5 network files with libNeuroML's columnar (optimised) HDF5 parser.

nmlhub reads the embedded ``neuroml_top_level`` XML itself, with the safe XML parser, so that its
includes are resolved like any other include; libNeuroML reads the network datasets into numpy
columns without one Python object per connection.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError

log = logging.getLogger(__name__)


@dataclass
class Hdf5Contents:
    """What a NeuroML HDF5 file holds: embedded XML and one network (libNeuroML containers)."""

    top_level_xml: bytes | None
    network: Any


def _attribute_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
        if isinstance(value, list):
            value = value[0] if value else ""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def read_hdf5_network(path: Path) -> Hdf5Contents:
    """Read a ``.nml.h5`` file.

    Raises
    ------
    ModelError
        The file is not HDF5, is truncated, or lacks the ``/neuroml`` group.
    """
    import h5py
    import tables

    try:
        if not h5py.is_hdf5(path):
            raise ModelError("not an HDF5 file (no HDF5 signature)", file=path)
        with h5py.File(path, "r") as handle:
            if "neuroml" not in handle:
                raise ModelError("HDF5 file has no /neuroml group: not a NeuroML HDF5 network", file=path)
            attrs = handle["neuroml"].attrs
            top = _attribute_bytes(attrs["neuroml_top_level"]) if "neuroml_top_level" in attrs else None
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"cannot read HDF5 file (truncated or damaged?): {exc}", file=path) from None

    from neuroml.hdf5.NeuroMLHdf5Parser import NeuroMLHdf5Parser

    parser = NeuroMLHdf5Parser(None, optimized=True)
    try:
        # libNeuroML prints some diagnostics; keep the library quiet.
        with tables.open_file(str(path), mode="r") as h5file, contextlib.redirect_stdout(io.StringIO()):
            parser.parse_group(h5file.root.neuroml)
    except ModelError:
        raise
    except Exception as exc:  # PyTables and libNeuroML raise many kinds of errors on bad files
        raise ModelError(f"cannot read NeuroML HDF5 content: {exc}", file=path) from None
    network = getattr(parser, "optimizedNetwork", None)
    return Hdf5Contents(top, network)
