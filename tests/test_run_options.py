"""Run options: one typed value from the command line, the batch runner and simulate()."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmlhub.batch.runner import run_options as batch_run_options
from nmlhub.cli import _parser, run_options
from nmlhub.neuron.options import RunOptions, SimulationError


def test_the_command_line_gives_its_arguments_as_run_options(tmp_path):
    lems = tmp_path / "LEMS_x.xml"
    args = _parser().parse_args(["run", str(lems), "--duration", "12", "--dt", "0.01", "--seed", "3",
                                 "--share-synapses", "--write-every", "5", "--balance", "--engine",
                                 "coreneuron", "--event-timing", "neuron", "--max-connections", "9"])
    assert run_options(args) == RunOptions(duration_ms=12.0, dt_ms=0.01, seed=3, balance=True,
                                           share_synapses=True, write_every_ms=5.0,
                                           intervals_file=tmp_path / "LEMS_x.intervals.h5", engine="coreneuron",
                                           max_connections=9, event_timing="neuron")
    plain = run_options(_parser().parse_args(["run", str(lems)]))
    assert plain == RunOptions()


def test_a_batch_run_takes_the_run_options_its_configuration_names():
    assert batch_run_options({"params": {}}) == RunOptions()
    assert batch_run_options({"run_options": {"engine": "coreneuron", "share_synapses": True}}) == \
        RunOptions(engine="coreneuron", share_synapses=True)


def test_an_unknown_or_impossible_option_is_named_in_one_line():
    with pytest.raises(SimulationError, match="unknown run option.*enigne"):
        RunOptions().with_values({"enigne": "neuron"})
    for options, words in [(RunOptions(engine="gpu"), "unknown engine 'gpu'"),
                           (RunOptions(event_timing="late"), "unknown event timing 'late'"),
                           (RunOptions(write_every_ms=5), "give both write_every_ms and intervals_file"),
                           (RunOptions(write_every_ms=-1, intervals_file="x.h5"), "must be positive")]:
        with pytest.raises(SimulationError, match=words) as error:
            options.checked(Path("LEMS_x.xml"))
        assert "LEMS_x.xml" in str(error.value) and "\n" not in str(error.value)
