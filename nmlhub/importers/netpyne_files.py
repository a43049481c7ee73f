"""Reading a NetPyNE model's data: ``netParams`` and ``simConfig`` from NetPyNE's JSON
(``netParams.save``, ``simConfig.save``, ``sim.saveData``) or its output pickle (read by a
restricted unpickler, :mod:`nmlhub.importers.netpyne_pickle`). Nothing in the file is run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .netpyne_expr import NetPyNEError


def read_netpyne(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``netParams`` and ``simConfig`` (empty when absent) of a NetPyNE JSON file or output pickle.

    Raises
    ------
    NetPyNEError
        Not JSON, or no ``netParams`` in it (naming the file).
    """
    path = Path(path)
    if not path.exists():
        raise NetPyNEError(f"{path}: file not found")
    if path.suffix.lower() == ".pkl":
        from .netpyne_pickle import read_netpyne_pickle

        data = read_netpyne_pickle(path)
    elif path.suffix.lower() != ".json":
        raise NetPyNEError(f"{path}: expected NetPyNE's JSON (netParams.save, or sim.saveData with saveJson) "
                           "or its pickle (.pkl, sim.saveData with savePickle)")
    else:
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NetPyNEError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise NetPyNEError(f"{path}: expected a JSON object")
    if "popParams" in data:
        net_params = data
    elif isinstance(data.get("net"), dict) and isinstance(data["net"].get("params"), dict):
        net_params = data["net"]["params"]
    elif isinstance(data.get("netParams"), dict):
        net_params = data["netParams"]
    else:
        raise NetPyNEError(f"{path}: no NetPyNE netParams (popParams, net.params or netParams)")
    sim_config = data.get("simConfig") or {}
    if not isinstance(sim_config, dict):
        raise NetPyNEError(f"{path}: simConfig is not an object")
    return net_params, sim_config


def read_netpyne_config(path: str | Path) -> dict[str, Any]:
    """The ``simConfig`` of a NetPyNE JSON file (``simConfig.save`` writes ``{"simConfig": ...}``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NetPyNEError(f"{path}: cannot read a simConfig ({exc})") from None
    config = data.get("simConfig", data) if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise NetPyNEError(f"{path}: no simConfig object")
    return config
