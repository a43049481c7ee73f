"""Bad and hostile input: one clear error naming the file, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import nmlhub
from nmlhub import ModelError, XmlSecurityError
from nmlhub.cli import main

XXE = """<?xml version="1.0"?>
<!DOCTYPE neuroml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<neuroml id="x"><notes>&secret;</notes></neuroml>"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<neuroml id="x"><notes>&lol4;</notes></neuroml>"""

CASES = {
    "empty.nml": ("", ModelError, "file is empty"),
    "blank.nml": ("   \n\n", ModelError, "file is empty"),
    "text.nml": ("this is not XML at all", ModelError, "not well-formed XML"),
    "truncated.nml": ('<neuroml id="x">\n<network id="n">\n<population id="p"', ModelError, "XML"),
    "wrongroot.nml": ("<html><body/></html>", ModelError, "root element is <html>"),
    "xxe.nml": (XXE, XmlSecurityError, "DOCTYPE"),
    "bomb.nml": (BOMB, XmlSecurityError, "DOCTYPE"),
    "undeclared_entity.nml": ('<neuroml id="x"><notes>&ghost;</notes></neuroml>', ModelError, "ntity"),
    "bare_ampersand.nml": ('<neuroml id="x"><notes>Na & K</notes></neuroml>', ModelError, "a bare '&'"),
    "unterminated_reference.nml": ('<neuroml id="x"><notes>Na &K</notes></neuroml>', ModelError, "a bare '&'"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_xml_gives_one_clear_error(tmp_path, name):
    text, error, fragment = CASES[name]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(error) as info:
        nmlhub.load(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert fragment in message
    assert "\n" not in message


def test_xxe_content_never_appears(tmp_path):
    path = tmp_path / "xxe.nml"
    path.write_text(XXE)
    with pytest.raises(XmlSecurityError) as info:
        nmlhub.load(path)
    assert "root:" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="file not found"):
        nmlhub.load(tmp_path / "nothing.nml")


def test_size_guard(tmp_path):
    path = tmp_path / "big.nml"
    path.write_text('<neuroml id="x">' + "<notes>" + "a" * 5000 + "</notes></neuroml>")
    with pytest.raises(XmlSecurityError, match="larger than the limit"):
        nmlhub.load(path, max_xml_bytes=1000)


def test_remote_include_is_refused(tmp_path):
    path = tmp_path / "remote.nml"
    path.write_text('<neuroml id="x"><include href="http://example.org/cells.nml"/></neuroml>')
    with pytest.raises(XmlSecurityError, match="never fetches"):
        nmlhub.load(path)


def test_not_hdf5(tmp_path):
    path = tmp_path / "net.nml.h5"
    path.write_text("<neuroml/>")
    with pytest.raises(ModelError, match="not an HDF5 file"):
        nmlhub.load(path)


def test_truncated_hdf5(tmp_path):
    good = tmp_path / "good.nml.h5"
    with h5py.File(good, "w") as f:
        g = f.create_group("neuroml")
        g.attrs["id"] = "x"
        g.create_dataset("big", data=np.arange(200000, dtype=np.float64))
    data = good.read_bytes()
    bad = tmp_path / "bad.nml.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as info:
        nmlhub.load(bad)
    assert str(info.value).startswith(str(bad))


def test_hdf5_without_neuroml_group(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=[1, 2, 3])
    with pytest.raises(ModelError, match="no /neuroml group"):
        nmlhub.load(path)


def test_hdf5_embedded_xml_with_entities_is_refused(tmp_path):
    path = tmp_path / "evil.nml.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("neuroml")
        g.attrs["id"] = "evil"
        g.attrs["neuroml_top_level"] = XXE
    with pytest.raises(XmlSecurityError):
        nmlhub.load(path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_prints_one_line_without_traceback(tmp_path, capsys, name):
    path = tmp_path / name
    path.write_text(CASES[name][0])
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("nmlhub: error: ")


def test_cli_debug_shows_traceback(tmp_path):
    path = tmp_path / "text.nml"
    path.write_text("not xml")
    result = subprocess.run([sys.executable, "-m", "nmlhub", "--debug", "info", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_cli_missing_file_is_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.nml")]) == 2
    assert main(["info", str(tmp_path / "nope.nml")]) == 2


def test_cli_bad_arguments_exit_2():
    result = subprocess.run([sys.executable, "-m", "nmlhub", "validate"], capture_output=True, text=True)
    assert result.returncode == 2


def test_a_value_that_is_no_quantity_is_refused_before_pylems_reads_it(tmp_path):
    """pylems loops forever on a parameter value that does not start with a number; nmlhub names
    the file, line and attribute instead (the run is given a minute; it takes seconds)."""
    import shutil

    examples = Path(__file__).resolve().parent.parent / "nml_examples" / "hh_single"
    for item in examples.iterdir():
        shutil.copy(item, tmp_path / item.name)
    net = tmp_path / "hh_single.net.nml"
    text = net.read_text()
    line = next(k for k, row in enumerate(text.splitlines(), start=1) if "<pulseGenerator" in row)
    start = text.index('amplitude="') + len('amplitude="')
    net.write_text(text[:start] + "a lot" + text[text.index('"', start):])
    result = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(tmp_path / "LEMS_hh_single.xml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert f"hh_single.net.nml:{line}" in message and "amplitude" in message and "'a lot' is not a quantity" in message
    assert "Traceback" not in result.stderr
