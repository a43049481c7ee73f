"""A run frees earlier simulations' garbage first and keeps Python's cyclic collector out of its
steps (NEURON aborted in vec2numpy when a collection between two steps deleted an earlier run's
sections: seen in CI in tests/test_plot_lfp.py)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import nmlhub
from nmlhub.neuron.collection import collected_first_then_paused

LEMS = Path(__file__).resolve().parents[1] / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_collector_is_paused_inside_and_restored_after():
    assert gc.isenabled()
    with collected_first_then_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collected_first_then_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()


def test_a_run_frees_garbage_in_cycles_before_its_first_step():
    gc.disable()  # so only the run itself can free the cycle
    try:
        cycle = _Cycle()
        alive = weakref.ref(cycle)
        del cycle
        assert alive() is not None
        results = nmlhub.simulate(LEMS, duration_ms=5.0)
        assert alive() is None
        assert not gc.isenabled()  # the run restored the collector as it found it
    finally:
        gc.enable()
    assert results.duration_ms == 5.0
