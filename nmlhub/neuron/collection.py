"""Python's cyclic garbage collector kept out of a NEURON run.

NEURON objects of an earlier simulation that sit in reference cycles are freed whenever the
collector next runs. If that is between two steps of a later run (started by the allocations of
the run's per-step Python callbacks), sections are deleted in the middle of the run, and NEURON
has aborted the process there (in ``vec2numpy``, sampling an LFP). So a run collects first, at a
safe point, and the collector is paused until it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collected_first_then_paused() -> Iterator[None]:
    """Collect garbage now, then pause the cyclic collector until the block ends (restored as it
    was, even on an error)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
