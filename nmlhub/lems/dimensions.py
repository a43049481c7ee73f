"""The dimensions of a ComponentType's equations, checked as jLEMS checks them before it runs.

jLEMS refuses a model whose ``TimeDerivative`` does not have the dimension of its variable per
time, whose ``StateAssignment`` does not have the dimension of its variable, or whose equations
add quantities of different dimensions or give ``exp``/``log``/... a dimensional argument
(``Dimension mismatch in the equation``). Such an equation has no one meaning: nmlhub would run
``dR/dt = f`` with a dimensionless ``f`` as ``f`` per second. It is refused in the same cases.

The check is exact or silent: an expression with a name whose dimension the types do not declare
(a ``DerivedVariable`` without ``dimension``) or a power of a dimensional base is not judged;
numbers count as jLEMS counts them: 0 and a negation (``0 - x`` to jLEMS) take any dimension (it
runs ``dS/dt = -S/150`` for a dimensionless ``S``), another number is dimensionless in a product
(it refuses ``dS/dt = k * 2`` for a dimensionless ``k``) and takes its partner's dimension in a sum.
"""

from __future__ import annotations

import functools
from typing import Iterator, Union

from lxml import etree

from ..coretypes import core_component_types, read_jar_file
from ..errors import NmlhubError
from ..model.model import Model
from ..model.records import ComponentTypeDef, Problem
from ..units import BASE_DIMENSIONS, UnitRegistry
from ..xmlsafe import local_name, parse_xml_bytes, parse_xml_file
from .expr import COMPARISONS, LOGICAL, BinOp, Call, Expr, ExpressionError, IfElse, Name, Neg, Num, parse

Exponents = tuple[int, ...]
NONE: Exponents = (0,) * len(BASE_DIMENSIONS)
TIME: Exponents = tuple(1 if base == "t" else 0 for base in BASE_DIMENSIONS)
#: Functions whose argument jLEMS requires dimensionless, and whose value is dimensionless.
DIMENSIONLESS_FUNCTIONS = frozenset({"exp", "log", "ln", "sin", "cos", "tan", "sinh", "cosh", "tanh"})
_DECLARING = frozenset({"Parameter", "Constant", "StateVariable", "DerivedVariable", "Exposure",
                        "Requirement", "Property", "DerivedParameter", "ConditionalDerivedVariable",
                        "IndexParameter"})


class _Mismatch(Exception):
    """The expression is inconsistent, for the reason given."""


class _Unknown(Exception):
    """The expression's dimension cannot be judged."""


@functools.lru_cache(maxsize=8)
def _core_type_elements(file: str) -> dict[str, etree._Element]:
    root = parse_xml_bytes(read_jar_file(file), source=file).getroot()
    return {element.get("name"): element for element in root if local_name(element) == "ComponentType"}


def _type_element(name: str, model: Model) -> etree._Element | None:
    definition = model.component_types.get(name)
    if definition is not None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.fromstring(definition.xml.encode(), parser)
    core = core_component_types().get(name)
    return _core_type_elements(core.file).get(name) if core is not None else None


def declared_dimensions(type_name: str, model: Model) -> dict[str, Exponents | None]:
    """Every name a ComponentType and the types it extends declare, with its dimension as base
    exponents (None where the declaration gives no dimension nmlhub knows)."""
    dimensions: dict[str, Exponents | None] = {"t": TIME}
    for name in reversed(model.type_chain(type_name)):  # the most derived declaration wins
        element = _type_element(name, model)
        for declaration in element.iter(etree.Element) if element is not None else ():
            if local_name(declaration) in _DECLARING and declaration.get("name"):
                dimension = declaration.get("dimension")
                known = _exponents(dimension, model.units) if dimension else None
                if known is not None or declaration.get("name") not in dimensions:
                    dimensions[declaration.get("name")] = known
    return dimensions


def _exponents(dimension: str, units: UnitRegistry) -> Exponents | None:
    if dimension == "none":
        return NONE
    known = units.dimensions.get(dimension)
    return tuple(known.exponents) if known is not None else None


def _combine(left: Exponents, right: Exponents, sign: int) -> Exponents:
    return tuple(a + sign * b for a, b in zip(left, right))


#: What a number other than 0 is: dimensionless in a product, of its partner's dimension in a sum.
_NUMBER = "number"
_Dim = Union[Exponents, None, str]


def _dimension(expr: Expr, names: dict[str, Exponents | None]) -> _Dim:
    """The expression's dimension, as jLEMS computes it: None (any dimension) for the number 0 and
    for a negation (jLEMS reads ``-x`` as ``0 - x``) and for what they take part in; ``_NUMBER``
    for another number.

    Raises _Mismatch where the expression is inconsistent, _Unknown where it cannot be judged."""
    if isinstance(expr, Num):
        return None if expr.value == 0 else _NUMBER
    if isinstance(expr, Name):
        if names.get(expr.name) is None:
            raise _Unknown(expr.name)
        return names[expr.name]
    if isinstance(expr, Neg):
        _dimension(expr.operand, names)
        return None
    if isinstance(expr, Call):
        return _call_dimension(expr, names)
    if isinstance(expr, IfElse):
        raise _Unknown("conditional")
    return _binary_dimension(expr, names)


def _call_dimension(expr: Call, names: dict[str, Exponents | None]) -> _Dim:
    argument = _dimension(expr.arg, names)
    if expr.func in DIMENSIONLESS_FUNCTIONS:
        if argument not in (None, _NUMBER, NONE):
            raise _Mismatch(f"the argument of {expr.func}() is not dimensionless")
        return NONE
    if expr.func in ("abs", "ceil", "floor"):
        return argument
    raise _Unknown(expr.func)


def _binary_dimension(expr: BinOp, names: dict[str, Exponents | None]) -> _Dim:
    left, right = _dimension(expr.left, names), _dimension(expr.right, names)
    if expr.op in LOGICAL:
        return NONE
    if left is None or right is None:
        return None if expr.op not in COMPARISONS else NONE
    if expr.op in ("+", "-") or expr.op in COMPARISONS:
        if _NUMBER not in (left, right) and left != right:
            raise _Mismatch(f"'{expr.op}' joins quantities of different dimensions")
        return (right if left == _NUMBER else left) if expr.op in ("+", "-") else NONE
    if left == _NUMBER and right == _NUMBER:
        return _NUMBER
    left, right = (NONE if side == _NUMBER else side for side in (left, right))
    if expr.op in ("*", "/"):
        return _combine(left, right, 1 if expr.op == "*" else -1)
    if left == NONE and right == NONE:  # "^" of dimensionless quantities
        return NONE
    raise _Unknown("power")


def _equations(root: etree._Element) -> Iterator[tuple[etree._Element, str, bool]]:
    """The type's own TimeDerivatives and StateAssignments: element, variable, is a derivative."""
    for element in root.iter(etree.Element):
        if local_name(element) in ("TimeDerivative", "StateAssignment") and element.get("value"):
            yield element, element.get("variable", ""), local_name(element) == "TimeDerivative"


def _equation_problem(element: etree._Element, variable: str, derivative: bool,
                      names: dict[str, Exponents | None]) -> str | None:
    try:
        value = _dimension(parse(element.get("value")), names)
    except (_Unknown, ExpressionError):
        return None
    except _Mismatch as mismatch:
        return str(mismatch)
    target = names.get(variable)
    if target is None or value is None or value == _NUMBER:
        return None
    expected = _combine(target, TIME, -1) if derivative else target
    if value != expected:
        what = "the dimension of " + (f"{variable} per time" if derivative else variable)
        return f"its value '{element.get('value')}' does not have {what}"
    return None


def _written_definition(definition: ComponentTypeDef, files: dict[str, etree._Element | None]) -> etree._Element:
    """The ComponentType element as its file holds it (its lines are the file's lines); ``files``
    keeps each file's parsed root, so a file defining many types is read once."""
    file = definition.location.file
    if file not in files:
        try:
            files[file] = parse_xml_file(file).getroot()
        except (OSError, NmlhubError):
            files[file] = None
    root = files[file]
    for element in root.iter(etree.Element) if root is not None else ():
        if local_name(element) == "ComponentType" and element.get("name") == definition.name:
            return element
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(definition.xml.encode(), parser)


def dimension_problems(definition: ComponentTypeDef, model: Model,
                       files: dict[str, etree._Element | None] | None = None) -> list[Problem]:
    """The equations of a model's ComponentType whose dimensions jLEMS refuses, one problem each.

    Parameters
    ----------
    definition
        A ComponentType the model defines.
    model
        The loaded model (its types, core types and units give the names' dimensions).
    files
        Parsed files by path, shared between calls so that each file is read once.

    Returns
    -------
    list of Problem
        Errors naming the file, line and equation; empty when every equation is consistent or
        cannot be judged.
    """
    names = declared_dimensions(definition.name, model)
    problems = []
    for element, variable, derivative in _equations(_written_definition(definition, {} if files is None else files)):
        reason = _equation_problem(element, variable, derivative, names)
        if reason:
            shown = f"<{local_name(element)} variable={variable!r}>"
            line = element.sourceline or definition.location.line
            problems.append(Problem(
                f"ComponentType {definition.name}: dimension mismatch: {reason} (jLEMS refuses "
                "the model: 'Dimension mismatch in the equation')", definition.location.file, line, shown))
    return problems
