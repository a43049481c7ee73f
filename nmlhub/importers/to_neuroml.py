"""A cell described by :mod:`nmlhub.importers.neuron_reader` as a libNeuroML cell.

Morphology: one segment per pair of consecutive 3D points, a cable segment group per section
(with ``numberInternalDivisions`` = nseg, so nmlhub rebuilds the same compartments), a group per
section list, ``all``, and the standard soma/dendrite/axon groups guessed from section names.
Biophysics: NEURON's ``hh`` becomes three ``ionChannelHH`` with hh.mod's rate equations and its
temperature dependence (q10 = 3 per 10 degC from 6.3 degC), ``pas`` a passive channel, ``cm`` and
``Ra`` specificCapacitance and resistivity; any other mechanism stays a reference to its ``.mod``
file (:mod:`nmlhub.importers.custom_mechanisms`). Values that differ between sections are written
per section (or per section list when they coincide with one).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import neuroml
import numpy as np

from ..model.cells import CABLE_GROUP_NEUROLEX_ID
from .custom_mechanisms import ModMechanism, ModPlacement, file_sha256, mechanisms_annotation
from .neuron_reader import CellImportError

#: Standard groups, the NeuroLex ids NeuroML gives them and the section-name prefixes that
#: place a section in them.
STANDARD_GROUPS = (
    ("soma_group", "GO:0043025", ("soma",)),
    ("dendrite_group", "GO:0030425", ("dend", "apic", "basal", "apical")),
    ("axon_group", "GO:0030424", ("axon", "node", "myelin", "ais", "hill", "iseg")),
)

#: NEURON's hh.mod as NeuroML: channel id, ion, gates (id, instances, forward rate, reverse rate),
#: each rate as (type, rate per ms, midpoint mV, scale mV).
HH_CHANNELS = (
    ("hh_na", "na", (("m", 3, ("HHExpLinearRate", "1", "-40", "10"), ("HHExpRate", "4", "-65", "-18")),
                     ("h", 1, ("HHExpRate", "0.07", "-65", "-20"), ("HHSigmoidRate", "1", "-35", "10")))),
    ("hh_k", "k", (("n", 4, ("HHExpLinearRate", "0.1", "-55", "10"), ("HHExpRate", "0.125", "-65", "-80")),)),
)


def _num(value: float) -> str:
    text = repr(float(value))
    return text.replace("e+", "e")


def _uniform(values: list[float], what: str) -> float:
    if max(values) - min(values) > 1e-12 * max(1.0, abs(max(values))):
        raise CellImportError(f"{what} varies along the section ({min(values):g} to {max(values):g}); "
                              "NeuroML needs one value per section for it here")
    return float(values[0])


def channel_id(cell_id: str, name: str) -> str:
    """The id of a channel an import creates: the cell's id and the channel's name (``pyr_hh_na``),
    so that any number of imported cells coexist in one network."""
    return f"{cell_id}_{name}"


def _hh_channels(cell_id: str) -> list[Any]:
    channels = []
    for name, ion, gates in HH_CHANNELS:
        channel = neuroml.IonChannelHH(id=channel_id(cell_id, name), species=ion, conductance="10pS",
                                       notes=f"NEURON's hh.mod {ion} current (Hodgkin & Huxley 1952)")
        for gate_id, instances, forward, reverse in gates:
            gate = neuroml.GateHHRates(
                id=gate_id, instances=instances,
                q10_settings=neuroml.Q10Settings(type="q10ExpTemp", q10_factor="3", experimental_temp="6.3 degC"),
                forward_rate=neuroml.HHRate(type=forward[0], rate=f"{forward[1]}per_ms",
                                            midpoint=f"{forward[2]}mV", scale=f"{forward[3]}mV"),
                reverse_rate=neuroml.HHRate(type=reverse[0], rate=f"{reverse[1]}per_ms",
                                            midpoint=f"{reverse[2]}mV", scale=f"{reverse[3]}mV"))
            channel.gate_hh_rates.append(gate)
        channels.append(channel)
    return channels


def _passive(channel_id: str, notes: str) -> Any:
    return neuroml.IonChannel(id=channel_id, type="ionChannelPassive", conductance="10pS", notes=notes)


class _Groups:
    """Names a set of sections by a segment group: ``all``, a section list, or one section."""

    def __init__(self, sections: list[str], lists: dict[str, list[str]]) -> None:
        self.all = frozenset(sections)
        self.lists = {frozenset(members): name for name, members in lists.items()}

    def cover(self, members: set[str]) -> list[str]:
        key = frozenset(members)
        if key == self.all:
            return ["all"]
        if key in self.lists:
            return [self.lists[key]]
        return sorted(members)


def _by_value(values: dict[str, Any]) -> list[tuple[Any, set[str]]]:
    """(value, sections having it), in order of first appearance."""
    groups: list[tuple[Any, set[str]]] = []
    for section, value in values.items():
        for known, members in groups:
            if known == value:
                members.add(section)
                break
        else:
            groups.append((value, {section}))
    return groups


def _ordered(sections: list[dict]) -> list[dict]:
    by_name = {s["name"]: s for s in sections}
    roots = [s for s in sections if s["parent"] is None]
    if len(roots) != 1:
        raise CellImportError(f"the cell has {len(roots)} root sections "
                              f"({', '.join(s['name'] for s in roots[:5])}); one connected tree is needed")
    children: dict[str, list[dict]] = {}
    for s in sections:
        if s["parent"] is not None:
            if s["parent"] not in by_name:
                raise CellImportError(f"section {s['name']}: parent {s['parent']} is not part of the cell")
            children.setdefault(s["parent"], []).append(s)
    ordered, stack = [], [roots[0]]
    while stack:
        s = stack.pop(0)
        ordered.append(s)
        stack += children.get(s["name"], [])
    return ordered


def build_morphology(data: dict[str, Any], cell_id: str) -> tuple[Any, dict[str, str]]:
    """The morphology of a described cell, and the segment group id of each section list."""
    sections = _ordered(data["sections"])
    morphology = neuroml.Morphology(id=f"{cell_id}_morphology")
    first_segment: dict[str, list[tuple[int, float, float]]] = {}  # section -> (id, start, end) arc
    next_id = 0
    for sec in sections:
        if sec.get("orientation", 0.0) != 0.0:
            raise CellImportError(f"section {sec['name']} is connected by its 1 end; nmlhub imports "
                                  "sections connected by their 0 end only")
        points = np.asarray(sec["points"], dtype=float)
        if len(points) < 2:
            raise CellImportError(f"section {sec['name']} has {len(points)} 3D point(s); two or more are needed")
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points[:, :3], axis=0), axis=1))])
        total = arc[-1] if arc[-1] > 0 else 1.0
        spans = []
        for k in range(len(points) - 1):
            seg_id = next_id
            next_id += 1
            if k == 0:
                parent = None
                if sec["parent"] is not None:
                    parent_id, fraction = _locate(first_segment[sec["parent"]], float(sec["parent_x"]))
                    parent = neuroml.SegmentParent(segments=parent_id, fraction_along=_num(fraction))
                proximal = neuroml.Point3DWithDiam(x=points[0, 0], y=points[0, 1], z=points[0, 2],
                                                   diameter=points[0, 3])
            else:
                parent = neuroml.SegmentParent(segments=seg_id - 1)
                proximal = None
            distal = neuroml.Point3DWithDiam(x=points[k + 1, 0], y=points[k + 1, 1], z=points[k + 1, 2],
                                             diameter=points[k + 1, 3])
            morphology.segments.append(neuroml.Segment(id=seg_id, name=f"{sec['name']}_{k}", parent=parent,
                                                       proximal=proximal, distal=distal))
            spans.append((seg_id, arc[k] / total, arc[k + 1] / total))
        first_segment[sec["name"]] = spans
        group = neuroml.SegmentGroup(id=sec["name"], neuro_lex_id=CABLE_GROUP_NEUROLEX_ID,
                                     notes=f"NEURON section {sec.get('neuron_name', sec['name'])}")
        group.properties.append(neuroml.Property(tag="numberInternalDivisions", value=str(int(sec["nseg"]))))
        group.members += [neuroml.Member(segments=seg_id) for seg_id, _, _ in spans]
        morphology.segment_groups.append(group)
    names = [s["name"] for s in sections]
    list_ids = _section_list_groups(morphology, data.get("section_lists", {}), names)
    return morphology, list_ids


def _locate(spans: list[tuple[int, float, float]], x: float) -> tuple[int, float]:
    """The segment holding position ``x`` (0..1 along the section) and the fraction along it."""
    for seg_id, start, end in spans:
        if x <= end + 1e-12:
            return seg_id, min(1.0, max(0.0, (x - start) / (end - start))) if end > start else 1.0
    seg_id, _, _ = spans[-1]
    return seg_id, 1.0


def _section_list_groups(morphology: Any, lists: dict[str, list[str]], names: list[str]) -> dict[str, str]:
    used = set(names)
    ids: dict[str, str] = {}

    def add(group_id: str, members: list[str], **extra: Any) -> None:
        group = neuroml.SegmentGroup(id=group_id, **extra)
        group.includes += [neuroml.Include(segment_groups=m) for m in members]
        morphology.segment_groups.append(group)
        used.add(group_id)

    for name, members in lists.items():
        if not members:
            continue
        group_id = name
        if group_id in used or (group_id == "all" and set(members) != set(names)):
            group_id = f"{name}_list"
        while group_id in used:
            group_id += "_"
        add(group_id, list(dict.fromkeys(members)), notes=f"section list {name} of the NEURON cell")
        ids[name] = group_id
    if "all" not in used:
        add("all", names)
    for group_id, neurolex, prefixes in STANDARD_GROUPS:
        members = [n for n in names if n.lower().startswith(prefixes)]
        if members and group_id not in used:
            add(group_id, members, neuro_lex_id=neurolex)
    return ids


def _densities(data: dict, groups: _Groups, membrane: Any, intracellular: Any,
               cell_id: str) -> tuple[set[str], list[tuple[str, dict[str, dict[str, list[float]]]]]]:
    """Adds the mapped densities, capacitance and resistivity; returns the NeuroML channels used
    (by name: hh_na, pas...) and, per user mechanism, its values per section."""
    sections = data["sections"]
    used: set[str] = set()

    def ion_e(sec: dict, ion: str, default: float) -> float:
        values = sec["ions"].get(ion, {}).get(f"e{ion}")
        return _uniform(values, f"section {sec['name']}: e{ion}") if values else default

    per_mech: dict[str, dict[str, dict[str, list[float]]]] = {}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for sec in sections:
        name = sec["name"]
        for mech, params in sec["mechanisms"].items():
            if mech == "hh":
                p = {k: _uniform(v, f"section {name}: {k}_hh") for k, v in params.items()}
                rows.setdefault(("hh_na", "na"), {})[name] = (p["gnabar"], ion_e(sec, "na", 50.0))
                rows.setdefault(("hh_k", "k"), {})[name] = (p["gkbar"], ion_e(sec, "k", -77.0))
                rows.setdefault(("hh_leak", "non_specific"), {})[name] = (p["gl"], p["el"])
            elif mech == "pas":
                p = {k: _uniform(v, f"section {name}: {k}_pas") for k, v in params.items()}
                rows.setdefault(("pas", "non_specific"), {})[name] = (p["g"], p["e"])
            else:
                per_mech.setdefault(mech, {})[name] = params
    for (channel, ion), values in rows.items():
        used.add(channel)
        for k, ((g, e), members) in enumerate(_by_value(values)):
            for group in groups.cover(members):
                membrane.channel_densities.append(neuroml.ChannelDensity(
                    id=f"{channel}_{group}", ion_channel=channel_id(cell_id, channel), cond_density=f"{_num(g)} S_per_cm2",
                    erev=f"{_num(e)} mV", ion=ion, segment_groups=group))
    cm = {s["name"]: _uniform(s["cm"], f"section {s['name']}: cm") for s in sections}
    for value, members in _by_value(cm):
        for group in groups.cover(members):
            membrane.specific_capacitances.append(
                neuroml.SpecificCapacitance(value=f"{_num(value)} uF_per_cm2", segment_groups=group))
    ra = {s["name"]: float(s["Ra"]) for s in sections}
    for value, members in _by_value(ra):
        for group in groups.cover(members):
            intracellular.resistivities.append(
                neuroml.Resistivity(value=f"{_num(value)} ohm_cm", segment_groups=group))
    return used, list(per_mech.items())


def _mod_mechanisms(data: dict, per_mech: list, groups: _Groups, folder: Path) -> list[ModMechanism]:
    by_name = {s["name"]: s for s in data["sections"]}
    found = []
    for mech, sections in per_mech:
        source = Path(data["mod_files"][mech])
        record = ModMechanism(mech, Path(os.path.relpath(source, folder)).as_posix(), file_sha256(source),
                              globals=dict(data.get("globals", {}).get(mech, {})))
        used_ions = set(re.findall(r"\bUSEION\s+(\w+)", source.read_text(errors="replace")))
        ions = {name: {f"e{ion}": values[f"e{ion}"] for ion, values in by_name[name]["ions"].items()
                       if f"e{ion}" in values and ion in used_ions} for name in sections}
        # sections with the same (uniform) values share a placement; varying values stay per section
        keyed = {name: (tuple((k, tuple(v)) for k, v in params.items()),
                        tuple((k, tuple(v)) for k, v in ions[name].items())) for name, params in sections.items()}
        for key, members in _by_value(keyed):
            params, ion_values = dict(key[0]), dict(key[1])
            uniform = all(len(set(v)) == 1 for v in list(params.values()) + list(ion_values.values()))
            targets = groups.cover(members) if uniform else sorted(members)
            for group in targets:
                record.placements.append(ModPlacement(
                    group,
                    {k: [v[0]] if uniform else list(v) for k, v in params.items()},
                    {k: [v[0]] if uniform else list(v) for k, v in ion_values.items()}))
        found.append(record)
    return found


def description_to_document(data: dict[str, Any], cell_id: str, folder: str | Path,
                            v_init_mv: float = -65.0, threshold_mv: float = 0.0) -> Any:
    """A libNeuroML document holding the cell and the channels it uses.

    Parameters
    ----------
    data
        What :func:`~nmlhub.importers.neuron_reader.read_cell` returned.
    cell_id
        The cell's id.
    folder
        Where the cell file will be written (``.mod`` references are relative to it).
    v_init_mv, threshold_mv
        The cell's initial membrane potential and spike threshold.

    Raises
    ------
    CellImportError
        A feature NeuroML (or this importer) cannot express: more than one root section, a
        section connected by its 1 end, a mapped parameter or cm varying along a section.
    """
    morphology, list_ids = build_morphology(data, cell_id)
    names = [s["name"] for s in data["sections"]]
    groups = _Groups(names, {list_ids[k]: v for k, v in data.get("section_lists", {}).items() if k in list_ids})
    membrane = neuroml.MembraneProperties()
    intracellular = neuroml.IntracellularProperties()
    used, per_mech = _densities(data, groups, membrane, intracellular, cell_id)
    membrane.spike_threshes.append(neuroml.SpikeThresh(value=f"{_num(threshold_mv)} mV"))
    membrane.init_memb_potentials.append(neuroml.InitMembPotential(value=f"{_num(v_init_mv)} mV"))
    notes = (f"Imported by nmlhub from {Path(data['source']).name} ({data['template']}"
             f"{'(' + ', '.join(map(str, data['args'])) + ')' if data.get('args') else ''}); "
             f"3D points from {data['points_from']}; NEURON's celsius was {data['celsius']:g} degC "
             "(simulate at that temperature for the same hh kinetics)")
    cell = neuroml.Cell(id=cell_id, notes=notes, morphology=morphology,
                        biophysical_properties=neuroml.BiophysicalProperties(
                            id=f"{cell_id}_biophysics", membrane_properties=membrane,
                            intracellular_properties=intracellular))
    mods = _mod_mechanisms(data, per_mech, groups, Path(folder).resolve())
    if mods:
        cell.annotation = mechanisms_annotation(mods)
    document = neuroml.NeuroMLDocument(id=cell_id)
    for (name, _, _), channel in zip(HH_CHANNELS, _hh_channels(cell_id)):
        if name in used:
            document.ion_channel_hhs.append(channel)
    if "hh_leak" in used:
        document.ion_channel.append(_passive(channel_id(cell_id, "hh_leak"), "NEURON's hh.mod leak current"))
    if "pas" in used:
        document.ion_channel.append(_passive(channel_id(cell_id, "pas"), "NEURON's pas mechanism"))
    document.cells.append(cell)
    return document
