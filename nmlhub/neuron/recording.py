"""Resolve LEMS quantity paths (``pop[3]/v``, ``pop/0/cell/v``, ``pop[0]/syn/g``,
``pop[0]/synapses:syn:1/g``) to NEURON references."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import NmlhubError
from ..model.paths import QuantityPathError, cell_key
from .mechanisms import ComponentMechanism
from .cells import Cell
from .input_sums import (MORPHOLOGICAL_INPUT_SUM, measures_inputs_itself, receives_inputs_through_membrane,
                         sum_of_attached, with_initial_input_sums, with_input_sums)
from .ion_currents import cell_ion_currents, membrane_ion_current
from .reset_samples import (SpikeSamples, changed_by_regimes, reset_at_spikes, resets_v_at_spikes, sends_spike,
                            set_by_conditions, set_only_by_events, with_initial_sample, with_samples_after_spikes,
                            with_values_set_at_spikes, with_values_set_by_conditions)
from .network import NetworkInstance

@dataclass
class Probe:
    """A resolved quantity: a NEURON reference and the factor to SI."""

    path: str
    reference: Any
    to_si: float
    derive: Callable[[np.ndarray], np.ndarray] | None = None
    #: a variable of a LEMS component with regimes, which jLEMS records a step late (eventgrid)
    in_regimes: bool = False

    def values(self, recorded: np.ndarray) -> np.ndarray:
        """The quantity (SI) from what NEURON recorded."""
        values = np.asarray(recorded) * self.to_si
        return self.derive(values) if self.derive is not None else values


def resolve_cell(path: str, instance: NetworkInstance) -> tuple[Cell, list[str]]:
    """The cell a path starts with, and the remaining path elements."""
    population, index, rest = cell_key(path)
    try:
        cell = instance.cell(population, index)
    except NmlhubError:
        raise QuantityPathError(f"'{path}': no cell {index} in population '{population}'") from None
    return cell, rest


def resolve_quantity(path: str, instance: NetworkInstance, mechanisms: dict[str, ComponentMechanism],
                     spikes: SpikeSamples | None = None) -> Probe:
    """Find what a LEMS quantity path records.

    ``spikes``: the run's recorded spikes (one per run, shared by its probes; a new one if None),
    for the values a spike's actions set, which jLEMS's sample at the spike shows.

    Raises
    ------
    QuantityPathError
        The population, cell, attached component or variable does not exist.
    """
    cell, rest = resolve_cell(path, instance)
    if not rest:
        raise QuantityPathError(f"'{path}' names a cell but no variable")
    if cell.built is not None:
        return _morphological(path, cell, rest, mechanisms)
    spikes = (spikes or SpikeSamples()) if _as_jlems(instance) else None
    if len(rest) == 1:
        return _point_cell_variable(path, cell, rest[0], mechanisms, spikes)
    if rest[0].isdigit() and len(rest) == 2:
        if rest[0] != "0":
            raise QuantityPathError(f"'{path}': segment {rest[0]} of a point cell (point cells have segment 0 only)")
        return _point_cell_variable(path, cell, rest[1], mechanisms, spikes)
    inner = "_".join(rest)
    if cell.mechanism is not None and inner in mechanisms[cell.component].mechanism.variables:
        # A variable inside the cell's own children (pointCellCondBased: naChans/na/m/q).
        cm = mechanisms[cell.component]
        probe = _variable(path, cell.mechanism, cm, inner, cell, membrane=False)
        return _set_by_conditions(probe, cm, inner, spikes, with_spikes=False)
    if len(rest) >= 2:
        target, var = rest[0], "_".join(rest[1:])
        parts = target.split(":")
        if len(parts) == 3 and parts[0] == "synapses":
            comp, k = parts[1], int(parts[2])
        else:
            comp, k = target, 0
        point, cm = _attached(path, cell, comp, k), mechanisms[comp]
        probe = _set_by_conditions(_variable(path, point, cm, var, cell, membrane=False), cm, var, spikes,
                                   with_spikes=True)
        if spikes is None or cm.mechanism is None or cm.mechanism.flat is None:
            return probe
        return with_initial_sample(probe, cm.mechanism.flat, var, point, cm.mechanism)
    raise QuantityPathError(f"'{path}' is not a path nmlhub can record")


def _set_by_conditions(probe: Probe, cm: ComponentMechanism, var: str, spikes: SpikeSamples | None,
                       with_spikes: bool) -> Probe:
    """``probe`` of ``var`` (a flat name of ``cm``'s point mechanism) showing, when ``spikes`` are
    watched (jLEMS's timing), the values conditions set at the samples of their steps: all of
    them (``with_spikes``: a synapse or input, whose spikes nothing watches) or those that send
    no spike (a cell's spikes show theirs through nmlhub.neuron.reset_samples's spike samples)."""
    flat = cm.mechanism.flat if cm.mechanism is not None else None
    if spikes is None or flat is None:
        return probe
    conditions = [c for c in set_by_conditions(flat, var, cm.mechanism) if with_spikes or not sends_spike(flat, c)]
    return with_values_set_by_conditions(probe, spikes, flat, var, conditions)


def _as_jlems(instance: NetworkInstance) -> bool:
    """Whether the run records as jLEMS does (its event timing), not as plain NEURON."""
    settings = getattr(instance, "settings", None)
    return getattr(settings, "event_timing", "jlems") != "neuron"


def _point_cell_variable(path: str, cell: Cell, var: str, mechanisms: dict[str, ComponentMechanism],
                         spikes: SpikeSamples | None) -> Probe:
    """A point cell's own variable; one that reads the sum of its inputs (``iSyn``, ``iMemb``)
    with that sum added from the attached components (nmlhub.neuron.input_sums); one its spikes
    set showing, when ``spikes`` are watched (jLEMS's timing), the value set at their samples."""
    cm = mechanisms[cell.component]
    probe = _variable(path, cell.mechanism, cm, var, cell, membrane=True)
    flat = cm.mechanism.flat if cm.mechanism is not None else None
    if spikes is not None and var == "v" and not cm.mechanism.own_v and resets_v_at_spikes(flat):
        probe = with_samples_after_spikes(probe, spikes.of(cell.mechanism), cell.mechanism)
    elif spikes is not None and flat is not None and var in reset_at_spikes(flat) - {"v"}:
        probe = with_values_set_at_spikes(probe, spikes.of(cell.mechanism), cell.mechanism, flat, var,
                                          cm.mechanism.variables)
    if var != "v" or not cm.mechanism.own_v:
        probe = _set_by_conditions(probe, cm, var, spikes, with_spikes=False)
    attached = lambda variable: _attached_probes(path, cell, variable, mechanisms)  # noqa: E731
    if measures_inputs_itself(flat):
        return with_initial_input_sums(probe, flat, var, attached, lambda name: _own_probe(path, cell, cm, name))
    if not receives_inputs_through_membrane(flat):
        return probe
    return with_input_sums(probe, flat, var, attached)


def _own_probe(path: str, cell: Cell, cm: ComponentMechanism, var: str) -> Probe | None:
    """A probe of one of a point cell's own variables (flat name), or None if it has no such."""
    try:
        return _variable(path, cell.mechanism, cm, var, cell, membrane=True)
    except QuantityPathError:
        return None


def _attached_probes(path: str, cell: Cell, var: str, mechanisms: dict[str, ComponentMechanism]) -> list[Probe]:
    """Probes of ``var`` on every component attached to a cell that has it."""
    return [_variable(path, point, mechanisms[component], var, cell, membrane=False)
            for component, points in cell.attached.items() for point in points
            if _has_variable(mechanisms[component], point, var)]


def _has_variable(cm: ComponentMechanism, point: Any, var: str) -> bool:
    name = cm.mechanism.variables.get(var) if cm.mechanism is not None else None
    return name is not None and hasattr(point, f"_ref_{name}")


def _attached(path: str, cell: Cell, component: str, k: int) -> Any:
    """The k-th synapse or input of ``component`` on a cell, or an error listing what is attached."""
    attached = cell.attached.get(component, [])
    if k < len(attached):
        return attached[k]
    here = ", ".join(f"{name} ({len(points)})" for name, points in cell.attached.items()) or "nothing"
    number = f" number {k}" if attached else ""
    raise QuantityPathError(f"'{path}': cell {cell.population}[{cell.index}] has no {component}{number} attached "
                            f"(attached: {here}; the k-th of several is synapses:{component}:k)")


def _morphological(path: str, cell: Cell, rest: list[str],
                   mechanisms: dict[str, ComponentMechanism]) -> Probe:
    """Paths into a morphological cell: ``v``, ``5/v`` (segment 5), densities
    (``[biophys/membraneProperties/]naChans/naChan/m/q``, ``naChans/gDensity``) and synapses."""
    segment = 0
    bio = mechanisms[cell.component].biophysics
    names = {seg.name: int(seg.id) for seg in bio.morphology.segments if seg.name}
    if len(rest) == 2 and rest[1] in cell_ion_currents() and (rest[0].isdigit() or rest[0] in names):
        raise QuantityPathError(f"'{path}': {rest[1]} is the current of the whole cell (all its segments), "
                                f"recorded without a segment: '{'/'.join(path.split('/')[:-2] + [rest[1]])}'")
    if rest and rest[0].isdigit():
        segment = int(rest.pop(0))
    elif len(rest) > 1 and rest[0] in names:
        segment = names[rest.pop(0)]
    try:
        section, x = cell.locate(segment, 0.5)
    except NmlhubError:
        raise QuantityPathError(f"'{path}': cell {cell.component} has no segment {segment}") from None
    whole = _one_word_quantity(path, cell, section(x), rest, mechanisms) if len(rest) == 1 else None
    if whole is not None:
        return whole
    for container in ("membraneProperties", "membraneProperties2CaPools"):
        if container in rest:
            rest = rest[rest.index(container) + 1:]
    densities = {d.density_id.split("__", 1)[1]: d for d in bio.densities}
    if rest and rest[0] not in densities:
        # the channel written without its density (soma_0/Na/m/q): the one density holding it
        holding = [d for d in densities.values() if "_".join(rest) in d.mechanism.variables]
        if len(holding) == 1:
            rest = [holding[0].density_id.split("__", 1)[1]] + rest
    density = densities.get(rest[0]) if rest else None
    if density is not None:
        var = "_".join(rest[1:])
        name = density.mechanism.variables.get(var)
        ref = f"_ref_{name}_{density.mechanism.name}"
        if name is None or not hasattr(section(x), ref):
            known = ", ".join(sorted(v.replace("_", "/") for v in density.mechanism.variables)) or "none"
            raise QuantityPathError(f"'{path}': channel density '{rest[0]}' has no variable '{var.replace('_', '/')}' "
                                    f"on segment {segment} (variables: {known})")
        return Probe(path, getattr(section(x), ref), 1.0)
    if len(rest) >= 2:
        target, var = rest[0], "_".join(rest[1:])
        parts = target.split(":")
        comp, k = (parts[1], int(parts[2])) if len(parts) == 3 and parts[0] == "synapses" else (target, 0)
        if comp in cell.attached:
            return _variable(path, _attached(path, cell, comp, k), mechanisms[comp], var, cell, membrane=False)
    segments = ", ".join(list(names)[:6]) + (", ..." if len(names) > 6 else "")
    raise QuantityPathError(
        f"'{path}' is not a quantity of cell {cell.component}: after the cell come v, a segment "
        f"(id, or name: {segments or 'none named'}), a channel density ({', '.join(densities) or 'none'}), "
        f"an ion concentration (caConc), an ion's current ({', '.join(cell_ion_currents())}) "
        f"or an attached synapse ({', '.join(cell.attached) or 'none'})")


def _one_word_quantity(path: str, cell: Cell, seg: Any, rest: list[str],
                       mechanisms: dict[str, ComponentMechanism]) -> Probe | None:
    """A morphological cell's quantity of one word at NEURON segment ``seg``: ``v``, ``iSyn``,
    ``spiking``, an ion's current of the whole cell (``iCa``) or a concentration (``caConc``);
    None for any other."""
    name = rest[0]
    if name == "v":
        return Probe(path, seg._ref_v, 1e-3)
    if name == MORPHOLOGICAL_INPUT_SUM:
        return Probe(path, seg._ref_v, 1.0, sum_of_attached(_attached_probes(path, cell, "i", mechanisms)))
    if name == "spiking":
        # The cell's LEMS state: 1 from a crossing of its threshold until v falls below it again.
        threshold = cell.threshold_mv * 1e-3
        return Probe(path, seg._ref_v, 1e-3, lambda v: (v > threshold).astype(float))
    ion = cell_ion_currents().get(name)
    if ion is not None:
        reference, current = membrane_ion_current(cell.built, ion)
        return Probe(path, reference, 1.0, current)
    match = re.fullmatch(r"(?P<ion>[a-z]+)Conc(?P<ext>Ext)?(?P<pool>\d?)", name)
    if match is not None:
        ref = f"_ref_{match.group('ion')}{match.group('pool')}{'o' if match.group('ext') else 'i'}"
        if hasattr(seg, ref):
            return Probe(path, getattr(seg, ref), 1.0)  # mM is mol/m3, the SI unit
    return None


def _variable(path: str, point: Any, cm: ComponentMechanism, var: str, cell: Cell,
              membrane: bool) -> Probe:
    if membrane and var == "v" and cm.mechanism.role == "cell" and not cm.mechanism.own_v:
        return Probe(path, cell.section(0.5)._ref_v, 1e-3, in_regimes=_regime_state(cm, var))
    name = cm.mechanism.variables.get(var)
    flat = cm.mechanism.flat
    regime_own = flat.regime_own if flat is not None else {}
    regime = next((r for r, lems_name in regime_own.values() if lems_name == var), None)
    if regime is not None and name is None:
        raise QuantityPathError(f"'{path}': '{var}' is a DerivedVariable of regime '{regime}' of {flat.type}, "
                                "its own, which jLEMS cannot record either ('Can't parse')")
    if name is None or var in regime_own or not hasattr(point, f"_ref_{name}"):
        known = sorted(v.replace("_", "/") for v, n in cm.mechanism.variables.items()
                       if hasattr(point, f"_ref_{n}") and v not in regime_own)
        raise QuantityPathError(
            f"'{path}': {cm.mechanism.flat.type if cm.mechanism.flat else 'component'} "
            f"'{cm.component_id}' has no variable '{var.replace('_', '/')}' (variables: {', '.join(known) or 'none'})"
        )
    to_si = getattr(cm.mechanism, "to_si", {}).get(var, 1.0)  # a user's .mod: its own units
    return Probe(path, getattr(point, f"_ref_{name}"), to_si, in_regimes=_regime_state(cm, var))


def _regime_state(cm: ComponentMechanism, var: str) -> bool:
    """Whether ``var`` is an exposed state of a LEMS component with regimes, which jLEMS records
    a step late: it records an exposure from the copy the component's own dynamics make before
    its regime advances, and a state without an exposure from the state itself; a state only
    incoming events change, which they change before that copy, is not late either (measured with
    ``jnml`` 0.14, tests/test_outside_networks.py)."""
    flat = cm.mechanism.flat if cm.mechanism is not None else None
    return (flat is not None and bool(flat.regimes) and var in flat.states and var in flat.exposures
            and not set_only_by_events(flat, var) and changed_by_regimes(flat, var))
