"""Temporary folders nmlhub makes are removed when done, also when the work fails.

``NetworkBuilder.to_model`` left one ``nmlhub-builder-*`` folder in the temporary directory per
call (136 of them in /tmp after a day of tests); pylems' scratch folder stayed until the flattener
was collected. Each test points Python's temporary directory at a folder of its own and counts
what is left there.
"""

from __future__ import annotations

import gc
import tempfile
from pathlib import Path

import neuroml
import pytest

import nmlhub
from nmlhub.rules.values import RuleError


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def small_builder(cell: str = "izh") -> nmlhub.NetworkBuilder:
    net = nmlhub.NetworkBuilder("tiny", size=(100.0, 100.0, 100.0), seed=3)
    net.add(neuroml.Izhikevich2007Cell(id="izh", C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV",
                                       vt="-40mV", vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50.0mV",
                                       d="100pA"))
    net.add(neuroml.ExpOneSynapse(id="syn", gbase="1nS", erev="0mV", tau_decay="5ms"))
    net.population("A", cell=cell, count=3)
    net.connect("A", "A", "syn", nmlhub.AllToAll(), weight=1.0)
    return net


def left_in(folder: Path) -> list[str]:
    gc.collect()
    return sorted(p.name for p in folder.iterdir())


def test_to_model_folder_lives_with_the_model(scratch):
    model = small_builder().to_model()
    assert [p.name for p in scratch.iterdir()][0].startswith("nmlhub-builder-")
    assert Path(model.path).is_file()  # the model's files are there while it is used
    assert len(model.network("tiny").populations) == 1
    del model
    assert left_in(scratch) == []


def test_to_model_leaves_nothing_when_saving_fails(scratch):
    with pytest.raises(RuleError, match="cell 'ghost' is not defined"):
        small_builder(cell="ghost").to_model(expanded=True)
    assert left_in(scratch) == []


def test_to_model_leaves_nothing_when_loading_fails(scratch, tmp_path):
    broken = tmp_path / "broken.nml"
    broken.write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="b">\n<iafCell id="x"\n')
    net = small_builder()
    net.include(broken)
    with pytest.raises(nmlhub.NmlhubError, match="broken.nml"):
        net.to_model()
    assert left_in(scratch) == []


def test_simulating_a_builder_leaves_nothing(scratch):
    results = nmlhub.simulate(small_builder(), duration_ms=5.0, dt_ms=0.025)
    assert results is not None
    assert left_in(scratch) == []
