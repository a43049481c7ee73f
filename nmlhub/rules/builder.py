"""Build a network from rules in Python and save it as NeuroML (rules kept as annotations).

Example
-------
>>> net = NetworkBuilder("cortex", size=(500, 1000, 500), seed=7)          # doctest: +SKIP
>>> net.include("cells.nml")                                                 # doctest: +SKIP
>>> net.population("E", cell="pyr", density="8e4*exp(-ynorm)", ynorm_range=(0.1, 0.9))
>>> net.connect("E", "E", synapse="ampa", rule=Probability("0.2*exp(-dist_3D/150)", max_distance=600),
...             weight=normal(1.0, 0.2, low=0), delay="1 + dist_3D/500")
>>> net.stimulate("bg", targets="E")
>>> model = net.to_model()
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NmlhubError
from ..results import write_atomic_bytes as atomic_write_bytes
from .connectivity import ConnectivityRule, Placement
from .connectors import AllToAll, Connector, Convergence, Divergence, FromList, OneToOne, Probability
from .expand import ExpandedNetwork, NetworkRules, expand
from .keywords import options_from
from .layout import PopulationRule
from .selection import CellSelector
from .stimulation import StimulationRule
from .values import RuleError, ValueSpec

# the rule classes, where the package and README code import them from
__all__ = ["AllToAll", "ConnectionOptions", "Convergence", "Divergence", "FromList", "NetworkBuilder",
           "OneToOne", "Probability", "Rule"]



@dataclass(frozen=True)
class Recording:
    """A quantity recorded on some cells (:meth:`NetworkBuilder.record`)."""

    what: str
    cells: tuple[str, ...]
    every_ms: float | None = None


#: A connectivity rule as :meth:`NetworkBuilder.connect` takes it (one class per kind).
Rule = Connector


@dataclass(frozen=True)
class ConnectionOptions:
    """The options of :meth:`NetworkBuilder.connect` (see there)."""

    weight: ValueSpec = 1.0
    delay: ValueSpec = 0.0
    id: str | None = None
    autapses: bool = False
    multapses: bool = False
    placement: Placement | None = None
    pre_conditions: dict | None = None
    post_conditions: dict | None = None


@dataclass(frozen=True)
class StimulationOptions:
    """The keyword options of :meth:`NetworkBuilder.stimulate` (see there)."""

    id: str | None = None
    segment: int = 0
    fraction: float = 0.5
    delay: float = 0.0
    cells: Any = None
    segment_groups: Any = None
    loc: float | None = None


def _selector(cells: str | list[str] | CellSelector | None, conditions: dict | None) -> CellSelector:
    """Cells by population name(s) (None: all), with conditions: ranges such as
    ``ynorm=(0.1, 0.4)`` and ``properties={"layer": "L5"}``."""
    if isinstance(cells, CellSelector):
        if conditions:
            raise RuleError("give conditions in the CellSelector or as keywords, not both")
        return cells
    return CellSelector.make(cells, **(conditions or {}))


class NetworkBuilder:
    """A network described by rules.

    Parameters
    ----------
    id
        The network's id.
    size
        Extent of the network in um (x, y, z); normalised coordinates run from 0 to 1 across it,
        ``ynorm`` being cortical depth.
    seed
        Seed of every random choice (the same seed gives the same network on any number of ranks).
    temperature
        The network's temperature (e.g. ``"34 degC"``), needed by temperature-dependent channels.
    """

    def __init__(self, id: str, size: tuple[float, float, float] = (1000.0, 1000.0, 1000.0),
                 seed: int = 1, temperature: str | None = None) -> None:
        self.rules = NetworkRules(id, tuple(float(s) for s in size), int(seed))
        self.temperature = temperature
        self.includes: list[Path] = []
        self.components: list[Any] = []
        self.lems_components: list[Any] = []
        self.recordings: list[Recording] = []
        self.mod_files: dict[str, Path] = {}  # .mod file of each synapse added by mod_synapse

    # -- what the network is made of -------------------------------------------------------------
    def include(self, path: str | os.PathLike) -> None:
        """Use the cells, synapses and inputs defined in a NeuroML file."""
        resolved = Path(path).resolve()
        if not resolved.exists():
            raise RuleError(f"{resolved}: no such file")
        self.includes.append(resolved)

    def add(self, component: Any) -> Any:
        """Add a libNeuroML component (cell, synapse, input source), or a LEMS component such as
        :func:`~nmlhub.rules.plasticity.stdp_synapse`; returns it."""
        from .plasticity import LemsComponent

        if not getattr(component, "id", None):
            raise RuleError(f"{type(component).__name__} without an id")
        if isinstance(component, LemsComponent):
            self.lems_components.append(component)
        else:
            self.components.append(component)
        return component

    def cell(self, id: str, sections: dict[str, Any], section_lists: dict[str, list[str]] | None = None,
             v_init: float = -65.0, threshold: float = 0.0) -> Any:
        """Define a cell in code: ``sections`` maps names to :class:`~nmlhub.rules.cells.Section`
        (or dicts of its fields: ``length``, ``diam``, ``ra``, ``cm``, ``nseg``, ``parent``,
        ``parent_x``, ``mechanisms`` such as ``{"hh": {"gnabar": 0.12}}`` or ``{"pas": {...}}``,
        ``ions``, ``points``), in NEURON's units. The NeuroML cell (morphology, a segment group
        per section and per section list, channels) is added to the network; returns it.

        Examples
        --------
        >>> net.cell("pyr", {"soma": {"length": 18.8, "diam": 18.8, "ra": 123, "mechanisms": {"hh": {}}},
        ...                  "dend": {"length": 150, "diam": 5, "parent": "soma",
        ...                           "mechanisms": {"pas": {"g": 3.57e-5, "e": -70}}}})  # doctest: +SKIP
        """
        from .cells import CellSpec, Section, has_expressions

        made = {}
        for name, sec in sections.items():
            if isinstance(sec, dict) and has_expressions(sec):
                raise RuleError(f"cell '{id}' section '{name}': a per-cell expression makes one cell per draw: "
                                "use NetworkBuilder.cell_variants")
            try:
                made[name] = sec if isinstance(sec, Section) else Section(**sec)
            except TypeError as exc:
                raise RuleError(f"cell '{id}' section '{name}': {exc}") from None
        document = CellSpec(id, made, dict(section_lists or {}), v_init, threshold).to_document()
        known = {getattr(c, "id", None) for c in self.components}
        for channel in list(document.ion_channel_hhs) + list(document.ion_channel):
            if channel.id not in known:
                self.add(channel)
        return self.add(document.cells[0])

    def mod_synapse(self, id: str, mod_file: str | os.PathLike, **parameters: float) -> Any:
        """Add a synapse type simulated by the ``POINT_PROCESS`` of the user's ``mod_file`` (any
        synapse with a ``NET_RECEIVE`` block), with ``parameters`` (RANGE parameters of the
        ``.mod``, in its own units). The NeuroML file holds it as a ``<silentSynapse>`` with an
        nmlhub annotation (:mod:`nmlhub.importers.mod_synapses`); weights of connections through
        it are in the ``.mod``'s units too (e.g. uS for an ``Exp2Syn``-like synapse), as in NetPyNE.

        Examples
        --------
        >>> net.mod_synapse("exc", mod_file="mods/mysyn.mod", tau1=0.1, tau2=5, e=0)  # doctest: +SKIP
        """
        from ..importers.mod_synapses import mod_synapse_for, silent_synapse

        try:
            made = mod_synapse_for(id, mod_file, Path(mod_file).resolve().parent, parameters)
        except NmlhubError as exc:
            raise RuleError(exc.message) from None
        self.mod_files[id] = Path(mod_file).resolve()
        return self.add(silent_synapse(id, made))

    def _place_mod_synapses(self, folder: Path) -> None:
        """Make the ``.mod`` references of :meth:`mod_synapse` relative to ``folder``."""
        from ..importers.mod_synapses import component_mod_synapse, mod_synapse_for, silent_synapse

        for k, component in enumerate(self.components):
            if component.id in self.mod_files:
                made = component_mod_synapse(component)
                self.components[k] = silent_synapse(component.id, mod_synapse_for(
                    component.id, self.mod_files[component.id], folder, made.parameters))

    def netstim(self, id: str, synapse: str | None = None, **train: float) -> Any:
        """Add a NetStim input driving ``synapse`` on each cell it is given to (or, without a
        synapse, a NetStim cell for a population): ``rate`` (Hz) or ``interval`` (ms),
        ``noise`` (0 regular .. 1 Poisson), ``start`` (ms), ``number``; returns it
        (:func:`nmlhub.rules.netstim.netstim`)."""
        from .netstim import netstim

        try:
            return self.add(netstim(id, synapse, **train))
        except TypeError as exc:
            raise RuleError(f"netstim '{id}': {exc}") from None

    def cell_variants(self, id: str, sections: dict[str, dict[str, Any]], count: int, seed: int | None = None,
                      v_init: float = -65.0, threshold: float = 0.0) -> list[str]:
        """``count`` variants of a cell written in code whose parameters are drawn per cell:
        ``sections`` as for :meth:`cell`, where ``length``, ``diam``, ``ra``, ``cm``,
        ``parent_x``, a mechanism's parameter or an ion's potential may be an expression such as
        ``"19 + uniform(-1, 1)"`` (``uniform(low, high)``, ``normal(mean, sd)``,
        ``lognormal(mu, sigma)``, :mod:`nmlhub.rules.cell_values`). Cells ``<id>_0`` ..
        ``<id>_<count-1>`` are added (sharing one set of channels) and their ids returned, to
        give each its population of one cell. The draws are seeded by ``seed`` (default: the
        network's) and ``id``.

        Examples
        --------
        >>> ids = net.cell_variants("pyr", {"soma": {"length": "19 + uniform(-1, 1)", "diam": 18.8,
        ...                                          "mechanisms": {"hh": {"gnabar": "normal(0.12, 0.01)"}}}}, 50)
        >>> members = [net.population(f"E_{i}", cell=c, count=1).id for i, c in enumerate(ids)]
        >>> net.connect(members, members, "exc", Probability(0.1))              # doctest: +SKIP
        """
        from .cell_values import population_rng
        from .cells import CellSpec, Section, draw_sections

        if int(count) != count or count < 1:
            raise RuleError(f"cell_variants '{id}': count must be a positive whole number, not {count}")
        rng = population_rng(self.rules.seed if seed is None else int(seed), id)
        made = []
        for k, drawn in enumerate(draw_sections(sections, int(count), rng, f"cell_variants '{id}'")):
            try:
                spec = CellSpec(id, {name: Section(**sec) for name, sec in drawn.items()}, {}, v_init, threshold)
            except TypeError as exc:
                raise RuleError(f"cell_variants '{id}': {exc}") from None
            document = spec.to_document()
            document.cells[0].id = f"{id}_{k}"  # its channels keep the template's name: one set for all
            known = {getattr(c, "id", None) for c in self.components}
            for channel in list(document.ion_channel_hhs) + list(document.ion_channel):
                if channel.id not in known:
                    self.add(channel)
            made.append(self.add(document.cells[0]).id)
        return made

    # -- rules -----------------------------------------------------------------------------------
    def population(self, id: str, cell: str, count: int | None = None, density: ValueSpec | None = None,
                   shape: str = "box", grid_spacing: float | None = None, positions: Any = None,
                   properties: dict[str, str] | None = None, **ranges: tuple[float, float]) -> PopulationRule:
        """A population of ``count`` cells, or of ``density`` cells per mm3 (an expression of
        ``x``..``znorm`` allowed), on a grid, or at explicit ``positions``; inside ``shape``
        (box, cylinder with its axis along y, ellipsoid) limited by ranges such as
        ``y_range=(100, 400)`` or ``ynorm_range=(0.1, 0.4)``; ``properties`` such as
        ``{"layer": "L5"}`` can select the population's cells in rules."""
        clean = {axis.removesuffix("_range"): (float(lo), float(hi)) for axis, (lo, hi) in ranges.items()}
        rule = PopulationRule(id, cell, count, density, shape, clean, grid_spacing, positions, properties or {})
        self.rules.populations.append(rule)
        return rule

    def switch_cell(self, population: str, cell: str) -> PopulationRule:
        """Make a population use another cell component without touching any rule: the same
        cells at the same positions, the same pre/post pairs; synapses onto a point cell land
        on the cell whatever the rules' segment groups say."""
        for rule in self.rules.populations:
            if rule.id == population:
                return rule.use_cell(cell)
        raise RuleError(f"network '{self.rules.network_id}' has no population '{population}'")

    def connect(self, pre: str | list[str] | CellSelector | None, post: str | list[str] | CellSelector | None,
                synapse: str | list[str], rule: Rule, **options: Any) -> ConnectivityRule:
        """Connect pre cells to post cells by a rule.

        Parameters
        ----------
        pre, post
            The cells: population name(s) (None: every cell) or a :class:`CellSelector`.
        synapse
            The synapse component(s); with several, each connection gets one of each.
        rule
            The connectivity rule: :class:`Probability`, :class:`Convergence`,
            :class:`Divergence`, :class:`AllToAll`, :class:`OneToOne` or :class:`FromList`
            (:mod:`nmlhub.rules.connectors`).
        weight, delay
            Keyword only (default 1.0 and 0.0 ms): constants, distributions
            (:func:`~nmlhub.rules.values.normal`, ...) or expressions of ``pre_x``..,
            ``post_ynorm``.., ``dist_3D``, ``dist_2D``, ``dist_x``..
        id
            Keyword only: the rule's id (default ``PRE_to_POST``, or ``ruleN`` with selectors).
        autapses, multapses
            Keyword only (default False): allow a cell onto itself, several connections per pair.
        placement
            Keyword only: where on the post cells the synapses land (:class:`Placement`).
        pre_conditions, post_conditions
            Keyword only: conditions on the pre and post cells, such as ``{"ynorm": (0.1, 0.4)}``
            or ``{"properties": {"layer": "L5"}}``.

        Raises
        ------
        RuleError
            An unknown option (the valid ones are listed) or a malformed rule.
        """
        given = options_from(ConnectionOptions, options, "connect")
        if not isinstance(rule, Connector):
            raise RuleError(f"unknown connectivity rule {rule!r}")
        synapses = (synapse,) if isinstance(synapse, str) else tuple(synapse)

        def name(cells: Any) -> str:
            return "_".join(cells) if isinstance(cells, list) else "all" if cells is None else str(cells)

        rule_id = given.id or f"{name(pre)}_to_{name(post)}"
        if isinstance(pre, CellSelector) or isinstance(post, CellSelector):
            rule_id = given.id or f"rule{len(self.rules.connections)}"
        made = ConnectivityRule(rule_id, _selector(pre, given.pre_conditions), _selector(post, given.post_conditions),
                                synapses, weight=given.weight, delay=given.delay, autapses=given.autapses,
                                multapses=given.multapses, placement=given.placement, **rule.rule_fields())
        self.rules.connections.append(made)
        return made

    def stimulate(self, source: str, targets: str | list[str] | CellSelector, probability: float = 1.0,
                  weight: ValueSpec = 1.0, **options: Any) -> StimulationRule:
        """Give the input component ``source`` to the target cells (each with ``probability``).

        Parameters
        ----------
        source
            The input component (pulse generator, Poisson input, NetStim: :func:`netstim`...).
        targets
            The cells: population name(s) or a :class:`CellSelector`.
        probability, weight
            Each target cell gets the input with this probability, with this weight (a constant,
            distribution or expression of ``post_x``.. ``post_znorm``).
        id
            Keyword only: the rule's id (default ``stim_SOURCE_N``).
        cells
            Keyword only: indices of the target cells within their populations (all by default).
        segment, fraction
            Keyword only: the segment (default 0) and fraction along it (default 0.5).
        segment_groups, loc
            Keyword only: segment groups the input lands on, at ``loc`` of the way along a group
            (one drawn per cell among several), or without ``loc`` on a segment drawn by length
            at a uniform fraction (seeded).
        delay
            Keyword only: ms by which the input starts later than its component says (a copy of
            the component, shifted: :mod:`nmlhub.rules.delayed_inputs`).
        **conditions
            Ranges of position such as ``ynorm=(0.1, 0.4)``.

        Raises
        ------
        RuleError
            An unknown option or condition, or an input that cannot be delayed.
        """
        known = {f.name for f in fields(StimulationOptions)}
        given = options_from(StimulationOptions, {k: v for k, v in options.items() if k in known}, "stimulate")
        conditions = {k: v for k, v in options.items() if k not in known}
        rule = StimulationRule(given.id or f"stim_{source}_{len(self.rules.stimulations)}", source,
                               _selector(targets, conditions or None), probability, weight, given.segment,
                               given.fraction, given.delay, given.cells,
                               tuple([given.segment_groups] if isinstance(given.segment_groups, str)
                                     else given.segment_groups or ()), given.loc)
        if rule.delay > 0:
            from .delayed_inputs import delayed_copy, find_component

            self.add(delayed_copy(find_component(self, source), rule.delay, rule.component))
        self.rules.stimulations.append(rule)
        return rule

    def record(self, what: str, cells: str | list[str], every_ms: float | None = None) -> "Recording":
        """Record a quantity of some cells in the LEMS simulation the builder saves (and that
        :func:`nmlhub.simulate` runs): NetPyNE's ``recordTraces``.

        Parameters
        ----------
        what
            The quantity on each cell, as a LEMS path after the cell: ``"v"``, ``"5/v"`` (segment
            5), ``"soma_0/naChans/na/m/q"`` (a gate), ``"syn_ampa/g"``, ``"synapses:syn_ampa:2/i"``,
            ``"stdp/w"`` (a plastic weight); ``"spikes"`` records the cells' spikes instead. A
            quantity of a synapse the rules connect is written as jLEMS finds it
            (``synapses:syn_ampa:0/g``), which is also its key in ``results.traces``.
        cells
            A population id (all its cells), cells of one (``"E[0-3,7]"``, ``"E/*"``), or a list of these.
        every_ms
            Sample every this many ms (a multiple of the step; one interval for every trace of
            the simulation, written for nmlhub as ``<Meta for="nmlhub" recordEvery=...>``).

        Returns
        -------
        Recording
            What is recorded; it goes to ``<network>.<what>.dat`` beside the saved network
            (``spikes``: an ID_TIME event file, ids being the cells' gids).

        Raises
        ------
        RuleError
            A cell selection that is not a population of the network, or two sampling intervals.

        Examples
        --------
        >>> net.record("v", "E[0-4]", every_ms=0.1)  # doctest: +SKIP
        >>> net.record("stdp/w", ["E[0]", "I[2]"])  # doctest: +SKIP
        """
        given = [cells] if isinstance(cells, str) else list(cells)
        intervals = {r.every_ms for r in self.recordings if r.every_ms is not None}
        if every_ms is not None and intervals - {float(every_ms)}:
            raise RuleError(f"record('{what}'): every_ms={every_ms:g} but another recording samples every "
                            f"{intervals.pop():g} ms (one interval per simulation)")
        if every_ms is not None and not float(every_ms) > 0:
            raise RuleError(f"record('{what}'): every_ms must be positive, not {every_ms}")
        made = Recording(what.strip("/"), tuple(given), None if every_ms is None else float(every_ms))
        self.recordings.append(made)
        return made

    # -- results ---------------------------------------------------------------------------------
    def expand(self, morphologies: dict[str, Any] | None = None, owned: np.ndarray | None = None) -> ExpandedNetwork:
        """The explicit network (cells, connections and inputs as columns)."""
        return expand(self.rules, morphologies, owned)

    def save(self, path: str | os.PathLike, expanded: bool = False,
             simulation: dict[str, Any] | None = None) -> Path:
        """Write the network as NeuroML with its rules in an annotation (and, with ``expanded``,
        the explicit cells, connections and inputs too). With ``simulation`` (``duration_ms``,
        ``dt_ms``, optional ``record_v`` list of ``population[index]`` and ``spikes`` file name),
        a LEMS simulation file ``LEMS_<id>.xml`` is written next to it; returns its path then."""
        from .writer import network_document_xml, simulation_xml

        path = Path(path).resolve()
        self._place_mod_synapses(path.parent)
        model = None
        if expanded:
            model = self._model_for_morphologies(path.parent)
        text = network_document_xml(self, expanded, model, path.parent)
        lems_files = self._write_lems_components(path.parent)
        atomic_write_bytes(path, text)
        if simulation is None:
            return path
        lems = path.parent / f"LEMS_{self.rules.network_id}.xml"
        atomic_write_bytes(lems, simulation_xml(self, path.name, lems_files=lems_files, expanded=expanded,
                                                **simulation))
        return lems

    def _write_lems_components(self, folder: Path) -> list[str]:
        """LEMS components (and the ComponentTypes they need) go to ``<id>.components.xml``,
        which the simulation file includes; returns the file names to include."""
        if not self.lems_components:
            return []
        names = []
        for types_file in dict.fromkeys(c.types_file for c in self.lems_components):
            target = folder / f"nmlhub_{types_file.name}"
            atomic_write_bytes(target, types_file.read_bytes())
            names.append(target.name)
        body = "\n".join(f"    {c.xml()}" for c in self.lems_components)
        components = folder / f"{self.rules.network_id}.components.xml"
        atomic_write_bytes(components, f"<Lems>\n{body}\n</Lems>\n".encode())
        return names + [components.name]

    def to_model(self, expanded: bool = False, simulation: dict[str, Any] | None = None) -> Any:
        """The canonical :class:`~nmlhub.model.Model` (written to a temporary folder and loaded)."""
        from ..model import load

        folder = Path(tempfile.mkdtemp(prefix="nmlhub-builder-"))
        try:
            model = load(self.save(folder / f"{self.rules.network_id}.net.nml", expanded, simulation))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        # the model names its files (mechanisms, outputs are found beside them): the folder lives
        # as long as the model, and goes when it is collected or, at the latest, when Python exits
        weakref.finalize(model, shutil.rmtree, str(folder), ignore_errors=True)
        return model

    def _model_for_morphologies(self, folder: Path) -> Any:
        from ..model import load
        from .writer import network_document_xml

        with tempfile.TemporaryDirectory(prefix="nmlhub-builder-") as tmp:
            probe = Path(tmp) / "cells.nml"
            probe.write_bytes(network_document_xml(self, False, None))
            return load(probe, strict=False)

    def morphologies(self, model: Any) -> dict[str, Any]:
        """Morphology of each rule population's cell component (None for point cells)."""
        from ..model.cells import cell_morphology

        out = {}
        for pop in self.rules.populations:
            record = model.components.get(pop.cell)
            if record is None:
                raise RuleError(f"population '{pop.id}': cell '{pop.cell}' is not defined in the "
                                "included files or added components")
            out[pop.cell] = cell_morphology(record.obj, model.components)
        return out

