"""Which clock the current inputs with a start and a stop read (pulseGenerator, sineGenerator,
rampGenerator, voltageClamp...): jLEMS's time at the end of each step (default: an input drives
the step ending at or after its delay, as jLEMS), or the middle of NEURON's step (an input
drives the step whose middle is at or after its delay, as pyNeuroML's NEURON export). See
tests/conformance/event_timing.md, "Pulse clock: jLEMS and the NEURON export"."""

from __future__ import annotations

from typing import Any, Iterable

from ..lems.nmodl_names import MIDSTEP

INPUT_CLOCKS = ("jlems", "neuron")


def set_input_clock(inputs: Iterable[Any], clock: str) -> None:
    """Set every input point process that reads a clock in its equations to ``clock``."""
    for point in inputs:
        if hasattr(point, MIDSTEP):
            setattr(point, MIDSTEP, 1.0 if clock == "neuron" else 0.0)
