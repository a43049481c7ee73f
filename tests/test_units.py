"""Units against the definitions in NeuroMLCoreDimensions.xml, read here independently."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile

import pytest
from hypothesis import given, strategies as st

from conftest import jar_path
from nmlhub import UnitError, UnitRegistry


def _core_units() -> dict[str, dict]:
    with zipfile.ZipFile(jar_path()) as jar:
        root = ET.fromstring(jar.read("NeuroML2CoreTypes/NeuroMLCoreDimensions.xml"))
    units = {}
    for el in root:
        if el.tag.endswith("Unit"):
            units[el.get("symbol")] = dict(
                dimension=el.get("dimension"),
                power=int(el.get("power", "0")),
                scale=float(el.get("scale", "1")),
                offset=float(el.get("offset", "0")),
            )
    return units


CORE_UNITS = _core_units()
REGISTRY = UnitRegistry.core()


def test_every_core_unit_is_known():
    assert set(CORE_UNITS) <= set(REGISTRY.units)
    assert len(CORE_UNITS) > 60


@pytest.mark.parametrize("symbol", sorted(CORE_UNITS))
def test_si_value_follows_the_definition(symbol):
    d = CORE_UNITS[symbol]
    expected = 1.5 * d["scale"] * 10 ** d["power"] + d["offset"]
    assert math.isclose(REGISTRY.parse(f"1.5 {symbol}").si, expected, rel_tol=1e-12)
    assert math.isclose(REGISTRY.parse(f"1.5{symbol}").si, expected, rel_tol=1e-12)


@pytest.mark.parametrize(
    "text, target, expected",
    [
        ("-65mV", "V", -0.065),
        ("0.5 nS", "uS", 0.0005),
        ("10 per_ms", "per_s", 10000.0),
        ("1.2 mS_per_cm2", "S_per_m2", 12.0),
        ("310K", "degC", 36.85),
        ("6.3degC", "K", 279.45),
        ("2 hour", "s", 7200.0),
        ("1 M", "mM", 1000.0),
    ],
)
def test_conversions(text, target, expected):
    assert math.isclose(REGISTRY.parse(text).to(target), expected, rel_tol=1e-12)


@pytest.mark.parametrize(
    "text, expected",
    [("-65mV", -65.0), ("0.5 nS", 0.0005), ("10 per_ms", 10.0), ("1.2 mS_per_cm2", 0.0012),
     ("6.3degC", 6.3), ("0.2 nA", 0.2), ("1 uF_per_cm2", 1.0), ("0.1 kohm_cm", 100.0),
     ("20 Hz", 0.02), ("5 um", 5.0)],
)
def test_neuron_units(text, expected):
    assert math.isclose(REGISTRY.to_neuron(text), expected, rel_tol=1e-12)


def test_wrong_dimension_is_named():
    where = {"file": "net.nml", "line": 12, "element": "pulseGenerator pg attribute amplitude"}
    with pytest.raises(UnitError) as info:
        REGISTRY.parse_as("10 mV", "current", where=where)
    text = str(info.value)
    assert text.startswith("net.nml:12: pulseGenerator pg attribute amplitude:")
    assert "voltage" in text and "current" in text


@pytest.mark.parametrize("bad", ["", "mV", "10 parsecs", "1..2 mV", "nan mV", "ten ms"])
def test_malformed_quantities(bad):
    with pytest.raises(UnitError):
        REGISTRY.parse(bad)


def test_converting_across_dimensions_is_refused():
    with pytest.raises(UnitError):
        REGISTRY.parse("1 ms").to("mV")


def test_model_defined_units_are_added():
    from lxml import etree

    registry = UnitRegistry.core()
    root = etree.fromstring(
        b'<Lems><Dimension name="weird" l="3" t="-1"/><Unit symbol="ul_per_min" '
        b'dimension="weird" power="-9" scale="0.01666666667"/></Lems>'
    )
    registry.add_definitions(root)
    assert math.isclose(registry.parse("60 ul_per_min").si, 1e-9, rel_tol=1e-9)
    assert "ul_per_min" not in UnitRegistry.core().units  # the core registry is not changed


@given(
    value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    pair=st.sampled_from(
        [(a, b) for a in CORE_UNITS for b in CORE_UNITS
         if CORE_UNITS[a]["dimension"] == CORE_UNITS[b]["dimension"]]
    ),
)
def test_round_trip_between_units_of_one_dimension(value, pair):
    a, b = pair
    there = REGISTRY.parse(f"{value!r} {a}").to(b)
    back = REGISTRY.parse(f"{there!r} {b}").to(a)
    assert math.isclose(back, value, rel_tol=1e-9, abs_tol=1e-9)
