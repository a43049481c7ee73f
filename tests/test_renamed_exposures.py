"""A state exposed under another name (``<StateVariable name="B" exposure="Bx"/>``): jLEMS records
0 for it and for a parent's select of ``Bx`` (renamed_exposure.dat) and refuses to record ``Bx``
(jlems_said.txt, make_jlems_outputs.py); nmlhub follows LEMS and warns of jLEMS's behaviour."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from nmlhub.model.validate import is_valid
from nmlhub.neuron.validation import validate

DATA = Path(__file__).parent / "data" / "validate"
MODEL = DATA / "LEMS_renamed_exposure.xml"
WARNING = ("B is exposed as 'Bx' (in type tri): jLEMS records 'B' as 0 at every sample, reads 0 through a select "
           "of 'Bx' or 'B' and cannot record 'Bx' ('Can't parse'); nmlhub records B and reads it through a select "
           "of either name, as LEMS defines the exposure (name the exposure 'B' for jLEMS)")


def said(name: str) -> str:
    return next(line for line in (DATA / "jlems_said.txt").read_text().splitlines() if line.split(":")[0].split(" ")[0] == name)


def test_a_renamed_exposure_is_warned_at_its_variable():
    line = next(k for k, text in enumerate(MODEL.read_text().splitlines(), 1) if 'exposure="Bx"' in text)
    problems = validate(MODEL)
    assert is_valid(problems)
    assert [str(p) for p in problems if p.severity == "warning"] == [
        f"{MODEL}:{line}: <StateVariable name='B'>: warning: {WARNING}"]


def test_nmlhub_reads_the_state_through_its_exposure_where_jlems_reads_0(tmp_path, caplog):
    """jLEMS's B and seen are 0 at every sample; nmlhub's B grows by dt/tau from 1 and the parent's
    select of Bx reads it (before: refused, 'reads u_Bx, which neither it nor the types it extends
    declare'). seen, a derived variable reading the child's state, shows B of the sample before
    (nmlhub's derived variables read the start of the step; jLEMS advances the child first)."""
    from nmlhub.cli import main

    jlems = np.loadtxt(DATA / "renamed_exposure.dat")
    assert np.all(jlems[:, 1:] == 0) and "exit 0" in said(MODEL.name)
    assert "Can't parse p/[0]/Bx" in said("LEMS_exposure_record_exposure.xml")
    shutil.copy(MODEL, tmp_path)
    with caplog.at_level(logging.WARNING):
        assert main(["run", str(tmp_path / MODEL.name)]) == 0
    assert sum(WARNING in r.getMessage() for r in caplog.records) == 1
    ours = np.loadtxt(tmp_path / "renamed_exposure.dat")
    assert ours.shape == jlems.shape
    growth = 1 + ours[:, 0] / 10e-3
    np.testing.assert_allclose(ours[:, 1], growth, rtol=1e-9)
    np.testing.assert_allclose(ours[1:, 2], growth[:-1], rtol=1e-9)
