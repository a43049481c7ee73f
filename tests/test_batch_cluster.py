"""Batch runs on a real SLURM (job arrays, a job per run, a cancelled job) and PBS job scripts
submitted through Torque's ``qsub``/``qstat`` (SLURM's Torque wrappers).

Skipped, with the reason, when no SLURM answers; CI starts one (``.ci/slurm_setup.sh``) and sets
``NMLHUB_REQUIRE_SLURM=1``, which turns the skip into a failure."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nmlhub.batch import Batch, executor_for, run_batch, spec_from_dict

REPO = Path(__file__).resolve().parents[1]
LEMS = REPO / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"
HELPERS = Path(__file__).resolve().parent / "batch_helpers.py"


def _slurm_problem() -> str | None:
    """Why no SLURM can run jobs here (None when one can)."""
    for tool in ("sbatch", "squeue", "sinfo", "scancel", "scontrol"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
    if ping.returncode != 0 or "UP" not in ping.stdout:  # answers at once; sinfo retries for 10 s
        return f"no SLURM controller up (scontrol ping: {(ping.stdout + ping.stderr).strip().splitlines()[0:1]})"
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 20 s"
    states = out.stdout.split()
    if out.returncode != 0 or not any(s.rstrip("*") in ("idle", "mixed", "allocated") for s in states):
        return f"no SLURM node up (sinfo: {(out.stdout + out.stderr).strip() or 'nothing'})"
    return None


@pytest.fixture(scope="module")
def slurm() -> None:
    problem = _slurm_problem()
    if problem is None:
        return
    if os.environ.get("NMLHUB_REQUIRE_SLURM") == "1":
        pytest.fail(f"NMLHUB_REQUIRE_SLURM=1 but SLURM is not reachable: {problem}")
    pytest.skip(f"no SLURM reachable ({problem}); .ci/slurm_setup.sh starts one")


@pytest.fixture(scope="module")
def pbs(slurm: None) -> None:
    if shutil.which("qsub") is None or shutil.which("qstat") is None:
        message = "qsub/qstat not found (Debian: slurm-wlm-torque)"
        if os.environ.get("NMLHUB_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)


def small_spec(amplitudes: list, timeout_s: float = 120, metric: str | None = None):
    metrics: list = ["spike_count"]
    if metric:
        metrics.append({"name": "misbehave", "function": f"{HELPERS}:{metric}"})
    return spec_from_dict({"name": "cluster", "model": str(LEMS), "parameters": {"drive_E.amplitude": amplitudes},
                           "simulation": {"duration_ms": 50}, "metrics": metrics, "timeout_s": timeout_s})


def test_slurm_job_array_runs_a_batch_to_completion(slurm: None, tmp_path: Path) -> None:
    executor = executor_for("slurm", mode="array", poll_s=0.5, max_wait_s=180)
    batch, index = run_batch(small_spec([60, 100, 140]), executor, folder=tmp_path / "b")
    assert list(index.status) == ["done"] * 3, list(index.error)
    assert list(index.metrics["spike_count"]) == sorted(index.metrics["spike_count"])
    jobs = batch.jobs()
    assert len(jobs) == 1 and jobs[0]["executor"] == "slurm" and len(jobs[0]["runs"]) == 3
    script = Path(jobs[0]["script"]).read_text()
    assert "#SBATCH --array=0-2" in script and f"{sys.executable} -m nmlhub.batch run-one" in script
    assert "#SBATCH --time=00:04:00" in script  # the runs' 120 s, plus a margin, in minutes
    for run in batch.runs:
        assert "done in" in (run / "log.txt").read_text()


def test_slurm_job_per_run_and_a_cancelled_job_is_recorded(slurm: None, tmp_path: Path) -> None:
    folder = tmp_path / "b"
    cancelled = []

    def cancel_the_hanging_run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs_file = folder / "jobs.json"
            status_file = folder / "runs" / "run_0001" / "status.json"
            if jobs_file.exists() and status_file.exists() and \
                    json.loads(status_file.read_text())["state"] == "running":
                job = json.loads(jobs_file.read_text())["jobs"][1]["id"]
                subprocess.run(["scancel", job], check=True)
                cancelled.append(job)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=cancel_the_hanging_run)
    killer.start()
    executor = executor_for("slurm", mode="per-run", poll_s=0.5, max_wait_s=180)
    batch, index = run_batch(small_spec([100, 61], metric="misbehave"), executor, folder=folder)
    killer.join()
    assert cancelled
    assert [job["executor"] for job in batch.jobs()] == ["slurm", "slurm"]
    assert index.status[0] == "done"
    assert index.status[1] == "failed" and "terminated by SIGTERM" in index.error[1]


def test_pbs_scripts_through_qsub_and_batch_status(pbs: None, tmp_path: Path) -> None:
    spec = tmp_path / "pbs.yaml"
    spec.write_text(f"name: pbs\nmodel: {LEMS}\nparameters:\n  drive_E.amplitude: [80, 120]\n"
                    "simulation: {duration_ms: 50}\nmetrics: [rate]\ntimeout_s: 300\n")
    out = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "run", str(spec), "--executor", "pbs",
                          "--no-wait"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("submitted pbs job") == 2
    folder = tmp_path / "pbs"
    script = (folder / "jobs" / "run_0000.pbs").read_text()
    assert "#PBS -l walltime=00:07:00" in script and "#PBS -N nmlhub-run_0000" in script
    deadline = time.monotonic() + 180
    while True:
        status = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "status", str(folder), "--json"],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        if report["counts"]["done"] + report["counts"]["failed"] == 2 and report["queued_jobs"]["pbs"] == 0:
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.5)
    assert report["counts"]["done"] == 2, report
    with open(folder / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["done", "done"] and float(rows[1]["rate"]) > float(rows[0]["rate"])
    assert [job["executor"] for job in Batch.open(folder).jobs()] == ["pbs", "pbs"]
