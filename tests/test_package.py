"""Packaging: the public API, and converters installed only as nmlhub.converters."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path


def test_converters_is_a_subpackage_only():
    # Run outside the checkout so that only what is installed can be imported.
    code = ("import importlib, importlib.util; importlib.import_module('nmlhub.converters'); "
            "print(importlib.util.find_spec('converters'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


def test_import_has_no_side_effects():
    code = ("import sys, logging; before = set(sys.modules); import nmlhub; "
            "assert logging.getLogger().handlers == []; "
            "assert 'neuron' not in sys.modules and 'matplotlib' not in sys.modules; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_public_api():
    import nmlhub

    assert set(nmlhub.__all__) >= {"load", "Model", "NmlhubError", "UnitRegistry"}
    for name in nmlhub.__all__:
        assert getattr(nmlhub, name) is not None


def test_console_script():
    script = Path(sys.executable).parent / "nmlhub"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("nmlhub ")
