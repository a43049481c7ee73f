"""An independent count of a model's contents with plain lxml XPath (and h5py for HDF5 files).

Deliberately shares no code with nmlhub: includes are followed here by their own simple rule.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import h5py
from lxml import etree

from conftest import jar_path

CONNECTION_TAGS = ("connection", "connectionWD", "electricalConnection",
                   "electricalConnectionInstance", "electricalConnectionInstanceW",
                   "continuousConnection", "continuousConnectionInstance",
                   "continuousConnectionInstanceW")
PROJECTION_TAGS = ("projection", "electricalProjection", "continuousProjection")


def _core_names() -> set[str]:
    with zipfile.ZipFile(jar_path()) as jar:
        return {Path(n).name for n in jar.namelist() if n.startswith("NeuroML2CoreTypes/") and n.endswith(".xml")}


def _xp(node, expr: str):
    return node.xpath(expr)


def count_model(top: Path) -> Counter:
    """Counts of cells, populations, projections, connections and inputs over all networks."""
    counts: Counter = Counter()
    seen: set[Path] = set()
    core = _core_names()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def visit(path: Path) -> None:
        path = path.resolve()
        if path in seen or not path.exists():
            return
        seen.add(path)
        if path.name.endswith((".h5", ".hdf5")):
            count_hdf5(path, counts)
            with h5py.File(path, "r") as f:
                top_level = f["neuroml"].attrs.get("neuroml_top_level")
            if top_level is not None:
                text = top_level.decode() if isinstance(top_level, bytes) else str(top_level)
                root = etree.fromstring(text.encode(), parser)
                for href in _xp(root, "//*[local-name()='include']/@href"):
                    if Path(href).name not in core:
                        visit(path.parent / href)
            return
        root = etree.parse(str(path), parser).getroot()
        roots.append(root)
        # a NeuroML network, or one written inside a LEMS component (Ex17's tissue), as jLEMS reads it
        nets = _xp(root, "/*/*[local-name()='network'] | /*/*[local-name()!='network']/*[local-name()='network']")
        for net in nets:
            for pop in _xp(net, "*[local-name()='population']"):
                instances = _xp(pop, "*[local-name()='instance']")
                counts["cells"] += len(instances) if instances else int(pop.get("size", "0"))
                counts["populations"] += 1
            for tag in PROJECTION_TAGS:
                counts["projections"] += len(_xp(net, f"*[local-name()='{tag}']"))
            for tag in CONNECTION_TAGS:
                counts["connections"] += len(_xp(net, f"*/*[local-name()='{tag}']"))
            counts["inputs"] += len(_xp(net, "*[local-name()='inputList']/*[local-name()='input' or local-name()='inputW']"))
            counts["inputs"] += len(_xp(net, "*[local-name()='explicitInput']"))
        for href in _xp(root, "/*/*[local-name()='include']/@href") + _xp(root, "/*/*[local-name()='Include']/@file"):
            if Path(href).name not in core:
                visit(path.parent / href)

    roots: list = []
    visit(top)
    if _targets_a_cell(roots):
        counts["cells"] += 1  # jLEMS runs a cell as the simulation's target: one instance of it
        counts["populations"] += 1
    return counts


def _targets_a_cell(roots: list) -> bool:
    """True when the top file's simulation targets a top-level element whose tag (or LEMS type)
    names a cell rather than a network."""
    if not roots or roots[0].tag.split("}")[-1] != "Lems":
        return False
    target = next(iter(_xp(roots[0], "/*/*[local-name()='Target']/@component")), None)
    sims = _xp(roots[0], f"/*/*[@id='{target}'][local-name()='Simulation' or @type='Simulation']/@target")
    if target is None or not sims:
        return False
    for root in roots:
        for element in _xp(root, f"/*/*[@id='{sims[0]}']"):
            kind = element.get("type") or element.tag.split("}")[-1]
            return "cell" in kind.lower() and "network" not in kind.lower()
    return False


def count_hdf5(path: Path, counts: Counter) -> None:
    def attr(node, name):
        value = node.attrs.get(name)
        return value.decode() if isinstance(value, bytes) else value

    with h5py.File(path, "r") as f:
        for net in f["neuroml"].values():
            if not isinstance(net, h5py.Group):
                continue
            for name, group in net.items():
                if name.startswith("population_"):
                    counts["populations"] += 1
                    datasets = [d for d in group.values() if isinstance(d, h5py.Dataset)]
                    size = attr(group, "size")
                    counts["cells"] += datasets[0].shape[0] if datasets else int(size)
                elif name.startswith(("projection_", "electricalProjection_", "continuousProjection_")):
                    counts["projections"] += 1
                    counts["connections"] += sum(d.shape[0] for d in group.values() if isinstance(d, h5py.Dataset))
                elif name.startswith("inputList_"):
                    counts["inputs"] += sum(d.shape[0] for d in group.values() if isinstance(d, h5py.Dataset))
