"""Run one LEMS file with nmlhub and store everything recorded (used by the conformance suite).

Usage: python run_nmlhub.py LEMS_FILE OUT_DIR [STEP_DIVISOR]
Writes the simulation's output files under OUT_DIR and OUT_DIR/nmlhub_results.npz with
``time_ms``, ``trace:<quantity>`` (SI) and ``spikes:<population>/<id>`` (ms).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from nmlhub.model import load
from nmlhub.neuron.simulation import NeuronSimulation


def main() -> None:
    lems, out = Path(sys.argv[1]), Path(sys.argv[2])
    model = load(lems)
    divisor = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    sim = NeuronSimulation(model, dt_ms=model.simulation.step_ms / divisor)
    results = sim.run()
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"time_ms": results.time_ms}
    arrays.update({f"trace:{k}": v for k, v in results.traces.items()})
    arrays.update({f"spikes:{p}/{i}": v for (p, i), v in results.spikes.items()})
    np.savez_compressed(out / "nmlhub_results.npz", **arrays)
    relative = [o for o in sim.settings.outputs + sim.settings.event_outputs
                if not Path(o.file_name).is_absolute()]
    if len(relative) == len(sim.settings.outputs) + len(sim.settings.event_outputs):
        sim.write_outputs(results, out)


if __name__ == "__main__":
    main()
