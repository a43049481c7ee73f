"""A morphological cell in NEURON: sections from its morphology, then its biophysics (axial
resistivity, capacitance, ion species, channel densities, channels kept as .mod files)."""

from __future__ import annotations

from typing import Any

from ..lems import expr as ex
from .cells import MorphologicalCell
from .mechanisms import ComponentMechanism
from .plan import NetworkError, PopulationView


def build_morphological_cell(pop: PopulationView, k: int, cm: ComponentMechanism) -> MorphologicalCell:
    """The k-th cell of a population of morphological cells, with its biophysics."""
    from neuron import h

    from ..model.segments import group_segments
    from .morphology import build

    bio = cm.biophysics
    cell_id = pop.ids[k]
    position = pop.position(k)
    built = build(bio.morphology, f"{pop.id}_{cell_id}", position or (0.0, 0.0, 0.0))
    morph = bio.morphology
    for group, value in bio.resistivity:
        for section in {built.section_of[s] for s in group_segments(morph, group)}:
            section.Ra = value
    for group, value in bio.capacitance:
        members = group_segments(morph, group)
        for section in built.sections:
            for seg in section:
                if _segment_at(built, section, seg.x) in members:
                    seg.cm = value
    for species in bio.species:
        mech = species.mechanism
        for section in {built.section_of[s] for s in group_segments(morph, species.segment_group)}:
            section.insert(mech.name)
            for seg in section:
                for name, value in mech.parameters.items():
                    setattr(seg, f"{name}_{mech.name}", value)
                if hasattr(seg, f"initialConcentration_{mech.name}"):
                    setattr(seg, f"initialConcentration_{mech.name}", species.initial)
                    setattr(seg, f"initialExtConcentration_{mech.name}", species.initial_ext)
    for placement in bio.densities:
        _place_density(built, morph, placement)
    _tell_capacitance(built)
    for custom in bio.custom:
        _place_mod_mechanism(built, morph, custom.mechanism)
    for species in bio.species:
        # The species' concentrations, not NEURON's global defaults, at initialisation (set
        # once every mechanism using the ion is inserted, as inserting one resets the style).
        for section in {built.section_of[s] for s in group_segments(morph, species.segment_group)}:
            h.ion_style(f"{species.ion}_ion", 3, 2, 1, 1, 0, sec=section)
            for seg in section:
                setattr(seg, f"{species.ion}o", species.initial_ext)
                setattr(seg, f"{species.ion}i", species.initial)
    soma, _ = built.locate(0) if 0 in built.span else (built.sections[0], 0.5)
    return MorphologicalCell(pop.id, cell_id, pop.component, soma, position=position, built=built,
                             threshold_mv=bio.threshold_mv, v_init_mv=bio.v_init_mv)


def _tell_capacitance(built: Any) -> None:
    """Generated channel densities take the stiff part of their current implicitly in v, given
    their segment's capacitance; on a cell of several compartments, all of it, as NEURON's own
    mechanisms do (nmlhub.lems.nmodl_conductance)."""
    whole = 1.0 if sum(section.nseg for section in built.sections) > 1 else 0.0
    for section in built.sections:
        for seg in section:
            for mech in seg:
                if hasattr(mech, "cm_nml"):
                    mech.cm_nml = seg.cm
                    mech.implicit_nml = whole


def _place_density(built: Any, morph: Any, placement: Any) -> None:
    """Insert a density's mechanism where it applies and set its parameters per NEURON segment;
    a parameter varying with path distance is evaluated at each NEURON segment's centre, with the
    distance measured along the NeuroML segments."""
    from ..model.segments import group_segments, path_lengths

    members = ({placement.segment} if placement.segment is not None
               else group_segments(morph, placement.segment_group))
    mech = placement.mechanism
    placed = []
    for section in {built.section_of[s] for s in members}:
        if not hasattr(section(0.5), mech.name):
            section.insert(mech.name)
            for seg in section:  # off where another density of this mechanism does not apply
                for name in mech.parameters:
                    if name in ("condDensity", "permeability"):
                        setattr(seg, f"{name}_{mech.name}", 0.0)
        for seg in section:
            if _segment_at(built, section, seg.x) in members:
                placed.append(seg)
                for name, value in mech.parameters.items():
                    setattr(seg, f"{name}_{mech.name}", value)
    if placement.total_conductance is not None:
        area_m2 = sum(seg.area() for seg in placed) * 1e-12
        for seg in placed:
            setattr(seg, f"condDensity_{mech.name}", placement.total_conductance / area_m2)
    if placement.varying:
        lengths = path_lengths(morph)

        def path_distance(seg: Any) -> float:
            sid = _segment_at(built, seg.sec, seg.x)
            start, end = built.span[sid]
            before, length = lengths[sid]
            return before + length * (seg.x - start) / (end - start if end > start else 1.0)

        for varying in placement.varying:
            group = group_segments(morph, varying.segment_group)
            targets = [seg for seg in placed if _segment_at(built, seg.sec, seg.x) in group]
            distances = [path_distance(seg) - varying.translation_start for seg in targets]
            if varying.normalization_end is not None and distances:
                furthest = max(distances) or 1.0
                distances = [d / furthest * varying.normalization_end for d in distances]
            for seg, distance in zip(targets, distances):
                value = ex.evaluate_float(varying.value, {varying.variable: distance})
                setattr(seg, f"{varying.parameter}_{mech.name}", value)


def _place_mod_mechanism(built: Any, morph: Any, mech: Any) -> None:
    """Insert a mechanism of the user's own .mod file where its placements say, with their
    values (one per group, or one per NEURON segment of the group's section) and the ions'
    reversal potentials; its GLOBAL values are set too (they are the same for every cell)."""
    from neuron import h

    from ..model.segments import group_segments

    for name, value in mech.globals.items():
        setattr(h, name, value)
    for placement in mech.placements:
        members = group_segments(morph, placement.segment_group)
        sections = list(dict.fromkeys(built.section_of[s] for s in sorted(members)))
        for section in sections:
            section.insert(mech.name)
            segments = [seg for seg in section if _segment_at(built, section, seg.x) in members]
            settings = [(f"{name}_{mech.name}", values) for name, values in placement.parameters.items()]
            settings += [(name, values) for name, values in placement.ions.items()
                         if h.ismembrane(f"{name[1:]}_ion", sec=section)]  # ek: the k ion
            for attribute, values in settings:
                if len(values) not in (1, len(segments)):
                    raise NetworkError(f"channel '{mech.name}' on segment group '{placement.segment_group}': "
                                       f"{attribute} has {len(values)} values for {len(segments)} NEURON segments")
                for k, seg in enumerate(segments):
                    setattr(seg, attribute, values[0] if len(values) == 1 else values[k])


def _segment_at(built: Any, section: Any, x: float) -> int:
    return built.segment_at(section, x)

