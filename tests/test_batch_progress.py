"""A batch says how far it is while it runs (issue 21): runs done/running/pending/failed, read from
the runs' status files, printed when they change."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from nmlhub.batch import BatchSpec, Parameter
from nmlhub.batch.batch import Batch
from nmlhub.batch.progress import ProgressWatcher, describe
from nmlhub.batch.status import RunStatus, write_status

MODEL = Path(__file__).resolve().parents[1] / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"


def test_watcher_reports_each_change_of_the_runs_states(tmp_path):
    spec = BatchSpec(model=MODEL, parameters=(Parameter("drive_E.amplitude", values=(60, 80, 100)),),
                     duration_ms=20.0)
    reports = []
    watcher = ProgressWatcher(tmp_path / "batch", lambda counts, elapsed: reports.append(dict(counts)))
    assert watcher.poll() is None  # no batch folder yet
    batch = Batch.create(spec, tmp_path / "batch")
    assert watcher.poll() == {"pending": 3, "running": 0, "done": 0, "failed": 0}
    assert watcher.poll() is None  # nothing changed
    write_status(batch.runs[0], RunStatus("running"))
    write_status(batch.runs[1], RunStatus("failed", error="on purpose"))
    assert watcher.poll() == {"pending": 1, "running": 1, "done": 0, "failed": 1}
    write_status(batch.runs[0], RunStatus("done"))
    watcher.poll()
    assert reports[-1] == {"pending": 1, "running": 0, "done": 1, "failed": 1}
    assert len(reports) == 3
    assert describe(reports[-1], 12.4) == "1/3 done, 0 running, 1 pending, 1 failed (12 s)"


def test_batch_run_prints_progress_while_it_waits(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: progress\noutput: {tmp_path / 'out'}\nmodel: {MODEL}\n"
                    "parameters:\n  drive_E.amplitude: [60, 80, 100]\nsimulation: {duration_ms: 20}\n"
                    "metrics: [rate]\nexecutor: {kind: local, jobs: 1}\n")
    done = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "run", str(spec), "--progress-every", "0.2"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = re.findall(r"^out: (\d)/3 done, (\d) running, (\d) pending, (\d) failed \(\d+ s\)$", done.stdout, re.M)
    assert lines, done.stdout
    assert all(sum(map(int, line[:4])) == 3 for line in lines)
    assert int(lines[-1][0]) >= 2  # the last report before the end: the batch was near its end
    assert [int(line[0]) for line in lines] == sorted(int(line[0]) for line in lines)
