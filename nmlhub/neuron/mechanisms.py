"""Generate the NEURON mechanisms a network needs, one per component, and size point cells."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import NmlhubError
from ..lems import expr as ex
from ..lems.flatten import Flattener, TranslationError
from ..lems.nmodl import Mechanism, mechanism_for
from ..lems.translate import FlatComponent, Translator
from ..model import Model


class UnsupportedComponentError(NmlhubError):
    """A component of a type the NEURON driver cannot run (yet)."""


#: Capacitance of a point cell's section when its dynamics do not say (nF).
DEFAULT_CAPACITANCE_NF = 1.0


@dataclass
class DensityPlacement:
    """A channel density of a cell: its mechanism, where it goes and its parameter values."""

    density_id: str
    mechanism: Mechanism
    segment_group: str


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


@dataclass
class ComponentMechanism:
    """The mechanism of one component and what instantiation needs to know about it."""

    component_id: str
    mechanism: Mechanism | None
    capacitance_nf: float = DEFAULT_CAPACITANCE_NF
    dl_scale: float = 1.0
    biophysics: CellBiophysics | None = None


def role_of(model: Model, component_id: str) -> str:
    """``cell``, ``source`` or ``current`` for a component, from its category and type."""
    record = model.components[component_id]
    chain = model.type_chain(record.type)
    if "baseSpikeSource" in chain:
        return "source"
    if record.category == "cell":
        return "cell"
    if record.category in ("synapse", "input"):
        return "current"
    raise UnsupportedComponentError(
        f"component '{component_id}' of type {record.type} cannot be placed in a network",
        file=record.location.file, line=record.location.line,
    )


def _env(flat: FlatComponent) -> dict[str, float]:
    env: dict[str, float] = dict(flat.params)
    env.update(flat.properties)
    for name, value in flat.derived_params:
        env[name] = ex.evaluate_float(value, env)
    for state in flat.states:
        env.setdefault(state, 0.0)
    env["v"] = -0.065
    env["t"] = 0.0
    return env


def _dvdt(flat: FlatComponent, external_value: float) -> float:
    env = _env(flat)
    for name, value in flat.derived:
        env[name] = external_value if name in flat.external else ex.evaluate_float(value, env)
    tds = flat.time_derivatives.get(None, {})
    if "v" not in tds:
        tds = flat.time_derivatives.get(flat.initial_regime, {})
    if "v" not in tds:
        return math.nan
    return ex.evaluate_float(tds["v"], env)


def input_coefficient(flat: FlatComponent) -> tuple[float, str | None]:
    """d(dv/dt)/d(input) of a cell (SI) and the dimension of its input, or (0, None)."""
    if not flat.external:
        return 0.0, None
    dimension = next(iter(flat.external.values()))
    step = 1e-9 if dimension == "current" else 1.0
    coefficient = (_dvdt(flat, step) - _dvdt(flat, 0.0)) / step
    return (coefficient if math.isfinite(coefficient) else 0.0), dimension


_SUPPORTED_MEMBRANE = {"channel_densities", "channel_density_nernsts", "specific_capacitances",
                       "init_memb_potentials", "spike_threshes"}


def _plan_biophysics(model: Model, comp_id: str) -> tuple[CellBiophysics, list[tuple]]:
    from ..model.cells import cell_biophysics, cell_morphology

    record = model.components[comp_id]
    where = dict(file=record.location.file, line=record.location.line)
    morphology = cell_morphology(record.obj, model.components)
    biophysics = cell_biophysics(record.obj, model.components)
    if morphology is None or biophysics is None:
        raise UnsupportedComponentError(f"cell '{comp_id}' has no morphology or no biophysical properties", **where)
    membrane = getattr(biophysics, "membrane_properties", None) or getattr(biophysics, "membrane_properties2_ca_pools", None)
    result = CellBiophysics(morphology)
    densities: list[tuple] = []
    for member in type(membrane).member_data_items_:
        values = getattr(membrane, member.get_name(), None)
        if isinstance(values, list) and values and member.get_name() not in _SUPPORTED_MEMBRANE:
            raise UnsupportedComponentError(
                f"cell '{comp_id}': <{member.get_child_attrs().get('name', member.get_name())}> "
                f"is not supported yet (channelDensity is)", **where)
    units = model.units
    intra = getattr(biophysics, "intracellular_properties", None)
    species = list(getattr(intra, "species", None) or []) if intra is not None else []
    pooled = {sp.ion for sp in species}
    for kind, items in (("channelDensity", membrane.channel_densities),
                        ("channelDensityNernst", membrane.channel_density_nernsts)):
        for cd in items:
            density_id = f"{comp_id}__{cd.id}"
            attrs = {"id": density_id, "ionChannel": cd.ion_channel, "condDensity": cd.cond_density,
                     "erev": getattr(cd, "erev", None), "ion": cd.ion}
            text = " ".join(f'{k}="{v}"' for k, v in attrs.items() if v is not None)
            ion = cd.ion if cd.ion in pooled or kind == "channelDensityNernst" else None
            densities.append((density_id, f"<{kind} {text}/>", cd.ion_channel,
                              cd.segment_groups or "all", ion))
    for sp in species:
        result.species.append(SpeciesPlacement(
            sp.ion, sp.concentration_model, None, sp.segment_groups or "all",
            units.parse_as(sp.initial_concentration, "concentration").si,
            units.parse_as(sp.initial_ext_concentration, "concentration").si))
    for c in membrane.specific_capacitances:
        result.capacitance.append((c.segment_groups or "all", units.to_neuron(c.value, "specificCapacitance")))
    for v in membrane.init_memb_potentials:
        result.v_init_mv = units.to_neuron(v.value, "voltage")
    for v in membrane.spike_threshes:
        result.threshold_mv = units.to_neuron(v.value, "voltage")
    if intra is not None:
        for r in intra.resistivities:
            result.resistivity.append((r.segment_groups or "all", units.to_neuron(r.value, "resistivity")))
    return result, densities


def build_mechanisms(model: Model, component_ids: list[str]) -> dict[str, ComponentMechanism]:
    """Flatten and translate every component; returns them by component id.

    Raises
    ------
    UnsupportedComponentError
        A component the driver cannot translate (named, with its file and line).
    """
    morphological = [c for c in component_ids if model.components[c].type in ("cell", "cell2CaPools")]
    extra, channel_ids, plans = {}, [], {}
    for comp_id in morphological:
        plans[comp_id] = _plan_biophysics(model, comp_id)
        for density_id, xml, channel, _group, _ion in plans[comp_id][1]:
            extra[density_id] = xml
            channel_ids.append(channel)
        channel_ids += [sp.model_id for sp in plans[comp_id][0].species]
    point_ids = [c for c in component_ids if c not in morphological]
    flattener = Flattener(model, point_ids + channel_ids, extra)
    translator = Translator(model.units, model.type_chain)
    out: dict[str, ComponentMechanism] = {}
    try:
        for comp_id in morphological:
            biophysics, densities = plans[comp_id]
            record = model.components[comp_id]
            for sp in biophysics.species:
                try:
                    flat = translator.translate(flattener.fatten(sp.model_id))
                    sp.mechanism = mechanism_for(flat, "concentration", sp.ion)
                except (TranslationError, ex.ExpressionError) as exc:
                    raise UnsupportedComponentError(
                        f"cannot generate a NEURON mechanism for the concentration model "
                        f"'{sp.model_id}' of cell '{comp_id}': {exc.message}",
                        file=record.location.file, line=record.location.line) from None
            for density_id, _xml, _channel, group, ion in densities:
                try:
                    flat = translator.translate(flattener.fatten(density_id))
                    mechanism = mechanism_for(flat, "density", ion)
                except (TranslationError, ex.ExpressionError) as exc:
                    raise UnsupportedComponentError(
                        f"cannot generate a NEURON mechanism for the channel density "
                        f"'{density_id.split('__', 1)[1]}' of cell '{comp_id}': {exc.message}",
                        file=record.location.file, line=record.location.line) from None
                biophysics.densities.append(DensityPlacement(density_id, mechanism, group))
            out[comp_id] = ComponentMechanism(comp_id, None, biophysics=biophysics)
        for comp_id in point_ids:
            record = model.components[comp_id]
            role = role_of(model, comp_id)
            try:
                flat = translator.translate(flattener.fatten(comp_id))
                if role == "cell" and "v" not in flat.states:
                    role = "source"  # e.g. FitzHugh-Nagumo: its own dimensionless states, events only
                mechanism = mechanism_for(flat, role)
            except (TranslationError, ex.ExpressionError) as exc:
                raise UnsupportedComponentError(
                    f"cannot generate a NEURON mechanism for <{record.type} id='{comp_id}'>: {exc.message}",
                    file=record.location.file, line=record.location.line,
                ) from None
            item = ComponentMechanism(comp_id, mechanism)
            if role == "cell":
                coefficient, dimension = input_coefficient(flat)
                if dimension == "current" and coefficient > 0:
                    item.capacitance_nf = 1e9 / coefficient
                elif dimension is not None and coefficient != 0:
                    item.dl_scale = coefficient * DEFAULT_CAPACITANCE_NF
            out[comp_id] = item
    finally:
        flattener.close()
    return out
