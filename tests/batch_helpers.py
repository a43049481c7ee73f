"""Metric functions the batch tests use to make runs fail in chosen ways (loaded by file path)."""

from __future__ import annotations

import os
import time


def deliberate(results, context):
    """The spike count, except for one combination of the 2x3 grid, which fails."""
    if context.params.get("RS.a") == 0.03 and context.params.get("drive_E.amplitude") == 100:
        raise ValueError("deliberately failing run (RS.a = 0.03, drive_E.amplitude = 100)")
    return float(results.spike_count())


def misbehave(results, context):
    """By the run's drive amplitude: 61 hangs, 62 exits without a word; anything else is fine."""
    amplitude = context.params.get("drive_E.amplitude")
    if amplitude == 61:
        time.sleep(600)
    elif amplitude == 62:
        os._exit(7)
    return {"ok": 1.0}
