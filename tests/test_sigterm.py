"""A serial run stopped by SIGTERM without --write-every writes its outputs up to where it got,
each file whole (issue 19's leftover): a real signal to a real ``nmlhub run`` process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import nmlhub

from test_adversarial import write_model


def _mechanisms_loaded(pid: int) -> bool:
    """The model's compiled mechanisms are mapped into the process: NEURON has been imported
    (a SIGTERM while it initialises ends the process at once) and the run is being built, with
    ``nmlhub run``'s SIGTERM handler installed."""
    try:
        return "libnrnmech.so" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_sigterm_writes_the_outputs_of_the_run_so_far(tmp_path):
    lems = write_model(tmp_path)
    lems.write_text(lems.read_text().replace("<EventOutputFile", """<OutputFile id="v" fileName="tiny.v.dat">
            <OutputColumn id="a0" quantity="A[0]/v"/><OutputColumn id="b1" quantity="B[1]/v"/>
        </OutputFile>
        <EventOutputFile""", 1))
    proc = subprocess.Popen([sys.executable, "-m", "nmlhub", "run", str(lems), "--duration", "400000",
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _mechanisms_loaded(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM)" in err and "the outputs hold the run up to" in err, err
    reached = float(err.split("the outputs hold the run up to ")[1].split(" ")[0])
    assert 0 < reached < 400000
    written = [Path(line.removeprefix("wrote ")) for line in out.splitlines() if line.startswith("wrote ")]
    assert written and all(p.exists() for p in written)
    assert not list(tmp_path.glob("*.tmp*"))
    # the same model run for as long gives the same traces and spikes
    full = nmlhub.simulate(lems, duration_ms=reached)
    kept = np.loadtxt(tmp_path / "tiny.v.dat")
    np.testing.assert_allclose(kept[:, 0] * 1e3, full.time_ms, atol=1e-9)
    np.testing.assert_allclose(kept[:, 1], full.traces["A[0]/v"], rtol=1e-8, atol=0)  # the files hold 10 digits
    np.testing.assert_allclose(kept[:, 2], full.traces["B[1]/v"], rtol=1e-8, atol=0)  # the files hold 10 digits
    events = np.loadtxt(tmp_path / "tiny.spikes", ndmin=2)
    expected = sorted((t * 1e-3, k) for k, key in enumerate([("A", 0), ("B", 1)]) for t in full.spikes[key])
    assert len(events) == len(expected) > 0
    np.testing.assert_allclose(events[:, 0], [t for t, _ in expected], atol=1e-12)
