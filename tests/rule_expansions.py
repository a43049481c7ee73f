"""Fingerprints of rule expansions: the stored example and the rule networks the tests build,
every rule kind, expanded whole and on a two-rank partition, each projection's columns (pre,
post, segment, fraction, weight, delay) and each input list's columns hashed with SHA-256, with
the bytes of the rules annotation; so a refactoring of the rules code is checked to leave every
expansion and the annotation format unchanged.

Regenerate (only when an expansion is meant to change): ``python tests/rule_expansions.py --write``
from the repository root; ``python tests/rule_expansions.py`` prints the differences from the
stored file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import neuroml
import numpy as np
from lxml import etree

import nmlhub
from nmlhub.analysis.network import expanded_rules
from nmlhub.rules.annotations import rules_from_element, rules_to_element
from nmlhub.rules.connectivity import ConnectivityRule, Placement
from nmlhub.rules.expand import NetworkRules, expand
from nmlhub.rules.layout import PopulationRule
from nmlhub.rules.selection import CellSelector
from nmlhub.rules.values import lognormal, normal

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "nml_examples"
STORED = Path(__file__).resolve().parent / "data" / "rule_expansions.json"


def _digest(*arrays: np.ndarray) -> str:
    sha = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        if a.dtype.kind == "f":  # to 12 significant digits: numpy's exp/log/sqrt differ by an ulp between versions
            a = np.array([float(f"{x:.12g}") for x in a.ravel().tolist()], dtype=a.dtype).reshape(a.shape)
        sha.update(f"{a.dtype.str}{a.shape}".encode())
        sha.update(a.tobytes())
    return sha.hexdigest()


def _fingerprint(expanded) -> dict[str, object]:
    """Each projection's and input list's columns, hashed, by id (in expansion order)."""
    out: dict[str, object] = {}
    for p in expanded.projections:
        out[f"projection {p.id}"] = [len(p), p.synapse, p.pre_population, p.post_population,
                                     _digest(p.pre_cell, p.post_cell, p.post_segment, p.post_fraction,
                                             p.weight, p.delay)]
    for i in expanded.inputs:
        out[f"inputs {i.id}"] = [len(i), _digest(*(np.asarray(getattr(i, name)) for name in
                                                   ("cell", "segment", "fraction", "weight")))]
    return out


def _cases_of(rules: NetworkRules, morphologies: dict | None = None) -> dict[str, object]:
    """The rules' annotation, their expansion whole, on each rank of two (post cells split
    alternately), and after a round trip through the annotation."""
    annotation = etree.tostring(rules_to_element(rules))
    full = expand(rules, morphologies)
    n = len(full.cells)
    again = rules_from_element(etree.fromstring(annotation), rules.network_id)
    return {
        "annotation": hashlib.sha256(annotation).hexdigest(),
        "whole": _fingerprint(full),
        "rank 0 of 2": _fingerprint(expand(rules, morphologies, np.arange(0, n, 2))),
        "rank 1 of 2": _fingerprint(expand(rules, morphologies, np.arange(1, n, 2))),
        "read back": _fingerprint(expand(again, morphologies)),
    }


def _layered_cortex() -> dict[str, object]:
    model = nmlhub.load(EXAMPLES / "layered_cortex" / "LEMS_layered_cortex.xml")
    rules = model.rules["layered_cortex"]
    full = expanded_rules(model)
    morphologies = {}
    from nmlhub.model.cells import cell_morphology

    for pop in rules.populations:
        morphologies[pop.cell] = cell_morphology(model.components[pop.cell].obj, model.components)
    cases = _cases_of(rules, morphologies)
    assert cases["whole"] == _fingerprint(full)
    return cases


def _selector(populations) -> CellSelector:
    return CellSelector.make(populations)


def _every_kind() -> NetworkRules:
    """Every rule kind, with the options each takes (as tests/test_rules.py's rules)."""
    rules = NetworkRules("kinds", (500.0, 1000.0, 500.0), 9)
    rules.populations += [PopulationRule("E", "pyr", count=400), PopulationRule("I", "bask", count=100),
                          PopulationRule("A", "x", count=20, ranges={"ynorm": (0.2, 0.6)}),
                          PopulationRule("B", "x", count=20, properties={"layer": "L5"})]

    def rule(id, kind, parameter=None, pre=None, post=None, **kw):
        rules.connections.append(ConnectivityRule(id, _selector(pre), _selector(post), ("syn",), kind,
                                                  parameter, **kw))

    rule("p_const", "probability", 0.05, ["E", "I"], ["E", "I"], weight=normal(1.0, 0.3, low=0.2),
         delay="1 + dist_3D/300")
    rule("p_dist", "probability", "0.3*exp(-dist_3D/100)", "E", "E", max_distance=350.0,
         weight=lognormal(0, 0.5, high=4))
    rule("p_expr", "probability", "0.2*post_ynorm", "I", "E", autapses=True, delay=normal(2.0, 0.5, low=0.5))
    rule("p_random", "probability", normal(0.1, 0.02, low=0, high=1), "E", "I")
    rule("conv", "convergence", 20, "E", ["E", "I"], weight="0.5 + post_ynorm")
    rule("conv_multi", "convergence", 30, "I", "E", multapses=True, weight=normal(1, 1))
    rule("conv_expr", "convergence", "2 + 10*post_ynorm", "E", "I")
    rule("div", "divergence", 15, "I", ["E", "I"], delay=normal(2.0, 0.5, low=0.5))
    rule("div_multi", "divergence", 40, "A", "B", multapses=True)
    rule("all", "all_to_all", None, "I", "I")
    rule("all_autapses", "all_to_all", None, "A", "A", autapses=True, weight="dist_3D/100")
    rule("one", "one_to_one", None, "A", "B", delay="1 + dist_y/100")
    rules.connections.append(ConnectivityRule(
        "listed", _selector("A"), _selector("B"), ("syn", "syn2"), "from_list",
        pairs=np.array([[3, 4], [0, 19], [3, 4], [7, 7]]), list_weights=np.array([0.5, 2.0, 3.0, 1.5]),
        list_delays=np.array([1.0, 2.0, 3.0, 4.0]), multapses=True))
    rules.connections.append(ConnectivityRule(
        "listed_plain", _selector("B"), _selector("A"), ("syn",), "from_list", pairs=[[0, 1], [5, 2]],
        weight=normal(1, 0.1), delay=1.5))
    rules.connections.append(ConnectivityRule(
        "by_property", CellSelector.make(None, properties={"layer": "L5"}),
        CellSelector.make(["E"], ynorm=(0.2, 0.6), x=(100, 300)), ("syn",), "probability", 0.5,
        placement=Placement(("dendrite_group",))))
    return rules


def _izh(id: str) -> neuroml.Izhikevich2007Cell:
    return neuroml.Izhikevich2007Cell(id=id, v0="-60mV", C="100pF", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
                                      vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV", d="100pA")


def _cortex_builder() -> nmlhub.NetworkBuilder:
    """tests/test_rules.py's builder network."""
    net = nmlhub.NetworkBuilder("cortex", size=(300, 600, 300), seed=11)
    net.add(_izh("rs"))
    net.population("E", cell="rs", density="4e3*(1 - 0.5*ynorm)")
    net.population("I", cell="rs", count=20, ynorm_range=(0.2, 0.8))
    net.connect("E", "I", "ampa", nmlhub.Probability("0.1*exp(-dist_3D/300)"), weight=nmlhub.normal(1, 0.2, low=0),
                delay="1 + dist_3D/500")
    net.connect("I", "E", "gaba", nmlhub.Convergence(5), weight=0.5, delay=1.0)
    net.connect("E", "E", "ampa", nmlhub.Probability(0.05), delay=nmlhub.uniform(1, 3))
    net.connect(None, None, "gaba", nmlhub.AllToAll(), id="by_property",
                pre_conditions={"properties": {"layer": "L5"}}, post_conditions={"ynorm": (0.3, 0.9)})
    net.stimulate("drive", targets="E", probability=0.6, weight="0.8 + 0.4*post_ynorm")
    return net


def _small_builders() -> list[nmlhub.NetworkBuilder]:
    """The rule networks of tests/test_jnml_interop.py, test_plasticity.py and test_counts-like
    divergence and list rules from the builder."""
    interop = nmlhub.NetworkBuilder("interop", size=(100, 200, 100), seed=5)
    interop.population("E", cell="RS", count=6, properties={"color": "1 0 0"})
    interop.population("F", cell="RS", count=4, properties={"color": "0 0 1", "layer": "L5"})
    interop.connect("E", "F", "syn", nmlhub.Probability(0.6), weight=nmlhub.uniform(1.0, 2.0),
                    delay="1 + dist_3D/100")
    interop.stimulate("drive", targets="E")
    pairing = nmlhub.NetworkBuilder("pairing", size=(100, 100, 100), seed=1)
    for k in range(3):
        pairing.population(f"pre{k}", cell=f"src{k}", count=1)
        pairing.population(f"post{k}", cell="post_cell", count=1)
        pairing.connect(f"pre{k}", f"post{k}", "stdp", nmlhub.OneToOne(), weight=1.0, delay=0.025, id=f"pair{k}")
    mixed = nmlhub.NetworkBuilder("mixed", size=(200, 200, 200), seed=4)
    mixed.population("A", cell="RS", count=30, shape="cylinder")
    mixed.population("B", cell="RS", count=12, shape="ellipsoid", y_range=(50, 150))
    mixed.connect("A", "B", ["s1", "s2"], nmlhub.Divergence(3), weight=nmlhub.uniform(0.5, 1.5), delay=2.0)
    mixed.connect("B", "A", "s1", nmlhub.FromList([[0, 0], [1, 5], [11, 29]], weights=[1.0, 2.0, 3.0]),
                  id="listed")
    mixed.connect(["A", "B"], "A", "s2", nmlhub.Probability(0.2, max_distance=120.0), multapses=True,
                  autapses=True, delay="0.5 + dist_2D/200")
    mixed.stimulate("bg", targets=["A", "B"], probability=0.5, weight=nmlhub.normal(1, 0.1), segment=0,
                    fraction=0.3)
    return [interop, pairing, mixed]


def fingerprints() -> dict[str, object]:
    """Every case's fingerprints, by name."""
    out: dict[str, object] = {"layered_cortex example": _layered_cortex(), "every kind": _cases_of(_every_kind()),
                              "cortex builder": _cases_of(_cortex_builder().rules)}
    for net in _small_builders():
        out[f"{net.rules.network_id} builder"] = _cases_of(net.rules)
    return out


def main() -> int:
    found = fingerprints()
    if "--write" in sys.argv:
        STORED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"wrote {STORED}")
        return 0
    stored = json.loads(STORED.read_text())
    differences = [name for name in sorted(set(found) | set(stored)) if found.get(name) != stored.get(name)]
    print("same" if not differences else f"different: {', '.join(differences)}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
