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
from ..xmlsafe import require_regular_file

log = logging.getLogger(__name__)


@dataclass
class Hdf5Contents:
    """What a NeuroML HDF5 file holds: embedded XML and one network (libNeuroML containers)."""

    top_level_xml: bytes | None
    network: Any
    #: the network's children nmlhub kept as XML (what libNeuroML's layout has no place for)
    network_xml: bytes | None = None


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

    require_regular_file(path)
    try:
        if not h5py.is_hdf5(path):
            raise ModelError("not an HDF5 file (no HDF5 signature)", file=path)
        with h5py.File(path, "r") as handle:
            if "neuroml" not in handle:
                raise ModelError("HDF5 file has no /neuroml group: not a NeuroML HDF5 network", file=path)
            attrs = handle["neuroml"].attrs
            top = _attribute_bytes(attrs["neuroml_top_level"]) if "neuroml_top_level" in attrs else None
            columns = _column_names(handle)
            order = _written_order(handle)
            network_xml = _network_xml(handle)
    except ModelError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:  # h5py's errors on damaged files
        raise ModelError(f"cannot read HDF5 file (truncated or damaged?): {exc}", file=path) from None

    parser = _lazy_parser(path)
    try:
        # libNeuroML prints some diagnostics; keep the library quiet.
        with tables.open_file(str(path), mode="r") as h5file, contextlib.redirect_stdout(io.StringIO()):
            parser.parse_group(h5file.root.neuroml)
    except ModelError:
        raise
    except Exception as exc:  # PyTables and libNeuroML raise many kinds of errors on bad files
        raise ModelError(f"cannot read NeuroML HDF5 content: {exc}", file=path) from None
    network = getattr(parser, "optimizedNetwork", None)
    if network is not None:
        _set_column_names(network, columns)
        _restore_order(network, order)
    return Hdf5Contents(top, network, network_xml)


def _network_xml(handle: Any) -> bytes | None:
    import h5py

    group = next((g for g in handle["neuroml"].values() if isinstance(g, h5py.Group)), None)
    if group is None or "nmlhub_extra_xml" not in group.attrs:
        return None
    return _attribute_bytes(group.attrs["nmlhub_extra_xml"])


def _written_order(handle: Any) -> list[str]:
    """Ids of the network's children in document order, when nmlhub wrote the file (HDF5 lists
    groups alphabetically; the order decides e.g. in which order inputs join a segment)."""
    import json

    import h5py

    group = next((g for g in handle["neuroml"].values() if isinstance(g, h5py.Group)), None)
    if group is None or "nmlhub_order" not in group.attrs:
        return []
    try:
        return [str(child_id) for _, child_id in json.loads(_text(_attribute_bytes(group.attrs["nmlhub_order"])))]
    except (ValueError, TypeError):
        return []


def _restore_order(network: Any, order: list[str]) -> None:
    if not order:
        return
    rank = {child_id: k for k, child_id in enumerate(order)}
    for attr in ("populations", "projections", "electrical_projections", "continuous_projections", "input_lists"):
        children = getattr(network, attr, None)
        if children:
            children.sort(key=lambda child: rank.get(child.id, len(rank)))


def _lazy_parser(path: Path) -> Any:
    """libNeuroML's optimised HDF5 parser, except that connection and input tables become lazy
    lists (:mod:`nmlhub.model.hdf5_rows`), and electrical and continuous projections (which
    libNeuroML's optimised parser refuses) are read too."""
    import neuroml
    from neuroml.hdf5.NeuroMLHdf5Parser import NeuroMLHdf5Parser

    from .hdf5_rows import lazy_list

    class LazyParser(NeuroMLHdf5Parser):
        linked: Any = None  # the electrical or continuous projection being read

        def start_group(self, g: Any) -> None:
            kind = _attribute_text(g, "type") if g._v_name.startswith("projection_") else ""
            if kind not in ("electricalProjection", "continuousProjection"):
                super().start_group(g)
                return
            make = neuroml.ElectricalProjection if kind == "electricalProjection" else neuroml.ContinuousProjection
            self.linked = make(id=_attribute_text(g, "id"),
                               presynaptic_population=_attribute_text(g, "presynapticPopulation"),
                               postsynaptic_population=_attribute_text(g, "postsynapticPopulation"))
            self.linked.nmlhub_components = {
                name: _attribute_text(g, attr) for name, attr in
                (("synapse", "synapse"), ("pre_component", "preComponent"), ("post_component", "postComponent"))
                if attr in g._v_attrs}
            container = (self.optimizedNetwork.electrical_projections if kind == "electricalProjection"
                         else self.optimizedNetwork.continuous_projections)
            container.append(self.linked)

        def end_group(self, g: Any) -> None:
            if self.linked is not None and g._v_name.startswith("projection_"):
                self.linked = None
                return
            super().end_group(g)

        def parse_dataset(self, d: Any) -> None:
            if self.linked is not None:
                prefix = "electrical" if isinstance(self.linked, neuroml.ElectricalProjection) else "continuous"
                rows = lazy_list("projection", path, d, self._extract_named_indices(d))
                setattr(self.linked, f"{prefix}_connection_instance_ws", rows)
            elif self.currPopulation == "" and self.currentProjectionId != "":
                self.currOptProjection.connections = lazy_list("projection", path, d,
                                                               self._extract_named_indices(d))
            elif self.currPopulation == "" and self.currInputList != "":
                self.currOptInputList.input = lazy_list("input", path, d, self._extract_named_indices(d))
            else:
                super().parse_dataset(d)

    return LazyParser(None, optimized=True)


def _attribute_text(group: Any, name: str) -> str:
    if name not in group._v_attrs:
        return ""
    return _text(_attribute_bytes(group._v_attrs[name]))


_LIST_ATTRS = {
    "projection": ("projections", ("connections",)),
    "electricalProjection": ("electrical_projections", ("electrical_connections",)),
    "continuousProjection": ("continuous_projections", ("continuous_connections",)),
    "inputList": ("input_lists", ("input",)),
}


def _column_names(handle: Any) -> dict[tuple[str, str], dict[str, int]]:
    """``(kind, id)`` of each projection/input list -> its dataset's ``column_N`` names."""
    import h5py

    found: dict[tuple[str, str], dict[str, int]] = {}
    group = next((g for g in handle["neuroml"].values() if isinstance(g, h5py.Group)), None)
    if group is None:
        return found
    for name, sub in group.items():
        kind, _, child_id = name.partition("_")
        if kind not in _LIST_ATTRS or not isinstance(sub, h5py.Group):
            continue
        for dataset in sub.values():
            if isinstance(dataset, h5py.Dataset):
                found[(kind, child_id)] = {
                    _text(value): int(key.split("_", 1)[1])
                    for key, value in dataset.attrs.items()
                    if key.startswith("column_") and key.split("_", 1)[1].isdigit()
                }
    return found


def _set_column_names(network: Any, columns: dict[tuple[str, str], dict[str, int]]) -> None:
    """Give every optimised list its own column map, read from the datasets' ``column_N``.

    libNeuroML's optimised lists share one default dictionary of column indices between
    instances, so their column names cannot be trusted; the file's own attributes can.
    """
    for (kind, child_id), names in columns.items():
        container_attr, list_attrs = _LIST_ATTRS[kind]
        container = next((c for c in getattr(network, container_attr, []) if c.id == child_id), None)
        for list_attr in list_attrs:
            olist = getattr(container, list_attr, None) if container is not None else None
            if olist is not None and hasattr(olist, "indices"):
                olist.indices = dict(names)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
