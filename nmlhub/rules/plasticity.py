"""Plastic synapses nmlhub ships as LEMS ComponentTypes (``nmlhub/lems/library/plasticity.xml``):
pair-based STDP with weight bounds, and reward-modulated STDP. They run through the same
LEMS→NMODL translator as every other component; a rule uses one by naming it as its synapse.

A component of these types is LEMS, not NeuroML (the NeuroML schema has no element for it), so
the builder writes it into a LEMS file next to the network, which the simulation file includes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .keywords import camel_case, options_from

LIBRARY = Path(__file__).resolve().parents[1] / "lems" / "library"
PLASTICITY_TYPES = LIBRARY / "plasticity.xml"


@dataclass(frozen=True)
class LemsComponent:
    """A component of a LEMS ComponentType: its type, id and attributes (values with units)."""

    type: str
    id: str
    attributes: dict[str, str] = field(default_factory=dict)
    types_file: Path = PLASTICITY_TYPES

    def xml(self) -> str:
        attrs = " ".join(f'{k}="{v}"' for k, v in self.attributes.items())
        return f'<{self.type} id="{self.id}" {attrs}/>'


@dataclass(frozen=True)
class PairStdpParameters:
    """What the pair-based plastic synapses share: the conductance (``gbase``, ``erev``, rise and
    decay), the pair windows ``tau_plus``/``tau_minus``, the weight's bound and start, and the
    postsynaptic spike threshold (quantities with their units, as text)."""

    gbase: str = "1nS"
    erev: str = "0mV"
    tau_rise: str = "0.5ms"
    tau_decay: str = "5ms"
    tau_plus: str = "20ms"
    tau_minus: str = "20ms"
    w_max: float = 2.0
    w_init: float = 1.0
    post_threshold: str = "-20mV"


@dataclass(frozen=True)
class StdpParameters(PairStdpParameters):
    """The parameters of :func:`stdp_synapse`: the shared ones and the pair amplitudes."""

    a_plus: float = 0.01
    a_minus: float = 0.012


@dataclass(frozen=True)
class RewardStdpParameters(PairStdpParameters):
    """The parameters of :func:`reward_stdp_synapse`: the shared ones, the eligibility trace's
    time constant and amplitudes, the learning rate and the reward."""

    tau_c: str = "500ms"
    a_plus: float = 1.0
    a_minus: float = 1.2
    learning_rate: str = "1per_s"
    reward: float = 0.0


def _attributes(parameters: PairStdpParameters) -> dict[str, str]:
    """The LEMS attributes of the parameters (camelCase; plain numbers as the shortest exact text,
    quantities as given)."""
    return {camel_case(f.name): repr(float(value)) if f.type == "float" else value
            for f in fields(parameters) for value in [getattr(parameters, f.name)]}


def stdp_synapse(id: str, **parameters: Any) -> LemsComponent:
    """A pair-based STDP synapse (``nmlhubStdpSynapse``): a pre spike then a post spike ``dt``
    later changes the plastic weight by ``a_plus*exp(-dt/tau_plus)``, the reverse order by
    ``-a_minus*exp(-dt/tau_minus)``, bounded to [0, w_max].

    Parameters
    ----------
    id
        The component's id (the synapse a rule names).
    **parameters
        Any of (defaults in brackets) ``gbase`` ["1nS"], ``erev`` ["0mV"], ``tau_rise`` ["0.5ms"],
        ``tau_decay`` ["5ms"], ``tau_plus`` ["20ms"], ``tau_minus`` ["20ms"], ``a_plus`` [0.01],
        ``a_minus`` [0.012], ``w_max`` [2.0], ``w_init`` [1.0], ``post_threshold`` ["-20mV"]
        (:class:`StdpParameters`).

    Raises
    ------
    RuleError
        An unknown parameter (the valid ones are listed).
    """
    given = options_from(StdpParameters, parameters, f"stdp_synapse '{id}'")
    return LemsComponent("nmlhubStdpSynapse", id, _attributes(given))


def reward_stdp_synapse(id: str, **parameters: Any) -> LemsComponent:
    """A reward-modulated STDP synapse (``nmlhubRewardStdpSynapse``): spike pairs feed an
    eligibility trace ``c`` (decaying with ``tau_c``); ``dw/dt = learning_rate * reward * c``.
    Set the reward during a run with
    :meth:`nmlhub.neuron.simulation.NeuronSimulation.set_parameter` (e.g. from :meth:`~.at`).

    Parameters
    ----------
    id
        The component's id (the synapse a rule names).
    **parameters
        Any of (defaults in brackets) ``gbase`` ["1nS"], ``erev`` ["0mV"], ``tau_rise`` ["0.5ms"],
        ``tau_decay`` ["5ms"], ``tau_plus`` ["20ms"], ``tau_minus`` ["20ms"], ``tau_c`` ["500ms"],
        ``a_plus`` [1.0], ``a_minus`` [1.2], ``learning_rate`` ["1per_s"], ``reward`` [0.0],
        ``w_max`` [2.0], ``w_init`` [1.0], ``post_threshold`` ["-20mV"] (:class:`RewardStdpParameters`).

    Raises
    ------
    RuleError
        An unknown parameter (the valid ones are listed).
    """
    given = options_from(RewardStdpParameters, parameters, f"reward_stdp_synapse '{id}'")
    return LemsComponent("nmlhubRewardStdpSynapse", id, _attributes(given))

