"""Write docs/conformance.md: every conformance case with pass/fail and its errors.

Usage: python tests/conformance/make_report.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import (COUNT_TOL, DIVERGENCE, MIN_MATCHED, MIN_WINDOW, SPIKE_TOL_MS,  # noqa: E402
                     STOCHASTIC_COUNT_TOL, TRACE_NRMS, index)
from suite import NOT_YET_SUPPORTED, run_all  # noqa: E402


def _omt_section(jobs: int) -> list[str]:
    """The OSB models' own validation tests (.omt/.mep), run with nmlhub."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    import omt

    corpus = HERE.parents[2] / "shared" / "corpus" / "osb"
    if not corpus.is_dir():
        return ["", "## OSB validation tests", "", f"(corpus not found at {corpus})"]
    cases = omt.find_cases(corpus)
    work = Path(tempfile.mkdtemp(prefix="nmlhub-omt-"))

    def one(case):
        try:
            return case, omt.run(case, work, timeout=900), ""
        except Exception as exc:  # reported in the table
            return case, {}, str(exc).replace(str(corpus) + "/", "")[:200]

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(one, cases))
    lines = ["", "## OSB validation tests (.omt/.mep, reference b)", "",
             "Expected spike times from each OSB model's `.mep` file, compared as OSB's validation tool "
             "(omv) does: spike times are the first samples above the threshold, and each must be within "
             "`1e-8 + tolerance * expected` (`numpy.allclose`, rtol = the `.omt`'s tolerance), so a "
             "tolerance of 0 asks for the very same samples as the engine that made the `.mep`.",
             "Reference source: (a) = jLEMS output (table above), (b) = these files.", "",
             "| target | experiment | result | detail |", "|---|---|---|---|"]
    for case, results, error in done:
        if error:
            lines.append(f"| `{case.id}` | | error | {error.replace('|', '/')} |")
        for name, (ok, detail) in results.items():
            lines.append(f"| `{case.id}` | {name} | {'pass' if ok else 'fail'} | {detail} |")
    missing = omt.missing_references(corpus)
    if missing:
        lines += ["", "These `.omt` tests name a `.mep` the corpus snapshot does not hold (it lies in the "
                  "model's NEURON folder, not copied); their models are compared with reference (c) below:", ""]
        lines += [f"- `{target}` (mep `{mep}`)" for target, mep in missing]
    return lines


def _export_section(jobs: int) -> list[str]:
    """Reference (c): jNeuroML's NEURON export, for multi-compartment models."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    import export_compare

    repo, corpus = HERE.parents[1], HERE.parents[2] / "shared" / "corpus" / "osb"
    entries = export_compare.index()
    work = Path(tempfile.mkdtemp(prefix="nmlhub-export-"))

    def one(item):
        case, entry = item
        if entry.get("status") != "ok":
            return case, [], f"no reference: {entry.get('status', '')[:150]}"
        try:
            return case, export_compare.compare_case(case, entry, repo, corpus, work, 1800), ""
        except Exception as exc:  # reported in the table
            return case, [], f"nmlhub: {str(exc)[:200]}"

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(one, entries.items()))
    lines = ["", "## jNeuroML's NEURON export (reference c)", "",
             "Multi-compartment models run with `jnml LEMS -neuron -nogui -run` "
             "(`tests/conformance/make_export_references.py`, stored in `reference_export/`) and with "
             f"nmlhub. Per recorded membrane potential: 0 mV crossings of each, how many of the export's "
             f"spikes nmlhub reproduces within {export_compare.MATCH_MS:g} ms, and the first time they differ. "
             "A second opinion, not a reference nmlhub must match: the export is another translation of "
             "the same model.", "",
             "| case | membrane potential | export spikes | nmlhub spikes | matched | first difference (ms) |",
             "|---|---|---|---|---|---|"]
    for case, rows, error in done:
        if error:
            lines.append(f"| `{case}` | | | | | {error.replace('|', '/')} |")
        for row in rows:
            first = "" if row.first_difference_ms is None else f"{row.first_difference_ms:.1f}"
            lines.append(f"| `{case}` | `{row.column}` | {row.reference_spikes} | {row.our_spikes} | "
                         f"{row.matched} | {first} |")
    return lines


def _without_comment(text: str) -> str:
    """The text of a source file without its leading HTML comment (a note for its editors)."""
    if text.startswith("<!--"):
        text = text[text.index("-->") + 3:].lstrip("\n")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "docs" / "conformance.md")
    args = parser.parse_args()
    results = run_all(args.jobs)
    entries = index()
    passed = sum(r.passed for r in results.values())
    lines = [
        "# Conformance with jNeuroML",
        "",
        f"Generated by `python tests/conformance/make_report.py` on "
        f"{datetime.date.today().isoformat()}: {passed} of {len(results)} cases pass.",
        "",
        "Each case runs a LEMS simulation with `nmlhub` (NEURON) and compares every stored output "
        "column with jNeuroML's own output (`tests/conformance/reference/`, made by "
        "`tests/conformance/make_references.py`; see its README).",
        "",
        "Tolerances: traces pass when the RMS difference (allowing each sample a time shift of up "
        f"to the spike tolerance) is at most {TRACE_NRMS:.0%} of the reference column's range; spikes "
        f"must agree within max({SPIKE_TOL_MS} ms, dt) for at least the first {MIN_MATCHED} "
        f"(counts within {COUNT_TOL:.0%}); models with random inputs compare spike counts within "
        f"{STOCHASTIC_COUNT_TOL:.0%} only. In chaotic models traces are compared until a membrane "
        f"potential first differs by more than {DIVERGENCE:.0%} of its range; that window must cover "
        f"at least {MIN_WINDOW:.0%} of the run (column `window`).",
        "",
        "Reference source of each case: (a) jLEMS output; cases jLEMS refuses (multi-compartment "
        "cells) are marked *skipped* here and compared with (b) the OSB models' own validation files "
        "and (c) jNeuroML's NEURON export in the sections below.",
        "",
        "| case | reference | result | worst trace error (shift-tolerant nRMS) | window | spikes matched | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, result in results.items():
        worst = max((c.shifted_nrms for c in result.columns if c.shifted_nrms == c.shifted_nrms), default=None)
        window = min((c.window for c in result.columns), default=None)
        spikes = ", ".join(f"{s.matched}/{s.reference} ({s.ours})" for s in result.spikes[:3])
        if len(result.spikes) > 3:
            spikes += f", ... ({len(result.spikes)} cells)"
        note = result.message or NOT_YET_SUPPORTED.get(case, "")
        status = result.status
        if status != "passed" and case in NOT_YET_SUPPORTED:
            status = f"not yet ({status})"
        step = entries.get(case, {}).get("reference_step")
        source = "(a) jLEMS" + (f", step {step}" if step else "") if result.status != "skipped" else "(c), see below"
        lines.append(f"| `{case}` | {source} | {status} | {'' if worst is None else f'{worst:.2e}'} | "
                     f"{'' if window is None else f'{window:.0%}'} | {spikes} | {note[:160].replace('|', '/')} |")
    lines += ["", *(HERE / "numerical_schemes.md").read_text().rstrip().splitlines()]
    lines += ["", *(HERE / "event_timing.md").read_text().rstrip().splitlines()]
    lines += _omt_section(args.jobs)
    lines += ["", *_without_comment((HERE / "osb_causes.md").read_text()).rstrip().splitlines()]
    lines += _export_section(args.jobs)
    lines += ["", "## Per column", ""]
    for case, result in results.items():
        if not result.columns:
            continue
        lines += [f"### {case}", "", "| column | RMS (SI) | max error (SI) | nRMS | shift-tolerant nRMS | pass |",
                  "|---|---|---|---|---|---|"]
        for c in result.columns:
            lines.append(f"| `{c.name}` | {c.rms:.3g} | {c.max_error:.3g} | {c.nrms:.3g} | "
                         f"{c.shifted_nrms:.3g} | {'yes' if c.passed else 'no'} |")
        lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}: {passed} of {len(results)} cases pass")
    del entries


if __name__ == "__main__":
    main()
