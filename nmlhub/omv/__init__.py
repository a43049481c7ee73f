"""OSB model-validation tests (``.test*.omt`` / ``.mep``) run with nmlhub: ``nmlhub omv PATH...``."""

from .observables import compare_rate, compare_spike_times, detect_spikes
from .runner import ExperimentResult, check_tests
from .spec import Experiment, OmtTest, find_omt_files, read_omt

__all__ = ["Experiment", "ExperimentResult", "OmtTest", "check_tests", "compare_rate", "compare_spike_times",
           "detect_spikes", "find_omt_files", "read_omt"]
