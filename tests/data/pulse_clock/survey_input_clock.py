#!/usr/bin/env python
"""Run OSB corpus .omt tests with nmlhub and the NEURON export's input clock (run by hand).

    python tests/data/pulse_clock/survey_input_clock.py OMT_LIST [CORPUS]

OMT_LIST holds one .omt path per line (relative to CORPUS, default ../shared/corpus/osb; anything
after the path is ignored). Each target runs once (``nmlhub run TARGET --input-clock neuron``,
four minutes at most, in a scratch folder) and each experiment is compared as omv does;
prints PASS/FAIL per experiment (tests/conformance/event_timing.md, "Pulse clock").
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from nmlhub.omv.observables import compare_spike_times, observed_spike_times
from nmlhub.omv.runner import output_path
from nmlhub.omv.spec import read_omt

REPO = Path(__file__).resolve().parents[3]


def main() -> None:
    corpus = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO.parent / "shared" / "corpus" / "osb"
    with tempfile.TemporaryDirectory(prefix="input-clock-") as scratch:
        _survey(Path(sys.argv[1]), corpus, Path(scratch))


def _survey(listing: Path, corpus: Path, scratch: Path) -> None:
    """Print each listed experiment's result with the NEURON input clock (runs in ``scratch``)."""
    runs: dict[str, tuple[Path, int]] = {}
    for line in listing.read_text().splitlines():
        if not line.strip():
            continue
        omt = line.split()[0]
        test = read_omt(corpus / omt)
        target = str(test.target)
        if target not in runs:
            out = scratch / f"run{len(runs)}"
            command = [sys.executable, "-m", "nmlhub", "run", target, "--outdir", str(out), "--no-progress",
                       "--input-clock", "neuron"]
            runs[target] = (out, subprocess.run(command, capture_output=True, timeout=240, cwd=scratch).returncode)
        out, returncode = runs[target]
        for experiment in test.experiments:
            if returncode or experiment.observable != "spike times" or experiment.observation is None:
                print(f"?    {omt}::{experiment.name} (exit {returncode}, {experiment.observable})")
                continue
            path = output_path(experiment.observation.path, test.target, out)
            found = observed_spike_times(replace(experiment.observation, path=path))
            result = compare_spike_times(found, experiment.expected, experiment.tolerance)
            print(f"{'PASS' if result.passed else 'FAIL'} {omt}::{experiment.name} {result.detail}")


if __name__ == "__main__":
    main()
