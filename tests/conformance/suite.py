"""Run every conformance case (two at a time) and collect the results."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from compare import CaseResult, extract_jar, index, run_case

#: Cases nmlhub does not run yet, with the reason; everything else must pass.
NOT_YET_SUPPORTED = {
    "Ex23_Spiketimes": "random inputs: the counts are one draw's; jLEMS with any of 8 other seeds fails the same "
                       "25% count check against its own seed-123 counts, and nmlhub's counts over those seeds "
                       "agree with jLEMS's within their standard errors (docs/conformance.md, Ex23_Spiketimes)",
    "osb_Gran_GranuleCell": "matches until the first spikes, then drifts: jLEMS's gates see the membrane potential two steps late (its hierarchy lag: checked by integrating a gate from jLEMS's own v), so its spikes drift from the converged solution; jLEMS's "
                            "inter-spike interval falls from 29.1 ms (10 us step) to 25.2 ms (1 us) "
                            "toward nmlhub's 25.0 ms",
    "osb_Gran_GranuleCell_LowDt": "as osb_Gran_GranuleCell: matches until the first spikes, then jLEMS's "
                                  "spike times drift (its gates see v two steps late)",
    "osb_OB_OlfactoryTest_35": "matches for 38% of the run, then spike times drift: jLEMS's step error; the three "
                               "engines converge to the same spikes, jLEMS's 4th 4.5 ms from them at the file's step, "
                               "nmlhub's 1.7 ms (docs/conformance.md, osb_OB_OlfactoryTest_35)",
    "osb_PR2_Figure2": "the two-compartment Pinsky-Rinzel LEMS cell: both engines take forward Euler steps of "
                       "the same equations and converge to the same spike times, jLEMS with ten times nmlhub's "
                       "error at the file's step, so the traces part after the first bursts (docs/conformance.md, "
                       "PinskyRinzel two-compartment cell, Figure 2)",
    "osb_ACnet2_ACnet2": "matches for 18% of the run, then spike times drift: jLEMS's gates see the membrane potential two steps late (its hierarchy lag: checked by integrating a gate from jLEMS's own v), so its spikes drift from the converged solution",
    "osb_ACnet2_ACnet2_LowDt": "matches (0.09% error) for 29% of the run, then spike times drift: jLEMS's gates see the membrane potential two steps late (its hierarchy lag: checked by integrating a gate from jLEMS's own v), so its spikes drift from the converged solution",
}


def run_all(jobs: int = 2, cases: list[str] | None = None) -> dict[str, CaseResult]:
    """Run the cases (all by default) and return their results by case id."""
    entries = index()
    selected = cases or list(entries)
    # the cases' outputs (about 1.2 GB for all of them) are gone once compared
    with tempfile.TemporaryDirectory(prefix="nmlhub-jar-") as jar, \
            tempfile.TemporaryDirectory(prefix="nmlhub-conformance-") as scratch:
        jar_root, workdir = extract_jar(Path(jar)), Path(scratch)

        def one(case: str) -> CaseResult:
            try:
                return run_case(case, entries[case], jar_root, workdir)
            except Exception as exc:  # a crash of the comparison itself is a result too
                return CaseResult(case, "error", f"{type(exc).__name__}: {exc}")

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return dict(zip(selected, pool.map(one, selected)))
