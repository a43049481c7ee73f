"""NetPyNE ``cellParams`` and ``synMechParams`` as NeuroML components.

A cell rule whose one section holds a ``pointps`` of ``mod`` Izhi2007b (NetPyNE's Izhikevich
cells, ``celltype`` 1 to 3: RS, IB, CH) becomes a NeuroML ``izhikevich2007Cell``
(:func:`point_cell`). Otherwise a cell rule's sections (``geom``: L, diam, Ra, cm, nseg, pt3d; ``topol``: parentSec, parentX,
childX; ``mechs``: ``hh`` and ``pas``, or other mechanisms whose ``.mod`` file is in a given
folder; ``ions``: reversal potentials) become a :class:`~nmlhub.rules.cells.CellSpec`, the cell
written in code, whose NeuroML cell :mod:`nmlhub.importers.to_neuroml` writes: nothing of the
NetPyNE model is run. Values NetPyNE leaves to NEURON take NEURON's defaults (L 100 um, diam
500 um, Ra 35.4 ohm cm, cm 1 uF/cm2, nseg 1; hh's and pas's own defaults).
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import neuroml
import numpy as np

from ..rules.cell_values import per_cell_values
from ..rules.cells import MECHANISM_DEFAULTS, CellSpec, Section
from ..rules.values import RuleError
from .netpyne_expr import NetPyNEError, neuron_distribution

#: NEURON's defaults for what NetPyNE may leave unset.
SECTION_DEFAULTS = {"L": 100.0, "diam": 500.0, "Ra": 35.4, "cm": 1.0, "nseg": 1}
_SECTION_KEYS = {"geom", "topol", "mechs", "ions", "threshold", "vinit", "spikeGenLoc", "weightNorm"}
#: Izhi2007b's parameters and their defaults (C relative to the section's capacitance).
IZHI2007B_DEFAULTS = {"C": 1.0, "k": 0.7, "vr": -60.0, "vt": -40.0, "vpeak": 35.0, "a": 0.03, "b": -2.0,
                      "c": -50.0, "d": 100.0, "celltype": 1.0}
#: Izhi2007b's cell types whose dynamics are the izhikevich2007Cell's (RS, IB, CH); LTS, FS, TC and
#: RTN change the reset, the peak or u's equation with v.
IZHI2007B_PLAIN_TYPES = (1, 2, 3)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetPyNEError(f"{what}: expected a number, not {value!r}")
    return float(value)


def _section(rule_id: str, name: str, sec: dict[str, Any], mod_files: dict[str, str]) -> Section:
    what = f"cellParams '{rule_id}' section '{name}'"
    unknown = set(sec) - _SECTION_KEYS
    if "pointps" in unknown:
        raise NetPyNEError(f"{what}: point processes ('pointps') are imported only as a point cell: the "
                           "cell's one section holding one Izhi2007b")
    if unknown:
        raise NetPyNEError(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")
    geom, topol = dict(sec.get("geom") or {}), dict(sec.get("topol") or {})
    parent = topol.get("parentSec")
    if parent is not None and _number(topol.get("childX", 0.0), f"{what} childX") != 0.0:
        raise NetPyNEError(f"{what}: attached by its 1 end (childX 1); nmlhub imports childX 0")
    mechanisms = {}
    for mech, params in (sec.get("mechs") or {}).items():
        if mech not in MECHANISM_DEFAULTS and mech not in mod_files:
            raise NetPyNEError(f"{what}: mechanism '{mech}' is neither hh nor pas and no .mod file "
                               "in the mechanisms folder defines it (give mod_dir / --mod-dir)")
        mechanisms[mech] = {k: _number(v, f"{what} {mech}.{k}") for k, v in (params or {}).items()}
    ions = {ion: _number(p["e"], f"{what} ion {ion} e") for ion, p in (sec.get("ions") or {}).items()
            if "e" in (p or {})}
    points = None
    if geom.get("pt3d"):
        points = [tuple(_number(v, f"{what} pt3d") for v in p) for p in geom["pt3d"]]
    values = {key: _number(geom.get(key, default), f"{what} {key}") for key, default in SECTION_DEFAULTS.items()}
    try:
        return Section(length=values["L"], diam=values["diam"], ra=values["Ra"], cm=values["cm"],
                       nseg=int(values["nseg"]), parent=parent,
                       parent_x=_number(topol.get("parentX", 1.0), f"{what} parentX"),
                       mechanisms=mechanisms, ions=ions, points=points)
    except RuleError as exc:
        raise NetPyNEError(f"{what}: {exc.message}") from None


def _list_id(name: object) -> str:
    """A section list's name as a NeuroML id (``SectionList[0]`` -> ``SectionList_0``)."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"\[(\d+)\]", r"_\1", str(name)))
    return text if re.match(r"[A-Za-z_]", text) else f"list_{text}"


def cell_spec(rule_id: str, rule: dict[str, Any], cell_id: str, mod_files: dict[str, str],
              v_init_mv: float, threshold_mv: float) -> CellSpec:
    """The :class:`~nmlhub.rules.cells.CellSpec` of a NetPyNE cell rule (the soma's ``threshold``
    and ``vinit`` win over the network's defaults).

    Raises
    ------
    NetPyNEError
        A section with an unknown key, a non-numeric value (draw per-cell expressions first:
        :func:`per_cell_rules`), a mechanism that is neither ``hh``, ``pas`` nor in ``mod_files``, point processes,
        or a section attached by its 1 end.
    """
    secs = rule.get("secs") or rule.get("sections")
    if not isinstance(secs, dict) or not secs:
        raise NetPyNEError(f"cellParams '{rule_id}': no sections ('secs')")
    unknown = set(rule) - {"conds", "conditions", "secs", "sections", "secLists", "globals", "label"}
    if unknown:
        raise NetPyNEError(f"cellParams '{rule_id}': key(s) {', '.join(sorted(unknown))} are not imported")
    if rule.get("globals"):
        raise NetPyNEError(f"cellParams '{rule_id}': globals {dict(rule['globals'])} are not imported")
    sections = {name: _section(rule_id, name, dict(sec or {}), mod_files) for name, sec in secs.items()}
    soma = secs.get("soma") if isinstance(secs.get("soma"), dict) else {}
    lists = {_list_id(k): [str(s) for s in v] for k, v in (rule.get("secLists") or {}).items()}
    try:
        return CellSpec(cell_id, sections, lists, _number(soma.get("vinit", v_init_mv), f"{rule_id} vinit"),
                        _number(soma.get("threshold", threshold_mv), f"{rule_id} threshold"), dict(mod_files),
                        notes=f"Imported by nmlhub from NetPyNE cellParams '{rule_id}'")
    except RuleError as exc:
        raise NetPyNEError(f"cellParams '{rule_id}': {exc.message}") from None


def has_per_cell_values(rule: dict[str, Any]) -> bool:
    """Whether a NetPyNE cell rule gives a parameter as an expression (a string) to draw per cell."""
    return bool(_expression_paths(rule))


def _expression_paths(rule: dict[str, Any]) -> list[tuple[str, ...]]:
    """Where a cell rule holds strings: (section, part, key) or (section, part, name, key) for
    ``geom`` values, ``vinit``/``threshold``, ``mechs`` and ``ions`` parameters."""
    secs = rule.get("secs") or rule.get("sections") or {}
    found: list[tuple[str, ...]] = []
    for name, sec in (secs.items() if isinstance(secs, dict) else []):
        sec = sec if isinstance(sec, dict) else {}
        found += [(name, "geom", k) for k, v in dict(sec.get("geom") or {}).items() if isinstance(v, str)]
        found += [(name, k) for k in ("vinit", "threshold") if isinstance(sec.get(k), str)]
        for part in ("mechs", "ions"):
            for mech, params in dict(sec.get(part) or {}).items():
                found += [(name, part, mech, k) for k, v in dict(params or {}).items() if isinstance(v, str)]
    return found


def per_cell_rules(rule_id: str, rule: dict[str, Any], n: int, rng: np.random.Generator,
                   constants: dict[str, float]) -> list[dict[str, Any]]:
    """``n`` copies of a cell rule, each string value (``'19 + uniform(-1, 1)'``) replaced by its
    draw for that cell (NEURON's conventions: ``normal(mean, variance)``...; netParams numbers as
    names), each expression drawing one number per cell in the order the rule lists them.

    Raises
    ------
    NetPyNEError
        An expression outside the whitelist of :mod:`nmlhub.rules.cell_values` (naming the rule
        and the parameter).
    """
    cells = [copy.deepcopy(rule) for _ in range(n)]
    for path in _expression_paths(rule):
        secs_key = "secs" if "secs" in rule else "sections"
        where = rule[secs_key]
        for key in path[:-1]:
            where = where[key]
        what = f"cellParams '{rule_id}' section '{path[0]}' {'.'.join(path[1:])}"
        try:
            values = per_cell_values(where[path[-1]], n, rng, what, constants, neuron_distribution)
        except RuleError as exc:
            raise NetPyNEError(exc.message) from None
        for cell, value in zip(cells, values):
            target = cell[secs_key]
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = float(value)
    return cells


def has_point_process(rule: dict[str, Any]) -> bool:
    """Whether a NetPyNE cell rule puts a point process (``pointps``) in any section."""
    secs = rule.get("secs") or rule.get("sections") or {}
    return isinstance(secs, dict) and any(isinstance(s, dict) and s.get("pointps") for s in secs.values())


def point_cell(rule_id: str, rule: dict[str, Any], cell_id: str) -> Any:
    """The NeuroML ``izhikevich2007Cell`` of a NetPyNE cell rule made of one section holding one
    ``Izhi2007b`` point process and no other mechanism.

    Izhi2007b's current ``-(k (v-vr)(v-vt) - u + Iin) / C / 1000`` nA charges the section's
    capacitance ``cm * area`` (area ``pi * diam * L``, or the pt3d frustums'), as the currents of
    synapses and clamps do, unscaled by ``C``. So the cell's capacitance is ``cm * area`` and
    ``k``, ``b`` and ``d`` are divided by ``C`` (the cell's ``u`` is Izhi2007b's ``u / C``), in
    nS/mV, nS and pA; ``a`` (1/ms), ``vr``, ``vt``, ``vpeak`` and ``c`` (mV) keep their values. The
    cell starts at ``vr`` with ``u`` 0, as Izhi2007b sets them.

    Raises
    ------
    NetPyNEError
        Several sections, other mechanisms or point processes, another ``mod``, a ``celltype``
        other than 1, 2 or 3, or an ``Iin`` (a constant drive has no place in the cell).
    """
    secs = rule.get("secs") or rule.get("sections")
    what = f"cellParams '{rule_id}'"
    if len(secs) != 1:
        raise NetPyNEError(f"{what}: a point-process cell is imported with one section, not {len(secs)}")
    name, sec = next(iter(secs.items()))
    what = f"{what} section '{name}'"
    sec = dict(sec or {})
    if sec.get("mechs"):
        raise NetPyNEError(f"{what}: mechanisms ({', '.join(sec['mechs'])}) beside a point-process cell "
                           "are not imported")
    unknown = set(sec) - {"geom", "pointps", "topol", "threshold", "vinit", "spikeGenLoc"}
    if unknown:
        raise NetPyNEError(f"{what}: key(s) {', '.join(sorted(unknown))} beside a point-process cell are not imported")
    processes = dict(sec["pointps"])
    if len(processes) != 1:
        raise NetPyNEError(f"{what}: one point process per cell is imported, not {len(processes)}")
    label, process = next(iter(processes.items()))
    what = f"{what} pointps '{label}'"
    if process.get("mod") != "Izhi2007b":
        raise NetPyNEError(f"{what}: mod '{process.get('mod')}' is not imported (Izhi2007b is)")
    unknown = set(process) - set(IZHI2007B_DEFAULTS) - {"mod", "Iin", "vref", "synList"}
    if unknown:
        raise NetPyNEError(f"{what}: Izhi2007b parameter(s) {', '.join(sorted(unknown))} are not imported")
    if process.get("vref") is not None or process.get("synList") is not None:
        raise NetPyNEError(f"{what}: vref and synList (the point process's own voltage or synapses) are not imported")
    if _number(process.get("Iin", 0.0), f"{what} Iin") != 0.0:
        raise NetPyNEError(f"{what}: a constant Iin is not imported (give the drive as a stimulation)")
    values = {**IZHI2007B_DEFAULTS, **{k: _number(v, f"{what} {k}") for k, v in process.items()
                                       if k in IZHI2007B_DEFAULTS}}
    if values["celltype"] not in IZHI2007B_PLAIN_TYPES:
        raise NetPyNEError(f"{what}: celltype {values['celltype']:g} is not imported (1 RS, 2 IB and 3 CH are; "
                           "LTS, FS, TC and RTN change Izhikevich's equations)")
    capacitance_pf = _section_capacitance_pf(dict(sec.get("geom") or {}), what)
    if not (capacitance_pf > 0 and values["C"] > 0):
        raise NetPyNEError(f"{what}: C and the section's capacitance (cm * area) must be positive")
    k, b, d = (values[name] / values["C"] for name in ("k", "b", "d"))
    return neuroml.Izhikevich2007Cell(
        id=cell_id, notes=f"Imported by nmlhub from NetPyNE cellParams '{rule_id}' (Izhi2007b, C {values['C']:g})",
        C=f"{capacitance_pf!r}pF", v0=f"{values['vr']!r}mV", k=f"{k!r}nS_per_mV",
        vr=f"{values['vr']!r}mV", vt=f"{values['vt']!r}mV", vpeak=f"{values['vpeak']!r}mV",
        a=f"{values['a']!r}per_ms", b=f"{b!r}nS", c=f"{values['c']!r}mV", d=f"{d!r}pA")


def _section_capacitance_pf(geom: dict[str, Any], what: str) -> float:
    """``cm * area`` of a NetPyNE section (pF): its pt3d frustums' lateral area, else a
    cylinder of ``L`` and ``diam`` (NEURON's defaults where unset)."""
    cm = _number(geom.get("cm", SECTION_DEFAULTS["cm"]), f"{what} cm")
    if geom.get("pt3d"):
        points = [[_number(v, f"{what} pt3d") for v in p] for p in geom["pt3d"]]
        area = 0.0
        for (x0, y0, z0, d0), (x1, y1, z1, d1) in zip(points, points[1:]):
            length = math.dist((x0, y0, z0), (x1, y1, z1))
            r0, r1 = d0 / 2, d1 / 2
            area += math.pi * (r0 + r1) * math.sqrt(length ** 2 + (r1 - r0) ** 2)
    else:
        area = math.pi * _number(geom.get("diam", SECTION_DEFAULTS["diam"]), f"{what} diam") * \
            _number(geom.get("L", SECTION_DEFAULTS["L"]), f"{what} L")
    return cm * area * 0.01  # uF/cm2 * um2 -> pF


def synapse_component(syn_id: str, params: dict[str, Any]) -> Any:
    """A NetPyNE synaptic mechanism as a NeuroML synapse. Weights stay NEURON's (uS of peak
    conductance), so ``gbase`` is 1 uS: ``Exp2Syn`` (tau1, tau2, e) becomes an
    ``expTwoSynapse`` (both normalise their peak to the weight), ``ExpSyn`` (tau, e) an
    ``expOneSynapse``."""
    what = f"synMechParams '{syn_id}'"
    mod = params.get("mod")
    known = {"Exp2Syn": {"tau1": 0.1, "tau2": 10.0, "e": 0.0}, "ExpSyn": {"tau": 0.1, "e": 0.0}}
    if mod not in known:
        raise NetPyNEError(f"{what}: mod '{mod}' is not imported (Exp2Syn and ExpSyn are, and the "
                           "POINT_PROCESS of a .mod file in --mod-dir)")
    unknown = set(params) - set(known[mod]) - {"mod", "label"}
    if unknown:
        raise NetPyNEError(f"{what}: {mod} parameter(s) {', '.join(sorted(unknown))} are not imported")
    values = dict(known[mod])
    values.update({k: _number(v, f"{what} {k}") for k, v in params.items() if k in known[mod]})
    if mod == "Exp2Syn":
        if not 0 < values["tau1"] < values["tau2"]:
            raise NetPyNEError(f"{what}: Exp2Syn needs 0 < tau1 < tau2 (as NEURON does)")
        return neuroml.ExpTwoSynapse(id=syn_id, gbase="1uS", erev=f"{values['e']!r}mV",
                                     tau_rise=f"{values['tau1']!r}ms", tau_decay=f"{values['tau2']!r}ms")
    return neuroml.ExpOneSynapse(id=syn_id, gbase="1uS", erev=f"{values['e']!r}mV", tau_decay=f"{values['tau']!r}ms")


def add_synapse(builder: Any, syn_id: str, params: dict[str, Any], mod_files: dict[str, str]) -> None:
    """Add a NetPyNE synaptic mechanism to ``builder``: ``Exp2Syn``/``ExpSyn`` as NeuroML
    (:func:`synapse_component`), another ``mod`` found in ``mod_files`` as a synapse from that
    ``.mod`` file (:meth:`~nmlhub.rules.builder.NetworkBuilder.mod_synapse`) with the other keys
    as its parameters and NetPyNE's weights in its own units."""
    mod = params.get("mod") if isinstance(params, dict) else None
    if mod in ("Exp2Syn", "ExpSyn") or mod not in mod_files:
        builder.add(synapse_component(syn_id, params))
        return
    what = f"synMechParams '{syn_id}'"
    values = {k: _number(v, f"{what} {k}") for k, v in params.items() if k not in ("mod", "label")}
    try:
        builder.mod_synapse(syn_id, mod_files[str(mod)], **values)
    except RuleError as exc:
        raise NetPyNEError(f"{what}: {exc.message}") from None
