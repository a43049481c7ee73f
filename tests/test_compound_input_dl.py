"""compoundInputDL: the dimensionless sum of a pulse, a sine and a ramp on an izhikevichCell,
against jLEMS's output (tests/data/validate/compound_input_dl.dat, make_jlems_outputs.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "validate"
MODEL = DATA / "LEMS_compound_input_dl.xml"
COLUMNS = ["v_compound", "U_compound", "I_compound", "I_sine", "v_apart"]
#: The file's digits: v in volts to 8 decimals, U and I to 7 significant digits.
TOLERANCE = {"v_compound": (0, 1e-8), "v_apart": (0, 1e-8), "U_compound": (1e-6, 1e-6), "I_compound": (1e-6, 1e-6)}


def test_a_compound_input_dl_drives_its_cell_as_in_jlems(tmp_path):
    """v, U and the summed I of the compound cell equal jLEMS's at every sample (spikes, resets and
    the sine's and ramp's edges included), and equal those of a cell given the same three inputs
    apart. The sine child's own recorded I is not compared: nmlhub records an input's current at
    the sample starting the step it drives, jLEMS at the sample ending it (a sample later; a plain
    pulseGenerator's i too), while the sum and the cells agree."""
    from nmlhub.cli import main

    shutil.copy(MODEL, tmp_path)
    assert main(["run", str(tmp_path / MODEL.name)]) == 0
    ours, jlems = np.loadtxt(tmp_path / "compound_input_dl.dat"), np.loadtxt(DATA / "compound_input_dl.dat")
    assert ours.shape == jlems.shape == (12001, 1 + len(COLUMNS))
    v = jlems[:, 1 + COLUMNS.index("v_compound")]
    assert np.sum(np.diff(v) < -0.05) >= 5  # the reference spikes (resets to c = -50 mV)
    assert np.ptp(jlems[:, 1 + COLUMNS.index("I_compound")]) > 10  # the three children add up
    for name, (rtol, atol) in TOLERANCE.items():
        k = 1 + COLUMNS.index(name)
        differ = np.flatnonzero(~np.isclose(ours[:, k], jlems[:, k], rtol=rtol, atol=atol))
        assert differ.size == 0, f"{name}: {differ.size} samples differ, first at sample {differ[:1]}"
    np.testing.assert_allclose(ours[:, 1], ours[:, 5], atol=1e-12)
