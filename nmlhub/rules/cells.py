"""Cells written in code: sections with geometry, topology and mechanisms, as a NeuroML cell.

Example
-------
>>> pyr = CellSpec("pyr", {
...     "soma": Section(length=18.8, diam=18.8, ra=123.0, mechanisms={"hh": {"gnabar": 0.12, "gl": 0.003, "el": -70}}),
...     "dend": Section(length=150, diam=5, ra=150, parent="soma", mechanisms={"pas": {"g": 3.57e-5, "e": -70}}),
... })
>>> document = pyr.to_document()     # a libNeuroML document: the cell and its channels

Units are NEURON's: um, ohm cm, uF/cm2, S/cm2, mV. Mechanisms are NEURON's ``hh`` and ``pas``
(written as NeuroML channels, :mod:`nmlhub.importers.to_neuroml`), or any mechanism whose
``.mod`` file is given in ``mod_files`` (kept as a reference nmlhub compiles and inserts).
Parameters a mechanism leaves out take NEURON's defaults. A section without ``points`` is drawn
straight along x from the point of its parent it is attached to, as NEURON's ``define_shape``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .values import RuleError

#: NEURON's defaults of the mechanisms written as NeuroML channels, and of the ions they use.
MECHANISM_DEFAULTS = {"hh": {"gnabar": 0.12, "gkbar": 0.036, "gl": 0.0003, "el": -54.3},
                      "pas": {"g": 0.001, "e": -70.0}}
ION_DEFAULTS = {"hh": {"na": 50.0, "k": -77.0}}


@dataclass
class Section:
    """One unbranched cable: length and diameter (um), axial resistivity ``ra`` (ohm cm),
    capacitance ``cm`` (uF/cm2), ``nseg`` compartments, its ``parent`` section and the point
    ``parent_x`` (0..1) of the parent it starts at, the ``mechanisms`` inserted (name ->
    parameters), ion reversal potentials (``{"na": 50}``, mV) and, optionally, 3D ``points``
    (x, y, z, diam) in um."""

    length: float = 100.0
    diam: float = 500.0
    ra: float = 35.4
    cm: float = 1.0
    nseg: int = 1
    parent: str | None = None
    parent_x: float = 1.0
    mechanisms: dict[str, dict[str, float]] = field(default_factory=dict)
    ions: dict[str, float] = field(default_factory=dict)
    points: list[tuple[float, float, float, float]] | None = None

    def __post_init__(self) -> None:
        if not (self.length > 0 and self.diam > 0 and self.ra > 0 and self.cm > 0):
            raise RuleError(f"a section needs a positive length, diam, ra and cm (got {self.length}, "
                            f"{self.diam}, {self.ra}, {self.cm})")
        if int(self.nseg) != self.nseg or self.nseg < 1:
            raise RuleError(f"nseg must be a positive whole number, not {self.nseg}")
        if not 0.0 <= self.parent_x <= 1.0:
            raise RuleError(f"parent_x must be in [0, 1], not {self.parent_x}")
        if self.points is not None and (len(self.points) < 2 or any(len(p) != 4 for p in self.points)):
            raise RuleError("points are two or more (x, y, z, diam)")


@dataclass
class CellSpec:
    """A cell: its sections (name -> :class:`Section`, one of them without a parent), named
    lists of sections (which become segment groups, as do the sections), the initial membrane
    potential and the spike threshold (mV), and the ``.mod`` files of mechanisms other than
    ``hh`` and ``pas`` (mechanism name -> file)."""

    id: str
    sections: dict[str, Section]
    section_lists: dict[str, list[str]] = field(default_factory=dict)
    v_init: float = -65.0
    threshold: float = 0.0
    mod_files: dict[str, str | Path] = field(default_factory=dict)
    notes: str | None = None

    def __post_init__(self) -> None:
        if not self.sections:
            raise RuleError(f"cell '{self.id}': no sections")
        for name, section in self.sections.items():
            if section.parent is not None and section.parent not in self.sections:
                raise RuleError(f"cell '{self.id}' section '{name}': parent '{section.parent}' is not a section")
            for mech in section.mechanisms:
                if mech not in MECHANISM_DEFAULTS and mech not in self.mod_files:
                    raise RuleError(f"cell '{self.id}' section '{name}': mechanism '{mech}' is neither hh nor "
                                    "pas and has no .mod file in mod_files")
        roots = [n for n, s in self.sections.items() if s.parent is None]
        if len(roots) != 1:
            raise RuleError(f"cell '{self.id}': {len(roots)} sections without a parent; one root is needed")
        for list_name, members in self.section_lists.items():
            missing = [m for m in members if m not in self.sections]
            if missing:
                raise RuleError(f"cell '{self.id}' section list '{list_name}': no section {', '.join(missing)}")
        self._order()

    def _order(self) -> list[str]:
        ordered: list[str] = []
        while len(ordered) < len(self.sections):
            ready = [n for n, s in self.sections.items()
                     if n not in ordered and (s.parent is None or s.parent in ordered)]
            if not ready:
                raise RuleError(f"cell '{self.id}': the sections' parents form a cycle")
            ordered += ready
        return ordered

    def description(self) -> dict[str, Any]:
        """The plain description :func:`nmlhub.importers.to_neuroml.description_to_document` reads."""
        points_of: dict[str, list[list[float]]] = {}
        described = []
        for name in self._order():
            sec = self.sections[name]
            if sec.points is not None:
                points = [list(map(float, p)) for p in sec.points]
            else:
                x, y, z = (0.0, 0.0, 0.0) if sec.parent is None else _along(points_of[sec.parent], sec.parent_x)
                points = [[x, y, z, float(sec.diam)], [x + float(sec.length), y, z, float(sec.diam)]]
            points_of[name] = points
            n = int(sec.nseg)
            mechanisms = {}
            for mech, params in sec.mechanisms.items():
                values = {**MECHANISM_DEFAULTS.get(mech, {}), **{k: float(v) for k, v in params.items()}}
                mechanisms[mech] = {k: [v] * n for k, v in values.items()}
            ions = {}
            for mech in sec.mechanisms:
                for ion, e in ION_DEFAULTS.get(mech, {}).items():
                    ions[ion] = {f"e{ion}": [e] * n}
            for ion, e in sec.ions.items():
                ions[ion] = {f"e{ion}": [float(e)] * n}
            described.append({"name": name, "neuron_name": name, "parent": sec.parent,
                              "parent_x": sec.parent_x if sec.parent is not None else None, "orientation": 0.0,
                              "points": points, "L": float(sec.length), "nseg": n, "Ra": float(sec.ra),
                              "cm": [float(sec.cm)] * n, "mechanisms": mechanisms, "ions": ions})
        return {"sections": described, "section_lists": {k: list(v) for k, v in self.section_lists.items()},
                "points_from": "points or length and diam", "celsius": 6.3,
                "mod_files": {k: str(Path(v).resolve()) for k, v in self.mod_files.items()}, "globals": {},
                "warnings": [], "source": "code", "template": self.id, "args": []}

    def to_document(self, folder: str | Path = ".") -> Any:
        """A libNeuroML document holding the cell and the channels it uses (``.mod`` references
        relative to ``folder``, where the cell will be written)."""
        from ..importers.to_neuroml import description_to_document

        document = description_to_document(self.description(), self.id, folder, self.v_init, self.threshold)
        document.cells[0].notes = self.notes or f"Cell '{self.id}' written in code with nmlhub"
        return document


def _along(points: list[list[float]], x: float) -> tuple[float, float, float]:
    """The point at fraction ``x`` of the path through ``points``."""
    import numpy as np

    xyz = np.asarray(points, dtype=float)[:, :3]
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xyz, axis=0), axis=1))])
    target = x * arc[-1]
    return tuple(float(np.interp(target, arc, xyz[:, k])) for k in range(3))  # type: ignore[return-value]


#: Section fields that may be drawn per cell (with each mechanism's parameters and ion potentials).
PER_CELL_FIELDS = ("length", "diam", "ra", "cm", "parent_x")


def has_expressions(section: dict[str, Any]) -> bool:
    """Whether a section given as a dict holds a per-cell expression (see :func:`draw_sections`)."""
    return any(isinstance(section.get(k), str) for k in PER_CELL_FIELDS) or \
        any(isinstance(v, str) for ps in dict(section.get("mechanisms") or {}).values() for v in dict(ps or {}).values()) \
        or any(isinstance(e, str) for e in dict(section.get("ions") or {}).values())


def draw_sections(sections: dict[str, dict[str, Any]], n: int, rng: Any, what: str) -> list[dict[str, dict[str, Any]]]:
    """``n`` copies of sections given as dicts of :class:`Section` fields, each string value of
    :data:`PER_CELL_FIELDS`, of a mechanism's parameters or of an ion's potential (an expression
    such as ``"19 + uniform(-1, 1)"``, :mod:`nmlhub.rules.cell_values`) replaced by its draw for
    that cell; each expression draws one number per cell, in the order the sections list them.

    Raises
    ------
    RuleError
        An expression outside the whitelist, or a string where no per-cell value is allowed.
    """
    import copy

    from .cell_values import per_cell_values

    cells = [copy.deepcopy(sections) for _ in range(n)]
    for name, sec in sections.items():
        if not isinstance(sec, dict):
            raise RuleError(f"{what} section '{name}': give per-cell sections as dicts of Section fields")
        paths = [(k,) for k in PER_CELL_FIELDS if isinstance(sec.get(k), str)]
        paths += [("mechanisms", m, k) for m, ps in dict(sec.get("mechanisms") or {}).items()
                  for k, v in dict(ps or {}).items() if isinstance(v, str)]
        paths += [("ions", ion) for ion, e in dict(sec.get("ions") or {}).items() if isinstance(e, str)]
        for path in paths:
            text = sec
            for key in path:
                text = text[key]
            values = per_cell_values(text, n, rng, f"{what} section '{name}' {'.'.join(path)}")
            for cell, value in zip(cells, values):
                target = cell[name]
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = float(value)
    return cells
