"""SLURM: a job array for the batch (``sbatch --array``) or one job per run, polled with
``squeue`` (no accounting database needed: each run records its own state in its folder)."""

from __future__ import annotations

import getpass
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .cluster import ClusterExecutor, call, walltime


@dataclass
class SlurmExecutor(ClusterExecutor):
    """Runs as SLURM jobs (see :class:`~nmlhub.batch.executors.cluster.ClusterExecutor` for the options)."""

    name = "slurm"

    def _directives(self, batch: Any, output: str, extra: list[str]) -> list[str]:
        lines = [f"--job-name=nmlhub-{batch.name}", f"--output={output}", f"--time={walltime(batch.timeout_s)}",
                 "--ntasks=1", f"--cpus-per-task={int(self.cpus)}", *extra]
        if self.queue:
            lines.append(f"--partition={self.queue}")
        if self.memory:
            lines.append(f"--mem={self.memory}")
        if self.account:
            lines.append(f"--account={self.account}")
        lines += list(self.directives)
        return [f"#SBATCH {line}" for line in lines]

    def write_jobs(self, batch: Any, runs: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
        folder = Path(batch.folder) / "jobs"
        folder.mkdir(exist_ok=True)
        stamp = len(list(folder.glob("*.sh")))
        if self.mode == "array":
            runs_file = folder / f"array_{stamp:03d}.runs"
            runs_file.write_text("".join(f"{r}\n" for r in runs))
            limit = f"%{int(self.max_parallel)}" if self.max_parallel else ""
            directives = self._directives(batch, str(folder / "slurm-%A_%a.out"), [f"--array=0-{len(runs) - 1}{limit}"])
            pick = f'RUN_DIR=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(str(runs_file))})'
            script = folder / f"array_{stamp:03d}.sh"
            script.write_text(self.script_text(directives, pick + "\n" + self._run_line('"$RUN_DIR"')))
            return [(script, list(runs))]
        jobs = []
        for run in runs:
            directives = self._directives(batch, str(folder / f"slurm-%j-{run.name}.out"), [])
            script = folder / f"{run.name}.sh"
            script.write_text(self.script_text(directives, self._run_line(shlex.quote(str(run)))))
            jobs.append((script, [run]))
        return jobs

    def submit(self, script: Path, runs: list[Path]) -> str:
        out = call(["sbatch", "--parsable", str(script)], "submitting to SLURM")
        return out.strip().split(";")[0]

    def queued(self) -> set[str]:
        out = call(["squeue", "-h", "-u", getpass.getuser(), "-o", "%F"], "asking SLURM for the queue")
        return {line.strip() for line in out.splitlines() if line.strip()}
