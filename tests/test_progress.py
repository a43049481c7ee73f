"""Long steps say what they do (issue 21): compiling mechanisms into an empty cache prints what is
compiled and how many, then that it is done and how long it took."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys


def test_compiling_into_an_empty_cache_says_what_and_how_long(tmp_path):
    model = tmp_path / "ns.json"
    model.write_text(json.dumps({"netParams": {"popParams": {"bg": {"cellModel": "NetStim", "numCells": 2,
                                                                    "rate": 10}}},
                                 "simConfig": {"duration": 5, "dt": 0.025}}))
    env = dict(os.environ, NMLHUB_CACHE=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-m", "nmlhub", "import-netpyne", str(model), "-o", str(tmp_path / "ns.net.nml")],
                   check=True, capture_output=True, env=env)
    command = [sys.executable, "-m", "nmlhub", "run", str(tmp_path / "LEMS_ns.xml"), "--no-progress"]
    first = subprocess.run(command, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    # the NetStim cell, and the relay of jLEMS's event timing for whole-step delays
    what = re.search(r"nmlhub: compiling (\d+) NEURON mechanisms \(once; cached in .*\): (.*)", first.stderr)
    assert what, first.stderr
    names = what.group(2).split(", ")
    assert "nmlhubNetStimCell" in names and int(what.group(1)) == len(names)
    done = re.search(r"nmlhub: compiled (\d+) mechanisms in ([0-9.]+) s", first.stderr)
    assert done and int(done.group(1)) == len(names) and float(done.group(2)) > 0
    again = subprocess.run(command, capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "compil" not in again.stderr


def test_compiling_user_mechanisms_says_which_and_how_long(tmp_path, caplog):
    import logging
    from pathlib import Path

    from nmlhub.neuron.mechcache import user_library

    mod = Path(__file__).parent / "data" / "import_cell" / "mods" / "kslow.mod"
    with caplog.at_level(logging.INFO, logger="nmlhub.neuron.mechcache"):
        library = user_library([mod], root=tmp_path)
        user_library([mod], root=tmp_path)  # cached: silent
    assert library.exists()
    messages = [r.getMessage() for r in caplog.records if r.name == "nmlhub.neuron.mechcache"]
    assert messages[0] == "compiling 1 user mechanisms (once; cached): kslow.mod"
    assert re.fullmatch(r"compiled 1 user mechanisms in [0-9.]+ s", messages[1])
    assert len(messages) == 2
