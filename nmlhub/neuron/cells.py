"""The cells of a network in NEURON: a point cell (one section holding the cell's mechanism) and a
morphological cell (sections built from its morphology), and the one way a point process (synapse,
input, gap junction) is put on either."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .mechanisms import ComponentMechanism
from .plan import PopulationView

#: Membrane area of a point cell's section (um2); its capacitance is set through cm.
POINT_CELL_AREA_UM2 = 1000.0


@dataclass
class Cell:
    """What every cell has: its place in the network, the section that stands for it (the soma of
    a morphological cell) and the point processes attached to it, by component."""

    population: str
    index: int
    component: str
    section: Any
    attached: dict[str, list[Any]] = field(default_factory=dict, kw_only=True)
    #: The event-only generators of split inputs (nmlhub.lems.input_split), by component, in the
    #: order of their synapses in ``attached``, with the NetCons joining them.
    generators: dict[str, list[Any]] = field(default_factory=dict, kw_only=True)
    links: list[Any] = field(default_factory=list, kw_only=True)
    position: tuple[float, float, float] | None = field(default=None, kw_only=True)

    mechanism: Any = None  # a point cell's mechanism (its events are its spikes)
    built: Any = None  # a morphological cell's sections (nmlhub.neuron.morphology.BuiltMorphology)
    threshold_mv: float = 0.0
    v_init_mv: float | None = None

    def locate(self, segment: int = 0, fraction: float = 0.5) -> tuple[Any, float]:
        """NEURON (section, x) of a point on a NeuroML segment (point cells: the middle)."""
        if self.built is None:
            return self.section, 0.5
        return self.built.locate(int(segment), float(fraction))

    def attach(self, component: str, point: Any) -> None:
        """Keep ``point`` (a point process of ``component``) with the cell."""
        self.attached.setdefault(component, []).append(point)

    def netcon_to(self, target: Any, segment: int = 0, fraction: float = 0.5) -> Any:
        """A NetCon from this cell's spikes (its mechanism's events, or v crossing threshold)."""
        from neuron import h

        source, section, threshold = spike_source(self, segment, fraction)
        if section is None:
            return h.NetCon(source, target)
        netcon = h.NetCon(source, target, sec=section)
        netcon.threshold = threshold
        return netcon


@dataclass
class PointCell(Cell):
    """A cell without morphology: one section of :data:`POINT_CELL_AREA_UM2` holding its mechanism."""


@dataclass
class MorphologicalCell(Cell):
    """A cell built from its morphology; spikes are v crossing ``threshold_mv`` at a place."""


def spike_source(cell: Cell, segment: int, fraction: float) -> tuple[Any, Any, float]:
    """What a NetCon from this cell starts at: its mechanism (events), or v at a place (with the
    section and threshold), as :meth:`Cell.netcon_to` makes it."""
    if cell.mechanism is not None:
        return cell.mechanism, None, 0.0
    section, x = cell.locate(segment, fraction)
    return section(x)._ref_v, section, cell.threshold_mv


def set_parameters(point_process: Any, cm: ComponentMechanism) -> None:
    """Give a point process its component's parameter values."""
    for name, value in cm.mechanism.parameters.items():
        setattr(point_process, name, value)


def default_weight(cm: ComponentMechanism | None) -> float:
    """The weight a component has where its connection or input gives none: its ``weight``
    Property's default (jLEMS keeps it; 1 in every NeuroML core type), else 1."""
    flat = getattr(getattr(cm, "mechanism", None), "flat", None)
    return float(flat.properties.get("weight", 1.0)) if flat is not None else 1.0


def weights_or_default(weights: np.ndarray, cm: ComponentMechanism | None) -> np.ndarray:
    """``weights`` with the component's :func:`default_weight` where they are NaN (not given)."""
    weights = np.asarray(weights, dtype=float)
    return np.where(np.isnan(weights), default_weight(cm), weights) if np.isnan(weights).any() else weights


def make_point_process(cm: ComponentMechanism, section: Any, x: float, weight: float | None = None) -> Any:
    """A point process of ``cm`` at ``section(x)`` with its parameters, and its weight (when the
    component has one and ``weight`` is given: None or NaN keeps the component's own default)."""
    from neuron import h

    point = getattr(h, cm.mechanism.name)(section(x))
    set_parameters(point, cm)
    given = weight is not None and not math.isnan(weight)
    weight_name = cm.mechanism.variables.get("weight") if given else None
    if weight_name:
        setattr(point, weight_name, weight)
    return point


def attach_input(cell: Cell, component: str, cm: ComponentMechanism, section: Any, x: float,
                 weight: float, into: tuple[Any, float] | None = None) -> Any:
    """Put an input on a cell at ``section(x)`` and keep it with the cell; returns the point
    process injecting its current (None when it drives a shared synapse). A split input
    (``cm.generator``) is its synapse there, driven through a NetCon of delay 0 (delivered in the
    same step) by its event-only generator; given ``into`` (a synapse of the same kinetics shared
    by the cell's connections there, and the weight factor: :func:`merged_synapse`), the
    generator drives that one instead."""
    from neuron import h

    point = make_point_process(cm, section, x, weight) if into is None or cm.generator is None else None
    if point is not None:
        cell.attach(component, point)
    if cm.generator is not None:
        generator = getattr(h, cm.generator.name)()
        for name, value in cm.generator.parameters.items():
            setattr(generator, name, value)
        cell.generators.setdefault(component, []).append(generator)
        target, factor = (point, 1.0) if point is not None else into  # type: ignore[misc]
        event_weight = default_weight(cm) if math.isnan(weight) else weight
        cell.links.append(h.NetCon(generator, target, 0, 0, event_weight * factor))
    return point


def merged_synapse(shared: dict[tuple, Any], population: str, index: int, cm: ComponentMechanism, section: Any,
                   x: float) -> tuple[Any, float] | None:
    """The synapse shared by a cell's connections at ``section(x)`` (``shared``: the network's,
    by population, cell, synapse, section and place) whose kinetics a split input's synapse has
    (``cm.merges``), and the factor of its event weight; None when there is none."""
    for synapse, factor in cm.merges.items():
        point = shared.get((population, index, synapse, section.name(), round(section(x).x, 9)))
        if point is not None:
            return point, factor
    return None


def merged_inputs(cells: Iterable[Cell], component: str) -> bool:
    """Whether some of these cells' instances of a split input drive a shared synapse (merged by
    :func:`merged_synapse`) instead of a synapse of their own."""
    cells = list(cells)
    generators = sum(len(cell.generators.get(component, [])) for cell in cells)
    return generators > sum(len(cell.attached.get(component, [])) for cell in cells)


def build_point_cell(pop: PopulationView, k: int, cm: ComponentMechanism) -> PointCell:
    """The k-th cell of a population of point cells: a section whose capacitance is the cell's,
    holding the cell's mechanism."""
    from neuron import h

    cell_id = pop.ids[k]
    section = h.Section(name=f"{pop.id}_{cell_id}")
    section.L = section.diam = math.sqrt(POINT_CELL_AREA_UM2 / math.pi)
    # C[nF] = cm[uF/cm2] * area[um2] * 1e-5
    section.cm = cm.capacitance_nf / (POINT_CELL_AREA_UM2 * 1e-5)
    point = make_point_process(cm, section, 0.5)
    if cm.mechanism.role == "cell":
        point.csec_nml = cm.capacitance_nf
    return PointCell(pop.id, cell_id, pop.component, section, mechanism=point, position=pop.position(k))

