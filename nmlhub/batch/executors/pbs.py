"""PBS/Torque: one job script per run with ``#PBS`` directives, submitted with ``qsub``, polled
with ``qstat`` (a job counts as finished once it has left the queue or shows state C)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .cluster import ClusterExecutor, call, walltime


def _job_key(job_id: str) -> str:
    """``123.server`` and ``123`` name the same job."""
    return job_id.strip().split(".")[0]


@dataclass
class PBSExecutor(ClusterExecutor):
    """Runs as PBS/Torque jobs, one per run (see
    :class:`~nmlhub.batch.executors.cluster.ClusterExecutor` for the options)."""

    mode: str = "per-run"
    name = "pbs"
    modes = ("per-run",)

    def _directives(self, batch: Any, run: Path, output: Path) -> list[str]:
        resources = f"nodes=1:ppn={int(self.cpus)}"
        lines = [f"-N nmlhub-{run.name}", f"-l walltime={walltime(batch.timeout_s)}", f"-l {resources}",
                 f"-o {output}", "-j oe"]
        if self.memory:
            lines.append(f"-l mem={self.memory}")
        if self.queue:
            lines.append(f"-q {self.queue}")
        if self.account:
            lines.append(f"-A {self.account}")
        lines += list(self.directives)
        return [f"#PBS {line}" for line in lines]

    def write_jobs(self, batch: Any, runs: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
        folder = Path(batch.folder) / "jobs"
        folder.mkdir(exist_ok=True)
        jobs = []
        for run in runs:
            script = folder / f"{run.name}.pbs"
            directives = self._directives(batch, run, folder / f"{run.name}.pbs.out")
            script.write_text(self.script_text(directives, self._run_line(shlex.quote(str(run)))))
            jobs.append((script, [run]))
        return jobs

    def submit(self, script: Path, runs: list[Path]) -> str:
        # -o and -j on the command line too: some qsub front ends (SLURM's Torque wrapper) read
        # only those from there.
        out = call(["qsub", "-o", str(script.with_suffix(".pbs.out")), "-j", "oe", str(script)], "submitting to PBS")
        return _job_key(out.strip().splitlines()[-1])

    def queued(self) -> set[str]:
        out = call(["qstat"], "asking PBS for the queue")
        queued = set()
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 5 and fields[0][:1].isdigit() and fields[-2] not in ("C", "F"):
                queued.add(_job_key(fields[0]))
        return queued
