"""The canonical Model: a merged NeuroML document with the origin of every component."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import neuroml

from ..errors import ModelError
from ..units import UnitRegistry
from .records import ComponentRecord, ComponentTypeDef, LemsComponent, Location, Problem, SourceFile
from .simulation import Simulation
from .typesystem import category_of, type_chain


@dataclass
class Model:
    """A NeuroML2 model, whatever file it was loaded from.

    Attributes
    ----------
    path
        The file that was loaded.
    document
        Every NeuroML element of every file, merged into one libNeuroML ``NeuroMLDocument``
        (its ``includes`` are resolved and emptied). Networks read from NeuroML HDF5 keep their
        instances and connections as numpy columns (libNeuroML's optimised containers).
    files
        Every file read, in the order they were read; each file appears once.
    components
        Top-level components by id, with their type, category and origin.
    component_types
        LEMS ComponentTypes the model's files define, by name.
    simulations
        Every LEMS ``<Simulation>``, by id.
    target
        The id of the simulation a LEMS ``<Target>`` names, if any.
    units
        Core units plus any the model defines.
    problems
        What went wrong while loading with ``strict=False`` (missing includes, duplicate ids...).
    locations
        Where network children were written, keyed ``network/child``
        (e.g. ``net1/pop0``, ``net1/proj_E_I``).
    network_extras
        Children of a network that libNeuroML has no class for (e.g. LEMS
        ``synapticConnectionWD``), by network id.
    rules
        Network-building rules kept in a network's annotation
        (:class:`nmlhub.rules.expand.NetworkRules`), by network id.
    """

    path: Path
    document: neuroml.NeuroMLDocument
    files: list[SourceFile] = field(default_factory=list)
    components: dict[str, ComponentRecord] = field(default_factory=dict)
    component_types: dict[str, ComponentTypeDef] = field(default_factory=dict)
    simulations: dict[str, Simulation] = field(default_factory=dict)
    target: str | None = None
    units: UnitRegistry = field(default_factory=UnitRegistry.core)
    problems: list[Problem] = field(default_factory=list)
    locations: dict[str, Location] = field(default_factory=dict)
    network_extras: dict[str, list[LemsComponent]] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)

    @property
    def networks(self) -> list[Any]:
        """The libNeuroML ``Network`` objects, in file order."""
        return list(self.document.networks)

    @property
    def simulation(self) -> Simulation | None:
        """The simulation the LEMS ``<Target>`` names, else the only one, else ``None``."""
        if self.target and self.target in self.simulations:
            return self.simulations[self.target]
        if len(self.simulations) == 1:
            return next(iter(self.simulations.values()))
        return None

    def network(self, network_id: str | None = None) -> Any:
        """A network by id; without an id, the simulation's target network or the only network.

        Raises
        ------
        ModelError
            No such network, or several and none chosen.
        """
        networks = {net.id: net for net in self.document.networks}
        if network_id is None:
            sim = self.simulation
            if sim is not None and sim.target in networks:
                network_id = sim.target
            elif len(networks) == 1:
                network_id = next(iter(networks))
            else:
                raise ModelError(
                    f"the model has {len(networks)} networks ({', '.join(networks) or 'none'}); name one",
                    file=self.path,
                )
        if network_id not in networks:
            self._refuse_lems_defined_network(network_id)
            raise ModelError(f"no network with id '{network_id}'", file=self.path)
        return networks[network_id]

    def _refuse_lems_defined_network(self, component_id: str) -> None:
        """A simulation target that is a LEMS component holding a network (Ex17's tissue, whose
        own dynamics set the temperature), or a single component such as a cell (PinskyRinzel's
        twoCompartment Figure 3), is refused in one line naming it."""
        from ..errors import UnsupportedComponentError
        from .records import LemsComponent

        record = self.components.get(component_id)
        if record is None:
            return
        if not isinstance(record.obj, LemsComponent):
            record = replace(record, obj=LemsComponent(component_id, record.type))
        inner = [c for c in record.obj.children if "network" in self.type_chain(c.type)]
        if not inner and record.category != "network":
            raise UnsupportedComponentError(
                f"not supported: the simulation's target is this {record.type}, not a network "
                f"(jLEMS runs one component on its own; nmlhub runs a NeuroML <network>)",
                file=record.location.file, line=record.location.line,
                element=f"<{record.type} id='{component_id}'>")
        if inner:
            raise UnsupportedComponentError(
                f"not supported: a network defined in LEMS (network '{inner[0].id}' inside this "
                f"{record.type}, whose own dynamics the run would need); nmlhub runs a NeuroML <network>",
                file=record.location.file, line=record.location.line,
                element=f"<{record.type} id='{component_id}'>")

    def component(self, component_id: str) -> Any:
        """The libNeuroML object (or :class:`LemsComponent`) with this id.

        Raises
        ------
        ModelError
            No component has this id.
        """
        try:
            return self.components[component_id].obj
        except KeyError:
            raise ModelError(f"no component with id '{component_id}'", file=self.path) from None

    def user_type_parents(self) -> dict[str, str | None]:
        """``extends`` of each ComponentType the model defines."""
        return {name: ct.extends for name, ct in self.component_types.items()}

    def type_chain(self, type_name: str) -> list[str]:
        """A ComponentType and everything it extends, core and model-defined types alike."""
        return type_chain(type_name, self.user_type_parents())

    def category(self, type_name: str) -> str:
        """The category (cell, synapse, ion_channel, input, ...) of a ComponentType."""
        return category_of(type_name, self.user_type_parents())

    def by_category(self, category: str) -> Iterator[ComponentRecord]:
        """Components of one category, in load order."""
        return (rec for rec in self.components.values() if rec.category == category)

    def content_hash(self) -> str | None:
        """sha256 (hex) of the bytes of every file in :attr:`files`, in load order.

        For a model read from one file this is the file's ``sha256sum``. ``None`` when the model
        has no files (built in memory) or one of them can no longer be read.
        """
        if not self.files:
            return None
        digest = hashlib.sha256()
        try:
            for source in self.files:
                with open(source.path, "rb") as stream:
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        digest.update(block)
        except OSError:
            return None
        return digest.hexdigest()

    def file_of(self, component_id: str) -> Path:
        """The file a component was defined in."""
        return Path(self.components[component_id].location.file)
