"""Plain data in JSON, pickle and MATLAB files, without loss.

"Plain data" is what nmlhub's model and results mappings produce: dicts with string keys, lists,
strings, ints, floats, bools, None and numpy arrays (large homogeneous columns). Each codec keeps
every one of these types and every array's dtype and shape:

- JSON: an array is ``{"__ndarray__": [values, flat, C order], "dtype": "float64", "shape": [n, m]}``;
  floats are written with Python's shortest exact repr, so they read back bit for bit.
- pickle: the data itself (protocol 5). Reading goes through :class:`RestrictedUnpickler`, which
  accepts only the containers and the numpy array constructors nmlhub writes; any other global
  (a function, a class, ``os.system``...) is refused before anything is called.
- MATLAB (``.mat``, version 5, read with ``scipy.io``): a dict is a struct, a list a cell array,
  a string a char array, an int an ``int64`` and a float a ``double`` scalar; an array is a struct
  with fields ``nmlhub_ndarray`` (the values, as a matrix), ``nmlhub_shape`` and ``nmlhub_dtype``;
  ``None``, bools and empty dicts are structs ``nmlhub_none``, ``nmlhub_bool`` and
  ``nmlhub_emptydict``. A key that is not a valid
  MATLAB field name is written ``esc_`` followed by its UTF-8 bytes in hex; a dict with a key too
  long even for that is a struct of two cell arrays, ``nmlhub_keys`` and ``nmlhub_values``.

Every file holds a small envelope ``{"nmlhub": {"kind": KIND, "version": 1}, "data": DATA}`` so
that a file of another kind or origin is refused with a clear error.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from nmlhub.errors import NmlhubError
from nmlhub.results import write_atomic_bytes

VERSION = 1
ARRAY_KEY = "__ndarray__"
_MATLAB_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_RESERVED = ("nmlhub_", "esc_")
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by nmlhub (plain data mapping 1)".ljust(116)


class ConversionError(NmlhubError):
    """A file cannot be read or written in the format asked for."""


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ConversionError("file not found", file=path)
    return path


def envelope(kind: str, data: Any) -> dict:
    """The dict every file holds: what kind of data it is, the mapping's version, and the data."""
    return {"nmlhub": {"kind": kind, "version": VERSION}, "data": data}


def open_envelope(obj: Any, path: Path, kinds: tuple[str, ...]) -> tuple[str, Any]:
    """Check that ``obj`` (read from ``path``) is an nmlhub envelope of one of ``kinds``."""
    if not isinstance(obj, dict) or not isinstance(obj.get("nmlhub"), dict) or "data" not in obj:
        raise ConversionError("not an nmlhub file (no 'nmlhub' header with 'data')", file=path)
    header = obj["nmlhub"]
    kind, version = header.get("kind"), header.get("version")
    if kind not in kinds:
        raise ConversionError(f"holds {kind!r}, expected {' or '.join(map(repr, kinds))}", file=path)
    if version != VERSION:
        raise ConversionError(f"mapping version {version!r} is not supported (this nmlhub reads {VERSION})",
                              file=path)
    return kind, obj["data"]


# ---------------------------------------------------------------- JSON

def _to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ConversionError(f"arrays of dtype {value.dtype} cannot be written")
        return {ARRAY_KEY: value.ravel().tolist(), "dtype": value.dtype.str.lstrip("<>|="),
                "shape": list(value.shape)}
    if isinstance(value, dict):
        if ARRAY_KEY in value:
            raise ConversionError(f"a dict key may not be {ARRAY_KEY!r}")
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


#: The array dtypes nmlhub writes and reads: a file never names its own (``(16000,16000)f8`` would
#: make each value a 2 GB block).
DTYPES = {name: np.dtype(name) for name in ("b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8")}
MAX_DIMENSIONS = 8


def array_dtype(name: Any) -> np.dtype:
    """The dtype a file names, if it is one of :data:`DTYPES`."""
    if not isinstance(name, str) or name.lstrip("<>|=") not in DTYPES:
        raise ConversionError(f"array dtype {str(name)[:40]!r} is not one nmlhub writes "
                              f"({', '.join(DTYPES)})")
    return DTYPES[name.lstrip("<>|=")]


def array_shape(shape: Any, size: int) -> tuple[int, ...]:
    """A shape a file names, checked against the number of values it holds."""
    if not isinstance(shape, (list, tuple)) or len(shape) > MAX_DIMENSIONS \
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ConversionError(f"array shape {str(shape)[:60]} is not a list of at most {MAX_DIMENSIONS} sizes")
    if int(np.prod(shape, dtype=object)) != size:
        raise ConversionError(f"array shape {list(shape)} does not hold its {size} values")
    return tuple(int(n) for n in shape)


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if ARRAY_KEY in value:
            dtype = array_dtype(value.get("dtype"))
            values = value[ARRAY_KEY]
            if not isinstance(values, list) or any(isinstance(v, (list, dict, str)) for v in values):
                raise ConversionError("array values must be a flat list of numbers")
            shape = array_shape(value.get("shape"), len(values))
            return np.array(values, dtype=dtype).reshape(shape)
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def write_json(path: Path, kind: str, data: Any) -> None:
    """Write plain data as JSON (atomically)."""
    text = json.dumps(_to_json(envelope(kind, _plain(data))), separators=(",", ":"))
    write_atomic_bytes(Path(path), text.encode())


def read_json(path: Path, kinds: tuple[str, ...]) -> tuple[str, Any]:
    """Read plain data written by :func:`write_json`."""
    path = _existing(path)
    try:
        obj = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"not valid JSON: {exc}", file=path) from None
    kind, data = open_envelope(obj, path, kinds)
    try:
        return kind, _from_json(data)
    except ConversionError as exc:
        raise ConversionError(exc.message, file=path) from None
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ConversionError(f"malformed array: {exc}", file=path) from None


# ---------------------------------------------------------------- pickle

# What numpy (1.x and 2.x) needs to rebuild the arrays nmlhub writes, and nothing else.
_PICKLE_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only containers, numbers, strings and numpy arrays; refuses every other global.

    A pickle names the functions it calls while loading; this unpickler looks each name up in a
    short whitelist, so a file that would run code (``os.system``, ``eval``, any class) raises
    :class:`ConversionError` before anything runs.
    """

    def __init__(self, stream: io.BufferedIOBase, path: Path) -> None:
        super().__init__(stream)
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise ConversionError(f"refused: the pickle asks for {module}.{name}, which nmlhub never writes "
                              "(a pickle that names other code could run it)", file=self.path)


def _plain(value: Any) -> Any:
    """The data with numpy scalars as Python numbers; anything not plain refused."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ConversionError(f"arrays of dtype {value.dtype} cannot be written")
        return value
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ConversionError(f"{type(value).__name__} values cannot be written")


def write_pickle(path: Path, kind: str, data: Any) -> None:
    """Write plain data as a pickle (protocol 5, atomically)."""
    write_atomic_bytes(Path(path), pickle.dumps(envelope(kind, _plain(data)), protocol=5))


def read_pickle(path: Path, kinds: tuple[str, ...]) -> tuple[str, Any]:
    """Read a pickle written by :func:`write_pickle`, through :class:`RestrictedUnpickler`."""
    path = _existing(path)
    with open(path, "rb") as stream:
        try:
            obj = RestrictedUnpickler(stream, path).load()
        except ConversionError:
            raise
        except Exception as exc:  # truncated or not a pickle at all: pickle raises many kinds
            raise ConversionError(f"not a readable pickle: {type(exc).__name__}: {exc}", file=path) from None
    return open_envelope(obj, path, kinds)


# ---------------------------------------------------------------- MATLAB

def _field(key: str) -> str | None:
    """The MATLAB field name of a key, or None if none can hold it (too long)."""
    if _MATLAB_FIELD.match(key) and not key.startswith(_RESERVED):
        return key
    escaped = "esc_" + key.encode().hex()
    return escaped if len(escaped) <= 63 else None


def _unfield(field: str) -> str:
    return bytes.fromhex(field[4:]).decode() if field.startswith("esc_") else field


def _to_mat(value: Any) -> Any:
    if value is None:
        return {"nmlhub_none": np.zeros((0, 0))}
    if isinstance(value, (bool, np.bool_)):
        return {"nmlhub_bool": np.uint8(bool(value))}
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ConversionError(f"arrays of dtype {value.dtype} cannot be written")
        if value.ndim == 0:
            matrix = value.reshape(1, 1)
        else:
            matrix = value.reshape(value.shape[0], -1) if value.size else value.reshape(0, 0)
        return {"nmlhub_ndarray": matrix.astype(np.uint8) if value.dtype == bool else matrix,
                "nmlhub_shape": np.array(value.shape, dtype=np.int64).reshape(1, -1),
                "nmlhub_dtype": value.dtype.str.lstrip("<>|=")}
    if isinstance(value, dict):
        if not value:  # scipy writes a struct without fields as nothing at all
            return {"nmlhub_emptydict": np.uint8(1)}
        fields = [_field(str(k)) for k in value]
        if None in fields:  # a key too long for a field name: keys and values side by side
            return {"nmlhub_keys": _to_mat([str(k) for k in value]), "nmlhub_values": _to_mat(list(value.values()))}
        return {f: _to_mat(v) for f, v in zip(fields, value.values())}
    if isinstance(value, (list, tuple)):
        cell = np.empty((1, len(value)), dtype=object)
        for k, item in enumerate(value):
            cell[0, k] = _to_mat(item)
        return cell
    raise ConversionError(f"{type(value).__name__} values cannot be written to MATLAB")


def _from_mat(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.names is not None:  # a struct
        record = value.reshape(-1)[0]
        fields = value.dtype.names
        if "nmlhub_none" in fields:
            return None
        if "nmlhub_emptydict" in fields:
            return {}
        if "nmlhub_keys" in fields:
            return dict(zip(_from_mat(record["nmlhub_keys"]), _from_mat(record["nmlhub_values"])))
        if "nmlhub_bool" in fields:
            return bool(np.asarray(record["nmlhub_bool"]).reshape(-1)[0])
        if "nmlhub_ndarray" in fields:
            dtype = array_dtype(_from_mat(record["nmlhub_dtype"]))
            matrix = np.asarray(record["nmlhub_ndarray"])
            if matrix.dtype.kind not in "biuf":
                raise ConversionError(f"array values of MATLAB type {matrix.dtype} are not numbers")
            shape = array_shape(np.asarray(record["nmlhub_shape"]).reshape(-1).tolist(), matrix.size)
            return matrix.astype(dtype).reshape(shape)
        return {_unfield(name): _from_mat(record[name]) for name in fields}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [_from_mat(item) for item in value.reshape(-1)]
        if value.dtype.kind == "U":
            return "".join(value.reshape(-1).tolist())
        if value.dtype == np.int64:
            return int(value.reshape(-1)[0])
        if value.dtype == np.float64:
            return float(value.reshape(-1)[0])
    raise ConversionError(f"unexpected MATLAB value of type {getattr(value, 'dtype', type(value))}")


def write_matlab(path: Path, kind: str, data: Any) -> None:
    """Write plain data as a MATLAB 5 file (atomically)."""
    import scipy.io

    buffer = io.BytesIO()
    content = envelope(kind, data)
    scipy.io.savemat(buffer, {"nmlhub": _to_mat(content["nmlhub"]), "data": _to_mat(content["data"])},
                     long_field_names=True, do_compression=True)
    data = bytearray(buffer.getvalue())
    # The 116-byte descriptive header scipy fills with the time of writing: a fixed text instead,
    # so the same data always gives the same file.
    data[:116] = _MAT_HEADER
    write_atomic_bytes(Path(path), bytes(data))


#: How much the compressed parts of a MATLAB file may expand: at least this many bytes...
MAT_MIN_BUDGET = 256 * 2**20
#: ...or this many times the file's size (nmlhub's own files expand about tenfold).
MAT_EXPANSION = 64


def _check_expansion(path: Path) -> None:
    """Refuse a MATLAB 5 file whose compressed elements expand beyond the budget, counting the
    bytes as they stream out of zlib (nothing is kept), before scipy allocates anything."""
    import struct
    import zlib

    size = path.stat().st_size
    budget = max(MAT_MIN_BUDGET, MAT_EXPANSION * size)
    with open(path, "rb") as stream:
        header = stream.read(128)
        if len(header) < 128 or header[126:128] not in (b"IM", b"MI"):
            return  # not MATLAB 5: scipy says what it is
        order = "<" if header[126:128] == b"IM" else ">"
        total = 0
        while True:
            tag = stream.read(8)
            if len(tag) < 8:
                return
            kind, nbytes = struct.unpack(order + "II", tag)
            if kind >> 16:  # a small element packed in its tag
                continue
            if kind != 15:  # not compressed: its bytes are in the file
                stream.seek(nbytes + (-nbytes % 8), 1)
                continue
            inflate = zlib.decompressobj()
            left = nbytes
            while left > 0:
                chunk = stream.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
                try:
                    total += len(inflate.decompress(chunk, 1 << 20))
                    while inflate.unconsumed_tail:
                        total += len(inflate.decompress(inflate.unconsumed_tail, 1 << 20))
                        if total > budget:
                            break
                except zlib.error:
                    return  # damaged: scipy says so
                if total > budget:
                    raise ConversionError(f"compressed data expands to more than {budget} bytes (the budget for "
                                          f"a {size}-byte MATLAB file); refused before reading", file=path)


def read_matlab(path: Path, kinds: tuple[str, ...]) -> tuple[str, Any]:
    """Read a MATLAB file written by :func:`write_matlab`."""
    import scipy.io

    path = _existing(path)
    _check_expansion(path)
    try:
        raw = scipy.io.loadmat(str(path), squeeze_me=False, chars_as_strings=True, mat_dtype=False)
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... for a non-MAT file
        raise ConversionError(f"not a readable MATLAB file: {exc}", file=path) from None
    if "nmlhub" not in raw or "data" not in raw:
        raise ConversionError("not an nmlhub MATLAB file (no 'nmlhub' and 'data' variables)", file=path)
    try:
        obj = {"nmlhub": _from_mat(raw["nmlhub"]), "data": _from_mat(raw["data"])}
    except ConversionError as exc:
        raise ConversionError(exc.message, file=path) from None
    return open_envelope(obj, path, kinds)


WRITERS = {"json": write_json, "pickle": write_pickle, "matlab": write_matlab}
READERS = {"json": read_json, "pickle": read_pickle, "matlab": read_matlab}
