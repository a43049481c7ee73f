"""A network defined in LEMS: the simulation's target is a component holding a network.

jLEMS simulates any component. NeuroML2-core's Ex17 targets a ``tissueWithVaryingTemperature``
(a type of the model's own) whose child is a NeuroML ``<network>`` and whose dynamics set the
``temperature`` the network's q10 settings read. nmlhub runs the network as any NeuroML network
(the loader reads the child as one) and the holder beside it: its dynamics, which may read only
``t``, its parameters, constants and own variables, are computed on the simulation's step grid
as jLEMS computes them (explicit Euler, conditions tested with the time after the step); its
``temperature`` becomes NEURON's ``celsius`` from the step after the one where jLEMS changes it,
so mechanisms that read temperature see it when jLEMS's children do; its other variables are
recorded from the same computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from lxml import etree

from ..errors import UnsupportedComponentError
from ..model.model import Model
from ..model.records import ComponentRecord, LemsComponent
from ..model.simulation import Simulation
from ..xmlsafe import local_name, parse_xml_bytes
from . import expr as ex

#: Dynamics elements a holder may use (anything else is refused, naming it).
_HOLDER_ELEMENTS = frozenset({"StateVariable", "DerivedVariable", "TimeDerivative", "OnStart",
                              "OnCondition", "StateAssignment"})


@dataclass(frozen=True)
class HolderDynamics:
    """The dynamics of a component that holds the simulated network, flattened along its type chain.

    Attributes
    ----------
    component
        The holder's id.
    constants
        Parameters and constants, SI.
    states
        State variables, in declaration order.
    derived
        Derived variables (name, expression), in declaration order.
    rates
        Time derivatives by state.
    on_start
        OnStart assignments (state, expression).
    conditions
        OnCondition tests, each with its assignments.
    """

    component: str
    constants: dict[str, float]
    states: tuple[str, ...]
    derived: tuple[tuple[str, ex.Expr], ...]
    rates: dict[str, ex.Expr]
    on_start: tuple[tuple[str, ex.Expr], ...]
    conditions: tuple[tuple[ex.Expr, tuple[tuple[str, ex.Expr], ...]], ...]

    @property
    def variables(self) -> tuple[str, ...]:
        """What a simulation may record of the holder."""
        return self.states + tuple(name for name, _ in self.derived)


def network_holder(model: Model, simulation: Simulation | None) -> tuple[ComponentRecord, str] | None:
    """The simulation's target when it is a LEMS component holding exactly one network the model
    knows, with that network's id; else None."""
    record = model.components.get(simulation.target) if simulation is not None else None
    if record is None or not isinstance(record.obj, LemsComponent):
        return None
    networks = {net.id for net in model.document.networks}
    inner = [c.id for c in record.obj.children if c.id in networks and "network" in model.type_chain(c.type)]
    return (record, inner[0]) if len(inner) == 1 else None


def run_lems_defined_network(model: Model) -> None:
    """Point the model's simulation at the network its LEMS target holds (in place).

    Recorded paths through the network (``net1/hhpop[0]/v``) become the network's own
    (``hhpop[0]/v``); paths naming the holder's variables (``temperature``) stay as they are and the
    simulation names the holder (:attr:`Simulation.holder`), whose dynamics the driver runs beside.

    Parameters
    ----------
    model
        A loaded model; left as it is unless its simulation targets such a holder.
    """
    simulation = model.simulation
    found = network_holder(model, simulation)
    if found is None:
        return
    record, network_id = found
    prefix = f"{network_id}/"

    def inside(path: str) -> str:
        path = path.strip()
        return path[len(prefix):] if path.startswith(prefix) else path

    model.simulations[simulation.id] = simulation.with_paths(inside, target=network_id, holder=record.id)


def _type_chain_elements(model: Model, record: ComponentRecord) -> list[etree._Element]:
    """The model's own ComponentType definitions along the holder's type chain, its own type first."""
    elements = []
    for name in model.type_chain(record.type):
        definition = model.component_types.get(name)
        if definition is not None and definition.xml:
            elements.append(parse_xml_bytes(definition.xml.encode()).getroot())
    return elements


def _refuse(record: ComponentRecord, what: str) -> UnsupportedComponentError:
    return UnsupportedComponentError(
        f"not supported: {what} in the dynamics of this {record.type}, which holds the simulated network "
        "(nmlhub runs a holder whose dynamics read only t, its parameters and its own variables)",
        file=record.location.file, line=record.location.line, element=f"<{record.type} id='{record.id}'>")


def _expression(text: str | None, record: ComponentRecord) -> ex.Expr:
    try:
        return ex.parse(text or "")
    except ex.ExpressionError as exc:
        raise _refuse(record, f"the expression '{text}' ({exc})") from None


def _assignments(element: etree._Element, record: ComponentRecord) -> tuple[tuple[str, ex.Expr], ...]:
    found = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if local_name(child) != "StateAssignment":
            raise _refuse(record, f"<{local_name(child)}> inside <{local_name(element)}>")
        found.append((child.get("variable", ""), _expression(child.get("value"), record)))
    return tuple(found)


def _constants(model: Model, record: ComponentRecord, types: list[etree._Element]) -> dict[str, float]:
    values: dict[str, float] = {}
    for element in types:
        for child in element:
            if isinstance(child.tag, str) and local_name(child) == "Constant" and child.get("name") not in values:
                values[child.get("name")] = model.units.parse(child.get("value", "")).si
    for name, text in record.obj.parameters.items():
        try:
            values[name] = model.units.parse(text).si
        except Exception:  # an attribute that is not a quantity (a description...) is no parameter
            continue
    return values


def holder_dynamics(model: Model, component_id: str) -> HolderDynamics:
    """The dynamics of the holder ``component_id``.

    Raises
    ------
    UnsupportedComponentError
        The dynamics use a construct nmlhub cannot run beside the network (a regime, an event
        port, a requirement...), named in one line.
    """
    record = model.components[component_id]
    types = _type_chain_elements(model, record)
    states: list[str] = []
    derived: list[tuple[str, ex.Expr]] = []
    rates: dict[str, ex.Expr] = {}
    on_start: list[tuple[str, ex.Expr]] = []
    conditions: list[tuple[ex.Expr, tuple[tuple[str, ex.Expr], ...]]] = []
    for dynamics in (d for element in types for d in element if isinstance(d.tag, str)
                     and local_name(d) == "Dynamics"):
        for item in (c for c in dynamics if isinstance(c.tag, str)):
            kind = local_name(item)
            if kind not in _HOLDER_ELEMENTS:
                raise _refuse(record, f"<{kind}>")
            if kind == "StateVariable":
                states.append(item.get("name", ""))
            elif kind == "DerivedVariable":
                if item.get("select") or not item.get("value"):
                    raise _refuse(record, f"<DerivedVariable name='{item.get('name')}'> without a value")
                derived.append((item.get("name", ""), _expression(item.get("value"), record)))
            elif kind == "TimeDerivative":
                rates[item.get("variable", "")] = _expression(item.get("value"), record)
            elif kind == "OnStart":
                on_start += _assignments(item, record)
            elif kind == "OnCondition":
                conditions.append((_expression(item.get("test"), record), _assignments(item, record)))
    dynamics = HolderDynamics(record.id, _constants(model, record, types), tuple(states), tuple(derived), rates,
                              tuple(on_start), tuple(conditions))
    _check_names(dynamics, record)
    return dynamics


def _check_names(dynamics: HolderDynamics, record: ComponentRecord) -> None:
    known = set(dynamics.constants) | set(dynamics.variables) | {"t"}
    expressions = [e for _, e in dynamics.derived] + list(dynamics.rates.values())
    expressions += [e for _, e in dynamics.on_start]
    for test, assignments in dynamics.conditions:
        expressions += [test] + [e for _, e in assignments]
    for expression in expressions:
        unknown = sorted(ex.names(expression) - known)
        if unknown:
            raise _refuse(record, f"'{unknown[0]}' (not a parameter or variable of its own)")
    targets = [name for name, _ in dynamics.on_start] + [n for _, a in dynamics.conditions for n, _ in a]
    targets += list(dynamics.rates)
    for name in targets:
        if name not in dynamics.states:
            raise _refuse(record, f"an assignment to '{name}', which is not one of its state variables")


def _evaluate(expression: ex.Expr, env: dict[str, float]) -> float:
    return float(ex.evaluate(expression, env))


def _derive(dynamics: HolderDynamics, env: dict[str, float]) -> None:
    for name, expression in dynamics.derived:
        env[name] = _evaluate(expression, env)


def trajectory(dynamics: HolderDynamics, length_ms: float, step_ms: float) -> dict[str, np.ndarray]:
    """The holder's variables (SI) at every step of the run (index k: time k * step), as jLEMS
    computes them: states start from OnStart; each step advances the time, integrates the states
    (explicit Euler, with the derived values of the step before) and then applies every
    OnCondition whose test holds at the new time."""
    steps = int(round(length_ms / step_ms))
    dt = step_ms * 1e-3
    env = dict(dynamics.constants, t=0.0)
    env.update({state: 0.0 for state in dynamics.states})
    for name, expression in dynamics.on_start:
        env[name] = _evaluate(expression, env)
    _derive(dynamics, env)
    values = {name: np.empty(steps + 1) for name in dynamics.variables}
    for k in range(steps + 1):
        if k:
            rates = {state: _evaluate(rate, env) for state, rate in dynamics.rates.items()}
            env["t"] += dt  # accumulated, as jLEMS's clock
            for state, rate in rates.items():
                env[state] += rate * dt
            _derive(dynamics, env)
            for test, assignments in dynamics.conditions:
                if _evaluate(test, env):
                    news = [(name, _evaluate(expression, env)) for name, expression in assignments]
                    env.update(news)
            _derive(dynamics, env)
        for name in dynamics.variables:
            values[name][k] = env[name]
    return values


def temperature_schedule(values: dict[str, np.ndarray], step_ms: float) -> tuple[float, list[tuple[float, float]]]:
    """NEURON's ``celsius`` at the start and each change after it, as (time in ms, degC): a
    temperature jLEMS changes at step k is seen by the mechanisms from the step that starts there.
    Empty when the holder has no temperature."""
    kelvin = values.get("temperature")
    if kelvin is None:
        return math.nan, []
    celsius = kelvin - 273.15
    changed = np.flatnonzero(np.diff(celsius) != 0) + 1
    return float(celsius[0]), [(float(k * step_ms), float(celsius[k])) for k in changed]


def sampled(values: np.ndarray, time_ms: np.ndarray, step_ms: float) -> np.ndarray:
    """A trajectory on the step grid at the recorded times."""
    index = np.clip(np.rint(np.asarray(time_ms) / step_ms).astype(int), 0, len(values) - 1)
    return values[index]
