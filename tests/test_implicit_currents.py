"""Channel and synapse currents are implicit in v, as NEURON's own mechanisms are (issue 16):
each generated mechanism tells NEURON its current's derivative in v (a CONDUCTANCE hint computed
from the LEMS equations, nmlhub/lems/nmodl_conductance.py), so the membrane step stays stable at
steps longer than the membrane's time constant, where forward Euler in v diverges.

References: finite differences for the derivatives, the analytic steady states of a passive
compartment, and the `.mep` of the MiglioreEtAl14 Mitral cell (which overflowed at 40.46 ms
before this change, docs/conformance.md)."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, requires_corpus
from nmlhub.lems import expr as ex
from nmlhub.lems.nmodl_conductance import chain, derivative, derivative_name
from nmlhub.neuron import mpi

DATA = Path(__file__).resolve().parent / "data" / "implicit_v"

#: Expressions of v (and of a state q held fixed) as channels and synapses write them.
EXPRESSIONS = [
    "g * q^3 * (erev - v)",
    "g * (v - erev) / (1 + exp(-(v + 0.04) / 0.005))",
    "p * v * (ci - co * exp(-2 * v / 0.0256)) / (1 - exp(-2 * v / 0.0256))",  # GHK
    "(v .gt. -0.05) * g * (erev - v) + H(v) * sqrt(v * v + 1e-4)",
    "abs(v) * tanh(v / 0.01) + log(2 + sin(v)) - cos(v) * sinh(v) + cosh(v) ^ 2 + tan(v)",
    "(0.5 + v) ^ (3 + v) + floor(v * 100) + ceil(q)",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_derivative_matches_finite_differences(text):
    expression = ex.parse(text)
    d = derivative(expression, {"v": ex.Num(1.0)})
    env = {"g": 120.0, "q": 0.3, "erev": 0.05, "p": 2e-9, "ci": 5e-5, "co": 2.0}
    for v in (-0.0713, -0.0234, 0.0117, 0.0391):
        h = 1e-7
        finite = (ex.evaluate_float(expression, {**env, "v": v + h})
                  - ex.evaluate_float(expression, {**env, "v": v - h})) / (2 * h)
        assert math.isclose(ex.evaluate_float(d, {**env, "v": v}), finite, rel_tol=1e-5, abs_tol=1e-9)


def test_chain_follows_derived_variables_and_refuses_random():
    derived = [("fopen", ex.parse("m^3 * h")), ("gDensity", ex.parse("gmax * fopen")),
               ("rate", ex.parse("exp(v / 0.01)")), ("iDensity", ex.parse("gDensity * (erev - v)"))]
    steps = chain(derived, "iDensity")
    assert [name for name, _ in steps] == ["iDensity"]  # the gates are states: fixed
    env = {"m": 0.2, "h": 0.6, "gmax": 36.0, "erev": -0.077, "v": -0.06}
    env["gDensity"] = env["gmax"] * env["m"] ** 3 * env["h"]
    assert math.isclose(ex.evaluate_float(steps[0][1], env), -env["gDensity"])
    through = [("x", ex.parse("erev - v")), ("iDensity", ex.parse("gmax * x"))]
    steps = chain(through, "iDensity")
    assert [name for name, _ in steps] == ["x", "iDensity"]
    assert ex.Name(derivative_name("x")) in _names(steps[1][1])
    # not linear in v: an instantaneous gate, a GHK-like flux; random draws
    instantaneous = [("m", ex.parse("1 / (1 + exp(-v / 0.01))")), ("iDensity", ex.parse("gmax * m * (erev - v)"))]
    assert chain(instantaneous, "iDensity") is None
    assert chain([("iDensity", ex.parse("p * v * exp(v / 0.0256)"))], "iDensity") is None
    assert chain([("iDensity", ex.parse("random(1) * (erev - v)"))], "iDensity") is None


def _names(e: ex.Expr) -> set:
    if isinstance(e, ex.Name):
        return {e}
    children = [getattr(e, k) for k in ("left", "right", "operand", "arg", "test", "then", "other") if hasattr(e, k)]
    return set().union(*(_names(c) for c in children)) if children else set()


def test_stiff_membrane_is_stable_and_reaches_its_analytic_steady_states(tmp_path):
    """C/g = 3.3 us at dt = 10 us: forward Euler in v multiplies the error by -2 each step (it
    overflowed from 10.67 ms); with the channel's stiff share taken implicitly, v relaxes without
    overshoot and reaches E + I/G under the pulse, and E after it, to the file's precision."""
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(DATA / "LEMS_stiff_membrane.xml"),
                          "--outdir", str(tmp_path), "--no-progress"], env=mpi.environment(),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    table = np.loadtxt(tmp_path / "stiff_v.dat")
    t_ms, v = table[:, 0] * 1e3, table[:, 1]
    area_cm2 = math.pi * 10e-4 * 10e-4
    g_leak, e_leak = 0.3 * area_cm2, -0.070  # S, V
    expected = np.full_like(v, e_leak)
    pulse = (t_ms > 5) & (t_ms <= 15)
    expected[pulse] = e_leak + 10e-9 / g_leak
    settled = np.ones_like(v, bool)
    for edge in (5.0, 15.0):  # the step relaxes by a factor 0.2 a step (0.5 / (1 + x w), x = 3)
        settled &= ~((t_ms > edge - 1e-9) & (t_ms < edge + 0.2))
    assert np.all(np.isfinite(v)) and v.min() >= e_leak - 1e-7 and v.max() <= expected.max() + 1e-7
    np.testing.assert_allclose(v[settled], expected[settled], rtol=0, atol=2e-7)  # the file keeps 1e-7 V


#: ``nmlhub run`` with every channel explicit in v (the printer finds no current linear in v).
EXPLICIT = ("import runpy, sys; import nmlhub.lems.nmodl_blocks as blocks; blocks.chain = lambda *a: None; "
            "sys.argv = ['nmlhub', *sys.argv[1:]]; runpy.run_module('nmlhub', run_name='__main__')")


def _run(lems: Path, outdir: Path, launcher: list[str]) -> dict[str, bytes]:
    command = [sys.executable, *launcher, "run", str(lems), "--outdir", str(outdir), "--no-progress"]
    run = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


def test_channels_that_allow_an_explicit_step_stay_explicit(tmp_path):
    """Below x = dt g / C = 1/2 for each channel the step is forward Euler, as jLEMS's: the
    Hodgkin-Huxley cell (peak sodium x = 0.36 at its 0.01 ms) writes the same bytes as with
    every channel explicit."""
    lems = Path(__file__).resolve().parents[1] / "nml_examples" / "hh_single" / "LEMS_hh_single.xml"
    implicit = _run(lems, tmp_path / "implicit", ["-m", "nmlhub"])
    explicit = _run(lems, tmp_path / "explicit", ["-c", EXPLICIT])
    assert implicit and implicit == explicit


def _omv_spikes(omt: str, outdir: Path, dt: str | None = None) -> tuple[list, list]:
    """Each experiment of a corpus .omt: (nmlhub's spike times, the .mep's)."""
    from nmlhub.omv.observables import observed_spike_times
    from nmlhub.omv.runner import output_path
    from nmlhub.omv.spec import read_omt

    test = read_omt(CORPUS / omt)
    command = [sys.executable, "-m", "nmlhub", "run", str(test.target), "--outdir", str(outdir), "--no-progress"]
    run = subprocess.run(command + (["--dt", dt] if dt else []), env=mpi.environment(), capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    found = [observed_spike_times(replace(e.observation, path=output_path(e.observation.path, test.target, outdir)))
             for e in test.experiments]
    return found, [np.asarray(e.expected) for e in test.experiments]


@requires_corpus
@pytest.mark.corpus
def test_mitral_cell_is_stable_at_the_files_step_as_the_export(tmp_path):
    """The Mitral cell of MiglioreEtAl14 at its file's step of 0.01 ms (it overflowed at 40.46 ms,
    2 spikes, before any channel was implicit): a multi-compartment cell, so every channel current
    linear in v is implicit, as in jNeuroML's NEURON export that made the .mep: 16 spikes as the
    .mep, each within 0.5 ms of it (measured: 0.41 ms at most; a quarter of the step gives 17,
    the 17th just before the pulse ends, docs/conformance.md)."""
    found, expected = _omv_spikes("MiglioreEtAl14_OlfactoryBulb3D/NeuroML2/MitralCells/.test.MC.spikes.omt", tmp_path)
    assert len(found[0]) == len(expected[0]) == 16
    assert np.max(np.abs(found[0] - expected[0])) < 0.5


@requires_corpus
@pytest.mark.corpus
def test_multi_compartment_cell_steps_as_the_export(tmp_path):
    """NeuroML2-core Ex25 (three 4-compartment cells, HH channels, 0.005 ms): the soma of cell 0
    peaks ever closer to 0 mV; the step decides how many peaks cross it. With the channel
    currents implicit (the export's step) nmlhub gives the .mep's 4 soma spikes and 12 dendrite
    spikes, each one step (0.005 ms) before the .mep's: the pulse starts a step earlier in nmlhub
    (jLEMS's clock). With forward Euler in the currents it gave 12 soma spikes."""
    found, expected = _omv_spikes("NeuroML2-core/LEMSexamples/test/.test.ex25.jnmlnrn.omt", tmp_path)
    for ours, theirs in zip(found[:3], expected[:3]):  # c0_0, c0_2, c0_3: cell 0, soma and dendrites
        assert len(ours) == len(theirs)
        np.testing.assert_allclose(ours, theirs - 0.005, rtol=0, atol=1e-6)
