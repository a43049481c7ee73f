"""The stored sections of docs/conformance.md: each section's rows in a dated JSON file beside
this module (``report_<section>.json``), with the date, commit and branch it was measured at, so
a section can be re-measured alone when its code changes (``make_report.py --only SECTION``).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SECTIONS = ("jlems", "omv", "export")


def store_path(section: str) -> Path:
    """Where a section's rows are kept."""
    return HERE / f"report_{section}.json"


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def provenance(command: str) -> dict:
    """When, at which commit and on which branch a section is measured (``dirty``: the checkout
    had uncommitted changes to tracked files other than the stores)."""
    changed = [line[3:] for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {"measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": any(not name.startswith("tests/conformance/report_") and name != "docs/conformance.md"
                         for name in changed),
            "command": command}


def _finite(value):
    """JSON has no NaN: a NaN float is stored as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_section(section: str, rows: list, measured: dict, **extra) -> Path:
    """Store a section's rows with their provenance (``provenance()`` taken when the measurement
    started), through a temporary file renamed over the old one."""
    path = store_path(section)
    data = {"section": section, **measured, **_finite(extra), "rows": _finite(rows)}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(json.dumps(data, indent=1) + "\n")
    os.replace(temporary, path)
    return path


def update_section(section: str, rows: list[dict], measured: dict, cases: list[str]) -> Path:
    """Replace the stored rows of some cases (rows keyed by ``case``) with new ones, in the stored
    order; each re-measured case's date and commit are kept in ``updated``."""
    data = read_section(section)
    if data is None:
        raise SystemExit(f"no stored section {section} to update: measure it whole first")
    order = list(dict.fromkeys([r["case"] for r in data["rows"]] + [r["case"] for r in rows]))
    fresh = {case: [r for r in rows if r["case"] == case] for case in cases}
    kept = {case: [r for r in data["rows"] if r["case"] == case] for case in order}
    merged = [r for case in order for r in (fresh[case] if case in fresh else kept[case])]
    updated = {**data.get("updated", {}), **{case: {k: measured[k] for k in ("measured", "commit", "branch")}
                                            for case in cases}}
    base = {k: v for k, v in data.items() if k not in ("section", "rows", "updated")}
    return write_section(section, merged, base, updated=updated)


def read_section(section: str) -> dict | None:
    """A stored section, or None when it was never measured."""
    path = store_path(section)
    return json.loads(path.read_text()) if path.is_file() else None


def measured_line(data: dict) -> str:
    """One sentence saying when and where a section was measured."""
    where = f"commit {data['commit']}" + (" with uncommitted changes" if data.get("dirty") else "")
    branch = f" (branch {data['branch']})" if data.get("branch") else ""
    note = f" {data['note']}" if data.get("note") else ""
    since = "; ".join(f"`{case}` on {m['measured']} at commit {m['commit']}" + (f" ({m['branch']})" if m.get("branch") else "")
                      for case, m in data.get("updated", {}).items())
    since = f" Re-measured since, case by case (`--cases`): {since}." if since else ""
    return (f"Measured on {data['measured']} at {where}{branch} with `{data['command']}`; stored in "
            f"`tests/conformance/{store_path(data['section']).name}`.{note}{since}")
