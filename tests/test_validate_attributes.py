"""`nmlhub validate` says what jLEMS would do with attributes it ignores and with derived variables
in an order it refuses; jLEMS (``jnml``) is asked each time a test claims what it does."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import example_files
from nmlhub.model.validate import is_valid, validate
from nmlhub.neuron.validation import validate as validate_for_run

DATA = Path(__file__).parent / "data" / "validate"
JNML = Path(sys.executable).parent / "jnml"
IGNORED = "jLEMS ignores it"


def jlems(tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    """jLEMS run on a copy of ``DATA/name`` in ``tmp_path``."""
    if not JNML.is_file():
        pytest.skip("no jnml beside this Python")
    shutil.copy(DATA / name, tmp_path / name)
    return subprocess.run([str(JNML), name, "-nogui"], cwd=tmp_path, capture_output=True, text=True, timeout=300)


def line_of(path: Path, text: str) -> int:
    return next(k for k, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def warnings_of(path: Path, fragment: str = IGNORED) -> list[str]:
    return [str(p) for p in validate(path) if p.severity == "warning" and fragment in p.message]


def test_attributes_jlems_ignores_are_warned_at_their_line():
    path = DATA / "LEMS_ignored_attributes.xml"
    problems = validate(path)
    assert is_valid(problems), [str(p) for p in problems]
    dv, case, unit, pulse = (line_of(path, text) for text in ('valueCondition="S', 'valueCondition="1"', "rte=",
                                                             "amplitde="))
    suffix = "is not a parameter of ComponentType"
    assert warnings_of(path) == [
        f"{path}:{dv}: <DerivedVariable name='x'>: warning: LEMS defines no attribute 'valueCondition' on "
        f"<DerivedVariable>; {IGNORED}",
        f"{path}:{case}: <Case>: warning: LEMS defines no attribute 'valueCondition' on <Case> (did you mean "
        f"'condition'?); {IGNORED}",
        f"{path}:{unit}: <decay id='unit'>: warning: attribute 'rte' {suffix} decay (nor of the types it "
        f"extends) (did you mean 'rate'?); {IGNORED}",
        f"{path}:{pulse}: <pulseGenerator id='pg'>: warning: attribute 'amplitde' {suffix} pulseGenerator (nor "
        f"of the types it extends) (did you mean 'amplitude'?); {IGNORED}",
    ]


def test_jlems_runs_the_file_with_ignored_attributes(tmp_path):
    run = jlems(tmp_path, "LEMS_ignored_attributes.xml")
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "ignored_attributes.dat").is_file()
    said = run.stdout + run.stderr  # jLEMS says each name once: "Unrecognized attribute" / "Unused attribute"
    for attribute in ("valueCondition", "rte", "amplitde"):
        assert f"attribute XMLAttribute({attribute}," in said or f"XMLAttribute({attribute}," in said, said[-2000:]


def test_schema_errors_are_not_reported_twice(tmp_path):
    path = tmp_path / "c.nml"
    path.write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="t">\n'
                    '<ionChannelHH id="na" condutance="10pS" species="na"/>\n</neuroml>\n')
    found = [str(p) for p in validate(path) if "condutance" in p.message]
    assert len(found) == 1 and found[0].startswith(f"{path}:2: schema:"), found


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_bundled_examples_have_no_ignored_attributes(path):
    assert warnings_of(path) == []


def test_derived_variable_order_jlems_refuses_is_warned():
    path = DATA / "LEMS_derived_order.xml"
    x, c = line_of(path, 'name="x"'), line_of(path, 'name="c"')
    assert warnings_of(path, "jLEMS refuses this file") == [
        f"{path}:{x}: ComponentType decay: warning: jLEMS refuses this file: derived variable x reads c defined "
        f"after it in type decay ({path}:{c}); nmlhub orders them (declare c first for jLEMS)"]


def test_jlems_refuses_the_derived_variable_order(tmp_path):
    run = jlems(tmp_path, "LEMS_derived_order.xml")
    assert "No such variable in map" in run.stdout + run.stderr, run.stdout[-2000:]
    assert not (tmp_path / "derived_order.dat").exists()


def test_nmlhub_runs_the_derived_variable_order_as_declared_in_order(tmp_path):
    """dS/dt = -2 S / ms from S = 1, explicit Euler at 0.01 ms: S_n = 0.98^n."""
    from nmlhub.cli import main

    shutil.copy(DATA / "LEMS_derived_order.xml", tmp_path)
    assert main(["run", str(tmp_path / "LEMS_derived_order.xml")]) == 0
    data = np.loadtxt(tmp_path / "derived_order.dat")
    np.testing.assert_allclose(data[:, 1], 0.98 ** np.arange(len(data)), rtol=1e-9)


def test_run_warns_of_ignored_attributes(caplog):
    import nmlhub

    with caplog.at_level(logging.WARNING):
        nmlhub.simulate(str(DATA / "LEMS_ignored_attributes.xml"))
    said = [r.getMessage() for r in caplog.records if IGNORED in r.getMessage()]
    assert len(said) == 4 and any("did you mean 'rate'" in s for s in said), said


def test_a_component_of_the_models_own_type_in_a_neuroml_file(tmp_path):
    """The schema sees such a component only as an element it does not know: its attributes are
    checked against the type, and the core elements beside it are left to the schema."""
    path = tmp_path / "own.nml"
    path.write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="t">\n'
                    '<ComponentType name="leaky"><Parameter name="tau" dimension="time"/></ComponentType>\n'
                    '<leaky id="a" tau="2ms" tua="3ms"/>\n'
                    '<pulseGenerator id="pg" delay="0ms" duration="1ms" amplitude="0nA"/>\n</neuroml>\n')
    assert warnings_of(path) == [
        f"{path}:3: <leaky id='a'>: warning: attribute 'tua' is not a parameter of ComponentType leaky (nor of "
        f"the types it extends) (did you mean 'tau'?); {IGNORED}"]


def test_a_misspelt_parameter_of_a_used_component_is_invalid_as_jlems_refuses_it(tmp_path):
    """``rte`` for ``rate`` on the simulated cell: the attribute is ignored, ``rate`` is unset; jLEMS
    refuses the file and so does run, so validate says INVALID (it called the file valid)."""
    text = (DATA / "LEMS_ignored_attributes.xml").read_text().replace('rate="2" rte="3"', 'rte="2"')
    (tmp_path / "LEMS_misspelt.xml").write_text(text)
    path = tmp_path / "LEMS_misspelt.xml"
    problems = validate_for_run(path)
    assert not is_valid(problems)
    line = line_of(path, 'rte="2"')
    said = [str(p) for p in problems if p.file == str(path) and p.line == line]
    assert any("did you mean 'rate', which is not set?" in s for s in said), said
    assert any(p.severity == "error" and "does not set its parameter 'rate'" in p.message for p in problems), said
    if JNML.is_file():
        run = subprocess.run([str(JNML), path.name, "-nogui"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
        assert "no value supplied for parameter: rate" in run.stdout + run.stderr, run.stdout[-2000:]


def test_the_schema_table_kept_in_the_cache_is_the_schema_s(tmp_path, monkeypatch):
    """The attribute table read back from nmlhub's cache equals the schema's own; a damaged
    cache file is read again from the schema."""
    from pathlib import Path

    import neuroml.nml

    from nmlhub.model import schema_attributes as module

    monkeypatch.setenv("NMLHUB_CACHE", str(tmp_path))
    schema = Path(neuroml.nml.__file__).parent / module.SCHEMA_NAME
    fresh = module._read_schema_attributes(schema.read_bytes(), str(schema))
    first = module.schema_attributes.__wrapped__()
    (kept,) = (tmp_path / "schema").glob("*.json")
    second = module.schema_attributes.__wrapped__()
    kept.write_text("{not json")
    third = module.schema_attributes.__wrapped__()
    assert len(fresh) > 100 and "cell" in fresh and first == fresh and second == fresh and third == fresh
