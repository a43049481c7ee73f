"""NetPyNE's tutorials tut2, tut3 and tut5 as data, and NetPyNE's own results for them.

Writes, next to this script:

- ``tut2.json``, ``tut3.json``, ``tut5.json``, ``tut_hoc.json``: each tutorial's ``netParams`` and ``simConfig``
  (the parameters published in NetPyNE's documentation, doc/source/code/tutN.py, in NetPyNE's
  current dict style), saved as ``sim.saveData`` lays them out (``net.params``, ``simConfig``);
- ``tut2_output.pkl``: NetPyNE's own output pickle of tut2 (``--output-pickle``), to import as a
  user's ``sim.saveData`` file;
- ``references.json``: for each tutorial and each of SEEDS, NetPyNE's number of connections per
  connectivity rule and every population's mean firing rate (Hz), from running the tutorial in
  NetPyNE (each run in a fresh process; NetPyNE keeps global state).

Run with NetPyNE installed (``pip install -e '.[bench]'``)::

    python tests/data/netpyne/make_references.py            # everything (~5 min on 2 cores)
    python tests/data/netpyne/make_references.py --data-only
    python tests/data/netpyne/make_references.py --only tut_hoc   # one tutorial again

``tests/test_netpyne_import.py`` imports the JSON files with nmlhub and compares with these
references (tolerances stated there).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOC_CELL = HERE.parent / "import_cell" / "three_part_cell.hoc"
SEEDS = (1, 2, 3, 4, 5)
IZHI_MOD = HERE / "mods" / "izhi2007b.mod"
TUTORIALS = ("tut2", "tut3", "tut5", "tut_hoc", "tut_izhi", "tut5_I4")
#: NetPyNE's Izhi2007b parameters of the RS and IB cells (Izhikevich 2007, figs 8.12 and 8.19).
IZHI_RS = {"mod": "Izhi2007b", "C": 1, "k": 0.7, "vr": -60, "vt": -40, "vpeak": 35, "a": 0.03, "b": -2,
           "c": -50, "d": 100, "celltype": 1}
IZHI_IB = {"mod": "Izhi2007b", "C": 1.5, "k": 1.2, "vr": -75, "vt": -45, "vpeak": 50, "a": 0.01, "b": 5,
           "c": -56, "d": 130, "celltype": 2}


def _load_hoc_mechanisms() -> None:
    """Compile (cached) and load the HOC cell's kslow.mod into this process's NEURON."""
    from nmlhub.neuron.mechcache import load_user_library, user_library

    load_user_library(user_library([str(HOC_CELL.parent / "mods" / "kslow.mod")]), ["kslow"])


def _load_izhi_mechanism() -> None:
    """Compile (cached) and load the Izhi2007b point process (mods/izhi2007b.mod)."""
    from nmlhub.neuron.mechcache import load_user_library, user_library

    load_user_library(user_library([str(IZHI_MOD)]), ["Izhi2007b"])


def tutorial(name: str):
    """NetPyNE ``(netParams, simConfig)`` of a tutorial, as the documentation publishes them
    (``tut_hoc``: a network of a cell imported from a HOC template with importCellParams, as
    NetPyNE's tutorial on importing cells does, with nmlhub's own test template)."""
    from netpyne import specs

    net = specs.NetParams()
    cfg = specs.SimConfig()
    cfg.duration = 1000.0
    cfg.dt = 0.025
    cfg.verbose = False
    cfg.recordStep = 0.1
    cfg.recordTraces = {"V_soma": {"sec": "soma", "loc": 0.5, "var": "v"}}
    if name == "tut_hoc":
        _load_hoc_mechanisms()
        net.importCellParams("HOC3", str(HOC_CELL), "ThreePartCell", cellArgs=[0.0005])
        net.popParams["P"] = {"cellType": "HOC3", "numCells": 20}
        net.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 5.0, "e": 0}
        net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 20, "noise": 0.5}
        net.stimTargetParams["bkg->P"] = {"source": "bkg", "conds": {"pop": "P"}, "weight": 0.004,
                                          "delay": 2, "synMech": "exc"}
        net.connParams["P->P"] = {"preConds": {"pop": "P"}, "postConds": {"pop": "P"}, "probability": 0.2,
                                  "weight": 0.002, "delay": 3, "synMech": "exc"}
        cfg.analysis["plotTraces"] = {"include": [0]}
        return net, cfg
    if name == "tut_izhi":
        # NetPyNE's Izhikevich cells (doc/source/code/tut_izhi-like): one 10 x 10 um soma of cm
        # 31.831 uF/cm2 (100 pF) holding an Izhi2007b; RS and IB populations, background NetStims
        _load_izhi_mechanism()
        for cell_type, params in (("RS", IZHI_RS), ("IB", IZHI_IB)):
            net.cellParams[cell_type] = {"secs": {"soma": {"geom": {"diam": 10.0, "L": 10.0, "cm": 31.831},
                                                           "pointps": {"Izhi": dict(params)}}}}
        net.popParams["E"] = {"cellType": "RS", "numCells": 30}
        net.popParams["B"] = {"cellType": "IB", "numCells": 20}
        net.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 5.0, "e": 0}
        net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 50, "noise": 0.5}
        net.stimTargetParams["bkg->all"] = {"source": "bkg", "conds": {"cellType": ["RS", "IB"]}, "weight": 0.01,
                                            "delay": 2, "synMech": "exc"}
        net.connParams["E->all"] = {"preConds": {"pop": "E"}, "postConds": {"pop": ["E", "B"]}, "probability": 0.1,
                                    "weight": 0.001, "delay": 3, "synMech": "exc"}
        cfg.analysis["plotTraces"] = {"include": [("E", 0)]}
        return net, cfg
    if name == "tut5_I4":
        # the smallest part of tut5 showing how its I4 cells respond: I4 alone under its NetStims
        net, cfg = tutorial("tut5")
        net.popParams = {"I4": net.popParams["I4"]}
        net.connParams = {}
        cfg.analysis = {}
        return net, cfg
    if name in ("tut2", "tut3"):
        pyr = {"secs": {"soma": {"geom": {"diam": 18.8, "L": 18.8, "Ra": 123.0},
                                 "mechs": {"hh": {"gnabar": 0.12, "gkbar": 0.036, "gl": 0.003, "el": -70}}}}}
        if name == "tut3":
            pyr["secs"]["dend"] = {"geom": {"diam": 5.0, "L": 150.0, "Ra": 150.0, "cm": 1},
                                   "topol": {"parentSec": "soma", "parentX": 1.0, "childX": 0},
                                   "mechs": {"pas": {"g": 0.0000357, "e": -70}}}
        net.cellParams["PYR"] = pyr
        net.popParams["S"] = {"cellType": "PYR", "numCells": 20}
        net.popParams["M"] = {"cellType": "PYR", "numCells": 20}
        tau1 = 0.1 if name == "tut2" else 1.0
        net.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": tau1, "tau2": 5.0, "e": 0}
        net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 10, "noise": 0.5}
        net.stimTargetParams["bkg->PYR"] = {"source": "bkg", "conds": {"cellType": "PYR"}, "weight": 0.01,
                                            "delay": 5, "synMech": "exc"}
        cfg.analysis["plotRaster"] = {"saveFig": True}
        cfg.analysis["plotTraces"] = {"include": [1], "saveFig": True}
        if name == "tut2":
            net.connParams["S->M"] = {"preConds": {"pop": "S"}, "postConds": {"pop": "M"}, "divergence": 12,
                                      "weight": 0.01, "delay": 5, "synMech": "exc"}
        else:
            net.connParams["S->M"] = {"preConds": {"pop": "S"}, "postConds": {"pop": "M"}, "probability": 0.5,
                                      "weight": 0.01, "delay": 5, "sec": "dend", "loc": 1.0, "synMech": "exc"}
        return net, cfg
    net.sizeX, net.sizeY, net.sizeZ = 100, 1000, 100
    net.propVelocity = 100.0
    net.probLengthConst = 150.0
    for pop, cell_type, ranges in (("E2", "E", {"yRange": [100, 300]}), ("I2", "I", {"yRange": [100, 300]}),
                                   ("E4", "E", {"yRange": [300, 600]}), ("I4", "I", {"yRange": [300, 600]}),
                                   ("E5", "E", {"ynormRange": [0.6, 1.0]}), ("I5", "I", {"ynormRange": [0.6, 1.0]})):
        net.popParams[pop] = {"cellType": cell_type, "numCells": 50, **ranges}
    net.cellParams["E"] = {"secs": {"soma": {"geom": {"diam": 15, "L": 14, "Ra": 120.0},
                                             "mechs": {"hh": {"gnabar": 0.13, "gkbar": 0.036, "gl": 0.003, "el": -70}}}}}
    net.cellParams["I"] = {"secs": {"soma": {"geom": {"diam": 10.0, "L": 9.0, "Ra": 110.0},
                                             "mechs": {"hh": {"gnabar": 0.11, "gkbar": 0.036, "gl": 0.003, "el": -70}}}}}
    net.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.8, "tau2": 5.3, "e": 0}
    net.synMechParams["inh"] = {"mod": "Exp2Syn", "tau1": 0.6, "tau2": 8.5, "e": -75}
    net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 20, "noise": 0.3}
    net.stimTargetParams["bkg->all"] = {"source": "bkg", "conds": {"cellType": ["E", "I"]}, "weight": 0.01,
                                        "delay": "max(1, normal(5,2))", "synMech": "exc"}
    net.connParams["E->all"] = {"preConds": {"cellType": "E"}, "postConds": {"y": [100, 1000]},
                                "probability": 0.1, "weight": "0.005*post_ynorm",
                                "delay": "dist_3D/propVelocity", "synMech": "exc"}
    net.connParams["I->E"] = {"preConds": {"cellType": "I"}, "postConds": {"pop": ["E2", "E4", "E5"]},
                              "probability": "0.4*exp(-dist_3D/probLengthConst)", "weight": 0.001,
                              "delay": "dist_3D/propVelocity", "synMech": "inh"}
    cfg.analysis["plotRaster"] = {"orderBy": "y", "orderInverse": True}
    cfg.analysis["plotTraces"] = {"include": [("E2", 0), ("E4", 0), ("E5", 5)]}
    return net, cfg


def save_data(name: str) -> Path:
    """Write a tutorial's netParams and simConfig as JSON (sim.saveData's layout)."""
    net, cfg = tutorial(name)
    config = {k: v for k, v in cfg.__dict__.items() if isinstance(v, (int, float, str, bool, list, dict, type(None)))}
    path = HERE / f"{name}.json"
    path.write_text(json.dumps({"net": {"params": _plain(net.todict())}, "simConfig": _plain(config)},
                               indent=1) + "\n")
    return path


def save_output_pickle() -> Path:
    """Run tut2 for 50 ms in NetPyNE and keep its ``sim.saveData`` pickle (netParams and
    simConfig only), as a NetPyNE user's output file: ``tut2_output.pkl``."""
    from netpyne import sim

    net, cfg = tutorial("tut2")
    path = HERE / "tut2_output"
    cfg.duration, cfg.analysis, cfg.recordTraces = 50.0, {}, {}
    cfg.savePickle, cfg.saveJson, cfg.filename = True, False, str(path)
    cfg.saveDataInclude = ["netParams", "simConfig"]
    sim.createSimulateAnalyze(netParams=net, simConfig=cfg)
    written = HERE / "tut2_output_data.pkl"
    written.replace(HERE / "tut2_output.pkl")
    return HERE / "tut2_output.pkl"


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def run_one(name: str, seed: int) -> dict:
    """Run a tutorial in NetPyNE with one seed (call in a fresh process)."""
    from netpyne import sim

    net, cfg = tutorial(name)
    cfg.seeds = {"conn": seed, "stim": seed, "loc": seed}
    cfg.recordTraces = {}
    cfg.saveJson = cfg.savePickle = False
    cfg.analysis = {}
    sim.create(netParams=net, simConfig=cfg, output=False)
    sim.simulate()
    counts: dict[str, int] = {label: 0 for label in net.connParams}
    for cell in sim.net.cells:
        for conn in cell.conns:
            if conn.get("label") in counts:
                counts[conn["label"]] += 1
    gids = {pop: list(p.cellGids) for pop, p in sim.net.pops.items()}
    spike_gids = list(sim.allSimData["spkid"])
    rates = {pop: sum(1 for g in spike_gids if int(g) in set(ids)) / len(ids) / (cfg.duration / 1000.0)
             for pop, ids in gids.items() if ids}
    return {"seed": seed, "connections": counts, "rates_hz": rates}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-only", action="store_true")
    parser.add_argument("--output-pickle", action="store_true", help="only write tut2_output.pkl (in its own process)")
    parser.add_argument("--run-one", nargs=2, metavar=("TUTORIAL", "SEED"))
    parser.add_argument("--only", nargs="*", default=list(TUTORIALS), help="tutorials to run (default: all)")
    args = parser.parse_args()
    if args.output_pickle:
        print(f"wrote {save_output_pickle()}")
        return 0
    if args.run_one:
        result = run_one(args.run_one[0], int(args.run_one[1]))
        print("RESULT_JSON " + json.dumps(result))
        return 0
    for name in args.only:
        print(f"wrote {save_data(name)}")
    if args.data_only:
        return 0
    import netpyne

    stored = HERE / "references.json"
    references = json.loads(stored.read_text()) if stored.exists() else {"tutorials": {}}
    references.update(netpyne_version=netpyne.__version__, seeds=list(SEEDS))
    for name in args.only:
        runs = []
        for seed in SEEDS:
            done = subprocess.run([sys.executable, __file__, "--run-one", name, str(seed)], capture_output=True,
                                  text=True, check=True)
            line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT_JSON "))
            runs.append(json.loads(line[len("RESULT_JSON "):]))
            print(name, runs[-1])
        references["tutorials"][name] = runs
    (HERE / "references.json").write_text(json.dumps(references, indent=1) + "\n")
    print(f"wrote {HERE / 'references.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
