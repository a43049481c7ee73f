"""NEURON's NetStim as an input: a regular, Poisson or in-between spike train driving a synapse
on each target cell (the LEMS type ``nmlhubNetStimSynapse`` in ``nmlhub/lems/library/netstim.xml``),
or as a population of spike sources (``nmlhubNetStimCell``)."""

from __future__ import annotations

import math

from .plasticity import LIBRARY, LemsComponent
from .values import RuleError

NETSTIM_TYPES = LIBRARY / "netstim.xml"


def netstim(id: str, synapse: str | None = None, rate: float | None = None, interval: float | None = None,
            noise: float = 0.0, start: float = 0.0, number: float = 1e9) -> LemsComponent:
    """A NetStim input (with ``synapse``, the synapse component it drives on its target) or a
    NetStim cell (without).

    Parameters
    ----------
    rate, interval
        Mean rate (Hz) or mean interval (ms) of the train; give one.
    noise
        0: a regular train; 1: a Poisson train; in between, a Poisson train with a dead time of
        ``(1 - noise) * interval`` (NEURON's NetStim). The first spike comes at ``start``
        (ms) plus ``noise * interval`` times an exponential variable of mean 1.
    number
        The most spikes it emits.

    Raises
    ------
    RuleError
        Neither or both of rate and interval, or a value out of range.

    Examples
    --------
    >>> net.add(netstim("bkg", synapse="ampa", rate=10, noise=0.5))       # doctest: +SKIP
    """
    if (rate is None) == (interval is None):
        raise RuleError(f"netstim '{id}': give rate (Hz) or interval (ms), one of them")
    mean_interval = 1000.0 / float(rate) if rate is not None else float(interval)
    if not math.isfinite(mean_interval) or mean_interval <= 0:
        raise RuleError(f"netstim '{id}': the rate or interval must be positive")
    if not 0.0 <= float(noise) <= 1.0:
        raise RuleError(f"netstim '{id}': noise {noise} is not in [0, 1]")
    if float(start) < 0 or float(number) < 0:
        raise RuleError(f"netstim '{id}': start and number must not be negative")
    attributes = {"interval": f"{mean_interval!r}ms", "noise": repr(float(noise)), "start": f"{float(start)!r}ms",
                  "number": repr(float(number))}
    if synapse is None:
        return LemsComponent("nmlhubNetStimCell", id, attributes, types_file=NETSTIM_TYPES)
    attributes.update(synapse=synapse, spikeTarget=f"./{synapse}")
    return LemsComponent("nmlhubNetStimSynapse", id, attributes, types_file=NETSTIM_TYPES)
