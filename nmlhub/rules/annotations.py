"""Rules as NeuroML annotations: an ``<nmlhub:rules>`` element inside the ``<annotation>`` of a
``<network>``, in nmlhub's own XML namespace, so the NeuroML schema (which skips the contents of
annotations) and every NeuroML tool still accept the file.

Layout (all values as text; expressions and distributions as :meth:`Value.to_text` writes them)::

    <nmlhub:rules xmlns:nmlhub="https://nmlhub.org/schema/rules/1" version="1" seed="1"
                  size="1000 1000 1000">
      <nmlhub:population id="E" cell="pyr" count="800" shape="box" ynormRange="0.1 0.5"/>
      <nmlhub:connection id="EI" kind="probability" parameter="0.1*exp(-dist_3D/200)"
                         synapses="ampa" weight="normal(1.0, 0.2, low=0.0)" delay="1 + dist_3D/500"
                         autapses="false" multapses="false" maxDistance="600">
        <nmlhub:pre populations="E"/>
        <nmlhub:post populations="I" ynormRange="0 0.5"/>
        <nmlhub:placement segmentGroups="dendrite_group" spread="profile" variable="ynorm"
                          profile="0 0.2 0.5 1 1 0.2"/>
        (also loc="1", synsPerConn="3", spread="map2d" with gridX, gridY, gridValues (row per x)
         and fixedSomaY)
        <nmlhub:pairs>0 1 2 3</nmlhub:pairs>   (from_list only; also weights/delays)
      </nmlhub:connection>
      <nmlhub:stimulation id="bg" source="poisson20" probability="1" weight="1" segment="0"
                          fraction="0.5"><nmlhub:targets populations="E I"/></nmlhub:stimulation>
      (stimulations also: delay="5" (ms), cells="0 3 7", segmentGroups="dend", loc="0.3")
    </nmlhub:rules>
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lxml import etree

from .connectivity import ConnectivityRule, Placement
from .expand import NetworkRules
from .layout import PopulationRule
from .selection import CellSelector
from .stimulation import StimulationRule
from .values import RuleError, parse_value, DENSITY_NAMES

NAMESPACE = "https://nmlhub.org/schema/rules/1"
VERSION = "1"


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _numbers(values: Any) -> str:
    return " ".join(repr(float(v)) if not float(v).is_integer() else str(int(v)) for v in np.ravel(values))


def rules_to_element(rules: NetworkRules) -> etree._Element:
    """The ``<nmlhub:rules>`` element of a network's rules."""
    root = etree.Element(_q("rules"), nsmap={"nmlhub": NAMESPACE})
    root.set("version", VERSION)
    root.set("seed", str(int(rules.seed)))
    root.set("size", _numbers(rules.size))
    if rules.expanded_in_file:
        root.set("expanded", "true")
    for pop in rules.populations:
        el = etree.SubElement(root, _q("population"), id=pop.id, cell=pop.cell, shape=pop.shape)
        if pop.count is not None:
            el.set("count", str(int(pop.count)))
        if pop.density is not None:
            el.set("density", pop.density.to_text())
        if pop.grid_spacing is not None:
            el.set("gridSpacing", repr(float(pop.grid_spacing)))
        for axis, (lo, hi) in pop.ranges.items():
            el.set(f"{axis}Range", f"{lo!r} {hi!r}")
        if pop.positions is not None:
            etree.SubElement(el, _q("positions")).text = _numbers(pop.positions)
        for tag, value in pop.properties.items():
            etree.SubElement(el, _q("property"), tag=tag, value=value)
    for rule in rules.connections:
        el = etree.SubElement(root, _q("connection"), id=rule.id, kind=rule.kind,
                              synapses=" ".join(rule.synapses), weight=rule.weight.to_text(),
                              delay=rule.delay.to_text(), autapses=str(rule.autapses).lower(),
                              multapses=str(rule.multapses).lower())
        if rule.parameter is not None:
            el.set("parameter", rule.parameter.to_text())
        if rule.max_distance is not None:
            el.set("maxDistance", repr(float(rule.max_distance)))
        etree.SubElement(el, _q("pre"), **rule.pre.describe())
        etree.SubElement(el, _q("post"), **rule.post.describe())
        if rule.placement is not None:
            p = rule.placement
            placement = etree.SubElement(el, _q("placement"), segmentGroups=" ".join(p.segment_groups),
                                         spread=p.spread)
            _placement_attributes(placement, p)
        if rule.pairs is not None:
            etree.SubElement(el, _q("pairs")).text = _numbers(rule.pairs)
            if rule.list_weights is not None:
                etree.SubElement(el, _q("weights")).text = _numbers(rule.list_weights)
            if rule.list_delays is not None:
                etree.SubElement(el, _q("delays")).text = _numbers(rule.list_delays)
    for stim in rules.stimulations:
        el = etree.SubElement(root, _q("stimulation"), id=stim.id, source=stim.source,
                              probability=repr(float(stim.probability)), weight=stim.weight.to_text(),
                              segment=str(int(stim.segment)), fraction=repr(float(stim.fraction)))
        _stimulation_attributes(el, stim)
        etree.SubElement(el, _q("targets"), **stim.targets.describe())
    return root


def _placement_attributes(el: etree._Element, p: Placement) -> None:
    """A placement's options, each only when it differs from the default (so files written before
    they existed read and write back the same bytes)."""
    if p.profile_variable:
        el.set("variable", p.profile_variable)
    if p.profile:
        el.set("profile", _numbers([v for point in p.profile for v in point]))
    if p.loc is not None:
        el.set("loc", _numbers(p.loc) if isinstance(p.loc, tuple) else repr(float(p.loc)))
    if p.syns_per_conn != 1:
        el.set("synsPerConn", str(p.syns_per_conn))
    if p.grid_values:
        el.set("gridX", _numbers(p.grid_x))
        el.set("gridY", _numbers(p.grid_y))
        el.set("gridValues", _numbers(p.grid_values))
    if p.fixed_soma_y is not None:
        el.set("fixedSomaY", repr(float(p.fixed_soma_y)))


def _stimulation_attributes(el: etree._Element, stim: StimulationRule) -> None:
    """A stimulation's options beyond the first ones, each only when it is given."""
    if stim.delay:
        el.set("delay", repr(float(stim.delay)))
    if stim.cells is not None:
        el.set("cells", _numbers(stim.cells) if stim.cells else "")
    if stim.segment_groups:
        el.set("segmentGroups", " ".join(stim.segment_groups))
    if stim.loc is not None:
        el.set("loc", repr(float(stim.loc)))


def _bool(el: etree._Element, name: str, default: bool) -> bool:
    value = el.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise RuleError(f"line {el.sourceline}: {name}='{value}' is not true or false")
    return value.lower() == "true"


def _floats(text: str | None, where: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in (text or "").split()])
    except ValueError:
        raise RuleError(f"{where}: '{(text or '')[:40]}' is not a list of numbers") from None


def _selector(parent: etree._Element, tag: str) -> CellSelector:
    el = parent.find(_q(tag))
    return CellSelector.from_attributes(dict(el.attrib)) if el is not None else CellSelector()


def _ranges(el: etree._Element) -> dict[str, tuple[float, float]]:
    out = {}
    for key, value in el.attrib.items():
        if key.endswith("Range"):
            lo, hi = _floats(value, f"line {el.sourceline}: {key}")
            out[key[: -len("Range")]] = (float(lo), float(hi))
    return out


def rules_from_element(element: etree._Element, network_id: str) -> NetworkRules:
    """Read ``<nmlhub:rules>`` back.

    Raises
    ------
    RuleError
        A malformed rule (the message names the line and element id).
    """
    if element.get("version", VERSION) != VERSION:
        raise RuleError(f"line {element.sourceline}: rules version {element.get('version')} is not "
                        f"supported (this nmlhub reads version {VERSION})")
    size = tuple(float(v) for v in _floats(element.get("size", "1000 1000 1000"), "rules size"))
    rules = NetworkRules(network_id, size, int(element.get("seed", "1")))
    rules.expanded_in_file = _bool(element, "expanded", False)
    for el in element:
        if not isinstance(el.tag, str):
            continue
        where = f"line {el.sourceline}: <{etree.QName(el).localname} id='{el.get('id')}'>"
        try:
            tag = etree.QName(el).localname
            if tag == "population":
                positions = el.find(_q("positions"))
                rules.populations.append(PopulationRule(
                    el.get("id"), el.get("cell"),
                    count=int(el.get("count")) if el.get("count") is not None else None,
                    density=parse_value(el.get("density"), DENSITY_NAMES) if el.get("density") else None,
                    shape=el.get("shape", "box"), ranges=_ranges(el),
                    grid_spacing=float(el.get("gridSpacing")) if el.get("gridSpacing") else None,
                    positions=_floats(positions.text, where).reshape(-1, 3) if positions is not None else None,
                    properties={p.get("tag"): p.get("value", "") for p in el.findall(_q("property"))}))
            elif tag == "connection":
                placement = el.find(_q("placement"))
                pairs = el.find(_q("pairs"))
                weights, delays = el.find(_q("weights")), el.find(_q("delays"))
                rules.connections.append(ConnectivityRule(
                    el.get("id"), _selector(el, "pre"), _selector(el, "post"),
                    tuple(el.get("synapses", "").split()), el.get("kind", "probability"),
                    el.get("parameter"), el.get("weight", "1"), el.get("delay", "0"),
                    _bool(el, "autapses", False), _bool(el, "multapses", False),
                    float(el.get("maxDistance")) if el.get("maxDistance") else None,
                    _floats(pairs.text, where).astype(np.int64).reshape(-1, 2) if pairs is not None else None,
                    _floats(weights.text, where) if weights is not None else None,
                    _floats(delays.text, where) if delays is not None else None,
                    _placement(placement, where) if placement is not None else None))
            elif tag == "stimulation":
                rules.stimulations.append(_stimulation(el, where))
            else:
                raise RuleError(f"unknown rule element <{tag}>")
        except RuleError as exc:
            raise RuleError(f"{where}: {exc.message}") from None
        except (TypeError, ValueError) as exc:
            raise RuleError(f"{where}: {exc}") from None
    rules.check()
    return rules


def _stimulation(el: etree._Element, where: str) -> StimulationRule:
    cells = el.get("cells")
    return StimulationRule(
        el.get("id"), el.get("source"), _selector(el, "targets"), float(el.get("probability", "1")),
        el.get("weight", "1"), int(el.get("segment", "0")), float(el.get("fraction", "0.5")),
        float(el.get("delay", "0")), tuple(_floats(cells, where).astype(np.int64)) if cells is not None else None,
        tuple(el.get("segmentGroups", "").split()), float(el.get("loc")) if el.get("loc") is not None else None)


def _placement(el: etree._Element, where: str) -> Placement:
    values = _floats(el.get("profile"), where)
    if len(values) % 2:
        raise RuleError(f"{where}: placement profile needs (position, density) pairs")
    grid_x, grid_y = _floats(el.get("gridX"), where), _floats(el.get("gridY"), where)
    grid = _floats(el.get("gridValues"), where)
    if len(grid) != len(grid_x) * len(grid_y):
        raise RuleError(f"{where}: placement gridValues holds {len(grid)} values for a "
                        f"{len(grid_x)} x {len(grid_y)} grid")
    return Placement(tuple(el.get("segmentGroups", "all").split()), el.get("spread", "uniform"),
                     el.get("variable"), tuple((float(a), float(b)) for a, b in values.reshape(-1, 2)),
                     _loc(el.get("loc"), where),
                     int(el.get("synsPerConn", "1")), tuple(grid_x), tuple(grid_y),
                     tuple(map(tuple, grid.reshape(len(grid_x), len(grid_y)))) if len(grid) else (),
                     float(el.get("fixedSomaY")) if el.get("fixedSomaY") is not None else None)


def _loc(text: str | None, where: str) -> float | tuple[float, ...] | None:
    """A placement's loc: one number, or a list (written with a space between values)."""
    if text is None:
        return None
    values = _floats(text, where)
    return float(values[0]) if len(text.split()) == 1 else tuple(float(v) for v in values)


def rules_annotation(rules: NetworkRules) -> etree._Element:
    """The ``<annotation>`` of a ``<network>`` carrying its rules (as RDF text that jLEMS, libNeuroML
    and the NeuroML schema accept: :mod:`nmlhub.model.rdf_payload`)."""
    from ..model.rdf_payload import payload_annotation

    return payload_annotation(rules_to_element(rules), NAMESPACE)


def find_rules(network_element: etree._Element, source: str = "<network>") -> etree._Element | None:
    """The ``<nmlhub:rules>`` element carried in a ``<network>``'s annotation, if any."""
    from ..model.rdf_payload import find_payload

    return find_payload(network_element, NAMESPACE, "rules", source)
