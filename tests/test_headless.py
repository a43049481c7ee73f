"""NEURON imported by nmlhub on a machine without a display prints no "no DISPLAY" warning, and
nothing else NEURON prints is hidden (``nmlhub/neuron/headless.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nmlhub.neuron.headless import without_gui

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples" / "hh_single"
WARNING = "no DISPLAY environment variable"
# a hoc error NEURON itself prints on stderr, to show its messages still come through
HOC_ERROR = "from neuron import h; h('nmlhub_undefined_name_x()')"


def _python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "NEURON_MODULE_OPTIONS")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**environ, **env}, cwd=EXAMPLES)
    return proc.stdout + proc.stderr


def test_neuron_alone_warns_without_display():
    """The warning this module is about: NEURON imported on its own, with no DISPLAY, prints it."""
    assert WARNING in _python("from neuron import h")


def test_nmlhub_silences_the_warning_and_keeps_other_messages():
    output = _python("import nmlhub.neuron.simulation; " + HOC_ERROR)
    assert WARNING not in output
    assert "nmlhub_undefined_name_x" in output  # NEURON's own error message, not hidden


def test_nmlhub_run_prints_no_display_warning(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "NEURON_MODULE_OPTIONS")}
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", "LEMS_hh_single.xml", "--duration", "5",
                           "--outdir", str(tmp_path), "--no-progress"],
                          capture_output=True, text=True, timeout=300, env=environ, cwd=EXAMPLES)
    assert proc.returncode == 0, proc.stderr
    assert WARNING not in proc.stdout + proc.stderr


def test_options_are_kept_and_a_display_leaves_them_alone():
    environ = {"NEURON_MODULE_OPTIONS": "-NSTACK 100000"}
    without_gui(environ)
    assert environ["NEURON_MODULE_OPTIONS"].split() == ["-nogui", "-NSTACK", "100000"]
    without_gui(environ)  # once only
    assert environ["NEURON_MODULE_OPTIONS"].split().count("-nogui") == 1
    shown = {"DISPLAY": ":0"}
    without_gui(shown)
    assert "NEURON_MODULE_OPTIONS" not in shown
