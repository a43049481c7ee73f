"""The model and jLEMS reference of tests/test_long_conditions.py's long spikeArray.

Writes ``spike_array_500.nml`` (a spikeArray of 500 spikes at times drawn with a fixed seed,
in ms to three decimals: many fall exactly on the 0.01 ms step grid, where jLEMS's summed clock
decides the step) and ``LEMS_spike_array_500.xml``, runs ``jnml LEMS_spike_array_500.xml -nogui``
in a temporary copy and stores its event file as ``spike_array_500.jlems.spikes``.

Run from the repository root, in its virtualenv (``jnml`` of pyNeuroML, Java 17)::

    python tests/data/long_spike_array/make_reference.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPIKES = 500
SEED = 16


def write_model(folder: Path) -> Path:
    times = np.sort(np.random.default_rng(SEED).uniform(1, 499, SPIKES)).round(3)
    spikes = "\n".join(f'        <spike id="{k}" time="{t:.3f}ms"/>' for k, t in enumerate(times))
    (folder / "spike_array_500.nml").write_text(
        '<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="spike_array_500">\n'
        f'    <spikeArray id="array500">\n{spikes}\n    </spikeArray>\n'
        '    <network id="net">\n        <population id="source" component="array500" size="1"/>\n'
        '    </network>\n</neuroml>\n')
    lems = folder / "LEMS_spike_array_500.xml"
    lems.write_text(
        "<Lems>\n    <!-- written by make_reference.py -->\n    <Target component=\"sim\"/>\n"
        '    <Include file="Cells.xml"/>\n    <Include file="Networks.xml"/>\n'
        '    <Include file="Simulation.xml"/>\n    <Include file="spike_array_500.nml"/>\n'
        '    <Simulation id="sim" length="500ms" step="0.01ms" target="net">\n'
        '        <EventOutputFile id="spikes" fileName="spike_array_500.spikes" format="TIME_ID">\n'
        '            <EventSelection id="0" select="source[0]" eventPort="spike"/>\n'
        "        </EventOutputFile>\n    </Simulation>\n</Lems>\n")
    return lems


def main() -> None:
    write_model(HERE)
    with tempfile.TemporaryDirectory() as tmp:
        lems = write_model(Path(tmp))
        subprocess.run(["jnml", lems.name, "-nogui"], cwd=tmp, check=True, capture_output=True)
        shutil.copy(Path(tmp) / "spike_array_500.spikes", HERE / "spike_array_500.jlems.spikes")


if __name__ == "__main__":
    main()
