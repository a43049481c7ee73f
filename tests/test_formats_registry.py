"""The format registry (converters/formats.py) is the one place formats are named: the extension
lookup, what a file holds, the error messages and `nmlhub convert --help` all derive from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nmlhub.cli import main
from nmlhub.converters import ConversionError, format_of, kind_of, load, save
from nmlhub.converters.formats import REGISTRY, names, results_format
from nmlhub.results import Results

SOURCE = Path("nml_examples/izh_network/izh_network.net.nml")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_extension_selects_its_format(name):
    for extension in REGISTRY[name].extensions:
        assert format_of(f"net{extension}") == name
        if REGISTRY[name].holds != "model":
            assert results_format(Path(f"run{extension}")).name == name


def test_messages_and_help_list_every_format(tmp_path, capsys):
    with pytest.raises(ConversionError) as unknown:
        format_of(tmp_path / "net.txt")
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    helptext = capsys.readouterr().out
    for fmt in REGISTRY.values():
        assert fmt.name in str(unknown.value) and fmt.name in helptext
        assert all(e in helptext for e in fmt.extensions)
    with pytest.raises(ConversionError, match="hold results, not models") as info:
        save(SOURCE, tmp_path / "net.csv")
    assert all(name in str(info.value) for name in names("model")) and "csv" not in str(info.value).split("(")[-1]


@pytest.mark.parametrize("name", [n for n, f in REGISTRY.items() if f.holds == "both"])
def test_a_format_holding_both_tells_which_a_file_holds(tmp_path, name):
    """The same extension holds a model or results; what the file holds decides how it is read."""
    extension = REGISTRY[name].extensions[0]
    save(SOURCE, tmp_path / f"net{extension}")
    results = Results(time_ms=np.arange(3.0), traces={"p/0/c/v": np.array([1.0, 2.0, 3.0])})
    save(results, tmp_path / f"run{extension}")
    assert kind_of(tmp_path / f"net{extension}") == "model" and isinstance(load(tmp_path / f"net{extension}"), dict)
    assert kind_of(tmp_path / f"run{extension}") == "results"
    assert np.array_equal(load(tmp_path / f"run{extension}").traces["p/0/c/v"], [1.0, 2.0, 3.0])
