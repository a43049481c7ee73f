"""A readable summary of a model: what ``nmlhub info`` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .cells import cell_morphology, channel_ids, count_sections
from .columns import connection_count, input_count
from .model import Model


@dataclass
class CellInfo:
    """One cell definition."""

    id: str
    type: str
    file: str
    segments: int | None = None
    sections: int | None = None
    channels: list[str] = field(default_factory=list)


@dataclass
class ComponentInfo:
    """One channel, synapse, input or other component."""

    id: str
    type: str
    file: str


@dataclass
class PopulationInfo:
    """A population and its size."""

    id: str
    component: str
    size: int
    listed_instances: bool


@dataclass
class ProjectionInfo:
    """A projection of any kind with its connection count."""

    id: str
    kind: str
    pre: str
    post: str
    synapse: str
    connections: int


@dataclass
class InputListInfo:
    """An input list (or the explicit inputs of a network, as one entry)."""

    id: str
    component: str
    population: str
    inputs: int


@dataclass
class NetworkInfo:
    """One network."""

    id: str
    temperature: str | None
    populations: list[PopulationInfo]
    projections: list[ProjectionInfo]
    input_lists: list[InputListInfo]


@dataclass
class Totals:
    """Counts over every network of the model."""

    cell_types: int
    cells: int
    populations: int
    projections: int
    connections: int
    inputs: int


@dataclass
class ModelSummary:
    """Everything ``nmlhub info`` reports."""

    file: str
    files: list[str]
    cells: list[CellInfo]
    ion_channels: list[ComponentInfo]
    synapses: list[ComponentInfo]
    inputs: list[ComponentInfo]
    concentration_models: list[ComponentInfo]
    other_components: list[ComponentInfo]
    component_types: list[str]
    networks: list[NetworkInfo]
    simulation: dict[str, Any] | None
    totals: Totals
    problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)

    def to_text(self) -> str:
        """The summary as readable text."""
        return _render_text(self)


def population_size(population: Any) -> int:
    """Cells in a population: its listed instances, else its ``size``."""
    instances = getattr(population, "instances", None)
    if instances is not None and len(instances) > 0:
        return len(instances)
    return int(population.size or 0)


def summarize(model: Model) -> ModelSummary:
    """Summarise a loaded model."""
    components = model.components
    cells: list[CellInfo] = []
    by_category: dict[str, list[ComponentInfo]] = {}
    for record in components.values():
        if record.category == "cell":
            info = CellInfo(record.id, record.type, record.location.file)
            morphology = cell_morphology(record.obj, components) if record.type == "cell" else None
            if morphology is not None:
                info.segments = len(morphology.segments)
                info.sections = count_sections(morphology)
            if record.type in ("cell", "cell2CaPools"):
                info.channels = channel_ids(record.obj, components)
            cells.append(info)
        elif record.category != "network":
            by_category.setdefault(record.category, []).append(
                ComponentInfo(record.id, record.type, record.location.file)
            )
    networks = [_network_info(net) for net in model.document.networks]
    totals = Totals(
        cell_types=len(cells),
        cells=sum(p.size for n in networks for p in n.populations),
        populations=sum(len(n.populations) for n in networks),
        projections=sum(len(n.projections) for n in networks),
        connections=sum(p.connections for n in networks for p in n.projections),
        inputs=sum(i.inputs for n in networks for i in n.input_lists),
    )
    sim = model.simulation
    return ModelSummary(
        file=str(model.path),
        files=[str(f.path) for f in model.files],
        cells=cells,
        ion_channels=by_category.get("ion_channel", []),
        synapses=by_category.get("synapse", []),
        inputs=by_category.get("input", []),
        concentration_models=by_category.get("concentration_model", []),
        other_components=by_category.get("other", []),
        component_types=sorted(model.component_types),
        networks=networks,
        simulation=sim.to_dict() if sim else None,
        totals=totals,
        problems=[str(p) for p in model.problems],
    )


def _network_info(net: Any) -> NetworkInfo:
    populations = [
        PopulationInfo(p.id, p.component, population_size(p), bool(p.instances)) for p in net.populations
    ]
    projections = [
        ProjectionInfo(p.id, "chemical", p.presynaptic_population, p.postsynaptic_population,
                       p.synapse or "", connection_count(p))
        for p in net.projections
    ]
    projections += [
        ProjectionInfo(p.id, "electrical", p.presynaptic_population, p.postsynaptic_population,
                       _first_attr(p, "electrical", "synapse"), connection_count(p))
        for p in net.electrical_projections
    ]
    projections += [
        ProjectionInfo(p.id, "continuous", p.presynaptic_population, p.postsynaptic_population,
                       _first_attr(p, "continuous", "post_component"), connection_count(p))
        for p in net.continuous_projections
    ]
    input_lists = [
        InputListInfo(il.id, il.component, il.populations, input_count(il)) for il in net.input_lists
    ]
    if net.explicit_inputs:
        components = sorted({e.input for e in net.explicit_inputs})
        input_lists.append(InputListInfo("(explicit inputs)", ", ".join(components), "",
                                         len(net.explicit_inputs)))
    temperature = getattr(net, "temperature", None)
    return NetworkInfo(net.id, temperature, populations, projections, input_lists)


def _first_attr(projection: Any, prefix: str, attr: str) -> str:
    for name in (f"{prefix}_connections", f"{prefix}_connection_instances",
                 f"{prefix}_connection_instance_ws"):
        items = getattr(projection, name, None) or []
        for item in items:
            return str(getattr(item, attr, "") or "")
    return ""


_LIST_LIMIT = 10


def _render_text(s: ModelSummary) -> str:
    out: list[str] = [f"Model: {s.file}"]
    if len(s.files) > 1:
        out.append(f"  files read: {len(s.files)}")
    t = s.totals
    out.append(
        f"  totals: {t.cell_types} cell types, {t.cells} cells in {t.populations} populations, "
        f"{t.projections} projections with {t.connections} connections, {t.inputs} inputs"
    )
    if s.cells:
        out.append(f"Cells ({len(s.cells)}):")
        for c in s.cells:
            morph = f", {c.segments} segments, {c.sections} sections" if c.segments is not None else ""
            chans = f", channels: {', '.join(c.channels)}" if c.channels else ""
            out.append(f"  {c.id} <{c.type}>{morph}{chans}")
    for title, items in (("Ion channels", s.ion_channels), ("Synapses", s.synapses),
                         ("Inputs", s.inputs), ("Concentration models", s.concentration_models),
                         ("Other components", s.other_components)):
        if items:
            out.append(f"{title} ({len(items)}):")
            out.extend(f"  {i.id} <{i.type}>" for i in items)
    if s.component_types:
        out.append(f"ComponentTypes defined ({len(s.component_types)}): {', '.join(s.component_types)}")
    for net in s.networks:
        temp = f" at {net.temperature}" if net.temperature else ""
        out.append(f"Network {net.id}{temp}:")
        for p in net.populations:
            out.append(f"  population {p.id}: {p.size} x {p.component}")
        for p in net.projections:
            syn = f" via {p.synapse}" if p.synapse else ""
            out.append(f"  {p.kind} projection {p.id}: {p.pre} -> {p.post}{syn}, {p.connections} connections")
        for i in net.input_lists:
            target = f" -> {i.population}" if i.population else ""
            out.append(f"  inputs {i.id}: {i.component}{target}, {i.inputs} inputs")
    if s.simulation:
        sim = s.simulation
        out.append(
            f"Simulation {sim['id']}: {sim['length_ms']:g} ms, step {sim['step_ms']:g} ms, "
            f"target {sim['target']}, seed {sim['seed']}"
        )
        for o in sim["outputs"][:_LIST_LIMIT]:
            out.append(f"  output file {o['file_name']}: {len(o['columns'])} columns")
        if len(sim["outputs"]) > _LIST_LIMIT:
            out.append(f"  ... and {len(sim['outputs']) - _LIST_LIMIT} more output files")
        for o in sim["event_outputs"]:
            out.append(f"  event file {o['file_name']} ({o['format']}): {len(o['selections'])} selections")
        for d in sim["displays"]:
            out.append(f"  display {d['id']}: {len(d['lines'])} lines")
    if s.problems:
        out.append(f"Problems ({len(s.problems)}):")
        out.extend(f"  {p}" for p in s.problems)
    return "\n".join(out)
