"""The COLUMN of the plain tree (see :mod:`converters.model_tree`): the cheapest exact form of a
list of strings (integers or floats with the text around them, else codes into distinct values)."""

from __future__ import annotations

import math
import re

import numpy as np

_INT = re.compile(r"^(.*?)(-?(?:0|[1-9][0-9]*))(\D*)$", re.S)
_FLOAT = re.compile(r"^(.*?)([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)([^0-9.eE+-]*)$", re.S)
_NUMBER_CHARS = tuple("0123456789.eE+-")
# a prefix that ends inside a decimal number ('1.', '2e', '3.5E-'): 'Dendrite' or 'cell_' do not
_DECIMAL_HEAD = re.compile(r"(?:[0-9.]|[0-9.][eE][+-]?|[+-])$")
_NOT_NUMBER = re.compile(r"[^0-9eE.+-]")
_NOT_INT = re.compile(r"[^0-9,-]")
_LEADING_ZERO = re.compile(r",-?0[0-9]")


def encode_column(values: list[str]) -> dict:
    """The cheapest exact :data:`COLUMN <converters.model_tree>` form of a list of strings."""
    if not values:
        return {"codes": np.zeros(0, dtype=np.int64), "values": []}
    first = _INT.match(values[0])
    if first is not None and not _DECIMAL_HEAD.search(first.group(1)) \
            and not first.group(3).startswith(_NUMBER_CHARS):  # not a piece of a decimal number
        prefix, suffix = first.group(1), first.group(3)
        cores = _strip(values, prefix, suffix)
        # exact only: written as str(int) writes them (no '+', spaces or leading zeros)
        if cores is not None and _plain_ints(cores):
            try:
                return {"int": np.array(list(map(int, cores)), dtype=np.int64), "prefix": prefix, "suffix": suffix}
            except (ValueError, OverflowError):
                pass
    first = _FLOAT.match(values[0])
    if first is not None:
        prefix, suffix = first.group(1), first.group(3)
        cores = _strip(values, prefix, suffix)
        # only digits, point, sign and exponent (float() would also read '2_1' as 21, or 'inf')
        if cores is not None and not _NOT_NUMBER.search("".join(cores)):
            try:
                numbers = list(map(float, cores))
            except ValueError:
                numbers = None
            # exact only: each text is the one the column's style gives back ('0.50' never is)
            for style, spell in FLOAT_STYLES.items():
                # (map(repr) itself for the common style: a call per value costs seconds per million)
                if numbers is not None and list(map(repr if style == "repr" else spell, numbers)) == cores:
                    column = {"float": np.array(numbers, dtype=np.float64), "prefix": prefix, "suffix": suffix}
                    if style != "repr":
                        column["style"] = style
                    return column
    uniques, codes = np.unique(np.array(values, dtype=str), return_inverse=True)
    return {"codes": codes.astype(np.int64).reshape(-1), "values": uniques.tolist()}


def _plain_ints(cores: list[str]) -> bool:
    """Whether texts are integers written as ``str(int)`` writes them: no other character, no
    leading zero, no '-0', none empty, no '-' inside."""
    joined = "," + ",".join(cores) + ","
    return not (_NOT_INT.search(joined) or _LEADING_ZERO.search(joined) or ",-0," in joined
                or ",," in joined or ",-," in joined or "--" in joined
                or re.search(r"[0-9]-", joined))


def _strip(values: list[str], prefix: str, suffix: str) -> list[str] | None:
    """The middles of strings that all start with ``prefix`` and end with ``suffix``, else None."""
    p, s = len(prefix), len(suffix)
    if not p and not s:
        return values
    least = p + s
    if not all(v.startswith(prefix) and v.endswith(suffix) and len(v) > least for v in values):
        return None
    return [v[p:-s] for v in values] if s else [v[p:] for v in values]


def decode_column(column: dict) -> list[str]:
    """The strings a column holds."""
    if "int" in column:
        p, s = column["prefix"], column["suffix"]
        return [f"{p}{i}{s}" for i in np.asarray(column["int"]).tolist()]
    if "float" in column:
        p, s = column["prefix"], column["suffix"]
        spell = FLOAT_STYLES[column.get("style", "repr")]
        return [f"{p}{spell(x)}{s}" for x in np.asarray(column["float"]).tolist()]
    values = column["values"]
    return [values[c] for c in np.asarray(column["codes"]).tolist()]


def format_float(x: float) -> str:
    """Shortest text that reads back as ``x`` (and as a float column again: ``2.0``, not ``2``)."""
    return repr(x)


def format_whole_as_int(x: float) -> str:
    """``x`` as :func:`format_float` writes it, but a whole number as an integer (``2``, ``2.5``)."""
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 and not (x == 0 and math.copysign(1, x) < 0) \
        else repr(x)


#: How a float column's numbers are written back, by its ``style`` (``repr`` when absent).
FLOAT_STYLES = {"repr": format_float, "int": format_whole_as_int}
