"""Write a rule-built network as a NeuroML document (and a LEMS simulation file for it)."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from typing import Any

import neuroml
import numpy as np
from lxml import etree

from ..model.paths import parse_path
from .annotations import rules_annotation
from .expand import ExpandedNetwork, NetworkRules
from .keywords import options_from
from .layout import expand_populations
from .values import RuleError

NS = "http://www.neuroml.org/schema/neuroml2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "https://raw.github.com/NeuroML/NeuroML2/development/Schemas/NeuroML2/NeuroML_v2.3.1.xsd"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _component_elements(components: list[Any]) -> list[etree._Element]:
    """libNeuroML components as lxml elements (through libNeuroML's own writer)."""
    if not components:
        return []
    doc = neuroml.NeuroMLDocument(id="components")
    for component in components:
        doc.add(component)
    out = io.StringIO()
    doc.export(out, 0, name_="neuroml", namespacedef_=f'xmlns="{NS}"')
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    return list(etree.fromstring(out.getvalue().encode(), parser))


def network_document_xml(builder: Any, expanded: bool, model: Any | None, folder: Any = None) -> bytes:
    """The NeuroML document of a builder: includes, added components, and the network with its
    rules annotation; populations carry their sizes, and with ``expanded`` their cells'
    positions, the projections and the input lists too."""
    rules = builder.rules
    root = etree.Element(_q("neuroml"), nsmap={None: NS, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {SCHEMA}")
    root.set("id", rules.network_id)
    for path in builder.includes:
        # relative to the written file when it is given, so a saved model can move as a folder
        href = os.path.relpath(path, folder) if folder is not None else str(path)
        etree.SubElement(root, _q("include"), href=href)
    for element in _component_elements(builder.components):
        root.append(element)
    network = etree.SubElement(root, _q("network"), id=rules.network_id)
    if builder.temperature:
        network.set("type", "networkWithTemperature")
        network.set("temperature", builder.temperature)
    network.append(_rules_element(builder.rules, expanded))
    if expanded:
        morphologies = builder.morphologies(model) if model is not None else None
        full = builder.expand(morphologies)
        _write_expanded(network, full)
    else:
        cells = expand_populations(rules.populations, rules.size, rules.seed)
        for k, pop in enumerate(rules.populations):
            element = etree.SubElement(network, _q("population"), id=pop.id, component=pop.cell,
                                       size=str(int(np.sum(cells.population_index == k))))
            # jLEMS finds no cell pop[i] in a population of a size that has <property> children;
            # inside an annotation they are read by NeuroML tools and skipped by jLEMS
            if pop.properties:
                _properties(etree.SubElement(element, _q("annotation")), pop.properties)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _rules_element(rules: NetworkRules, expanded: bool) -> etree._Element:
    """The annotation holding a network's rules, marked expanded when the file holds the expansion."""
    rules.expanded_in_file = expanded
    try:
        return rules_annotation(rules)
    finally:
        rules.expanded_in_file = False


def _properties(element: etree._Element, properties: dict[str, str]) -> None:
    for tag, value in properties.items():
        etree.SubElement(element, _q("property"), tag=tag, value=value)


def _fmt(x: float) -> str:
    """The shortest text that reads back as the same double (so a saved expansion is exact)."""
    return repr(float(x))


def _write_expanded(network: etree._Element, full: ExpandedNetwork) -> None:
    cells = full.cells
    for k, pop_id in enumerate(cells.populations):
        gids = cells.gids_of(pop_id)
        pop = etree.SubElement(network, _q("population"), id=pop_id, component=cells.component[k],
                               size=str(len(gids)), type="populationList")
        _properties(pop, cells.properties[k] if cells.properties else {})
        for index, gid in enumerate(gids):
            instance = etree.SubElement(pop, _q("instance"), id=str(index))
            x, y, z = cells.position[gid]
            etree.SubElement(instance, _q("location"), x=_fmt(x), y=_fmt(y), z=_fmt(z))
    for proj in full.projections:
        element = etree.SubElement(network, _q("projection"), id=proj.id,
                                   presynapticPopulation=proj.pre_population,
                                   postsynapticPopulation=proj.post_population, synapse=proj.synapse)
        pre_component = cells.component[cells.populations.index(proj.pre_population)]
        post_component = cells.component[cells.populations.index(proj.post_population)]
        for k in range(len(proj)):
            etree.SubElement(
                element, _q("connectionWD"), id=str(k),
                preCellId=f"../{proj.pre_population}/{int(proj.pre_cell[k])}/{pre_component}",
                postCellId=f"../{proj.post_population}/{int(proj.post_cell[k])}/{post_component}",
                postSegmentId=str(int(proj.post_segment[k])), postFractionAlong=_fmt(proj.post_fraction[k]),
                weight=_fmt(proj.weight[k]), delay=f"{_fmt(proj.delay[k])}ms")
    for inputs in full.inputs:
        element = etree.SubElement(network, _q("inputList"), id=inputs.id, population=inputs.population,
                                   component=inputs.source)
        component = cells.component[cells.populations.index(inputs.population)]
        for k in range(len(inputs)):
            etree.SubElement(element, _q("inputW"), id=str(k),
                             target=f"../{inputs.population}/{int(inputs.cell[k])}/{component}",
                             destination="synapses", segmentId=str(int(inputs.segment[k])),
                             fractionAlong=_fmt(inputs.fraction[k]), weight=_fmt(inputs.weight[k]))


def _cell_path(population: str, index: int, component: str, expanded: bool) -> str:
    """The LEMS path of a cell: ``pop[i]`` in a population of a size, ``pop/i/component`` in a
    ``populationList`` (as the expanded file writes populations), the only form jLEMS accepts there."""
    return f"{population}/{index}/{component}" if expanded else f"{population}[{index}]"


@dataclass(frozen=True)
class SimulationOptions:
    """What a LEMS simulation of a rule-built network runs and records (see :func:`simulation_xml`)."""

    duration_ms: float
    dt_ms: float
    record_v: list[str] | None = None
    spikes: str | None = "spikes.dat"
    seed: int | None = None


def simulation_xml(builder: Any, network_file: str, lems_files: list[str] | None = None, expanded: bool = False,
                   **simulation: Any) -> bytes:
    """A LEMS file that simulates the network (the LEMS files ``lems_files`` and ``network_file``
    included): for ``duration_ms`` with step ``dt_ms``, voltages of the ``record_v`` cells
    (``pop[i]``, or ``pop[i]/SEGMENT`` for a segment's) to ``<id>.v.dat`` and every cell's spikes
    to ``spikes`` (default ``spikes.dat``, ID_TIME; ids are gids), with the simulation's ``seed``
    when given; cells are named by the paths jLEMS accepts for the populations the network file
    writes (``expanded`` or not).

    Raises
    ------
    RuleError
        An unknown or missing option (the valid ones are listed), or a ``record_v`` cell that is
        not in the network.
    """
    options = options_from(SimulationOptions, simulation, "simulation")
    rules = builder.rules
    components = {pop.id: pop.cell for pop in rules.populations}

    def path_of(reference: str) -> str:
        cell = parse_path(reference.strip())  # pop[i], or pop[i]/segment
        if cell is None or not cell.bracketed or cell.relative or cell.index < 0 \
                or cell.population not in components:
            raise RuleError(f"record_v: '{reference}' is not a cell of a population of the network "
                            f"(write it as population[index]; populations: {', '.join(components)})")
        return _cell_path(cell.population, cell.index, components[cell.population], expanded) \
            + "".join(f"/{part}" for part in cell.rest)

    root = etree.Element("Lems")
    sim_id = f"sim_{rules.network_id}"
    etree.SubElement(root, "Target", component=sim_id)
    for name in ("Cells.xml", "Networks.xml", "Simulation.xml"):
        etree.SubElement(root, "Include", file=name)
    for name in lems_files or []:
        etree.SubElement(root, "Include", file=name)
    etree.SubElement(root, "Include", file=network_file)
    sim = etree.SubElement(root, "Simulation", id=sim_id, length=f"{options.duration_ms}ms",
                           step=f"{options.dt_ms}ms", target=rules.network_id)
    if options.seed is not None:
        sim.set("seed", str(int(options.seed)))
    if options.record_v:
        output = etree.SubElement(sim, "OutputFile", id="voltages", fileName=f"{rules.network_id}.v.dat")
        for k, path in enumerate(options.record_v):
            etree.SubElement(output, "OutputColumn", id=f"v{k}", quantity=f"{path_of(path)}/v")
    cells = expand_populations(rules.populations, rules.size, rules.seed)
    if options.spikes:
        events = etree.SubElement(sim, "EventOutputFile", id="spikes", fileName=options.spikes, format="ID_TIME")
        for gid in range(len(cells)):
            pop = cells.populations[int(cells.population_index[gid])]
            etree.SubElement(events, "EventSelection", id=str(gid),
                             select=_cell_path(pop, int(cells.index[gid]), components[pop], expanded), eventPort="spike")
    synapses = {name for rule in rules.connections for name in rule.synapses}
    _recordings(sim, getattr(builder, "recordings", []), cells, expanded, synapses)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _jlems_form(what: str, synapses: set[str]) -> str:
    """A synapse's quantity written as jLEMS finds it on a cell: ``ampa/g`` -> ``synapses:ampa:0/g``."""
    first, _, rest = what.partition("/")
    return f"synapses:{first}:0/{rest}" if first in synapses and rest else what


def _recordings(sim: etree._Element, recordings: list[Any], cells: Any, expanded: bool, synapses: set[str]) -> None:
    """An ``OutputFile`` (or, for ``spikes``, an ``EventOutputFile``) per
    :meth:`~nmlhub.rules.builder.NetworkBuilder.record`, named ``<network>.<what>.dat`` (quantities
    of the rules' ``synapses`` in jLEMS's form), and the sampling interval as
    ``<Meta for="nmlhub" recordEvery="MS"/>``."""
    from ..model.paths import QuantityPathError
    from ..model.record_paths import expand_record_paths

    network = sim.get("target")
    components = dict(zip(cells.populations, cells.component))
    populations = {pop: (components[pop], range(len(cells.gids_of(pop)))) for pop in cells.populations}
    gid_of = {(pop, int(i)): gid for gid, (pop, i) in enumerate(zip(
        [cells.populations[int(k)] for k in cells.population_index], cells.index))}
    names: set[str] = set()
    for k, recording in enumerate(recordings):
        what = _jlems_form(recording.what, synapses)
        patterns = [f"{c}/*/{what}" if c in populations else f"{c}/{what}" for c in recording.cells]
        try:
            chosen = [parse_path(path) for path in expand_record_paths(patterns, populations)]
        except QuantityPathError as exc:
            raise RuleError(f"record('{recording.what}', {list(recording.cells)}): {exc}") from None
        name = f"{network}.{re.sub(r'[^A-Za-z0-9_.-]+', '_', recording.what)}.dat"
        name = name if name not in names else name.replace(".dat", f".{k}.dat")
        names.add(name)
        if recording.what == "spikes":
            events = etree.SubElement(sim, "EventOutputFile", id=f"record{k}", fileName=name, format="ID_TIME")
            for cell in chosen:
                etree.SubElement(events, "EventSelection", id=str(gid_of[(cell.population, cell.index)]),
                                 select=_cell_path(cell.population, cell.index, components[cell.population],
                                                   expanded), eventPort="spike")
            continue
        output = etree.SubElement(sim, "OutputFile", id=f"record{k}", fileName=name)
        for cell in chosen:
            path = _cell_path(cell.population, cell.index, components[cell.population], expanded)
            etree.SubElement(output, "OutputColumn", id=f"{cell.population}_{cell.index}",
                             quantity=path + "".join(f"/{part}" for part in cell.rest))
    every = {r.every_ms for r in recordings if r.every_ms is not None}
    if every:
        etree.SubElement(sim, "Meta", attrib={"for": "nmlhub", "recordEvery": repr(every.pop())})
