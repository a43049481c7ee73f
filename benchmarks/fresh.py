"""Run a benchmark step in a fresh Python process, so that its time and peak memory are its own,
and read the ``RESULT_JSON {...}`` line it prints."""

from __future__ import annotations

import json
import subprocess
import sys


def fresh_result(args: list[str]) -> dict | None:
    """The JSON result ``python ARGS...`` prints, or None (its error output shown) if it prints none."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT_JSON ")), None)
    if line is None:
        print(f"{' '.join(args)}: failed\n{proc.stderr[-2000:]}")
        return None
    return json.loads(line[len("RESULT_JSON "):])
