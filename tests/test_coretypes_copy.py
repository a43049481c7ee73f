"""The small copy of the jar's core type files that spares each run and each MPI rank the jar's
13,000-entry directory (nmlhub/coretypes.py)."""

from __future__ import annotations

import os
import zipfile

from nmlhub.coretypes import CORE_TYPES_DIR, core_types_copy_path, jneuroml_jar, read_core_type_files


def _from_jar() -> dict[str, bytes]:
    with zipfile.ZipFile(jneuroml_jar()) as jar:
        return {n: jar.read(n) for n in jar.namelist() if n.startswith(CORE_TYPES_DIR) and not n.endswith("/")}


def test_the_copy_holds_the_jars_core_type_files_and_is_read_instead_of_the_jar(tmp_path):
    expected = _from_jar()
    copy = tmp_path / "cache" / "coretypes" / "core.zip"
    assert read_core_type_files(jneuroml_jar(), copy) == expected
    assert copy.is_file()
    # a jar that does not exist: only the copy can give the files now
    assert read_core_type_files(tmp_path / "no.jar", copy) == expected
    assert "NeuroML2CoreTypes/Cells.xml" in expected and len(expected) >= 8


def test_a_damaged_copy_is_read_from_the_jar_again_and_replaced(tmp_path):
    copy = tmp_path / "core.zip"
    copy.write_bytes(b"not a zip file")
    assert read_core_type_files(jneuroml_jar(), copy) == _from_jar()
    assert zipfile.is_zipfile(copy)


def test_an_empty_copy_is_not_taken_for_the_core_types(tmp_path):
    copy = tmp_path / "core.zip"
    with zipfile.ZipFile(copy, "w"):
        pass
    assert read_core_type_files(jneuroml_jar(), copy) == _from_jar()


def test_a_cache_that_cannot_be_written_still_gives_the_files(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    assert read_core_type_files(jneuroml_jar(), blocker / "coretypes" / "core.zip") == _from_jar()


def test_a_changed_jar_gets_a_copy_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("NMLHUB_CACHE", str(tmp_path / "cache"))
    jar = tmp_path / "jNeuroML-x.jar"
    jar.write_bytes(b"one")
    first = core_types_copy_path(jar)
    assert first.parent == tmp_path / "cache" / "coretypes"
    os.utime(jar, ns=(1, 1))
    assert core_types_copy_path(jar) != first
    assert core_types_copy_path(tmp_path / "missing.jar") is None
