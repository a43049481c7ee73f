"""Recording anything: ``nmlhub run --record PATH --record-every MS`` and its path patterns."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from nmlhub.cli import _parser, main, run_options
from nmlhub.model.paths import QuantityPathError
from nmlhub.neuron.options import RunOptions
from nmlhub.model.record_paths import expand_record_paths
from nmlhub.neuron.record_request import sample_steps

EXAMPLE = Path(__file__).resolve().parents[1] / "nml_examples" / "izh_network"
POPULATIONS = {"E": ("pyr", list(range(5))), "I": ("bask", [0, 3, 7])}


def test_patterns_expand_to_one_path_per_cell():
    assert expand_record_paths(["E/*/v"], POPULATIONS) == [f"E[{i}]/v" for i in range(5)]
    assert expand_record_paths(["E/0-2,4/soma_0/na/m/q", "E[1]/v"], POPULATIONS) == \
        ["E[0]/soma_0/na/m/q", "E[1]/soma_0/na/m/q", "E[2]/soma_0/na/m/q", "E[4]/soma_0/na/m/q", "E[1]/v"]
    # the population's cell component may follow the index (a populationList's form); ids as listed
    assert expand_record_paths(["I/*/bask/syn/g", "I/3/v", "I[3]/v"], POPULATIONS) == \
        ["I[0]/syn/g", "I[3]/syn/g", "I[7]/syn/g", "I[3]/v"]


@pytest.mark.parametrize("pattern, words", [
    ("X/0/v", "no population 'X' in the network (populations: E, I)"),
    ("E/5/v", "no cell 5 in population of 5 cells (ids 0-4)"),
    ("I/1/v", "no cell 1 in population of 3 cells (ids 0, 3, 7)"),
    ("E/3-1/v", "range 3-1 runs backwards"),
    ("E/a/v", "'a' is not a cell index"),
    ("E/0", "names cells but no quantity"),
    ("E", "is not a quantity path"),
])
def test_a_bad_pattern_is_one_line_naming_it(pattern, words):
    with pytest.raises(QuantityPathError, match=re.escape(words)) as error:
        expand_record_paths([pattern], POPULATIONS)
    assert pattern in str(error.value) and "\n" not in str(error.value)


def test_sampling_interval_must_be_a_multiple_of_the_step():
    assert sample_steps("every", None, 0.025) == 1
    assert sample_steps("every", 0.1, 0.025) == 4
    for bad in (0.03, 0.01, -1.0):
        with pytest.raises(Exception, match="must be a positive multiple of the time step"):
            sample_steps("every", bad, 0.025)


def test_the_command_line_gives_record_options():
    args = _parser().parse_args(["run", "x.xml", "--record", "E/*/v", "--record", "E/0/syn/g",
                                 "--record-every", "0.1"])
    assert run_options(args) == RunOptions(record=("E/*/v", "E/0/syn/g"), record_every_ms=0.1)


@pytest.fixture
def example(tmp_path):
    folder = tmp_path / "izh"
    shutil.copytree(EXAMPLE, folder)
    return folder / "LEMS_izh_network.xml"


def _dat(path: Path) -> np.ndarray:
    return np.loadtxt(path, ndmin=2)


def test_recorded_quantities_are_written_like_the_files_own_outputs(example, capsys):
    # The LEMS file records Exc/0..2 v every step; --record adds every Exc cell's v, a synaptic
    # conductance and a state of an Izhikevich cell, sampled every 0.1 ms (4 steps).
    status = main(["run", str(example), "--duration", "60", "--no-progress", "--record", "Exc/*/RS/v",
                   "--record", "Exc/0/syn_exc/g", "--record", "Inh/1/u", "--record-every", "0.1",
                   "--output", str(example.parent / "run.h5")])
    assert status == 0, capsys.readouterr().err
    folder = example.parent
    recorded = _dat(folder / "izh_network.recorded.dat")
    own = _dat(folder / "izh_network.v.dat")
    assert recorded.shape == (601, 1 + 40 + 2)
    np.testing.assert_allclose(recorded[:, 0], np.arange(601) * 1e-4, atol=1e-12)  # s, every 0.1 ms
    np.testing.assert_array_equal(own[:, 0], recorded[:, 0])  # the file's own outputs too
    np.testing.assert_array_equal(own[:, 1:4], recorded[:, 1:4])  # Exc/0..2/RS/v, the same values
    conductance = recorded[:, 41]
    assert np.all(np.isfinite(conductance)) and conductance.min() >= 0  # its values: test_record_jlems.py
    from nmlhub.converters import load

    results = load(folder / "run.h5")
    assert list(results.traces)[-3:] == ["Exc[39]/v", "Exc[0]/syn_exc/g", "Inh[1]/u"]
    np.testing.assert_array_equal(results.traces["Exc[0]/syn_exc/g"], conductance)


@pytest.mark.parametrize("path, words", [
    ("Exc/0/syn_e/g", "has no syn_e attached (attached: syn_exc"),
    ("Exc/0/syn_exc/gg", "has no variable 'gg' (variables: A, B"),
    ("Exc/40/v", "no cell 40 in population of 40 cells"),
])
def test_a_bad_recorded_path_stops_the_run_in_one_line(example, capsys, path, words):
    assert main(["run", str(example), "--duration", "1", "--no-progress", "--record", path]) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and path.split("/")[0] in err and "\n" not in err
    assert not (example.parent / "izh_network.recorded.dat").exists()


def test_simulate_takes_record_options(example):
    import nmlhub

    results = nmlhub.simulate(example, duration_ms=10, record=["Inh/*/u", "Exc/0/syn_exc/g"], record_every_ms=0.5)
    np.testing.assert_allclose(results.time_ms, np.arange(21) * 0.5, atol=1e-9)
    assert [p for p in results.traces if "/" not in p.split("[")[0]] == \
        ["Inh[0]/u", "Inh[1]/u", "Inh[2]/u", "Inh[3]/u", "Inh[4]/u", "Inh[5]/u", "Inh[6]/u", "Inh[7]/u",
         "Inh[8]/u", "Inh[9]/u", "Exc[0]/syn_exc/g"]
    with pytest.raises(nmlhub.NmlhubError, match="record takes a list of paths, not the string"):
        nmlhub.simulate(example, duration_ms=1, record="Inh/*/u")
