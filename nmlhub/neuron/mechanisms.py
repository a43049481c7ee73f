"""Generate the NEURON mechanisms a network needs, one per component, and size point cells."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import UnsupportedComponentError
from ..lems import expr as ex
from ..lems.flatten import Flattener, TranslationError
from ..lems.input_split import split_input
from ..lems.nmodl import Mechanism, mechanism_for
from ..lems.translate import FlatComponent, Translator
from ..model import Model
from .biophysics import CellBiophysics, DensityPlacement, DensitySpec, plan_biophysics


#: Capacitance of a point cell's section when its dynamics do not say (nF).
DEFAULT_CAPACITANCE_NF = 1.0


@dataclass
class ComponentMechanism:
    """The mechanism of one component and what instantiation needs to know about it."""

    component_id: str
    mechanism: Mechanism | None
    capacitance_nf: float = DEFAULT_CAPACITANCE_NF
    dl_scale: float = 1.0
    biophysics: CellBiophysics | None = None
    shareable: bool = False
    user_mod: Path | None = None  # a synapse from the user's .mod file (nmlhub.neuron.user_synapses)
    #: An input that is a spike generator driving its synapse, as the two mechanisms it splits
    #: into (nmlhub.lems.input_split): (generator, synapse); None for any other component.
    split: tuple[Mechanism, Mechanism] | None = None
    #: The event-only generator placed beside each instance (set by :meth:`use_split`).
    generator: Mechanism | None = None
    #: Shared synapses of the same kinetics a split input drives instead of its own (with shared
    #: synapses: nmlhub.lems.input_merge): synapse component -> factor of the input's weight.
    merges: dict[str, float] = field(default_factory=dict)

    def use_split(self) -> None:
        """Place the input as its generator and its synapse (``mechanism``) from now on."""
        if self.split is not None:
            self.generator, self.mechanism = self.split


def linear_in_events(flat: FlatComponent) -> bool:
    """True when one instance can serve many connections with the same result as one instance
    each: every incoming event only adds to states amounts that depend on no state, and nothing
    else (no conditions, no outgoing events) acts on the states. Such synapses (expTwoSynapse,
    alphaSynapse, NMDA with a voltage block...) are the sum of their connections' effects."""
    if flat.conditions or not flat.on_event or flat.regimes:
        return False
    states = set(flat.states)
    for action in flat.on_event:
        if action.kind != "assign" or action.value is None:
            return False
        value = action.value
        if not (isinstance(value, ex.BinOp) and value.op == "+"):
            return False
        left, right = value.left, value.right
        increment = right if isinstance(left, ex.Name) and left.name == action.target else (
            left if isinstance(right, ex.Name) and right.name == action.target else None)
        if increment is None or ex.names(increment) & states:
            return False
    return True


def role_of(model: Model, component_id: str) -> str:
    """``cell``, ``source`` or ``current`` for a component, from its category and type."""
    record = model.components[component_id]
    chain = model.type_chain(record.type)
    if "baseSpikeSource" in chain:
        return "source"
    if record.category == "cell" or (record.category == "other" and _populates(model, component_id)):
        return "cell"  # jLEMS places any component a population names, whatever its type extends
    if record.category in ("synapse", "input"):
        return "current"
    raise UnsupportedComponentError(
        f"component '{component_id}' of type {record.type} cannot be placed in a network",
        file=record.location.file, line=record.location.line,
    )


def _populates(model: Model, component_id: str) -> bool:
    """True when a population of the model is made of this component."""
    return any(population.component == component_id
               for network in model.document.networks for population in network.populations)


def _env(flat: FlatComponent) -> dict[str, float]:
    env: dict[str, float] = dict(flat.params)
    env.update(flat.properties)
    for name, value in flat.derived_params:
        env[name] = ex.evaluate_float(value, env)
    for state in flat.states:
        env.setdefault(state, 0.0)
    env["v"] = -0.065
    env["t"] = 0.0
    env.setdefault("temperature", 293.15)  # any: the input's coefficient does not depend on it
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


def build_mechanisms(model: Model, component_ids: list[str], flat_cache: Path | None = None,
                     recorded: Sequence[str] | None = None) -> dict[str, ComponentMechanism]:
    """Flatten and translate every component; returns them by component id. With ``flat_cache``
    (a folder), flattened components are kept there and read back (nmlhub.lems.flat_cache).
    With ``recorded`` (the run's recorded paths), channel densities are lean: the values only
    their rates read are LOCAL there (nmlhub.lems.nmodl_lean), unless a path records one of them.

    Raises
    ------
    UnsupportedComponentError
        A component the driver cannot translate (named, with its file and line).
    """
    morphological = [c for c in component_ids if model.components[c].type in ("cell", "cell2CaPools")]
    extra, channel_ids, plans = {}, [], {}
    for comp_id in morphological:
        plans[comp_id] = plan_biophysics(model, comp_id)
        for spec in plans[comp_id][1]:
            extra[spec.density_id] = spec.xml
            channel_ids.append(spec.channel)
        channel_ids += [sp.model_id for sp in plans[comp_id][0].species]
    from .user_synapses import user_synapse

    # synapses from the user's .mod files: never shared (nmlhub cannot tell whether they are linear)
    users = {c: user_synapse(model, c) for c in component_ids if c not in morphological}
    point_ids = [c for c in component_ids if c not in morphological and users[c] is None]
    flattener = Flattener(model, point_ids + channel_ids, extra, cache_dir=flat_cache)
    generate = _Generator(model, flattener, Translator(model.units, model.type_chain), recorded)
    out = {c: ComponentMechanism(c, made[0], user_mod=made[1])  # type: ignore[arg-type]
           for c, made in users.items() if made is not None}
    try:
        for comp_id in morphological:
            biophysics, densities = plans[comp_id]
            generate.biophysics(comp_id, biophysics, densities)
            out[comp_id] = ComponentMechanism(comp_id, None, biophysics=biophysics)
        for comp_id in point_ids:
            out[comp_id] = generate.point(comp_id)
    finally:
        flattener.close()
    return out


def _recorded_tails(recorded: Sequence[str]) -> frozenset[str]:
    """Every ending of the recorded paths that a flat name could be, written as the driver
    resolves it (``.../Na/m/forwardRate/r`` ends in ``r``, ``forwardRate_r``, ``m_forwardRate_r``...)."""
    tails = set()
    for path in recorded:
        parts = path.strip("/").replace("/", "_").split("_")
        tails.update("_".join(parts[k:]) for k in range(len(parts)))
    return frozenset(tails)


@dataclass
class _Generator:
    """Generates the mechanisms of one model's components, naming the component on failure."""

    model: Model
    flattener: Flattener
    translator: Translator
    #: the run's recorded paths (None: no lean densities)
    recorded: Sequence[str] | None = None

    def __post_init__(self) -> None:
        self._tails = _recorded_tails(self.recorded) if self.recorded is not None else frozenset()

    def _flat(self, component_id: str) -> FlatComponent:
        return self.flattener.translated(component_id, self.translator.translate)

    def _refuse(self, comp_id: str, message: str) -> UnsupportedComponentError:
        record = self.model.components[comp_id]
        return UnsupportedComponentError(message, file=record.location.file, line=record.location.line)

    def biophysics(self, comp_id: str, biophysics: CellBiophysics, densities: list[DensitySpec]) -> None:
        """Mechanisms of a morphological cell's concentration models and channel densities."""
        for sp in biophysics.species:
            try:
                sp.mechanism = mechanism_for(self._flat(sp.model_id), "concentration", sp.ion)
            except (TranslationError, ex.ExpressionError) as exc:
                raise self._refuse(comp_id, f"cannot generate a NEURON mechanism for the concentration model "
                                            f"'{sp.model_id}' of cell '{comp_id}': {exc.message}") from None
        used_names: set[str] = set()
        for spec in densities:
            mechanism = self._density(comp_id, spec, used_names)
            used_names.add(mechanism.name)
            for varying in spec.varying:
                if varying.parameter not in mechanism.parameters:
                    raise self._refuse(comp_id, f"cell '{comp_id}': density '{spec.density_id.split('__', 1)[1]}': "
                                                f"variableParameter '{varying.parameter}' is not a parameter of "
                                                f"its channel density")
            biophysics.densities.append(DensityPlacement(
                spec.density_id, mechanism, spec.segment_group, spec.varying, spec.segment,
                spec.total_conductance))

    def _density(self, comp_id: str, spec: DensitySpec, used_names: set[str]) -> Mechanism:
        """A channel density's mechanism, a distinct copy when one of that name is on the cell."""
        try:
            flat = self._flat(spec.density_id)
            lean = self.recorded is not None
            mechanism = mechanism_for(flat, "density", spec.ion, lean=lean)
            hidden = {name for name, _ in flat.derived} - mechanism.variables.keys()
            if lean and hidden & self._tails:  # a recorded path names a value the lean form hides
                lean, mechanism = False, mechanism_for(flat, "density", spec.ion)
            copy = 0
            while mechanism.name in used_names:
                copy += 1
                mechanism = mechanism_for(flat, "density", spec.ion, copy, lean=lean)
        except (TranslationError, ex.ExpressionError) as exc:
            raise self._refuse(comp_id, f"cannot generate a NEURON mechanism for the channel density "
                                        f"'{spec.density_id.split('__', 1)[1]}' of cell '{comp_id}': "
                                        f"{exc.message}") from None
        return mechanism

    def point(self, comp_id: str) -> ComponentMechanism:
        """The mechanism of a point cell, synapse or input, with its cell's sizing."""
        record = self.model.components[comp_id]
        role = role_of(self.model, comp_id)
        try:
            flat = self._flat(comp_id)
            if role == "cell" and "v" not in flat.states and not flat.external:
                role = "source"  # e.g. FitzHugh-Nagumo: its own dimensionless states, events only
            mechanism = mechanism_for(flat, role)
        except (TranslationError, ex.ExpressionError) as exc:
            raise self._refuse(comp_id, f"cannot generate a NEURON mechanism for <{record.type} id='{comp_id}'>: "
                                        f"{exc.message}") from None
        item = ComponentMechanism(comp_id, mechanism, shareable=role == "current" and linear_in_events(flat))
        parts = split_input(flat) if role == "current" else None
        if parts is not None:
            try:
                item.split = (mechanism_for(parts.generator, "generator"), mechanism_for(parts.synapse, "current"))
            except (TranslationError, ex.ExpressionError):
                pass  # placed whole, as before: the split is only a faster form of the same
        if role == "cell":
            coefficient, dimension = input_coefficient(flat)
            if dimension == "current" and coefficient > 0:
                item.capacitance_nf = 1e9 / coefficient
            elif dimension is not None and coefficient != 0:
                item.dl_scale = coefficient * DEFAULT_CAPACITANCE_NF
        return item
