"""Simulation settings from a LEMS ``<Simulation>`` element, in NEURON units (ms)."""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from lxml import etree

from ..errors import ModelError
from ..units import UnitRegistry
from ..xmlsafe import lems_type as local_name
from .records import Location


@dataclass(frozen=True)
class OutputColumn:
    """One recorded quantity of an ``OutputFile`` (e.g. ``pop0/0/cell/v``)."""

    id: str
    quantity: str


@dataclass(frozen=True)
class OutputFile:
    """A file of continuous traces: time followed by one column per :class:`OutputColumn`."""

    id: str
    file_name: str
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True)
class EventSelection:
    """Events (spikes) of one cell written to an :class:`EventOutputFile`."""

    id: str
    select: str
    event_port: str


@dataclass(frozen=True)
class EventOutputFile:
    """A file of events, ``format`` being ``TIME_ID`` or ``ID_TIME``."""

    id: str
    file_name: str
    format: str
    selections: tuple[EventSelection, ...]


@dataclass(frozen=True)
class Line:
    """One curve of a :class:`Display`; ``scale`` is the quantity's display unit as written."""

    id: str
    quantity: str
    scale: str = "1"
    time_scale: str = "1ms"
    color: str = ""


@dataclass(frozen=True)
class Display:
    """A plot the simulation asks for; limits are in units of the display's ``time_scale``."""

    id: str
    title: str
    time_scale: str
    xmin: float | None
    xmax: float | None
    ymin: float | None
    ymax: float | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Simulation:
    """Settings of one LEMS ``<Simulation>``.

    Attributes
    ----------
    id
        The simulation id.
    length_ms, step_ms
        Duration and time step in ms.
    target
        The id of the network (or cell) it simulates.
    seed
        The random seed, if given.
    outputs, event_outputs, displays
        What to record and show.
    meta
        Attributes of ``<Meta>`` children (simulator hints), as written.
    meta_elements
        Each ``<Meta>`` child on its own: its line and its attributes (``for`` included).
    holder
        The LEMS component the target network was written inside (Ex17's tissue), when the
        simulation targeted it: its dynamics run beside the network
        (:mod:`nmlhub.lems.lems_network`).
    location
        Where the element was written.
    """

    id: str
    length_ms: float
    step_ms: float
    target: str
    seed: int | None
    outputs: tuple[OutputFile, ...] = ()
    event_outputs: tuple[EventOutputFile, ...] = ()
    displays: tuple[Display, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()
    location: Location | None = field(default=None, compare=False)
    holder: str | None = None
    meta_elements: tuple[tuple[int | None, tuple[tuple[str, str], ...]], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        data = asdict(self)
        data["location"] = str(self.location) if self.location else None
        return data

    def with_paths(self, rename: Callable[[str], str], **changes: Any) -> "Simulation":
        """This simulation with every recorded path (output columns, event selections, display
        lines) passed through ``rename``, and the other fields in ``changes`` set."""
        outputs = tuple(replace(o, columns=tuple(replace(c, quantity=rename(c.quantity)) for c in o.columns))
                        for o in self.outputs)
        events = tuple(replace(o, selections=tuple(replace(s, select=rename(s.select)) for s in o.selections))
                       for o in self.event_outputs)
        displays = tuple(replace(d, lines=tuple(replace(line, quantity=rename(line.quantity)) for line in d.lines))
                         for d in self.displays)
        return replace(self, outputs=outputs, event_outputs=events, displays=displays, **changes)


def _float_or_none(text: str | None, where: dict) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ModelError(f"'{text}' is not a number", **where) from None


def parse_simulation(element: etree._Element, units: UnitRegistry, file: str) -> Simulation:
    """Read a ``<Simulation>`` element.

    Raises
    ------
    ModelError
        A required attribute is missing or a value is malformed.
    UnitError
        ``length`` or ``step`` is not a time.
    """
    sim_id = element.get("id", "")
    where = dict(file=file, line=element.sourceline, element=f"Simulation {sim_id}")
    for required in ("length", "step", "target"):
        if element.get(required) is None:
            raise ModelError(f"attribute '{required}' is missing", **where)
    length = units.to_neuron(element.get("length"), "time", where={**where, "element": f"Simulation {sim_id} attribute length"})
    step = units.to_neuron(element.get("step"), "time", where={**where, "element": f"Simulation {sim_id} attribute step"})
    if not (math.isfinite(step) and step > 0 and math.isfinite(length) and length >= 0):
        raise ModelError(f"length ({length:g} ms) must be a finite number >= 0 and step ({step:g} ms) "
                         "a finite number > 0", **where)
    seed_text = element.get("seed")
    try:
        seed = int(seed_text) if seed_text is not None else None
    except ValueError:
        raise ModelError(f"seed '{seed_text}' is not an integer", **where) from None

    outputs, events, displays, meta, meta_elements = [], [], [], [], []
    for child in element:
        tag = local_name(child)
        if tag == "OutputFile":
            outputs.append(_output_file(child))
        elif tag == "EventOutputFile":
            events.append(_event_output_file(child))
        elif tag == "Display":
            child_where = dict(file=file, line=child.sourceline, element=f"{tag} {child.get('id', '')}")
            displays.append(_display(child, child_where))
        elif tag == "Meta":
            meta.extend(sorted(child.attrib.items()))
            meta_elements.append((child.sourceline, tuple(sorted(child.attrib.items()))))
    return Simulation(sim_id, length, step, element.get("target"), seed, tuple(outputs), tuple(events),
                      tuple(displays), tuple(meta), Location(file, element.sourceline),
                      meta_elements=tuple(meta_elements))


def _children(element: etree._Element, tag: str) -> list[etree._Element]:
    return [c for c in element if local_name(c) == tag]


def _output_file(child: etree._Element) -> OutputFile:
    columns = tuple(OutputColumn(c.get("id", ""), c.get("quantity", "")) for c in _children(child, "OutputColumn"))
    return OutputFile(child.get("id", ""), child.get("fileName", ""), columns)


def _event_output_file(child: etree._Element) -> EventOutputFile:
    selections = tuple(EventSelection(c.get("id", ""), c.get("select", ""), c.get("eventPort", ""))
                       for c in _children(child, "EventSelection"))
    return EventOutputFile(child.get("id", ""), child.get("fileName", ""), child.get("format", "TIME_ID"),
                           selections)


def _display(child: etree._Element, where: dict) -> Display:
    lines = tuple(Line(c.get("id", ""), c.get("quantity", ""), c.get("scale", "1"), c.get("timeScale", "1ms"),
                       c.get("color", ""))
                  for c in _children(child, "Line"))
    limits = (_float_or_none(child.get(name), where) for name in ("xmin", "xmax", "ymin", "ymax"))
    return Display(child.get("id", ""), child.get("title", ""), child.get("timeScale", "1ms"), *limits, lines)


def checked_time(name: str, value: Any, file: Any = None, allow_zero: bool = False) -> float:
    """A duration or time step (ms) as a float, refused unless finite and positive (or zero,
    with ``allow_zero``).

    Raises
    ------
    ModelError
        Not a number, not finite, negative, or zero where that is not allowed.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{name} {value!r} is not a number", file=file) from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        need = ">= 0" if allow_zero else "> 0"
        raise ModelError(f"{name} {value!r} must be a finite number {need}", file=file)
    return number
