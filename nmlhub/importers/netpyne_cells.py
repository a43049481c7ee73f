"""NetPyNE ``cellParams`` and ``synMechParams`` as NeuroML components.

A cell rule's sections (``geom``: L, diam, Ra, cm, nseg, pt3d; ``topol``: parentSec, parentX,
childX; ``mechs``: ``hh`` and ``pas``, or other mechanisms whose ``.mod`` file is in a given
folder; ``ions``: reversal potentials) become the same plain description the HOC importer
makes (:mod:`nmlhub.importers.neuron_reader`), which :mod:`nmlhub.importers.to_neuroml` turns
into a NeuroML cell: nothing of the NetPyNE model is run. Values NetPyNE leaves to NEURON take
NEURON's defaults (L 100 um, diam 500 um, Ra 35.4 ohm cm, cm 1 uF/cm2, nseg 1; hh's and pas's
own defaults). A section without 3D points is drawn as NEURON's ``define_shape`` would
(straight along x from its parent's point).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import neuroml

from .netpyne_expr import NetPyNEError

#: NEURON's defaults for what NetPyNE may leave unset.
SECTION_DEFAULTS = {"L": 100.0, "diam": 500.0, "Ra": 35.4, "cm": 1.0, "nseg": 1}
MECHANISM_DEFAULTS = {"hh": {"gnabar": 0.12, "gkbar": 0.036, "gl": 0.0003, "el": -54.3},
                      "pas": {"g": 0.001, "e": -70.0}}
ION_DEFAULTS = {"na": 50.0, "k": -77.0}
_SECTION_KEYS = {"geom", "topol", "mechs", "ions", "threshold", "vinit", "spikeGenLoc", "weightNorm"}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetPyNEError(f"{what}: expected a number, not {value!r} (per-cell expressions are not "
                           "imported yet)")
    return float(value)


def _points(name: str, geom: dict, start: tuple[float, float, float]) -> list[list[float]]:
    if geom.get("pt3d"):
        points = [[_number(v, f"section '{name}' pt3d") for v in p] for p in geom["pt3d"]]
        if any(len(p) != 4 for p in points):
            raise NetPyNEError(f"section '{name}': pt3d points are (x, y, z, diam)")
        return points
    length = _number(geom.get("L", SECTION_DEFAULTS["L"]), f"section '{name}' L")
    diam = _number(geom.get("diam", SECTION_DEFAULTS["diam"]), f"section '{name}' diam")
    x, y, z = start
    return [[x, y, z, diam], [x + length, y, z, diam]]


def _at(points: list[list[float]], fraction: float) -> tuple[float, float, float]:
    first, last = points[0], points[-1]
    return tuple(a + fraction * (b - a) for a, b in zip(first[:3], last[:3]))  # type: ignore[return-value]


def cell_description(rule_id: str, rule: dict[str, Any], mod_files: dict[str, str]) -> dict[str, Any]:
    """The plain description (as :func:`~nmlhub.importers.neuron_reader.read_cell` returns it) of
    a NetPyNE cell rule.

    Raises
    ------
    NetPyNEError
        A section with an unknown key, a non-numeric geometry value, a mechanism that is neither
        ``hh``, ``pas`` nor in ``mod_files``, point processes, or a section attached by its 1 end.
    """
    secs = rule.get("secs") or rule.get("sections")
    if not isinstance(secs, dict) or not secs:
        raise NetPyNEError(f"cellParams '{rule_id}': no sections ('secs')")
    ordered = _parent_first(rule_id, secs)
    sections, points_of = [], {}
    for name in ordered:
        sec = secs[name]
        what = f"cellParams '{rule_id}' section '{name}'"
        unknown = set(sec) - _SECTION_KEYS
        if "pointps" in unknown:
            raise NetPyNEError(f"{what}: point processes ('pointps') are not imported yet")
        if unknown:
            raise NetPyNEError(f"{what}: unknown key(s) {', '.join(sorted(unknown))}")
        geom, topol = dict(sec.get("geom") or {}), dict(sec.get("topol") or {})
        parent = topol.get("parentSec")
        if parent is not None and _number(topol.get("childX", 0.0), f"{what} childX") != 0.0:
            raise NetPyNEError(f"{what}: attached by its 1 end (childX 1); nmlhub imports childX 0")
        parent_x = _number(topol.get("parentX", 1.0), f"{what} parentX") if parent else None
        start = _at(points_of[parent], parent_x) if parent else (0.0, 0.0, 0.0)
        points = _points(name, geom, start)
        points_of[name] = points
        nseg = int(_number(geom.get("nseg", SECTION_DEFAULTS["nseg"]), f"{what} nseg"))
        mechanisms = {}
        for mech, params in (sec.get("mechs") or {}).items():
            if mech not in MECHANISM_DEFAULTS and mech not in mod_files:
                raise NetPyNEError(f"{what}: mechanism '{mech}' is neither hh nor pas and no .mod file "
                                   "in the mechanisms folder defines it (give mod_dir / --mod-dir)")
            values = dict(MECHANISM_DEFAULTS.get(mech, {}))
            values.update({k: _number(v, f"{what} {mech}.{k}") for k, v in (params or {}).items()})
            mechanisms[mech] = {k: [v] * nseg for k, v in values.items()}
        ions = {}
        for ion, params in (sec.get("ions") or {}).items():
            if "e" in (params or {}):
                ions[ion] = {f"e{ion}": [_number(params["e"], f"{what} ion {ion} e")] * nseg}
        for ion, e in ION_DEFAULTS.items():
            if "hh" in mechanisms:
                ions.setdefault(ion, {f"e{ion}": [e] * nseg})
        sections.append({
            "name": name, "neuron_name": name, "parent": parent, "parent_x": parent_x, "orientation": 0.0,
            "points": points, "L": geom.get("L", SECTION_DEFAULTS["L"]), "nseg": nseg,
            "Ra": _number(geom.get("Ra", SECTION_DEFAULTS["Ra"]), f"{what} Ra"),
            "cm": [_number(geom.get("cm", SECTION_DEFAULTS["cm"]), f"{what} cm")] * nseg,
            "mechanisms": mechanisms, "ions": ions})
    lists = {str(k): [str(s) for s in v] for k, v in (rule.get("secLists") or {}).items()}
    for list_name, members in lists.items():
        missing = [m for m in members if m not in secs]
        if missing:
            raise NetPyNEError(f"cellParams '{rule_id}' secList '{list_name}': no section {', '.join(missing)}")
    return {"sections": sections, "section_lists": lists, "points_from": "pt3d or L and diam",
            "celsius": 6.3, "mod_files": dict(mod_files), "globals": {}, "warnings": [],
            "source": f"NetPyNE cellParams '{rule_id}'", "template": rule_id, "args": []}


def _parent_first(rule_id: str, secs: dict[str, Any]) -> list[str]:
    """Section names, each after its parent (an unknown parent or a cycle is an error)."""
    parents = {}
    for name, sec in secs.items():
        parent = ((sec or {}).get("topol") or {}).get("parentSec")
        if parent is not None and parent not in secs:
            raise NetPyNEError(f"cellParams '{rule_id}' section '{name}': parent '{parent}' is not a section")
        parents[name] = parent
    ordered: list[str] = []
    while len(ordered) < len(secs):
        ready = [n for n in secs if n not in ordered and (parents[n] is None or parents[n] in ordered)]
        if not ready:
            raise NetPyNEError(f"cellParams '{rule_id}': the sections' parents form a cycle")
        ordered += ready
    return ordered


def cell_document(rule_id: str, rule: dict[str, Any], cell_id: str, folder: Path,
                  mod_files: dict[str, str], v_init_mv: float, threshold_mv: float) -> Any:
    """A libNeuroML document holding the NeuroML cell of a NetPyNE cell rule and its channels."""
    from .to_neuroml import description_to_document

    data = cell_description(rule_id, rule, mod_files)
    soma = rule.get("secs", rule.get("sections", {})).get("soma", {})
    threshold = soma.get("threshold", threshold_mv) if isinstance(soma, dict) else threshold_mv
    v_init = soma.get("vinit", v_init_mv) if isinstance(soma, dict) else v_init_mv
    document = description_to_document(data, cell_id, folder, _number(v_init, f"{rule_id} vinit"),
                                       _number(threshold, f"{rule_id} threshold"))
    document.cells[0].notes = f"Imported by nmlhub from NetPyNE cellParams '{rule_id}'"
    return document


def synapse_component(syn_id: str, params: dict[str, Any]) -> Any:
    """A NetPyNE synaptic mechanism as a NeuroML synapse. Weights stay NEURON's (uS of peak
    conductance), so ``gbase`` is 1 uS: ``Exp2Syn`` (tau1, tau2, e) becomes an
    ``expTwoSynapse`` (both normalise their peak to the weight), ``ExpSyn`` (tau, e) an
    ``expOneSynapse``."""
    what = f"synMechParams '{syn_id}'"
    mod = params.get("mod")
    known = {"Exp2Syn": {"tau1": 0.1, "tau2": 10.0, "e": 0.0}, "ExpSyn": {"tau": 0.1, "e": 0.0}}
    if mod not in known:
        raise NetPyNEError(f"{what}: mod '{mod}' is not imported (Exp2Syn and ExpSyn are)")
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
