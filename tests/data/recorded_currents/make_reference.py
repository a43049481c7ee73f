#!/usr/bin/env python
"""Make the jLEMS references of tests/test_recorded_currents.py (run by hand, never by pytest).

    python tests/data/recorded_currents/make_reference.py

Copies this folder to a scratch directory, runs ``jnml FILE -nogui`` there (jLEMS, dt 0.01 ms,
80 ms) for each LEMS file below and stores its OutputFile as an ``.npz``: ``time_s`` and one array
per column (SI units, as jLEMS writes them), plus ``jnml_version`` (the first line ``jnml -v``
prints).

- ``LEMS_currents.xml`` -> ``reference.npz``: ``iaf_v``, ``iaf_iSyn``, ``iaf_iMemb``...: each point
  cell's membrane potential, the sum of its synapses' and inputs' currents and its membrane current;
- ``LEMS_resets.xml`` -> ``reference_resets.npz``: ``izh_v``, ``izh_u``, ``adex_w``, ``first_count``...:
  the variables the spikes of an Izhikevich, an AdEx and an ``emitFirstCell`` (a type of
  ``resets.net.nml`` sending its spike before its state assignments) set; also ``spike_times_s``
  and ``spike_ids`` (the EventOutputFile);
- ``LEMS_graded_t0.xml`` -> ``reference_graded_t0.npz``: ``rA``, ``rB``, ``iSynB``, ``driftB``,
  ``gainB``, ``iFromPeer``: two rate units, B driven by A's rate through a graded synapse (types in
  ``graded_types.xml``), whose current jLEMS records from t = 0;
- ``LEMS_regime_lag.xml`` -> ``reference_regime_lag.npz``: ``ref_v``, ``ref_iSyn``, ``ref_g``,
  ``plain_v``...: an iafRefCell and an iafCell with the same synapse, below threshold.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from lxml import etree

HERE = Path(__file__).resolve().parent
#: LEMS file -> (its OutputFile, its EventOutputFile or None, the reference written)
RUNS = {"LEMS_currents.xml": ("currents.reference.dat", None, "reference.npz"),
        "LEMS_resets.xml": ("resets.reference.dat", "resets.spikes", "reference_resets.npz"),
        "LEMS_graded_t0.xml": ("graded_t0.dat", None, "reference_graded_t0.npz"),
        "LEMS_regime_lag.xml": ("regime_lag.dat", None, "reference_regime_lag.npz")}


def main() -> None:
    version = subprocess.run(["jnml", "-v"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    for name, (output, events, reference) in RUNS.items():
        columns = [c.get("id") for c in etree.parse(str(HERE / name)).getroot().iter("OutputColumn")]
        with tempfile.TemporaryDirectory(prefix="record-jlems-") as tmp:
            work = Path(tmp) / "model"
            shutil.copytree(HERE, work, ignore=shutil.ignore_patterns("*.npz", "*.py"))
            subprocess.run(["jnml", name, "-nogui"], cwd=work, check=True, capture_output=True)
            table = np.loadtxt(work / output, ndmin=2)
            arrays = {column: table[:, k + 1] for k, column in enumerate(columns)}
            if events is not None:
                spikes = np.loadtxt(work / events, ndmin=2)
                arrays.update(spike_times_s=spikes[:, 0], spike_ids=spikes[:, 1].astype(int))
        np.savez_compressed(HERE / reference, time_s=table[:, 0], jnml_version=np.array(version), **arrays)
        print(f"wrote {HERE / reference}: {len(table)} rows, columns {', '.join(columns)} ({version})")


if __name__ == "__main__":
    main()
