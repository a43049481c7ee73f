#!/usr/bin/env python
"""Make the pulse-clock references (run by hand, never by pytest).

    python tests/data/pulse_clock/make_references.py [STEM ...]   (default: every model)

The models (written by hand, dt 0.005 ms, 3 ms):

- ``LEMS_pulse_clock.xml`` / ``pulse_clock.net.nml``: six passive one-compartment cells at rest
  (leak reversal = initial v, so v leaves -65 mV only when an input drives it), driven by a
  pulseGenerator starting on the step grid (1 ms), 0.4 of a step after it (1.002 ms) and 0.8 of a
  step after it (1.004 ms), and by a sineGenerator, a rampGenerator and a voltageClamp from
  1.004 ms; every input lasts 1 ms.
- ``LEMS_pulse_clock_2c.xml`` / ``pulse_clock_2c.net.nml``: the same with a two-compartment cell
  (soma and dendrite), which jLEMS refuses; its soma is recorded.
- ``LEMS_pulse_clock_hh.xml`` / ``pulse_clock_hh.net.nml``: NeuroML2-core Ex25's soma alone (its
  Hodgkin-Huxley channels, leak reversal -54.3 mV, initial -65 mV) with a pulse at 1 ms.
- ``LEMS_pulse_clock_hh_rates.xml``: the same soma with the sodium gate ``m``, its two rates and
  the sodium density's current recorded (jLEMS only: where its gates read v, "hh_soma_lag").
- ``LEMS_gate_forms.xml`` / ``gate_forms.net.nml``: one such soma per form of gate (a leak and one
  potassium-like channel whose only gate has that form), a 0.05 nA pulse at 1 ms (jLEMS only:
  which lag of v each form reads, "hh_soma_lag").
- ``LEMS_ex25_zero_delay.xml`` / ``ex25_zero_delay.net.nml``: Ex25's connection without delay on
  its own: that soma, spiking once, drives Ex25's AMPA synapse on a passive cell at rest.

Each LEMS file runs in a scratch copy of this folder with jLEMS (``jnml FILE -nogui``; not the
two-compartment one) and with pyNeuroML's NEURON export (``jnml FILE -neuron -nogui``, then
``nrnivmodl`` and ``python FILE_nrn.py -nogui``, as tests/conformance/three_engines.py runs it).
Their trace files are stored as ``jlems_<name>.npz`` and ``export_<name>.npz``: ``traces`` (the
file's table: time in s, then one column per OutputColumn, SI) and ``jnml_version``.
tests/test_pulse_clock.py compares nmlhub with them and pins the step at which each engine's
input first and last acts (tests/conformance/event_timing.md, "Pulse clock").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: LEMS file stem -> (its trace file, whether jLEMS runs it)
MODELS = {
    "pulse_clock": ("pulse_clock.v.dat", True),
    "pulse_clock_2c": ("pulse_clock_2c.v.dat", False),
    "pulse_clock_hh": ("pulse_clock_hh.v.dat", True),
    "ex25_zero_delay": ("ex25_zero_delay.v.dat", True),
    "pulse_clock_hh_rates": ("pulse_clock_hh_rates.v.dat", True),
    "gate_forms": ("gate_forms.v.dat", True),
}
#: models whose only reference is jLEMS's (what jLEMS's own components read)
JLEMS_ONLY = {"pulse_clock_hh_rates", "gate_forms"}


def jnml() -> str:
    beside = Path(sys.executable).parent / "jnml"
    return str(beside) if beside.is_file() else "jnml"


def jnml_version() -> str:
    text = subprocess.run([jnml(), "-v"], capture_output=True, text=True, timeout=300).stdout
    return next((line.strip() for line in text.splitlines() if "jNeuroML v" in line), "")


def run_engine(stem: str, trace_file: str, export: bool) -> np.ndarray:
    """The trace table of LEMS_<stem>.xml from jLEMS or (``export``) the NEURON export."""
    with tempfile.TemporaryDirectory(prefix="pulse-clock-") as scratch:
        folder = Path(scratch)
        for path in HERE.iterdir():
            if path.suffix in (".xml", ".nml"):
                shutil.copy(path, folder / path.name)
        lems = f"LEMS_{stem}.xml"
        commands = ([[jnml(), lems, "-neuron", "-nogui"], ["nrnivmodl"],
                     [sys.executable, f"LEMS_{stem}_nrn.py", "-nogui"]]
                    if export else [[jnml(), lems, "-nogui"]])
        for command in commands:
            subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=1800)
        return np.loadtxt(folder / trace_file, ndmin=2)


def main() -> None:
    version = jnml_version()
    chosen = sys.argv[1:] or list(MODELS)
    for stem, (trace_file, jlems_runs) in ((stem, MODELS[stem]) for stem in chosen):
        engines = (("jlems", False), ("export", True)) if jlems_runs else (("export", True),)
        engines = engines[:1] if stem in JLEMS_ONLY else engines
        for engine, export in engines:
            table = run_engine(stem, trace_file, export)
            np.savez_compressed(HERE / f"{engine}_{stem}.npz", traces=table, jnml_version=np.array(version))
            print(f"{engine}_{stem}.npz: {table.shape[0]} samples x {table.shape[1] - 1} columns ({version})")


if __name__ == "__main__":
    main()
