"""The benchmark network of bench_network_model.py written once as explicit NeuroML HDF5 (used by
scale_bench.py): the rules are expanded (the same cells, positions, connections and inputs as a run
from rules makes) and stored as populations with locations, connectionWD projections and inputW
lists; the rules annotation is left out, so a run reads the network from the file.

Usage: python bench_network_hdf5.py N FOLDER [TSTOP_MS]
  -> FOLDER/bench.net.nml.h5 and FOLDER/LEMS_bench_h5.xml; prints a RESULT_JSON line (seconds, bytes)
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_network_model  # noqa: E402

from nmlhub.converters import load, save  # noqa: E402


def _column(values: np.ndarray, prefix: str = "", suffix: str = "") -> dict:
    kind = "int" if values.dtype.kind in "iu" else "float"
    return {kind: values, "prefix": prefix, "suffix": suffix}


def _population(cells, k: int, pop: str, component: str) -> dict:
    gids = np.flatnonzero(cells.population_index == k)
    location = {"tag": "location", "columns": {axis: _column(cells.position[gids, j]) for j, axis in enumerate("xyz")}}
    instances = {"block": "instance", "count": len(gids), "columns": {"id": _column(cells.index[gids])},
                 "children": [location]}
    return {"tag": "population", "attrs": {"id": pop, "component": component, "size": str(len(gids)),
                                           "type": "populationList"}, "children": [instances]}


def _projection(p, component: dict[str, str]) -> dict:
    n = len(p)
    pre, post = f"../{p.pre_population}/", f"../{p.post_population}/"
    columns = {"id": _column(np.arange(n)),
               "preCellId": _column(p.pre_cell.astype(np.int64), pre, f"/{component[p.pre_population]}"),
               "postCellId": _column(p.post_cell.astype(np.int64), post, f"/{component[p.post_population]}"),
               "postSegmentId": _column(p.post_segment.astype(np.int64)),
               "postFractionAlong": _column(p.post_fraction.astype(np.float64)),
               "weight": _column(p.weight.astype(np.float64)), "delay": _column(p.delay.astype(np.float64), "", "ms")}
    return {"tag": "projection", "attrs": {"id": p.id, "presynapticPopulation": p.pre_population,
                                           "postsynapticPopulation": p.post_population, "synapse": p.synapse},
            "children": [{"block": "connectionWD", "count": n, "columns": columns, "children": []}]}


def _input_list(i, component: dict[str, str]) -> dict:
    n = len(i)
    columns = {"id": _column(np.arange(n)),
               "target": _column(i.cell.astype(np.int64), f"../{i.population}/", f"/{component[i.population]}"),
               "destination": {"codes": np.zeros(n, dtype=np.int64), "values": ["synapses"]},
               "segmentId": _column(i.segment.astype(np.int64)), "fractionAlong": _column(i.fraction.astype(np.float64)),
               "weight": _column(i.weight.astype(np.float64))}
    return {"tag": "inputList", "attrs": {"id": i.id, "population": i.population, "component": i.source},
            "children": [{"block": "inputW", "count": n, "columns": columns, "children": []}]}


def write(n: int, folder: Path, tstop: float) -> dict:
    """Write the network of ``n`` cells as NeuroML HDF5 in ``folder``; seconds and sizes."""
    t0 = time.time()
    net = bench_network_model.build(n)
    lems = net.save(folder / "bench.net.nml", simulation=dict(duration_ms=tstop, dt_ms=0.025,
                                                              record_v=["E[0]", "I[0]"], spikes=None))
    tree = load(folder / "bench.net.nml")
    expanded = net.expand()
    t1 = time.time()
    cells = expanded.cells
    component = dict(zip(cells.populations, cells.component))
    network = next(c for c in tree["root"]["children"] if c.get("tag") == "network")
    network["children"] = ([_population(cells, k, pop, component[pop]) for k, pop in enumerate(cells.populations)]
                           + [_projection(p, component) for p in expanded.projections]
                           + [_input_list(i, component) for i in expanded.inputs])
    connections = expanded.connection_count
    del expanded
    target = folder / "bench.net.nml.h5"
    save(tree, target)
    t2 = time.time()
    h5_lems = folder / "LEMS_bench_h5.xml"
    h5_lems.write_text(Path(lems).read_text().replace('"bench.net.nml"', '"bench.net.nml.h5"'))
    return dict(lems=str(h5_lems), connections=int(connections), expand_s=round(t1 - t0, 2),
                write_s=round(t2 - t1, 2), bytes=target.stat().st_size,
                peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))


if __name__ == "__main__":
    result = write(int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 1000.0)
    print("RESULT_JSON " + json.dumps(result), flush=True)
