"""Models in every format: NeuroML XML (canonical), NeuroML HDF5, JSON, pickle and MATLAB.

All go through the plain tree of :mod:`converters.model_tree`; JSON, pickle and MATLAB hold that
tree (see :mod:`converters.plain`), NeuroML HDF5 holds the networks as datasets
(:mod:`converters.neuroml_hdf5`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import plain
from .model_tree import FLOAT_STYLES, tree_from_xml_bytes, tree_from_xml_file, write_xml
from .plain import ConversionError

MODEL_FORMATS = ("xml", "hdf5", "json", "pickle", "matlab", "sonata")


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


def read_model(path: Path, fmt: str | None = None) -> dict:
    """Read a model file of any model format into the plain tree."""
    from . import format_of

    path = Path(path)
    fmt = fmt or format_of(path)
    if not path.exists():
        raise ConversionError("file not found", file=path)
    if fmt == "xml":
        return tree_from_xml_file(path)
    if fmt == "hdf5":
        from .neuroml_hdf5 import read_neuroml_hdf5

        return read_neuroml_hdf5(path)
    if fmt == "sonata":
        from .sonata_read import read as read_sonata

        return read_sonata(path)
    if fmt in plain.READERS:
        _, tree = plain.READERS[fmt](path, ("model",))
        check_tree(tree, path)
        return tree
    raise ConversionError(f"{fmt} files hold results, not models (model formats: {', '.join(MODEL_FORMATS)})",
                          file=path)


def write_model(tree: dict, path: Path, fmt: str | None = None) -> Path:
    """Write a plain tree as a model file (atomically: a temporary file, then a rename)."""
    from . import format_of

    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt == "xml":
        write_xml(tree, path)
    elif fmt == "hdf5":
        from .neuroml_hdf5 import write_neuroml_hdf5

        write_neuroml_hdf5(tree, path)
    elif fmt == "sonata":
        from .sonata_write import write as write_sonata

        write_sonata(tree, path)
    elif fmt in plain.WRITERS:
        plain.WRITERS[fmt](path, "model", tree)
    else:
        raise ConversionError(f"{fmt} files hold results, not models (model formats: {', '.join(MODEL_FORMATS)})",
                              file=path)
    return path


# ---------------------------------------------------------------- structure check

def check_tree(tree: Any, path: Path) -> None:
    """Refuse, with the place named, a tree that is not what :mod:`converters.model_tree` makes."""
    if not isinstance(tree, dict) or not isinstance(tree.get("root"), dict):
        raise ConversionError("the model data has no 'root' element", file=path)
    stack: list[tuple[Any, str]] = [(tree["root"], "root")]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, dict):
            raise ConversionError(f"{where}: an element must be a mapping, not {type(node).__name__}", file=path)
        if "block" in node:
            _check_block(node, where, path)
            continue
        if not isinstance(node.get("tag"), str) or not node["tag"]:
            raise ConversionError(f"{where}: element without a 'tag'", file=path)
        attrs = node.get("attrs", {})
        if not isinstance(attrs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
            raise ConversionError(f"{where} <{node['tag']}>: 'attrs' must map names to strings", file=path)
        for key in ("text", "tail", "ns"):
            if key in node and not isinstance(node[key], str):
                raise ConversionError(f"{where} <{node['tag']}>: '{key}' must be a string", file=path)
        children = node.get("children", [])
        if not isinstance(children, list):
            raise ConversionError(f"{where} <{node['tag']}>: 'children' must be a list", file=path)
        stack.extend((child, f"{where}/{node['tag']}[{k}]") for k, child in enumerate(children))


def _check_block(block: dict, where: str, path: Path) -> None:
    count = block.get("count")
    if not isinstance(block.get("block"), str) or not isinstance(count, int) or count < 0:
        raise ConversionError(f"{where}: a block needs a tag ('block') and a 'count'", file=path)
    groups = [block.get("columns", {})] + [c.get("columns", {}) for c in block.get("children", [])
                                           if isinstance(c, dict)]
    for columns in groups:
        if not isinstance(columns, dict):
            raise ConversionError(f"{where} <{block['block']}>: 'columns' must be a mapping", file=path)
        for name, column in columns.items():
            _check_column(column, count, f"{where} <{block['block']}> column {name}", path)


def _check_column(column: Any, count: int, where: str, path: Path) -> None:
    if not isinstance(column, dict):
        raise ConversionError(f"{where}: not a column", file=path)
    if "int" in column or "float" in column:
        kind = "int" if "int" in column else "float"
        values = column[kind]
        ok = isinstance(values, np.ndarray) and values.dtype.kind == kind[0] and isinstance(column.get("prefix"), str) \
            and isinstance(column.get("suffix"), str) and column.get("style", "repr") in FLOAT_STYLES \
            and (kind == "float" or "style" not in column)
    elif "codes" in column:
        values = column["codes"]
        ok = (isinstance(values, np.ndarray) and values.dtype.kind in "iu"
              and isinstance(column.get("values"), list)
              and (values.size == 0 or 0 <= values.min() and values.max() < len(column["values"])))
    else:
        ok, values = False, None
    if not ok:
        raise ConversionError(f"{where}: malformed column", file=path)
    if values.shape != (count,):
        raise ConversionError(f"{where}: {values.size} values for {count} elements", file=path)
