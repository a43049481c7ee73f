"""Plastic synapses nmlhub ships as LEMS ComponentTypes (``nmlhub/lems/library/plasticity.xml``):
pair-based STDP with weight bounds, and reward-modulated STDP. They run through the same
LEMS→NMODL translator as every other component; a rule uses one by naming it as its synapse.

A component of these types is LEMS, not NeuroML (the NeuroML schema has no element for it), so
the builder writes it into a LEMS file next to the network, which the simulation file includes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


def stdp_synapse(id: str, gbase: str = "1nS", erev: str = "0mV", tau_rise: str = "0.5ms",
                 tau_decay: str = "5ms", tau_plus: str = "20ms", tau_minus: str = "20ms",
                 a_plus: float = 0.01, a_minus: float = 0.012, w_max: float = 2.0,
                 w_init: float = 1.0, post_threshold: str = "-20mV") -> LemsComponent:
    """A pair-based STDP synapse (``nmlhubStdpSynapse``): a pre spike then a post spike ``dt``
    later changes the plastic weight by ``a_plus*exp(-dt/tau_plus)``, the reverse order by
    ``-a_minus*exp(-dt/tau_minus)``, bounded to [0, w_max]."""
    return LemsComponent("nmlhubStdpSynapse", id, dict(
        gbase=gbase, erev=erev, tauRise=tau_rise, tauDecay=tau_decay, tauPlus=tau_plus,
        tauMinus=tau_minus, aPlus=repr(float(a_plus)), aMinus=repr(float(a_minus)),
        wMax=repr(float(w_max)), wInit=repr(float(w_init)), postThreshold=post_threshold))


def reward_stdp_synapse(id: str, gbase: str = "1nS", erev: str = "0mV", tau_rise: str = "0.5ms",
                        tau_decay: str = "5ms", tau_plus: str = "20ms", tau_minus: str = "20ms",
                        tau_c: str = "500ms", a_plus: float = 1.0, a_minus: float = 1.2,
                        learning_rate: str = "1per_s", reward: float = 0.0, w_max: float = 2.0,
                        w_init: float = 1.0, post_threshold: str = "-20mV") -> LemsComponent:
    """A reward-modulated STDP synapse (``nmlhubRewardStdpSynapse``): spike pairs feed an
    eligibility trace ``c`` (decaying with ``tau_c``); ``dw/dt = learning_rate * reward * c``.
    Set the reward during a run with
    :meth:`nmlhub.neuron.simulation.NeuronSimulation.set_parameter` (e.g. from :meth:`~.at`)."""
    return LemsComponent("nmlhubRewardStdpSynapse", id, dict(
        gbase=gbase, erev=erev, tauRise=tau_rise, tauDecay=tau_decay, tauPlus=tau_plus,
        tauMinus=tau_minus, tauC=tau_c, aPlus=repr(float(a_plus)), aMinus=repr(float(a_minus)),
        learningRate=learning_rate, reward=repr(float(reward)), wMax=repr(float(w_max)),
        wInit=repr(float(w_init)), postThreshold=post_threshold))
