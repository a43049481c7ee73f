"""NEURON without its GUI: no "no DISPLAY" warning on a machine without a display.

NEURON prints ``Warning: no DISPLAY environment variable. --No graphics will be displayed.`` when
it is imported where ``DISPLAY`` is not set (a server, a cluster node, CI). nmlhub never uses
NEURON's GUI, so it asks NEURON not to start it (``-nogui`` in ``NEURON_MODULE_OPTIONS``, read by
NEURON when it is first imported, and passed on to the MPI ranks nmlhub starts). Nothing else
NEURON prints is hidden.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

NEURON_OPTIONS = "NEURON_MODULE_OPTIONS"


def without_gui(environ: MutableMapping[str, str]) -> None:
    """Add ``-nogui`` to ``environ``'s NEURON options when there is no display to show a GUI on.

    Parameters
    ----------
    environ
        The environment NEURON will read (``os.environ`` for this process).
    """
    if environ.get("DISPLAY"):
        return
    options = environ.get(NEURON_OPTIONS, "")
    if "-nogui" not in options.split():
        environ[NEURON_OPTIONS] = f"-nogui {options}".strip()


def prepare_environment() -> None:
    """Prepare this process's environment before NEURON is first imported."""
    without_gui(os.environ)
