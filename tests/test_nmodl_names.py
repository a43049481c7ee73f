"""LEMS names that NMODL or the C++ it is compiled to would read otherwise are renamed in the
generated mechanism, and the model computes the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import nmlhub.cli

SOURCE = Path(__file__).resolve().parent / "data" / "LEMS_lems_cell_type.xml"

#: Parameters named like C library functions, added to x's equation with weight 0.
LIBRARY_NAMES = ("j1", "yn", "round", "gamma", "cbrt", "trunc", "lgamma")


def _renamed(text: str) -> str:
    """The Hindmarsh-Rose cell with its state w called y (as the model writes it: NMODL then
    declares y0, a Bessel function of C's library) and a decaying state j (j0), and parameters
    named like C library functions that do not change x."""
    text = (text.replace('name="w"', 'name="y"').replace('variable="w"', 'variable="y"')
            .replace('exposure="w"', 'exposure="y"').replace("(w - a", "(y - a").replace("x^2 - w)", "x^2 - y)"))
    extra = "".join(f" + 0*{name}" for name in LIBRARY_NAMES)
    text = text.replace(" - z + I)", f" - z + I{extra} + 0*j)")
    parameters = "".join(f'<Parameter name="{name}" dimension="none"/>' for name in LIBRARY_NAMES)
    text = text.replace('<Parameter name="I" dimension="none"/>', f'<Parameter name="I" dimension="none"/>{parameters}')
    text = text.replace('<StateVariable name="z" dimension="none" exposure="z"/>',
                        '<StateVariable name="z" dimension="none" exposure="z"/>'
                        '<StateVariable name="j" dimension="none"/><TimeDerivative variable="j" value="-j/MSEC"/>')
    values = "".join(f' {name}="{k + 1}"' for k, name in enumerate(LIBRARY_NAMES))
    return text.replace('I="3.25"/>', f'I="3.25"{values}/>')


def test_states_whose_nmodl_initial_value_names_a_c_function_run_as_the_same_model_renamed(tmp_path):
    """A state named y or j (NMODL's y0 and j0 are C's Bessel functions: nrnivmodl's compiler
    refused the mechanism) gives, bit for bit, the trace and spikes of the same model with the
    state called w (which test_osb_front_end compares with jLEMS)."""
    renamed = _renamed(SOURCE.read_text())
    assert 'StateVariable name="y"' in renamed and 'StateVariable name="j"' in renamed
    for name, text in (("original", SOURCE.read_text()), ("renamed", renamed)):
        (tmp_path / name).mkdir()
        (tmp_path / name / SOURCE.name).write_text(text)
        assert nmlhub.cli.main(["run", str(tmp_path / name / SOURCE.name), "--no-progress"]) == 0
    for output in ("hr.dat", "hr.spikes"):
        original, renamed_run = (np.loadtxt(tmp_path / name / output) for name in ("original", "renamed"))
        assert original.size > 100 and np.array_equal(original, renamed_run)
