"""caConc's step: which step's calcium current each engine's pool reads (issue 16, session 11).

Poirazi2003's test_Ca showed nmlhub's ``caConc`` differing from jLEMS's by a fraction of one
step's increment from the second step on. The smallest model (tests/data/reset_samples/
ca_pool.net.nml: one compartment, a calcium channel without gates whose current follows v, a
decaying pool in one cell and a fixed-factor pool in the other, v moved by a pulse) shows why:
an explicit Euler computation of the pool's own equation here, fed with each engine's own
recorded ``iCa``, gives each engine's ``caConc`` to rounding when it reads the current of the
right step: nmlhub's pool the current of the step it integrates (forward Euler on the whole
system), jLEMS's the current of the step before (a requirement read from its parent's previous
evaluation, as for v), so not a defect of nmlhub (tests/conformance/numerical_schemes.md,
"caConc: the pool's step").
Reference: jLEMS's output (tests/data/reset_samples/reference/ca_pool.dat, made by
make_references.py there).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data" / "reset_samples"
COLUMNS = ["t", "v_decaying", "ca_decaying", "ica_decaying", "v_fixed", "ca_fixed", "ica_fixed"]
# the model's values (ca_pool.net.nml), SI
DT = 2.5e-5
AREA = math.pi * 10e-6 * 10e-6  # the soma's side: diameter 10 um, length 10 um
REST, TAU, SHELL, RHO = 1e-4, 20e-3, 0.1e-6, 50.0
FARADAY, PI_LEMS = 96485.3, 3.14159  # as decayingPoolConcentrationModel writes them


def _shell_volume() -> float:
    """decayingPoolConcentrationModel's shellVolume, written as its DerivedVariables are."""
    radius = math.sqrt(AREA / (4 * PI_LEMS))
    inner = radius - SHELL
    return (4 * (radius * radius * radius) * PI_LEMS / 3) - (4 * (inner * inner * inner) * PI_LEMS / 3)


#: the rate of change of caConc per ampere of calcium current, for each pool
PER_AMPERE = {"decaying": 1 / (2 * FARADAY * _shell_volume()), "fixed": RHO / AREA}


def euler_pool(ica: np.ndarray, pool: str, lag: int) -> np.ndarray:
    """caConc by explicit Euler of the pool's equation. Both engines record at sample k the
    calcium current of the step ending there (computed from the v at its start: checked below);
    the step from sample n to n + 1 reads the current recorded at sample n + 1 - ``lag``: its own
    current (``lag`` 0) or the step before's (1)."""
    concentration = np.empty(len(ica))
    concentration[0] = REST
    for n in range(len(ica) - 1):
        current = ica[max(n + 1 - lag, 0)]
        change = current * PER_AMPERE[pool] - (concentration[n] - REST) / TAU
        concentration[n + 1] = max(concentration[n] + DT * change, 0.0)
    return concentration


def _column(table: np.ndarray, name: str) -> np.ndarray:
    return table[:, COLUMNS.index(name)]


@pytest.fixture(scope="module")
def nmlhub_table(tmp_path_factory) -> np.ndarray:
    outdir = tmp_path_factory.mktemp("ca_pool")
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(DATA / "LEMS_ca_pool.xml"), "--outdir",
                          str(outdir)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return np.loadtxt(outdir / "ca_pool.dat")


def _worst(ours: np.ndarray, computed: np.ndarray) -> float:
    """The largest difference, relative to the largest change of caConc over the run."""
    return float(np.max(np.abs(ours - computed)) / np.ptp(ours))


def test_both_engines_record_the_current_of_the_step_ending_at_the_sample(nmlhub_table):
    """iCa at sample k is the channel's current at the v of sample k - 1, in both engines (the
    channel has no gate: 0.1 mS/cm2 x area x (140 mV - v)); their v agree to jLEMS's digits."""
    jlems = np.loadtxt(DATA / "reference" / "ca_pool.dat")
    conductance = 0.1e-3 * 1e4 * AREA
    for table in (nmlhub_table, jlems):
        for pool in ("decaying", "fixed"):
            v, ica = _column(table, f"v_{pool}"), _column(table, f"ica_{pool}")
            np.testing.assert_allclose(ica[1:], conductance * (0.140 - v[:-1]), rtol=1e-6)
    np.testing.assert_allclose(_column(nmlhub_table, "v_decaying"), _column(jlems, "v_decaying"), rtol=0, atol=1e-8)


@pytest.mark.parametrize("pool", ["decaying", "fixed"])
def test_nmlhubs_pool_reads_the_current_of_its_step_jlems_the_step_before(pool, nmlhub_table):
    jlems = np.loadtxt(DATA / "reference" / "ca_pool.dat")
    assert np.ptp(_column(jlems, f"ica_{pool}")) > 0.2 * np.max(np.abs(_column(jlems, f"ica_{pool}")))
    for table, lag in ((nmlhub_table, 0), (jlems, 1)):
        ca, ica = _column(table, f"ca_{pool}"), _column(table, f"ica_{pool}")
        assert _worst(ca, euler_pool(ica, pool, lag)) < 2e-7  # jLEMS's 8 digits
        assert _worst(ca, euler_pool(ica, pool, 1 - lag)) > 2e-4  # the other order: far more
    # the engines themselves part by that lag
    assert _worst(_column(nmlhub_table, f"ca_{pool}"), _column(jlems, f"ca_{pool}")) > 2e-4
