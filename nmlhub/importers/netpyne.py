"""A NetPyNE model (``netParams`` and ``simConfig``, as data) as an nmlhub network of rules.

The file is read as JSON (NetPyNE's ``netParams.save``, ``simConfig.save`` or ``sim.saveData``
output, whose ``net.params`` and ``simConfig`` are used) or as ``sim.saveData``'s pickle (read by
a restricted unpickler, :mod:`nmlhub.importers.netpyne_pickle`); nothing in it is run. Each part becomes
the nmlhub counterpart through :class:`~nmlhub.rules.builder.NetworkBuilder`:

- ``popParams`` → populations (``numCells``, ``density``, ``gridSpacing``, ``cellsList``
  positions; ``x/y/zRange`` and ``x/y/znormRange`` in a network of ``sizeX/Y/Z``); a population
  of ``cellModel`` NetStim is a population of NetStim generators (``nmlhubNetStimCell``), one of
  VecStim with ``spkTimes`` a population of a ``spikeArray``;
- ``cellParams`` → NeuroML cells (:mod:`nmlhub.importers.netpyne_cells`), matched to
  populations by ``cellType`` (the rule's label) or by the rule's ``conds``;
- ``synMechParams`` → ``expTwoSynapse``/``expOneSynapse`` with ``gbase`` 1 uS, so NetPyNE's
  weights (uS) are kept as they are; another ``mod`` whose ``.mod`` file is in ``mod_dir``, a
  synapse from that file (:mod:`nmlhub.importers.mod_synapses`), weights in its units;
- ``connParams`` → connectivity rules (``probability``, ``convergence``, ``divergence``,
  ``connList``; none of them: all to all), weights and delays (``defaultWeight``,
  ``defaultDelay``), ``sec`` as the segment groups synapses land on; string expressions through
  :mod:`nmlhub.importers.netpyne_expr`;
- ``stimSourceParams``/``stimTargetParams`` → NetStim (rate or interval, noise, start, number) as
  an ``nmlhubNetStimSynapse`` input on each target cell (the connection's delay is added to the
  generator's start), IClamp as a ``pulseGenerator``;
- ``simConfig`` → the LEMS simulation (``duration``, ``dt``, ``seeds``, ``hParams`` celsius and
  v_init), every cell's spikes recorded.

What has no counterpart yet is refused with a message naming the part and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neuroml

from ..model.mod_files import mechanisms_in
from ..rules.builder import AllToAll, Convergence, Divergence, FromList, NetworkBuilder, Probability
from ..rules.netstim import NETSTIM_TYPES, netstim
from ..rules.plasticity import LemsComponent
from ..rules.selection import CellSelector
from ..rules.values import POSITION_NAMES, RuleError
from ..rules.cell_values import population_rng
from .netpyne_cells import (add_synapse, cell_spec, has_per_cell_values, has_point_process, per_cell_rules,
                            point_cell)
from .netpyne_expr import NetPyNEError, random_centre, translate_value
from .netpyne_placement import connection_placement, density_placement, exact_place, listed_cells, section_groups
from .netpyne_files import read_netpyne, read_netpyne_config
from .netpyne_pops import add_vecstim_per_cell, clean_id, members, per_cell_trains, spike_array

__all__ = ["NETSTIM_TYPES", "NetPyNEError", "NetPyNEImport", "import_netpyne", "read_netpyne", "read_netpyne_config"]

#: Size of NetPyNE's network (um) when netParams does not give it.
DEFAULT_SIZE = 100.0
_POP_KEYS = {"cellType", "cellModel", "numCells", "density", "gridSpacing", "cellsList", "xRange", "yRange",
             "zRange", "xnormRange", "ynormRange", "znormRange", "rate", "noise", "start", "number",
             "interval", "seed", "label", "popLabel", "spkTimes", "pulses", "pop"}
_CONN_KEYS = {"preConds", "postConds", "preTags", "postTags", "probability", "convergence", "divergence",
              "connList", "weight", "delay", "synMech", "sec", "loc", "label", "connFunc", "synsPerConn"}
_AXES = ("x", "y", "z", "xnorm", "ynorm", "znorm")
_POST_NAMES = frozenset(n for n in POSITION_NAMES if n.startswith("post_"))
_PRE_NAMES = frozenset(n for n in POSITION_NAMES if n.startswith("pre_"))
_DENSITY_NAMES = frozenset({"x", "y", "z", "xnorm", "ynorm", "znorm"})


@dataclass
class NetPyNEImport:
    """What :func:`import_netpyne` wrote: the network file, the LEMS simulation file (when the
    model had a ``simConfig``), and notes on what was approximated."""

    network: Path
    lems: Path | None
    notes: list[str] = field(default_factory=list)


def import_netpyne(source: str | Path, out: str | Path, mod_dir: str | Path | None = None,
                   sim_config: str | Path | None = None) -> NetPyNEImport:
    """Write a NetPyNE model as an nmlhub network of rules (and its LEMS simulation file).

    Parameters
    ----------
    source
        NetPyNE JSON holding ``netParams`` (and ``simConfig``).
    out
        The network file to write (``model.net.nml``); the LEMS file ``LEMS_<id>.xml`` goes
        beside it.
    mod_dir
        A folder of ``.mod`` files for cell mechanisms other than ``hh`` and ``pas``.
    sim_config
        A separate JSON file holding ``simConfig`` (NetPyNE's ``simConfig.save``).

    Returns
    -------
    NetPyNEImport

    Raises
    ------
    NetPyNEError
        A part of the model nmlhub cannot translate (the message names it and the key).
    """
    net_params, config = read_netpyne(source)
    if sim_config is not None:
        config = read_netpyne_config(sim_config)
    out = Path(out).resolve()
    network_id = _clean_id(re.sub(r"(\.net)?\.nml$", "", out.name)) or "network"
    translator = _Translator(net_params, config, out.parent, _mod_files(mod_dir))
    try:
        builder = translator.build(network_id)
    except NetPyNEError as exc:
        if exc.file is not None:
            raise
        raise NetPyNEError(exc.message, file=source) from None
    simulation = translator.simulation(builder) if config else None
    written = builder.save(out, simulation=simulation)
    return NetPyNEImport(out, written if simulation else None, translator.notes)


def _mod_files(mod_dir: str | Path | None) -> dict[str, str]:
    if mod_dir is None:
        return {}
    folder = Path(mod_dir)
    if not folder.is_dir():
        raise NetPyNEError(f"{folder}: not a folder of .mod files")
    return mechanisms_in([file.resolve() for file in sorted(folder.glob("*.mod"))])


_clean_id = clean_id


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _named(params: Any, what: str) -> dict[str, dict[str, Any]]:
    """NetPyNE's rule containers: a dict by label, or (old versions) a list with labels."""
    if params is None:
        return {}
    if isinstance(params, dict):  # a key set to None is absent, as NetPyNE reads it
        return {str(k): {key: value for key, value in dict(v).items() if value is not None}
                for k, v in params.items()}
    if isinstance(params, list):
        out = {}
        for k, item in enumerate(params):
            label = item.get("label", item.get("popLabel", f"{what}_{k}"))
            out[str(label)] = {key: value for key, value in dict(item).items() if value is not None}
        return out
    raise NetPyNEError(f"{what}: expected an object of rules")


class _Translator:
    """Turns one NetPyNE model into a :class:`NetworkBuilder`, collecting notes."""

    def __init__(self, net_params: dict[str, Any], sim_config: dict[str, Any], folder: Path,
                 mod_files: dict[str, str]) -> None:
        self.params, self.config, self.folder, self.mod_files = net_params, sim_config, folder, mod_files
        self.notes: list[str] = []
        self.constants = {k: float(v) for k, v in net_params.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.pop_tags: dict[str, dict[str, Any]] = {}
        self.pop_cell: dict[str, str] = {}
        self.cell_sections: dict[str, Any] = {}
        self.point_cells: set[str] = set()
        self.split: dict[str, list[str]] = {}  # populations imported as one population per cell
        h_params = dict(sim_config.get("hParams") or {})
        self.celsius = float(h_params.get("celsius", 6.3))
        self.v_init = float(h_params.get("v_init", -65.0))

    # -- the whole model -------------------------------------------------------------------------
    def build(self, network_id: str) -> NetworkBuilder:
        self._check_globals()
        size = tuple(float(self.params.get(f"size{a}", DEFAULT_SIZE)) for a in "XYZ")
        seeds = dict(self.config.get("seeds") or {})
        builder = NetworkBuilder(network_id, size=size, seed=int(seeds.get("conn", 1)),
                                 temperature=f"{self.celsius!r} degC")
        pops = _named(self.params.get("popParams"), "popParams")
        if not pops:
            raise NetPyNEError("netParams: no populations (popParams)")
        cells = _named(self.params.get("cellParams"), "cellParams")
        for pop_id, pop in pops.items():
            self.pop_tags[pop_id] = tags = {"pop": pop_id, **{k: v for k, v in pop.items()
                                                              if k in ("cellType", "cellModel")}}
            split = members(pop_id, pop, pop.get("cellModel") not in ("NetStim", "VecStim") and
                            has_per_cell_values(cells.get(self._cell_rule(pop_id, pop, cells), {})))
            if split != [pop_id]:
                self.split[pop_id] = split
                del self.pop_tags[pop_id]
            for member in split:
                if member != pop_id and member in pops:
                    raise NetPyNEError(f"popParams '{pop_id}': its cell {member} (one population per cell) "
                                       f"would clash with popParams '{member}'")
                self.pop_tags[member] = tags
        for syn_id, syn in _named(self.params.get("synMechParams"), "synMechParams").items():
            add_synapse(builder, _clean_id(syn_id), syn, self.mod_files)
        self._cells(builder, cells, pops)
        for pop_id, pop in pops.items():
            self._population(builder, pop_id, pop)
        for rule_id, rule in _named(self.params.get("connParams"), "connParams").items():
            self._connection(builder, rule_id, rule)
        self._sub_connections(builder)
        self._stimulations(builder)
        return builder

    def _check_globals(self) -> None:
        """netParams settings that change the network and are not imported, at their defaults."""
        defaults = {"scale": 1, "scaleConnWeight": 1, "scaleConnWeightModels": {}, "scaleConnWeightNetStims": 1,
                    "shape": "cuboid", "rxdParams": {}, "rotateCellsRandomly": False}
        for key, default in defaults.items():
            value = self.params.get(key, default)
            if value != default and value not in (None, {}, [], False):
                raise NetPyNEError(f"netParams {key} = {value!r} is not imported (only its default {default!r})")

    def simulation(self, builder: NetworkBuilder) -> dict[str, Any]:
        """The builder's ``simulation`` settings from ``simConfig``: duration, dt, the stimulation
        seed, and the somatic voltage of the cells ``recordCells`` and ``analysis.plotTraces``
        name when ``recordTraces`` asks for ``v`` at the soma."""
        seeds = dict(self.config.get("seeds") or {})
        settings: dict[str, Any] = {"duration_ms": float(self.config.get("duration", 1000.0)),
                                    "dt_ms": float(self.config.get("dt", 0.025)), "seed": int(seeds.get("stim", 1))}
        wants_v = False
        for label, trace in dict(self.config.get("recordTraces") or {}).items():
            trace = dict(trace or {})
            if trace.get("var") == "v" and trace.get("sec", "soma") == "soma" and \
                    trace.get("loc", trace.get("pos", 0.5)) == 0.5 and set(trace) <= {"var", "sec", "loc", "pos"}:
                wants_v = True
            else:
                self.notes.append(f"simConfig recordTraces '{label}' ({trace}): not imported yet (the soma's v is)")
        if wants_v:
            cells = self._recorded_cells(builder)
            if cells:
                settings["record_v"] = cells
        return settings

    def _recorded_cells(self, builder: NetworkBuilder) -> list[str]:
        """``pop[i]`` of the cells NetPyNE records traces of (by gid, population or (pop, i))."""
        from ..rules.layout import expand_populations

        table = expand_populations(builder.rules.populations, builder.rules.size, builder.rules.seed)
        wanted = list(self.config.get("recordCells") or [])
        plot = dict(self.config.get("analysis") or {}).get("plotTraces")
        if isinstance(plot, dict):
            wanted += list(plot.get("include") or [])
        found: list[str] = []
        for item in [one for item in wanted for one in self._unsplit(item)]:
            if item in ("all", "allCells"):
                gids = list(range(len(table)))
            elif isinstance(item, int):
                gids = [item] if 0 <= item < len(table) else []
            elif isinstance(item, str) and item in table.populations:
                gids = list(table.gids_of(item))
            elif isinstance(item, (list, tuple)) and len(item) == 2 and item[0] in table.populations:
                members = table.gids_of(item[0])
                indices = item[1] if isinstance(item[1], list) else [item[1]]
                gids = [int(members[i]) for i in indices if 0 <= int(i) < len(members)]
            else:
                self.notes.append(f"simConfig: recorded cells {item!r} not understood (gids, populations, "
                                  "(pop, index) are)")
                continue
            for gid in gids:
                pop = table.populations[int(table.population_index[gid])]
                path = f"{pop}[{int(table.index[gid])}]"
                if pop in self.pop_cell and self.pop_cell[pop] in self.cell_sections and path not in found:
                    found.append(path)
        return found

    def _unsplit(self, item: Any) -> list[Any]:
        """A recorded population, or (population, index), of a population split per cell as its members."""
        if isinstance(item, str) and item in self.split:
            return [(member, 0) for member in self.split[item]]
        if isinstance(item, (list, tuple)) and len(item) == 2 and item[0] in self.split:
            split = self.split[item[0]]
            return [(split[int(i)], 0) for i in _as_list(item[1]) if 0 <= int(i) < len(split)]
        return [item]

    # -- cells and populations -------------------------------------------------------------------
    def _cells(self, builder: NetworkBuilder, cells: dict[str, dict], pops: dict[str, dict]) -> None:
        threshold = float(self.params.get("defaultThreshold", 10.0))
        channels: dict[str, Any] = {}
        used: dict[str, str] = {}
        for pop_id, pop in pops.items():
            if pop.get("cellModel") in ("NetStim", "VecStim"):
                continue
            rule_id = self._cell_rule(pop_id, pop, cells)
            if pop_id in self.split:
                self._variants(builder, pop_id, rule_id, cells[rule_id], threshold, channels)
                continue
            if rule_id not in used and has_point_process(cells[rule_id]):
                used[rule_id] = _clean_id(rule_id)
                builder.add(point_cell(rule_id, cells[rule_id], used[rule_id]))
                self.point_cells.add(used[rule_id])
            elif rule_id not in used:
                cell_id = _clean_id(rule_id)
                document = cell_spec(rule_id, cells[rule_id], cell_id, self.mod_files, self.v_init,
                                     threshold).to_document(self.folder)
                for channel in list(document.ion_channel_hhs) + list(document.ion_channel):
                    channels.setdefault(channel.id, channel)
                builder.add(document.cells[0])
                self.cell_sections[cell_id] = document.cells[0]
                used[rule_id] = cell_id
            self.pop_cell[pop_id] = used[rule_id]
        for channel in channels.values():
            builder.add(channel)

    def _variants(self, builder: NetworkBuilder, pop_id: str, rule_id: str, rule: dict, threshold: float,
                  channels: dict[str, Any]) -> None:
        """One cell per member of a population whose cell rule draws values per cell (seeded by
        the network's seed and the population)."""
        split = self.split[pop_id]
        drawn = per_cell_rules(rule_id, rule, len(split), population_rng(builder.rules.seed, pop_id), self.constants)
        for member, cell_rule in zip(split, drawn):
            cell_id = _clean_id(f"{rule_id}_{member}")
            document = cell_spec(rule_id, cell_rule, _clean_id(rule_id), self.mod_files, self.v_init,
                                 threshold).to_document(self.folder)
            document.cells[0].id = cell_id  # its channels keep the rule's name: one set for all variants
            for channel in list(document.ion_channel_hhs) + list(document.ion_channel):
                channels.setdefault(channel.id, channel)
            builder.add(document.cells[0])
            self.cell_sections[cell_id] = document.cells[0]
            self.pop_cell[member] = cell_id

    def _cell_rule(self, pop_id: str, pop: dict, cells: dict[str, dict]) -> str:
        cell_type = pop.get("cellType")
        if cell_type in cells:
            return str(cell_type)
        tags = {**self.pop_tags[pop_id], **pop}
        matching = [rule_id for rule_id, rule in cells.items()
                    if rule.get("conds", rule.get("conditions")) and
                    all(tags.get(k) in _as_list(v) for k, v in rule.get("conds", rule.get("conditions")).items())]
        if len(matching) != 1:
            found = "no cellParams rule applies" if not matching else \
                f"several cellParams rules apply ({', '.join(matching)}); nmlhub imports one per population"
            raise NetPyNEError(f"popParams '{pop_id}': {found} (cellType {cell_type!r})")
        return matching[0]

    def _population(self, builder: NetworkBuilder, pop_id: str, pop: dict) -> None:
        what = f"popParams '{pop_id}'"
        unknown = set(pop) - _POP_KEYS
        if unknown:
            raise NetPyNEError(f"{what}: key(s) {', '.join(sorted(unknown))} are not imported")
        ranges = {}
        for axis in _AXES:
            if f"{axis}Range" in pop:
                lo, hi = (float(v) for v in pop[f"{axis}Range"])
                ranges[f"{axis}_range"] = (lo, hi)
        kwargs: dict[str, Any] = {}
        if "numCells" in pop:
            kwargs["count"] = int(pop["numCells"])
        elif "density" in pop:
            kwargs["density"] = translate_value(pop["density"], _DENSITY_NAMES, self.constants, f"{what} density")
        elif "gridSpacing" in pop:
            kwargs["grid_spacing"] = float(pop["gridSpacing"])
        elif "cellsList" in pop:
            kwargs["positions"] = [[float(c.get(a, 0.0)) for a in "xyz"] for c in pop["cellsList"]]
        else:
            raise NetPyNEError(f"{what}: give numCells, density, gridSpacing or cellsList")
        model = pop.get("cellModel")
        for member in self.split.get(pop_id, []) if model != "VecStim" else []:
            builder.population(member, cell=self.pop_cell[member], count=1, **ranges)
        if pop_id in self.split and model != "VecStim":
            return
        if model == "NetStim":
            cell_id = _clean_id(f"{pop_id}_netstim")
            builder.add(self._netstim(cell_id, pop, what, 0.0))
            self.pop_cell[pop_id] = cell_id
        elif model == "VecStim":
            if per_cell_trains(pop):
                self.pop_cell.update(add_vecstim_per_cell(builder, pop_id, pop, ranges))
                return
            cell_id = _clean_id(f"{pop_id}_vecstim")
            builder.add(self._spike_array(cell_id, pop, what))
            self.pop_cell[pop_id] = cell_id
        try:
            builder.population(pop_id, cell=self.pop_cell[pop_id], **kwargs, **ranges)
        except RuleError as exc:
            raise NetPyNEError(f"{what}: {exc.message}") from None

    def _spike_array(self, cell_id: str, pop: dict, what: str) -> Any:
        """A VecStim population whose cells all fire at ``spkTimes`` (ms): a NeuroML spikeArray."""
        times = pop.get("spkTimes")
        if times is None or set(pop) & {"pulses", "rate", "interval", "noise"}:
            raise NetPyNEError(f"{what}: a VecStim population is imported with spkTimes only (not pulses, "
                               "rate, interval or noise yet)")
        if any(isinstance(t, (list, tuple)) for t in times):
            raise NetPyNEError(f"{what}: spkTimes mixes numbers and lists (give one list for every cell, "
                               "or one list per cell)")
        return spike_array(cell_id, times, what)

    def _netstim(self, component_id: str, params: dict, what: str, extra_start: float,
                 synapse: str | None = None) -> LemsComponent:
        """NetPyNE's NetStim parameters as nmlhub's NetStim (:func:`nmlhub.rules.netstim.netstim`):
        a spike source, or an input driving ``synapse``; noise clipped to [0, 1] as NetStim does."""
        if "rate" in params:
            if float(params["rate"]) <= 0:
                raise NetPyNEError(f"{what}: rate must be positive")
            train = {"rate": float(params["rate"])}
        elif "interval" in params:
            train = {"interval": float(params["interval"])}
        else:
            raise NetPyNEError(f"{what}: a NetStim needs a rate or an interval")
        try:
            return netstim(component_id, synapse, noise=min(max(float(params.get("noise", 0.0)), 0.0), 1.0),
                           start=float(params.get("start", 0.0)) + extra_start,
                           number=float(params.get("number", 1e9)), **train)
        except RuleError as exc:
            raise NetPyNEError(f"{what}: {exc.message}") from None

    # -- connections -----------------------------------------------------------------------------
    def _selector(self, conds: dict[str, Any] | None, what: str) -> CellSelector:
        pops = list(self.pop_tags)
        ranges = {}
        for key, value in (conds or {}).items():
            if key in _AXES:
                lo, hi = (float(v) for v in value)
                ranges[key] = (lo, hi)
            elif key in ("pop", "popLabel", "cellType", "cellModel"):
                tag = "pop" if key == "popLabel" else key
                pops = [p for p in pops if self.pop_tags[p].get(tag) in _as_list(value)]
            else:
                raise NetPyNEError(f"{what}: condition '{key}' is not imported (pop, cellType, cellModel "
                                   "and x/y/z/xnorm/ynorm/znorm ranges are)")
        if not pops:
            raise NetPyNEError(f"{what}: no population satisfies {conds}")
        return CellSelector.make(pops, **ranges)

    def _connection(self, builder: NetworkBuilder, rule_id: str, rule: dict) -> None:
        what = f"connParams '{rule_id}'"
        unknown = set(rule) - _CONN_KEYS
        if unknown:
            raise NetPyNEError(f"{what}: key(s) {', '.join(sorted(unknown))} are not imported yet")
        pre = self._selector(rule.get("preConds", rule.get("preTags")), f"{what} preConds")
        post = self._selector(rule.get("postConds", rule.get("postTags")), f"{what} postConds")
        given = [k for k in ("probability", "convergence", "divergence", "connList") if k in rule]
        if len(given) > 1:
            raise NetPyNEError(f"{what}: give one of probability, convergence, divergence, connList")
        if rule.get("connFunc") not in (None, "probConn", "convConn", "divConn", "fromListConn", "fullConn"):
            raise NetPyNEError(f"{what}: connFunc '{rule['connFunc']}' is not imported")
        kind = given[0] if given else None
        if kind == "probability":
            p = translate_value(rule[kind], POSITION_NAMES, self.constants, f"{what} probability")
            if isinstance(p, float) and not 0.0 <= p <= 1.0:
                raise NetPyNEError(f"{what}: probability {p:g} is not in [0, 1]")
            connectivity: Any = Probability(p)
        elif kind == "convergence":
            connectivity = Convergence(translate_value(rule[kind], _POST_NAMES, self.constants, f"{what} convergence"))
        elif kind == "divergence":
            connectivity = Divergence(translate_value(rule[kind], _PRE_NAMES, self.constants, f"{what} divergence"))
        elif kind == "connList":
            pairs = [[int(a), int(b)] for a, b in rule["connList"]]
            connectivity = FromList(pairs, *self._list_values(rule, len(pairs), what))
        else:
            connectivity = AllToAll()
        synapses = [_clean_id(s) for s in _as_list(rule.get("synMech", self._default_synapse(what)))]
        weight, delay = rule.get("weight", self.params.get("defaultWeight", 1.0)), \
            rule.get("delay", self.params.get("defaultDelay", 1.0))
        if kind == "connList":
            weight = weight if not isinstance(weight, list) else 1.0
            delay = delay if not isinstance(delay, list) else 1.0
        placement = connection_placement(rule, self._post_cells(post), what)
        try:
            builder.connect(pre, post, synapses, connectivity, id=_clean_id(rule_id),
                            weight=translate_value(weight, POSITION_NAMES, self.constants, f"{what} weight"),
                            delay=translate_value(delay, POSITION_NAMES, self.constants, f"{what} delay"),
                            placement=placement)
        except RuleError as exc:
            raise NetPyNEError(f"{what}: {exc.message}") from None

    def _list_values(self, rule: dict, n: int, what: str) -> tuple[Any, Any]:
        out = []
        for key in ("weight", "delay"):
            value = rule.get(key)
            if isinstance(value, list):
                if len(value) != n:
                    raise NetPyNEError(f"{what}: {key} lists {len(value)} values for {n} connections")
                out.append([float(v) for v in value])
            else:
                out.append(None)
        return out[0], out[1]

    def _default_synapse(self, what: str) -> str:
        synapses = list(_named(self.params.get("synMechParams"), "synMechParams"))
        if not synapses:
            raise NetPyNEError(f"{what}: no synMech and no synMechParams")
        return synapses[0]

    def _post_cells(self, selector: CellSelector) -> list[Any]:
        """The NeuroML cells (with sections) of a selector's populations."""
        ids = dict.fromkeys(self.pop_cell.get(p, "") for p in selector.populations)
        return [self.cell_sections[i] for i in ids if i in self.cell_sections]

    def _sub_connections(self, builder: NetworkBuilder) -> None:
        """subConnParams: the placement of every connection rule whose cells they cover."""
        for sub_id, sub in _named(self.params.get("subConnParams"), "subConnParams").items():
            what = f"subConnParams '{sub_id}'"
            unknown = set(sub) - {"preConds", "postConds", "sec", "density", "label"}
            if unknown:
                raise NetPyNEError(f"{what}: key(s) {', '.join(sorted(unknown))} are not imported")
            pre, post = (self._selector(sub.get(k), f"{what} {k}") for k in ("preConds", "postConds"))
            if pre.ranges or post.ranges:
                raise NetPyNEError(f"{what}: ranges of position in its conditions are not imported")
            for rule in builder.rules.connections:
                covered = [set(a.populations) <= set(b.populations) for a, b in ((rule.pre, pre), (rule.post, post))]
                touched = [bool(set(a.populations) & set(b.populations)) for a, b in ((rule.pre, pre), (rule.post, post))]
                if all(covered):
                    try:
                        rule.placement = density_placement(sub, self._post_cells(rule.post), what)
                    except RuleError as exc:
                        raise NetPyNEError(f"{what}: {exc.message}") from None
                elif all(touched):
                    raise NetPyNEError(f"{what}: applies to part of connParams '{rule.id}' only (not imported)")

    def _input_place(self, target: dict, cells: CellSelector, what: str) -> dict[str, Any]:
        """Where a stimulation's input goes: a section's exact segment and fraction, or ``loc``
        along one of several sections (a list or section list)."""
        loc, sec = target.get("loc", 0.5), target.get("sec")
        if isinstance(loc, (list, tuple)):
            raise NetPyNEError(f"{what}: a list of loc values is not imported (one loc is)")
        listed = {"cells": listed_cells(target, cells, what)} if "cellList" in (target.get("conds") or {}) else {}
        groups = section_groups(self._post_cells(cells), sec, what) if sec is not None else ()
        if sec is None or not groups:
            return {"segment": 0, "fraction": float(loc), **listed}
        if len(groups) == 1:
            segment, fraction = exact_place(self._post_cells(cells), groups[0], float(loc), what)
            return {"segment": segment, "fraction": fraction, **listed}
        return {"segment_groups": groups, "loc": float(loc), **listed}

    # -- stimulation -----------------------------------------------------------------------------
    def _stimulations(self, builder: NetworkBuilder) -> None:
        sources = _named(self.params.get("stimSourceParams"), "stimSourceParams")
        for target_id, target in _named(self.params.get("stimTargetParams"), "stimTargetParams").items():
            what = f"stimTargetParams '{target_id}'"
            source_id = target.get("source")
            if source_id not in sources:
                raise NetPyNEError(f"{what}: source '{source_id}' is not in stimSourceParams")
            source = dict(sources[source_id])
            kind = source.pop("type", None)
            unknown = set(target) - {"source", "conds", "weight", "delay", "synMech", "sec", "loc", "label"}
            if unknown:
                raise NetPyNEError(f"{what}: key(s) {', '.join(sorted(unknown))} are not imported yet")
            conds = {k: v for k, v in dict(target.get("conds") or {}).items() if k != "cellList"}
            cells = self._selector(conds, f"{what} conds")
            if kind == "NetStim":
                self._netstim_target(builder, target_id, target, source, cells, what)
            elif kind == "IClamp":
                self._iclamp_target(builder, target_id, target, source, cells, what)
            else:
                raise NetPyNEError(f"stimSourceParams '{source_id}': type '{kind}' is not imported yet "
                                   "(NetStim and IClamp are)")

    def _netstim_target(self, builder: NetworkBuilder, target_id: str, target: dict, source: dict,
                        cells: CellSelector, what: str) -> None:
        delay, was_random = random_centre(target.get("delay", self.params.get("defaultDelay", 1.0)),
                                          self.constants, f"{what} delay")
        if was_random:
            self.notes.append(f"{what}: the random delay {target['delay']!r} is its centre, {delay:g} ms, for "
                              "every cell (it shifts each cell's stationary NetStim train as a whole)")
        unknown = set(source) - {"rate", "interval", "noise", "start", "number", "seed", "label"}
        if unknown:
            raise NetPyNEError(f"{what}: NetStim parameter(s) {', '.join(sorted(unknown))} are not imported")
        weight = translate_value(target.get("weight", self.params.get("defaultWeight", 1.0)), _POST_NAMES,
                                 self.constants, f"{what} weight")
        place = self._input_place(target, cells, what)
        for synapse in _as_list(target.get("synMech", self._default_synapse(what))):
            component_id = _clean_id(f"{target_id}_{synapse}")
            builder.add(self._netstim(component_id, source, what, delay, _clean_id(synapse)))
            builder.stimulate(component_id, cells, weight=weight, id=_clean_id(f"stim_{target_id}_{synapse}"),
                              **place)

    def _iclamp_target(self, builder: NetworkBuilder, target_id: str, target: dict, source: dict,
                       cells: CellSelector, what: str) -> None:
        unknown = set(source) - {"del", "dur", "amp", "label"}
        if unknown:
            raise NetPyNEError(f"{what}: IClamp parameter(s) {', '.join(sorted(unknown))} are not imported")
        values = {k: float(source.get(k, 0.0)) for k in ("del", "dur", "amp")}
        component_id = _clean_id(f"{target_id}_iclamp")
        builder.add(neuroml.PulseGenerator(id=component_id, delay=f"{values['del']!r}ms",
                                           duration=f"{values['dur']!r}ms", amplitude=f"{values['amp']!r}nA"))
        builder.stimulate(component_id, cells, id=_clean_id(f"stim_{target_id}"),
                          **self._input_place(target, cells, what))
