"""Small traps a NetPyNE user fell into (issue 21): a probability above 1, simulating a builder,
snake_case batch parameter names checked before the first run, and the command line's help."""

from __future__ import annotations

import subprocess
import sys

import neuroml
import numpy as np
import pytest

import nmlhub
from nmlhub.batch.params import ParameterError, check_parameter_names, model_as_run
from nmlhub.rules.values import RuleError


def _builder(seed: int = 3) -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("traps", size=(100, 100, 100), seed=seed)
    net.add(neuroml.Izhikevich2007Cell(id="rs", C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50mV",
                                       d="100pA"))
    net.add(neuroml.ExpTwoSynapse(id="ampa", gbase="1nS", erev="0mV", tau_rise="0.5ms", tau_decay="5ms"))
    net.add(neuroml.PoissonFiringSynapse(id="bg", average_rate="200Hz", synapse="ampa", spike_target="./ampa"))
    net.population("E", cell="rs", count=5)
    net.connect("E", "E", "ampa", nmlhub.Probability(0.5), weight=1.0, delay=1.0)
    net.stimulate("bg", targets="E", weight=20.0)
    return net


def test_probability_above_one_is_refused_not_clipped():
    net = _builder()
    with pytest.raises(RuleError, match=r"probability 1.5 is not in \[0, 1\]"):
        net.connect("E", "E", "ampa", nmlhub.Probability(1.5))
    with pytest.raises(RuleError, match="can fall outside"):
        net.connect("E", "E", "ampa", nmlhub.Probability(nmlhub.uniform(0.5, 1.5)))
    net.connect("E", "E", "ampa", nmlhub.Probability("2 - dist_3D/1000"), id="too_likely")
    with pytest.raises(RuleError, match="rule 'too_likely': probability '2 - dist_3D/1000' gives .*outside"):
        net.expand()


def test_simulate_takes_a_builder(tmp_path):
    net = _builder()
    with pytest.raises(nmlhub.NmlhubError, match=r"simulate\(NetworkBuilder\) needs duration_ms and dt_ms"):
        nmlhub.simulate(net)
    with pytest.raises(nmlhub.NmlhubError, match="not int"):
        nmlhub.simulate(3)
    direct = nmlhub.simulate(net, duration_ms=200.0, dt_ms=0.025, seed=4)
    saved = nmlhub.simulate(net.save(tmp_path / "traps.net.nml", simulation=dict(duration_ms=200.0, dt_ms=0.025)),
                            seed=4)
    assert direct.spike_count() > 0
    assert set(direct.spikes) == set(saved.spikes)
    for cell, times in saved.spikes.items():
        np.testing.assert_array_equal(direct.spikes[cell], times)


def test_batch_parameters_take_snake_case_and_are_checked_up_front(tmp_path):
    lems = _builder().save(tmp_path / "model" / "traps.net.nml", simulation=dict(duration_ms=50.0, dt_ms=0.025))
    run_lems = model_as_run(lems, tmp_path / "run", {"bg.average_rate": 50})
    model = nmlhub.load(run_lems)
    assert model.units.to_neuron(model.components["bg"].obj.average_rate) == pytest.approx(0.05)  # per ms
    check_parameter_names(lems, ["bg.average_rate", "bg.averageRate", "E_to_E.probability", "E.size",
                                 "simulation.duration"])
    with pytest.raises(ParameterError, match="has no attribute 'averge_rate'"):
        check_parameter_names(lems, ["bg.averge_rate"])
    with pytest.raises(ParameterError, match="no element with id 'bgx'"):
        check_parameter_names(lems, ["bgx.average_rate"])


def test_batch_with_a_misspelt_parameter_stops_before_its_first_run(tmp_path):
    from nmlhub.batch import BatchSpec, Parameter, run_batch

    lems = _builder().save(tmp_path / "model" / "traps.net.nml", simulation=dict(duration_ms=50.0, dt_ms=0.025))
    spec = BatchSpec(model=lems, parameters=(Parameter("bg.average_rat", values=(10, 20)),), duration_ms=50.0)
    with pytest.raises(ParameterError, match="'bg.average_rat'.*has no attribute 'average_rat'"):
        run_batch(spec, folder=tmp_path / "batch")
    assert not (tmp_path / "batch" / "runs").exists()


def test_command_line_help_says_what_nmlhub_does():
    done = subprocess.run([sys.executable, "-m", "nmlhub", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "soon" not in done.stdout
    assert "run in NEURON" in done.stdout and "import-netpyne" in done.stdout
