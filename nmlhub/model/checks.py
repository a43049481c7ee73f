"""Semantic checks of a loaded model: references that dangle, indices out of range."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .cells import cell_morphology, segment_ids
from .columns import (BAD_INDEX, CONNECTION_ATTRS, input_columns, input_weights, parse_cell_reference,
                      projection_columns)
from ..errors import ModelError
from .model import Model
from .paths import parse_path
from .records import Location, Problem
from .row_checks import BadRow, is_columnar, safe_weights_delays, table_problems, value_problems
from .summary import population_size

#: At most this many bad connections or inputs are listed per projection or input list.
MAX_LISTED = 5


@dataclass
class _Population:
    id: str
    component: str
    size: int
    instance_ids: np.ndarray | None

    def valid(self, indices: np.ndarray) -> np.ndarray:
        if self.instance_ids is not None:
            return np.isin(indices, self.instance_ids)
        return (indices >= 0) & (indices < self.size)


def _other_population(side: str, named: str, expected: str) -> str:
    """The problem of a connection whose cell path names another population than its projection."""
    return (f"{side} cell refers to population '{named}', not the projection's '{expected}': jLEMS "
            f"connects the cell the path names, jNeuroML's NEURON export a cell of '{expected}'; write the "
            "same population in both")


class _Checker:
    def __init__(self, model: Model, max_connections: int | None = None) -> None:
        self.model = model
        self.max_connections = max_connections
        self.problems: list[Problem] = []
        self._segments: dict[str, set[int] | None] = {}

    def add(self, message: str, location: Location | None, element: str,
            severity: str = "error") -> None:
        self.problems.append(
            Problem(message, location.file if location else str(self.model.path),
                    location.line if location else None, element, severity)
        )

    def where(self, net_id: str, child_id: str) -> Location | None:
        return self.model.locations.get(f"{net_id}/{child_id}")

    def defined(self, component_id: str | None) -> bool:
        return bool(component_id) and component_id in self.model.components

    def cell_segments(self, component_id: str) -> set[int] | None:
        """Segment ids of a cell type; ``None`` when unknown (LEMS or missing component)."""
        if component_id not in self._segments:
            record = self.model.components.get(component_id)
            segments: set[int] | None = None
            if record is not None:
                morphology = cell_morphology(record.obj, self.model.components) if record.type == "cell" else None
                if morphology is not None:
                    segments = segment_ids(morphology)
                elif record.type != "cell":
                    segments = {0}
            self._segments[component_id] = segments
        return self._segments[component_id]

    # -- networks ------------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        for net in self.model.document.networks:
            pops = self.check_populations(net)
            for proj in net.projections:
                self.check_projection(net.id, proj, pops, "projection", proj.synapse)
            for proj in net.electrical_projections:
                self.check_projection(net.id, proj, pops, "electricalProjection", None)
            for proj in net.continuous_projections:
                self.check_projection(net.id, proj, pops, "continuousProjection", None)
            for input_list in net.input_lists:
                self.check_input_list(net.id, input_list, pops)
            self.check_explicit_inputs(net, pops)
        self.check_simulations()
        return self.problems

    def check_rules(self) -> list[Problem]:
        """Expand each network's rules (within the connection budget), as a run would: a rule
        that cannot be expanded is an error here too."""
        from ..rules.values import RuleError
        from .cells import cell_morphology

        for net_id, rules in self.model.rules.items():
            if getattr(rules, "expanded_in_file", False):
                continue
            record = self.model.components.get(net_id)
            loc = record.location if record is not None else None
            morphologies = {}
            for pop in rules.populations:
                cell = self.model.components.get(pop.cell)
                if cell is None:
                    self.add(f"rule population '{pop.id}': cell '{pop.cell}' is not defined", loc,
                             f"network {net_id}")
                    continue
                morphologies[pop.cell] = cell_morphology(cell.obj, self.model.components)
            try:
                from ..rules.expand import expand

                expand(rules, morphologies, max_connections=self.max_connections)
            except RuleError as exc:
                self.add(f"rules: {exc.message}", loc, f"network {net_id}")
        return self.problems

    def check_populations(self, net: Any) -> dict[str, _Population]:
        pops: dict[str, _Population] = {}
        for pop in net.populations:
            loc = self.where(net.id, pop.id)
            element = f"population {pop.id}"
            if not self.defined(pop.component):
                self.add(f"component '{pop.component}' is not defined in the model", loc, element)
            instance_ids = None
            if pop.instances is not None and len(pop.instances) > 0:
                unreadable = _unreadable_instance_id(pop.instances)
                if unreadable is not None:
                    self.add(f"instance id {unreadable:g} is not a whole number >= 0", loc, element)
                    continue
                instance_ids = _instance_ids(pop.instances)
                if len(np.unique(instance_ids)) != len(instance_ids):
                    self.add("instance ids are not unique", loc, element)
                if pop.size is not None and int(pop.size) != len(instance_ids):
                    self.add(f"size is {pop.size} but {len(instance_ids)} instances are listed "
                             f"(the instances are used)", loc, element, "warning")
            if pop.id in pops:
                self.add("population id is used twice in the network", loc, element)
            pops[pop.id] = _Population(pop.id, pop.component, population_size(pop), instance_ids)
        return pops

    def check_projection(self, net_id: str, proj: Any, pops: dict[str, _Population], kind: str,
                         synapse: str | None) -> None:
        loc = self.where(net_id, proj.id)
        element = f"{kind} {proj.id}"
        pre = pops.get(proj.presynaptic_population)
        post = pops.get(proj.postsynaptic_population)
        if pre is None:
            self.add(f"presynaptic population '{proj.presynaptic_population}' is not in network {net_id}", loc, element)
        if post is None:
            self.add(f"postsynaptic population '{proj.postsynaptic_population}' is not in network {net_id}", loc, element)
        if kind == "projection" and not self.defined(synapse):
            self.add(f"synapse '{synapse}' is not defined in the model", loc, element)
        for item in _per_connection_components(proj):
            if not self.defined(item):
                self.add(f"synapse/component '{item}' is not defined in the model", loc, element)
        if pre is None or post is None:
            return
        valid = {"pre_cell_id": (pre.valid, f"{pre.id} (size {pre.size})"),
                 "post_cell_id": (post.valid, f"{post.id} (size {post.size})")}
        for side, pop in (("pre", pre), ("post", post)):
            known = self.cell_segments(pop.component)
            if known is not None:
                valid[f"{side}_segment_id"] = (_member_of(known), f"the segments of cell '{pop.component}'")
        offset = 0
        for attr in CONNECTION_ATTRS:
            items = getattr(proj, attr, None)
            if items is not None and len(items) and is_columnar(items):
                self._report_bad_rows(*table_problems(items, valid, offset), loc, element, "connection")
            offset += len(items) if items is not None else 0
        elements = _element_rows(proj, CONNECTION_ATTRS)
        cols = projection_columns(elements)
        if len(cols) == 0:
            return
        bad = ~pre.valid(cols.pre_cell) | ~post.valid(cols.post_cell)
        self._report_rows(bad, loc, element, "connection",
                          lambda i: f"cell index out of range or unreadable (pre {cols.pre_cell[i]} in "
                                    f"{pre.id} of {pre.size}, post {cols.post_cell[i]} in {post.id} of {post.size})")
        for side, named, expected in (("pre", cols.pre_population_named, pre.id),
                                      ("post", cols.post_population_named, post.id)):
            if named:
                wrong = np.array([n is not None and n != expected for n in named])
                self._report_rows(wrong, loc, element, "connection",
                                  lambda i, side=side, named=named, expected=expected:
                                  _other_population(side, named[i], expected))
        for side, segs, pop in (("pre", cols.pre_segment, pre), ("post", cols.post_segment, post)):
            known = self.cell_segments(pop.component)
            if known is None:
                continue
            bad_seg = ~np.isin(segs, np.fromiter(known, dtype=np.int64))
            self._report_rows(bad_seg, loc, element, "connection",
                              lambda i, side=side, segs=segs, pop=pop:
                              f"{side} segment {segs[i]} does not exist in cell '{pop.component}'")
        values = safe_weights_delays(elements, self.model.units)
        if isinstance(values, str):
            self.add(f"a weight or delay cannot be read: {values}", loc, element)
            return
        weights, delays = values
        bad = [BadRow(int(i), m) for i, m in value_problems(weights, delays, cols.fractions())]
        self._report_bad_rows(bad, len(bad), loc, element, "connection")

    def _report_bad_rows(self, bad: list[BadRow], total: int, loc: Location | None, element: str,
                         row_name: str) -> None:
        for item in bad[:MAX_LISTED]:
            self.add(item.message, loc, f"{element} {row_name} {item.row}")
        if total > MAX_LISTED:
            self.add(f"... and {total - MAX_LISTED} more {row_name}s with the same kind of problem",
                     loc, element)

    def _report_rows(self, bad: np.ndarray, loc: Location | None, element: str, row_name: str,
                     describe: Any) -> None:
        rows = np.flatnonzero(bad)
        for i in rows[:MAX_LISTED]:
            self.add(describe(int(i)), loc, f"{element} {row_name} {int(i)}")
        if len(rows) > MAX_LISTED:
            self.add(f"... and {len(rows) - MAX_LISTED} more {row_name}s with the same kind of problem",
                     loc, element)

    def check_input_list(self, net_id: str, input_list: Any, pops: dict[str, _Population]) -> None:
        loc = self.where(net_id, input_list.id)
        element = f"inputList {input_list.id}"
        if not self.defined(input_list.component):
            self.add(f"input component '{input_list.component}' is not defined in the model", loc, element)
        pop = pops.get(input_list.populations)
        if pop is None:
            self.add(f"population '{input_list.populations}' is not in network {net_id}", loc, element)
            return
        valid = {"target_cell_id": (pop.valid, f"{pop.id} (size {pop.size})")}
        known = self.cell_segments(pop.component)
        if known is not None:
            valid["segment_id"] = (_member_of(known), f"the segments of cell '{pop.component}'")
        offset = 0
        for attr in ("input", "input_ws"):
            items = getattr(input_list, attr, None)
            if items is not None and len(items) and is_columnar(items):
                self._report_bad_rows(*table_problems(items, valid, offset), loc, element, "input")
            offset += len(items) if items is not None else 0
        elements = _element_rows(input_list, ("input", "input_ws"))
        cols = input_columns(elements)
        if len(cols) == 0:
            return
        self._report_rows(~pop.valid(cols.target_cell), loc, element, "input",
                          lambda i: f"target cell {cols.target_cell[i]} is not in {pop.id} (size {pop.size})")
        if known is not None:
            bad_seg = ~np.isin(cols.segment, np.fromiter(known, dtype=np.int64))
            self._report_rows(bad_seg, loc, element, "input",
                              lambda i: f"segment {cols.segment[i]} does not exist in cell '{pop.component}'")
        try:
            weights = input_weights(elements)
        except (ValueError, TypeError) as exc:
            self.add(f"a weight cannot be read: {exc}", loc, element)
            return
        fractions = (cols.fraction,) if cols.fraction is not None else ()
        bad = [BadRow(int(i), m) for i, m in value_problems(weights, None, fractions)]
        self._report_bad_rows(bad, len(bad), loc, element, "input")

    def check_explicit_inputs(self, net: Any, pops: dict[str, _Population]) -> None:
        record = self.model.components.get(net.id)
        loc = record.location if record is not None else None
        for i, explicit in enumerate(net.explicit_inputs):
            element = f"explicitInput {i} ({explicit.target})"
            if not self.defined(explicit.input):
                self.add(f"input '{explicit.input}' is not defined in the model", loc, element)
            pop_id, index = parse_cell_reference(explicit.target)
            pop = pops.get(pop_id or "")
            if pop is None:
                self.add(f"target population '{pop_id}' is not in network {net.id}", loc, element)
            elif index == BAD_INDEX or not pop.valid(np.array([index]))[0]:
                self.add(f"target cell {index} is not in {pop.id} (size {pop.size})", loc, element)

    # -- simulation ----------------------------------------------------------------------------
    def check_simulations(self) -> None:
        networks = {net.id: net for net in self.model.document.networks}
        if self.model.target and self.model.target not in self.model.simulations and self.model.simulations:
            self.add(f"<Target> names simulation '{self.model.target}', which is not defined", None, "Target")
        for sim in self.model.simulations.values():
            element = f"Simulation {sim.id}"
            if sim.target not in networks and sim.target not in self.model.components:
                self.add(f"target '{sim.target}' is not a network or component of the model",
                         sim.location, element)
                continue
            net = networks.get(sim.target)
            if net is None:
                continue
            pops = {p.id: (population_size(p), _instance_ids(p.instances) if p.instances else None)
                    for p in net.populations}
            for kind, path in _recorded_paths(sim):
                self._check_recorded_path(kind, path, pops, sim.location, element)

    def _check_recorded_path(self, kind: str, path: str, pops: dict, loc: Location | None,
                             element: str) -> None:
        parsed = parse_path(path)
        if parsed is None or parsed.relative or parsed.index < 0:
            return  # a path into the network itself or into a single cell target
        pop_id, index = parsed.population, parsed.index
        if pop_id not in pops:
            self.add(f"{kind} '{path}' names population '{pop_id}', which is not in the target network",
                     loc, element)
            return
        size, instance_ids = pops[pop_id]
        ok = index in set(instance_ids.tolist()) if instance_ids is not None else 0 <= index < size
        if not ok:
            self.add(f"{kind} '{path}' refers to cell {index}, not in {pop_id} (size {size})", loc, element)


def _unreadable_instance_id(instances: Any) -> float | None:
    """The first instance id (of an HDF5 table) that is not a whole number >= 0, if any."""
    array = np.asarray(getattr(instances, "array", None) if hasattr(instances, "array") else [])
    if array.ndim != 2 or array.shape[1] != 4 or array.dtype.kind not in "iuf":
        return None
    ids = array[:, getattr(instances, "indices", {}).get("id", 0)].astype(float)
    bad = ~(np.isfinite(ids) & (ids == np.round(ids)) & (ids >= 0))
    return float(ids[np.flatnonzero(bad)[0]]) if bad.any() else None


def _instance_ids(instances: Any) -> np.ndarray:
    if hasattr(instances, "array") and instances.array is not None:
        # libNeuroML's HDF5 columns: (id, x, y, z) or just (x, y, z) where the row is the id.
        array = np.asarray(instances.array)
        if array.ndim == 2 and array.shape[1] == 4:
            return array[:, getattr(instances, "indices", {}).get("id", 0)].astype(np.int64)
        return np.arange(len(instances), dtype=np.int64)
    return np.asarray([int(inst.id) if inst.id is not None else i for i, inst in enumerate(instances)],
                      dtype=np.int64)


def _member_of(known: set[int]) -> Any:
    ids = np.fromiter(known, dtype=np.int64)
    return lambda values: np.isin(values, ids)


def _element_rows(owner: Any, attrs: tuple[str, ...]) -> Any:
    """A shallow copy of a projection or input list without its columnar lists."""
    columnar = [a for a in attrs if getattr(owner, a, None) is not None and is_columnar(getattr(owner, a))]
    if not columnar:
        return owner
    part = copy.copy(owner)
    for attr in columnar:
        setattr(part, attr, [])
    return part


def _per_connection_components(proj: Any) -> Iterator[str]:
    seen: set[str] = set()
    for attr, field in (("electrical_connections", "synapse"), ("electrical_connection_instances", "synapse"),
                        ("electrical_connection_instance_ws", "synapse"),
                        ("continuous_connections", "pre_component"), ("continuous_connections", "post_component"),
                        ("continuous_connection_instances", "pre_component"),
                        ("continuous_connection_instances", "post_component"),
                        ("continuous_connection_instance_ws", "pre_component"),
                        ("continuous_connection_instance_ws", "post_component")):
        items = getattr(proj, attr, None)
        if items is None or is_columnar(items):
            continue  # a table (NeuroML HDF5) names no component per row; iterating would read it
        for item in items:
            value = getattr(item, field, None)
            if value and value not in seen:
                seen.add(value)
                yield value


def _recorded_paths(sim: Any) -> Iterator[tuple[str, str]]:
    for output in sim.outputs:
        for column in output.columns:
            yield "output column", column.quantity
    for output in sim.event_outputs:
        for selection in output.selections:
            yield "event selection", selection.select
    for display in sim.displays:
        for line in display.lines:
            yield "display line", line.quantity


def check_model(model: Model, *, expand_rules: bool = True,
                max_connections: int | None = None) -> list[Problem]:
    """Semantic problems of a model: dangling references, out-of-range indices, numbers that
    are not finite or outside their domain.

    Checks populations (component defined, size vs instances, whole instance ids), projections
    of every kind (populations, synapses, cell and segment ids, finite weights, delays >= 0,
    fractions along in [0, 1]), input lists and explicit inputs (component, target cell,
    segment, weight), the simulation (target, recorded cells) and, with ``expand_rules``, that
    the network's rules expand (within ``max_connections``, see
    :func:`nmlhub.rules.budget.connection_limit`); warns of cells of a type without
    ``<Attachments>`` of its own that something attaches to (:mod:`nmlhub.model.attachments`);
    refuses a regime's handler reading a variable the regime does not hold, which jLEMS cannot
    run (:mod:`nmlhub.model.regime_reads`).
    """
    from .attachments import attachment_warnings
    from .regime_reads import regime_read_errors

    checker = _Checker(model, max_connections)
    checker.run()
    if expand_rules:
        checker.check_rules()
    return checker.problems + attachment_warnings(model) + regime_read_errors(model)


def model_errors(model: Model, *, expand_rules: bool = False) -> list[Problem]:
    """The errors among what loading found (duplicate ids, missing includes) and :func:`check_model`
    finds: what both ``nmlhub validate`` and ``nmlhub run`` refuse. A run expands its rules
    itself, so it does not ask for them to be expanded here."""
    problems = list(model.problems) + check_model(model, expand_rules=expand_rules)
    return [p for p in problems if p.severity == "error"]


def require_runnable(model: Model) -> None:
    """Refuse a model with errors, before anything is built, with validate's first message.

    Raises
    ------
    ModelError
        ``file:line: element: message`` of the first error, and how many more there are.
    """
    errors = model_errors(model)
    if not errors:
        return
    first = errors[0]
    more = f" (and {len(errors) - 1} more; nmlhub validate lists them)" if len(errors) > 1 else ""
    raise ModelError(f"{first.message}{more}", file=first.file or model.path, line=first.line,
                     element=first.element)
