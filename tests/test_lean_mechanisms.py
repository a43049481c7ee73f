"""Lean channel densities (nmlhub.lems.nmodl_lean): the derived values only a density's rates read
are LOCAL there on a run that records none of them, with the same numbers as the full mechanism,
and a run that records one gets the full mechanism."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from nmlhub.lems.nmodl_lean import local_candidates
from nmlhub.model import load
from nmlhub.neuron.simulation import NeuronSimulation

EXAMPLE = Path(__file__).resolve().parents[1] / "nml_examples" / "hh_single"
NA = "hhpop/0/hh_cell/biophys/membraneProperties/Na_all/Na"
#: the sodium activation's forward rate: read by nothing but the gate's alpha
FORWARD_RATE = f"{NA}/m/forwardRate/r"


def _run(folder: Path, columns: dict[str, str]):
    """hh_single for 30 ms recording ``columns`` (id -> quantity)."""
    text = (EXAMPLE / "LEMS_hh_single.xml").read_text()
    head, rest = text.split("<OutputFile", 1)
    tail = rest.split("</OutputFile>", 1)[1]
    output = '<OutputFile id="of" fileName="out.dat">\n' + "".join(
        f'<OutputColumn id="{c}" quantity="{q}"/>\n' for c, q in columns.items()) + "</OutputFile>"
    head = head.replace('length="100ms"', 'length="30ms"')
    head = head[:head.index("<Display")] + head[head.rindex("</Display>") + len("</Display>"):]
    lems = folder / "LEMS_lean.xml"
    lems.write_text(head + output + tail)
    simulation = NeuronSimulation(load(lems))
    results = simulation.run()
    na = next(d.mechanism for cm in simulation.mechanisms.values() if cm.biophysics
              for d in cm.biophysics.densities if d.density_id.endswith("Na_all"))
    traces = {c: np.asarray(results.traces[q]) for c, q in columns.items()}
    return na, traces


def _range_names(text: str) -> set[str]:
    return {name.strip() for line in text.splitlines() if line.strip().startswith("RANGE ")
            for name in line.strip()[len("RANGE "):].split(",")}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("lean")
    for path in EXAMPLE.iterdir():
        shutil.copy(path, target)
    return target


def test_a_run_recording_only_states_gets_lean_densities_with_the_same_numbers(folder):
    plain = {"v": "hhpop/0/hh_cell/v", "m": f"{NA}/m/q"}
    lean, lean_traces = _run(folder, plain)
    full, full_traces = _run(folder, {**plain, "r": FORWARD_RATE})
    assert lean.name != full.name
    assert "Na_m_forwardRate_r" not in lean.variables and "Na_m_forwardRate_r" in full.variables
    assert "Na_m_forwardRate_r" not in _range_names(lean.text) and "Na_m_forwardRate_r" in _range_names(full.text)
    assert "LOCAL Na_m_forwardRate_x" in lean.text
    for kept in ("Na_m_q", "Na_m_inf", "Na_m_tau", "gDensity", "iDensity"):
        assert kept in lean.variables
    # the same arithmetic in the same order; the C compiler may round a value kept in a register
    # differently from one stored (measured: at most 2.8e-17 V and 1.1e-16 in m, at 62 of 3001 samples)
    assert np.allclose(lean_traces["v"], full_traces["v"], rtol=0, atol=1e-12)
    assert np.allclose(lean_traces["m"], full_traces["m"], rtol=0, atol=1e-12)
    assert not np.array_equal(lean_traces["v"], np.full_like(lean_traces["v"], lean_traces["v"][0]))  # it spikes
    assert np.all(full_traces["r"] > 0)  # the rate itself, recorded from the full mechanism


def test_a_value_read_before_it_is_computed_stays_a_range_variable():
    lines = ["NEURON {", "    RANGE a, b, c", "}", "ASSIGNED {", "    a", "    b", "    c", "}",
             "BREAKPOINT {", "    i = c", "}", "",
             "PROCEDURE rates_nml() {", "    b = a + 1", "    a = v * 2", "    c = a + b", "}", ""]
    assert local_candidates(lines, ["a", "b", "c"]) == {"b"}
