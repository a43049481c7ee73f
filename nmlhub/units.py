"""NeuroML quantities: dimensions and units as NeuroMLCoreDimensions.xml defines them.

A :class:`UnitRegistry` starts from the core definitions (read from pyNeuroML's jNeuroML jar) and
takes any ``<Dimension>`` or ``<Unit>`` a model defines. Quantities convert between units of one
dimension and into the units NEURON works in (mV, ms, nA, uS, um, ...).

Examples
--------
>>> units = UnitRegistry.core()
>>> units.parse("-65mV").to("V")
-0.065
>>> units.to_neuron("1.2 mS_per_cm2")
0.0012
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Iterable

from lxml import etree

from .errors import UnitError
from .xmlsafe import local_name

#: Exponents of the seven LEMS base dimensions, in this order.
BASE_DIMENSIONS = ("m", "l", "t", "i", "k", "n", "j")

_QUANTITY = re.compile(
    r"^\s*(?P<value>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z_][A-Za-z0-9_]*)?\s*$"
)


@dataclass(frozen=True)
class Dimension:
    """A physical dimension as exponents of mass, length, time, current, temperature, amount and
    luminous intensity (LEMS ``m l t i k n j``)."""

    name: str
    exponents: tuple[int, int, int, int, int, int, int]

    @property
    def is_dimensionless(self) -> bool:
        """True when every exponent is zero."""
        return not any(self.exponents)


DIMENSIONLESS = Dimension("none", (0, 0, 0, 0, 0, 0, 0))


@dataclass(frozen=True)
class Unit:
    """A unit: ``value_SI = value * scale * 10**power + offset``."""

    symbol: str
    dimension: Dimension
    power: int = 0
    scale: float = 1.0
    offset: float = 0.0

    def to_si(self, value: float) -> float:
        """Convert a value in this unit to SI."""
        return value * self.scale * 10.0**self.power + self.offset

    def from_si(self, value: float) -> float:
        """Convert an SI value to this unit."""
        return (value - self.offset) / (self.scale * 10.0**self.power)

    def convert(self, value: float, other: "Unit") -> float:
        """Convert a value in this unit to ``other`` (same dimension assumed).

        Powers of ten are combined first so that e.g. mV -> mV is exact.
        """
        factor = (self.scale / other.scale) * 10.0 ** (self.power - other.power)
        shift = (self.offset - other.offset) / (other.scale * 10.0**other.power)
        return value * factor + shift


NO_UNIT = Unit("", DIMENSIONLESS)


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, as written in a NeuroML attribute."""

    value: float
    unit: Unit

    @property
    def dimension(self) -> Dimension:
        """The quantity's dimension."""
        return self.unit.dimension

    @property
    def si(self) -> float:
        """The value in SI units."""
        return self.unit.to_si(self.value)

    def to(self, unit: Unit | str, registry: "UnitRegistry | None" = None) -> float:
        """The value expressed in another unit of the same dimension.

        Raises
        ------
        UnitError
            The units have different dimensions.
        """
        if isinstance(unit, str):
            unit = (registry or UnitRegistry.core()).unit(unit)
        if unit.dimension.exponents != self.unit.dimension.exponents:
            raise UnitError(
                f"cannot convert {self} ({self.dimension.name}) to {unit.symbol} ({unit.dimension.name})"
            )
        return self.unit.convert(self.value, unit)

    def __str__(self) -> str:
        return f"{self.value:g}{' ' + self.unit.symbol if self.unit.symbol else ''}"


#: The unit NEURON uses for each core dimension: (symbol, power of ten, offset).
NEURON_UNITS: dict[str, tuple[str, int, float]] = {
    "time": ("ms", -3, 0.0),
    "per_time": ("per_ms", 3, 0.0),
    "voltage": ("mV", -3, 0.0),
    "per_voltage": ("per_mV", 3, 0.0),
    "conductance": ("uS", -6, 0.0),
    "conductanceDensity": ("S_per_cm2", 4, 0.0),
    "capacitance": ("nF", -9, 0.0),
    "specificCapacitance": ("uF_per_cm2", -2, 0.0),
    "resistance": ("Mohm", 6, 0.0),
    "resistivity": ("ohm_cm", -2, 0.0),
    "charge": ("pC", -12, 0.0),
    "charge_per_mole": ("C_per_mol", 0, 0.0),
    "current": ("nA", -9, 0.0),
    "currentDensity": ("mA_per_cm2", 1, 0.0),
    "length": ("um", -6, 0.0),
    "area": ("um2", -12, 0.0),
    "volume": ("um3", -18, 0.0),
    "concentration": ("mM", 0, 0.0),
    "substance": ("mol", 0, 0.0),
    "permeability": ("cm_per_s", -2, 0.0),
    "temperature": ("degC", 0, 273.15),
    "idealGasConstantDims": ("J_per_K_per_mol", 0, 0.0),
    "conductance_per_voltage": ("uS_per_mV", -3, 0.0),
}


@dataclass
class UnitRegistry:
    """Dimensions and units by name, starting from the NeuroML2 core definitions."""

    dimensions: dict[str, Dimension] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    @classmethod
    def core(cls) -> "UnitRegistry":
        """A registry holding the definitions of ``NeuroMLCoreDimensions.xml``."""
        return _core_registry().copy()

    def copy(self) -> "UnitRegistry":
        """An independent copy (models add their own units to it)."""
        return UnitRegistry(dict(self.dimensions), dict(self.units))

    def add_definitions(self, elements: Iterable[etree._Element], source: str = "") -> None:
        """Add the ``<Dimension>`` and ``<Unit>`` elements among ``elements``.

        Raises
        ------
        UnitError
            A unit names an unknown dimension or has non-numeric attributes.
        """
        elements = list(elements)
        for element in elements:
            if local_name(element) == "Dimension":
                name = element.get("name")
                try:
                    exps = tuple(int(element.get(b, "0")) for b in BASE_DIMENSIONS)
                except ValueError:
                    raise UnitError(
                        "dimension exponents must be integers",
                        file=source,
                        line=element.sourceline,
                        element=f"Dimension {name}",
                    ) from None
                self.dimensions[name] = Dimension(name, exps)  # type: ignore[arg-type]
        for element in elements:
            if local_name(element) == "Unit":
                self._add_unit_element(element, source)

    def _add_unit_element(self, element: etree._Element, source: str) -> None:
        symbol = element.get("symbol")
        where = dict(file=source, line=element.sourceline, element=f"Unit {symbol}")
        dim_name = element.get("dimension")
        if dim_name not in self.dimensions:
            raise UnitError(f"unknown dimension '{dim_name}'", **where)
        try:
            unit = Unit(
                symbol,
                self.dimensions[dim_name],
                int(element.get("power", "0")),
                float(element.get("scale", "1")),
                float(element.get("offset", "0")),
            )
        except ValueError:
            raise UnitError("power, scale and offset must be numbers", **where) from None
        self.units[symbol] = unit

    def unit(self, symbol: str) -> Unit:
        """The unit with this symbol; ``""`` is the dimensionless unit."""
        if symbol == "":
            return NO_UNIT
        try:
            return self.units[symbol]
        except KeyError:
            raise UnitError(f"unknown unit '{symbol}'") from None

    def dimension(self, name: str) -> Dimension:
        """The dimension with this name (``none`` is dimensionless)."""
        if name == "none":
            return DIMENSIONLESS
        try:
            return self.dimensions[name]
        except KeyError:
            raise UnitError(f"unknown dimension '{name}'") from None

    def parse(self, text: str, *, where: dict | None = None) -> Quantity:
        """Parse a NeuroML quantity such as ``-65mV``, ``0.5 nS`` or ``10 per_ms``.

        Parameters
        ----------
        text
            The attribute value.
        where
            Keyword arguments (``file``, ``line``, ``element``) for the error, if one is raised.

        Raises
        ------
        UnitError
            The text is not a number followed by a known unit.
        """
        where = where or {}
        match = _QUANTITY.match(text) if isinstance(text, str) else None
        if match is None:
            raise UnitError(f"'{text}' is not a quantity (a number and a unit, e.g. -65mV)", **where)
        value = float(match.group("value"))
        if not math.isfinite(value):
            raise UnitError(f"'{text}' is not a finite number", **where)
        symbol = match.group("unit") or ""
        if symbol and symbol not in self.units:
            raise UnitError(f"unknown unit '{symbol}' in '{text}'", **where)
        return Quantity(value, self.unit(symbol))

    def parse_as(self, text: str, dimension: str, *, where: dict | None = None) -> Quantity:
        """Parse a quantity and check that it has the given dimension.

        Raises
        ------
        UnitError
            The quantity is malformed or its dimension differs from ``dimension``.
        """
        quantity = self.parse(text, where=where)
        expected = self.dimension(dimension)
        if quantity.dimension.exponents != expected.exponents:
            got = quantity.dimension.name if quantity.unit.symbol else "no unit"
            raise UnitError(
                f"'{text}' has dimension {got}, expected {expected.name}", **(where or {})
            )
        return quantity

    def neuron_unit(self, dimension: Dimension) -> Unit:
        """The unit NEURON uses for a dimension (SI if NEURON has no convention for it)."""
        if dimension.is_dimensionless:
            return NO_UNIT
        for name, (symbol, power, offset) in NEURON_UNITS.items():
            known = self.dimensions.get(name)
            if known is not None and known.exponents == dimension.exponents:
                return Unit(symbol, dimension, power, 1.0, offset)
        return Unit("SI", dimension)

    def to_neuron(
        self, text: str, dimension: str | None = None, *, where: dict | None = None
    ) -> float:
        """Parse a quantity and return its value in NEURON's unit for its dimension.

        Parameters
        ----------
        text
            The attribute value, e.g. ``"0.5 nS"``.
        dimension
            If given, the dimension the quantity must have (e.g. ``"conductance"``).
        where
            ``file``/``line``/``element`` for errors.
        """
        q = self.parse_as(text, dimension, where=where) if dimension else self.parse(text, where=where)
        return q.unit.convert(q.value, self.neuron_unit(q.dimension))


def _core_registry_uncached() -> UnitRegistry:
    from .coretypes import core_dimensions_xml

    registry = UnitRegistry()
    registry.add_definitions(core_dimensions_xml(), source="NeuroMLCoreDimensions.xml")
    return registry


@functools.lru_cache(maxsize=1)
def _core_registry() -> UnitRegistry:
    # Read-only after creation: callers only ever get copies.
    return _core_registry_uncached()
