"""What a morphological cell needs besides its morphology: channel densities (uniform, non-uniform
or as channel populations), ion species with their concentration models, capacitance, axial
resistivity, initial potential and spike threshold, read from a libNeuroML cell.

Every kind of channel density becomes a standalone LEMS component of its own core type, so that the
same LEMS→NMODL translator makes its mechanism. Non-uniform densities and channel populations have
no dynamics of their own in LEMS; they become the uniform type with the varying parameter set per
NEURON segment when the cell is built.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnsupportedComponentError
from ..lems import expr as ex
from ..lems.nmodl import Mechanism
from ..model import Model
from ..model.cells import cell_biophysics, cell_morphology, membrane_items


log = logging.getLogger(__name__)


class BiophysicsError(UnsupportedComponentError):
    """A cell's biophysical properties cannot be set up in NEURON."""


#: Density elements with a LEMS type of their own, and whether they need the ion's concentrations.
UNIFORM_DENSITIES = {
    "channelDensity": False,
    "channelDensityVShift": False,
    "channelDensityNernst": True,
    "channelDensityNernstCa2": True,
    "channelDensityGHK": True,
    "channelDensityGHK2": True,
}

#: Non-uniform density elements and the uniform type that gives their dynamics.
NON_UNIFORM_DENSITIES = {
    "channelDensityNonUniform": "channelDensity",
    "channelDensityNonUniformNernst": "channelDensityNernst",
    "channelDensityNonUniformGHK": "channelDensityGHK",
}

_OTHER_MEMBRANE = {"specificCapacitance", "initMembPotential", "spikeThresh", "channelPopulation"}


@dataclass
class PathDistanceValue:
    """A parameter that varies with path distance from the root of the cell (``variableParameter``).

    ``value`` is an expression (SI units) of ``variable``, the path distance in um from the
    proximal end of the root segment, minus ``translation_start``; scaled to run from 0 to
    ``normalization_end`` over the group when that is given.
    """

    parameter: str
    segment_group: str
    value: ex.Expr
    variable: str
    translation_start: float = 0.0
    normalization_end: float | None = None


@dataclass
class DensityPlacement:
    """A channel density of a cell: its mechanism, where it goes and how its parameters vary.

    ``total_conductance`` (S) is set for a channel population: its conductance density is that
    value divided by the membrane area of ``segment``.
    """

    density_id: str
    mechanism: Mechanism
    segment_group: str
    varying: list[PathDistanceValue] = field(default_factory=list)
    segment: int | None = None
    total_conductance: float | None = None


@dataclass
class SpeciesPlacement:
    """An ion species of a cell with its concentration model."""

    ion: str
    model_id: str
    mechanism: Mechanism | None
    segment_group: str
    initial: float  # mol/m3 (= mM)
    initial_ext: float


@dataclass
class CellBiophysics:
    """What a morphological ``cell`` needs besides its morphology."""

    morphology: Any
    densities: list[DensityPlacement] = field(default_factory=list)
    species: list[SpeciesPlacement] = field(default_factory=list)
    capacitance: list[tuple[str, float]] = field(default_factory=list)  # (group, uF/cm2)
    resistivity: list[tuple[str, float]] = field(default_factory=list)  # (group, ohm cm)
    v_init_mv: float = -65.0
    threshold_mv: float = 0.0
    custom: list[CustomPlacement] = field(default_factory=list)


@dataclass
class CustomPlacement:
    """A mechanism compiled from the user's own ``.mod`` file (recorded in the cell's nmlhub
    annotation, :mod:`nmlhub.importers.custom_mechanisms`) and that file."""

    mechanism: Any
    mod_file: Any


@dataclass
class DensitySpec:
    """A channel density before its mechanism exists: the standalone LEMS component to translate."""

    density_id: str
    xml: str
    channel: str
    segment_group: str
    ion: str | None
    varying: list[PathDistanceValue] = field(default_factory=list)
    segment: int | None = None
    total_conductance: float | None = None


def _element_xml(obj: Any, element: str, new_id: str) -> str:
    out = io.StringIO()
    obj.export(out, 0, name_=element, namespacedef_="")
    text = out.getvalue().strip()
    return text.replace(f'id="{obj.id}"', f'id="{new_id}"', 1)


def _attrs_xml(element: str, attrs: dict[str, Any]) -> str:
    text = " ".join(f'{k}="{v}"' for k, v in attrs.items() if v is not None)
    return f"<{element} {text}/>"


def _inhomogeneous_parameters(morphology: Any) -> dict[str, Any]:
    found = {}
    for group in morphology.segment_groups:
        for param in getattr(group, "inhomogeneous_parameters", None) or []:
            found[param.id] = param
    return found


def _varying(comp_id: str, density: Any, morphology: Any, where: dict) -> list[PathDistanceValue]:
    params = _inhomogeneous_parameters(morphology)
    values = []
    for vp in density.variable_parameters:
        inhomogeneous = vp.inhomogeneous_value
        if inhomogeneous is None:
            raise BiophysicsError(f"cell '{comp_id}': density '{density.id}': variableParameter "
                                  f"'{vp.parameter}' has no inhomogeneousValue", **where)
        param = params.get(inhomogeneous.inhomogeneous_parameters)
        if param is None:
            raise BiophysicsError(
                f"cell '{comp_id}': density '{density.id}': inhomogeneousParameter "
                f"'{inhomogeneous.inhomogeneous_parameters}' is not defined in any segment group", **where)
        if param.metric != "Path Length from root":
            raise BiophysicsError(f"cell '{comp_id}': inhomogeneousParameter '{param.id}': metric "
                                  f"'{param.metric}' is not supported (Path Length from root is)", **where)
        try:
            expression = ex.parse(inhomogeneous.value)
        except ex.ExpressionError as exc:
            raise BiophysicsError(f"cell '{comp_id}': density '{density.id}': value "
                                  f"'{inhomogeneous.value}': {exc.message}", **where) from None
        unknown = ex.names(expression) - {param.variable}
        if unknown:
            raise BiophysicsError(f"cell '{comp_id}': density '{density.id}': value "
                                  f"'{inhomogeneous.value}' uses unknown names {sorted(unknown)}", **where)
        start = float(param.proximal.translation_start) if param.proximal is not None else 0.0
        end = (float(param.distal.normalization_end)
               if param.distal is not None and param.distal.normalization_end is not None else None)
        values.append(PathDistanceValue(vp.parameter, vp.segment_groups, expression, param.variable, start, end))
    return values


_SPECIES_ATTRIBUTES = (("concentration_model", "concentrationModel"),
                       ("initial_concentration", "initialConcentration"),
                       ("initial_ext_concentration", "initialExtConcentration"))


def _check_species(comp_id: str, species: Any, where: dict) -> None:
    """Refuse a ``<species>`` without the attributes NeuroML requires of it (older files wrote the
    concentration model as a child element, which NeuroML 2 and jNeuroML no longer read)."""
    missing = [xml for attr, xml in _SPECIES_ATTRIBUTES if getattr(species, attr, None) in (None, "")]
    if missing:
        raise BiophysicsError(f"cell '{comp_id}': <species id='{species.id}'> does not set "
                              f"{', '.join(missing)} (required attributes of a species)", **where)


def plan_biophysics(model: Model, comp_id: str) -> tuple[CellBiophysics, list[DensitySpec]]:
    """Read a morphological cell's biophysics; densities come back as specs to translate.

    Raises
    ------
    BiophysicsError
        Missing morphology or biophysics, an unknown membrane element, or a bad
        non-uniform parameter (named with the cell's file and line).
    """
    record = model.components[comp_id]
    where = dict(file=record.location.file, line=record.location.line)
    morphology = cell_morphology(record.obj, model.components)
    biophysics = cell_biophysics(record.obj, model.components)
    if morphology is None or biophysics is None:
        raise BiophysicsError(f"cell '{comp_id}' has no morphology or no biophysical properties", **where)
    membrane = (getattr(biophysics, "membrane_properties", None)
                or getattr(biophysics, "membrane_properties2_ca_pools", None))
    intra = (getattr(biophysics, "intracellular_properties", None)
             or getattr(biophysics, "intracellular_properties2_ca_pools", None))
    result = CellBiophysics(morphology)
    species = [sp for _kind, items in (membrane_items(intra) if intra is not None else [])
               if _kind == "species" for sp in items]
    pooled = {sp.ion for sp in species}
    specs = _density_specs(model, comp_id, membrane, pooled, where, morphology)
    units = model.units
    for sp in species:
        _check_species(comp_id, sp, where)
        result.species.append(SpeciesPlacement(
            sp.ion, sp.concentration_model, None, sp.segment_groups or "all",
            units.parse_as(sp.initial_concentration, "concentration").si,
            units.parse_as(sp.initial_ext_concentration, "concentration").si))
    _read_membrane_values(result, membrane, intra, units)
    result.custom = _custom_mechanisms(record, comp_id, where)
    return result, specs


def _density_specs(model: Model, comp_id: str, membrane: Any, pooled: set[str], where: dict,
                   morphology: Any) -> list[DensitySpec]:
    """The channel densities of a cell's membrane properties, as specs to translate."""
    specs: list[DensitySpec] = []
    for kind, items in membrane_items(membrane) if membrane is not None else []:
        if kind not in UNIFORM_DENSITIES and kind not in NON_UNIFORM_DENSITIES and kind not in _OTHER_MEMBRANE:
            raise BiophysicsError(f"cell '{comp_id}': <{kind}> in membraneProperties is not supported", **where)
        for cd in items if kind not in ("specificCapacitance", "initMembPotential", "spikeThresh") else []:
            density_id = f"{comp_id}__{cd.id}"
            if kind in UNIFORM_DENSITIES:
                ion = cd.ion if cd.ion in pooled or UNIFORM_DENSITIES[kind] else None
                specs.append(DensitySpec(density_id, _element_xml(cd, kind, density_id), cd.ion_channel,
                                         cd.segment_groups or "all", ion))
            elif kind in NON_UNIFORM_DENSITIES:
                specs.append(_non_uniform_spec(comp_id, cd, kind, pooled, where, morphology))
            elif kind == "channelPopulation":
                specs.append(_population_spec(model, comp_id, cd, pooled, where, morphology))
    return specs


def _non_uniform_spec(comp_id: str, cd: Any, kind: str, pooled: set[str], where: dict,
                      morphology: Any) -> DensitySpec:
    """A non-uniform density as its uniform counterpart with a zero density, varied per segment."""
    density_id = f"{comp_id}__{cd.id}"
    uniform = NON_UNIFORM_DENSITIES[kind]
    attrs = {"id": density_id, "ionChannel": cd.ion_channel, "ion": cd.ion,
             "erev": getattr(cd, "erev", None)}
    if uniform == "channelDensityGHK":
        attrs["permeability"] = "0 m_per_s"
    else:
        attrs["condDensity"] = "0 S_per_m2"
    varying = _varying(comp_id, cd, morphology, where)
    ion = cd.ion if cd.ion in pooled or UNIFORM_DENSITIES[uniform] else None
    group = varying[0].segment_group if varying else "all"
    return DensitySpec(density_id, _attrs_xml(uniform, attrs), cd.ion_channel, group, ion, varying)


def _read_membrane_values(result: CellBiophysics, membrane: Any, intra: Any, units: Any) -> None:
    """Capacitance, initial potential, spike threshold and resistivity, in NEURON's units."""
    for c in getattr(membrane, "specific_capacitances", None) or []:
        result.capacitance.append((c.segment_groups or "all", units.to_neuron(c.value, "specificCapacitance")))
    for v in getattr(membrane, "init_memb_potentials", None) or []:
        result.v_init_mv = units.to_neuron(v.value, "voltage")
    for v in getattr(membrane, "spike_threshes", None) or []:
        result.threshold_mv = units.to_neuron(v.value, "voltage")
    for r in getattr(intra, "resistivities", None) or []:
        result.resistivity.append((r.segment_groups or "all", units.to_neuron(r.value, "resistivity")))


def _custom_mechanisms(record: Any, comp_id: str, where: dict) -> list[CustomPlacement]:
    from ..importers.custom_mechanisms import cell_mechanisms, file_sha256

    found = []
    for mech in cell_mechanisms(record.obj):
        path = mech.path(record.location.file)
        if not path.exists():
            raise BiophysicsError(f"cell '{comp_id}': channel '{mech.name}': NMODL file {mech.file} not "
                                  f"found (looked for {path})", **where)
        if mech.sha256 and file_sha256(path) != mech.sha256:
            log.warning("cell '%s': %s changed since the cell was written; using it as it is now", comp_id, path)
        found.append(CustomPlacement(mech, path))
    return found


def _population_spec(model: Model, comp_id: str, population: Any, pooled: set[str], where: dict,
                     morphology: Any) -> DensitySpec:
    """A channel population: a uniform density on one segment whose value makes the population's
    total conductance (number × single-channel conductance). Without a ``segment``, the cell's
    only segment (jNeuroML's reading; a cell of several segments must name one)."""
    density_id = f"{comp_id}__{population.id}"
    channel = model.components.get(population.ion_channel)
    conductance = getattr(getattr(channel, "obj", None), "conductance", None)
    if channel is None or conductance is None:
        raise BiophysicsError(f"cell '{comp_id}': channelPopulation '{population.id}': ion channel "
                              f"'{population.ion_channel}' is not defined or has no conductance", **where)
    if population.variable_parameters:
        raise BiophysicsError(f"cell '{comp_id}': channelPopulation '{population.id}' with "
                              "variableParameter is not supported", **where)
    segment = int(population.segments) if population.segments is not None else None
    if segment is None and len(morphology.segments) == 1:
        segment = int(morphology.segments[0].id)
    if segment is None:
        raise BiophysicsError(f"cell '{comp_id}': channelPopulation '{population.id}' names no "
                              f"segment, and the cell has {len(morphology.segments)} (a population on a "
                              "cell of several segments needs one)", **where)
    total = float(population.number) * model.units.parse_as(conductance, "conductance").si
    attrs = {"id": density_id, "ionChannel": population.ion_channel, "ion": population.ion,
             "erev": population.erev, "condDensity": "0 S_per_m2"}
    ion = population.ion if population.ion in pooled else None
    return DensitySpec(density_id, _attrs_xml("channelDensity", attrs), population.ion_channel,
                       "all", ion, segment=segment, total_conductance=total)
