"""The engine that integrates a model NEURON has built: NEURON itself, or CoreNEURON (shipped in
the NEURON wheel). Everything that differs between the two is here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .mechanisms import ComponentMechanism, role_of
from .mechcache import MechanismCache, load_combined, load_libraries
from .options import RunOptions, SimulationError


class NeuronEngine:
    """NEURON integrates: mechanisms compiled one library per set, every feature available."""

    name = "neuron"
    #: Whether the model must be built with gids (CoreNEURON takes cells only so).
    needs_gids = False
    #: Whether a serial run may wire connections by gid when every delay allows it.
    gid_wiring_serially = True
    #: The fewest steps a NetCon between MPI ranks may delay a spike (NEURON: one, its spike exchange).
    exchange_steps = 1

    def check(self, options: RunOptions, path: Path | None) -> None:
        """Refuse options this engine cannot honour."""

    def load_mechanisms(self, cache: MechanismCache, mechs: list[Any], model: Any,
                        mechanisms: dict[str, ComponentMechanism]) -> None:
        """Compile (cached) and load the mechanisms ``mechs``."""
        load_libraries(cache.ensure(mechs), mechs)

    def check_user_mechanisms(self, files: list[Path], path: Path | None) -> None:
        """Refuse channels kept as the user's .mod files if the engine cannot run them."""

    def start(self, h: Any, scheduled: list, path: Path | None) -> None:
        """Ready the engine just before ``finitialize``."""

    def stops(self, duration_ms: float, ranks: int = 1) -> list[float]:
        """The times the run stops at to report progress: every 1 % serially, every 5 % on several
        MPI ranks (there each stop costs one spike exchange more on every rank)."""
        count = 100 if ranks <= 1 else 20
        return [duration_ms * k / count for k in range(1, count + 1)]

    def stop(self) -> None:
        """Hand integration back to NEURON after a run."""


class CoreNeuronEngine(NeuronEngine):
    """CoreNEURON integrates: the model's mechanisms in one library built with ``nrnivmodl
    -coreneuron`` (cached); cells have gids; no Python during the run."""

    name = "coreneuron"
    needs_gids = True
    gid_wiring_serially = False
    #: CoreNEURON runs at least two threads (it makes a second, empty one), and with several
    #: threads it exchanges spikes between ranks a step sooner than the shortest NetCon delay
    #: between them, which must leave at least a step: two steps (docs/conformance.md)
    exchange_steps = 2

    def __init__(self) -> None:
        self.library: Path | None = None

    def check(self, options: RunOptions, path: Path | None) -> None:
        if options.lfp is not None:
            raise SimulationError("the LFP is computed in Python after each time step, which CoreNEURON "
                                  "cannot do; use the neuron engine", file=path)

    def load_mechanisms(self, cache: MechanismCache, mechs: list[Any], model: Any,
                        mechanisms: dict[str, ComponentMechanism]) -> None:
        point_cells = sorted(c for c, cm in mechanisms.items()
                             if cm.mechanism is not None and not cm.biophysics and role_of(model, c) == "cell")
        if point_cells:
            raise SimulationError(
                f"the CoreNEURON engine cannot run cells defined by LEMS dynamics ({', '.join(point_cells[:3])}): "
                "they set v in their events (a spike's reset), which CoreNEURON does not carry over; "
                "use the neuron engine", file=model.path)
        library = cache.combined(mechs, coreneuron=True)
        load_combined(library, mechs)
        self.library = library.parent / "libcorenrnmech.so"

    def check_user_mechanisms(self, files: list[Path], path: Path | None) -> None:
        raise SimulationError("the CoreNEURON engine cannot run channels kept as .mod files "
                              f"({', '.join(p.name for p in files)}) yet; use the neuron engine", file=path)

    def start(self, h: Any, scheduled: list, path: Path | None) -> None:
        """Hand the integration to CoreNEURON (the model is copied to it at each psolve)."""
        import os

        from neuron import coreneuron

        if scheduled:
            raise SimulationError("actions scheduled with at() run Python during the simulation, which "
                                  "CoreNEURON cannot do; use the neuron engine", file=path)
        # CoreNEURON loads the mechanism library this names (else one in ./x86_64)
        os.environ["CORENEURONLIB"] = str(self.library)
        h.cvode.cache_efficient(1)
        coreneuron.enable = True
        coreneuron.verbose = 0

    def stops(self, duration_ms: float, ranks: int = 1) -> list[float]:
        return [duration_ms]  # each stop copies the whole model to CoreNEURON and back

    def stop(self) -> None:
        from neuron import coreneuron

        coreneuron.enable = False


def engine_named(name: str) -> NeuronEngine:
    """The engine called ``name`` (one of :data:`nmlhub.neuron.options.ENGINES`)."""
    return CoreNeuronEngine() if name == "coreneuron" else NeuronEngine()
