"""A cell type whose Dynamics read nothing of what is attached to it: jLEMS runs the file with the
attached input having no effect on v; nmlhub's cell is a NEURON section, whose v every point
process on it changes. ``validate`` and ``run`` say so (nmlhub/model/attachments.py).

The reference ``tests/data/validate/unread_attachments.dat`` is jLEMS's output
(``tests/data/validate/make_jlems_outputs.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from nmlhub.model import load
from nmlhub.model.validate import is_valid, validate
from nmlhub.neuron.simulation import NeuronSimulation

DATA = Path(__file__).parent / "data" / "validate"
MODEL = DATA / "LEMS_unread_attachments.xml"
SELECTED = ('<TimeDerivative variable="v" value="(EL - v) / tau"/>',
            '<DerivedVariable name="iSyn" dimension="current" select="synapses[*]/i" reduce="add"/>'
            '<TimeDerivative variable="v" value="(EL - v) / tau + iSyn / 1pF"/>')


def _unread(problems) -> list[str]:
    return [str(p) for p in problems if p.severity == "warning" and "read nothing of what is attached" in p.message]


def test_jlems_keeps_v_at_rest_and_nmlhub_moves_it_the_difference_the_warning_names():
    reference = np.loadtxt(DATA / "unread_attachments.dat")
    assert np.ptp(reference[:, 1]) == 0.0  # jLEMS: the 10 pA pulse does not reach v
    results = NeuronSimulation(load(MODEL)).run()
    v = np.asarray(next(iter(results.traces.values())))
    assert np.ptp(v) > 5e-5  # nmlhub: the pulse's current is added to the section's v


def test_validate_warns_at_the_type_and_the_model_stays_valid():
    problems = validate(MODEL)
    assert is_valid(problems)
    line = next(k for k, text in enumerate(MODEL.read_text().splitlines(), 1) if 'name="leakyDeaf"' in text)
    (warning,) = _unread(problems)
    assert warning.startswith(f"{MODEL}:{line}: ComponentType leakyDeaf: warning: explicitInput to pop[0] attaches "
                              f"to population pop of cell 'deaf'")
    assert "jLEMS leaves its v unchanged by it" in warning and "synapses[*]/i" in warning


def test_a_type_that_selects_its_attachments_is_not_warned(tmp_path):
    text = MODEL.read_text()
    assert SELECTED[0] in text
    selecting = tmp_path / MODEL.name
    selecting.write_text(text.replace(*SELECTED))
    assert _unread(validate(selecting)) == []


def test_the_run_logs_it(caplog):
    with caplog.at_level(logging.WARNING):
        NeuronSimulation(load(MODEL)).build()
    assert any("read nothing of what is attached" in record.getMessage() for record in caplog.records)
