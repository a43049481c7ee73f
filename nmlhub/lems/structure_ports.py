"""Where the events of a LEMS ``EventConnection`` go, checked against what the types declare.

jLEMS's ``EventConnectionBuilder`` sends the source's ``sourcePort`` (else its first out port) to:

- with a ``receiver``: a new instance of the receiver, on its ``targetPort`` (else its first in
  port), added to the target's ``Attachments`` set that ``receiverContainer`` names (the target's
  only set when it names none);
- without one: the target itself, on its ``targetPort`` (else its first in port).

Where those names do not exist jLEMS stops with an exception (``No input ports on ...``, ``Must
specify destination attachments list ...``, or a NullPointerException for a set the target lacks);
nmlhub says the same in one line naming the element. Each check returns the problem, or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from .structure_types import TypeDeclarations


@dataclass(frozen=True)
class PortProblem:
    """Why a connection cannot be made: a model error, or a form nmlhub does not run (``unsupported``)."""

    message: str
    unsupported: bool = False


def _listed(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names) or "none"


def direct_port_problem(declared: TypeDeclarations, target_type: str, target_port: str | None) -> PortProblem | None:
    """The problem of events sent without a receiver into a target of type ``target_type`` (on
    ``target_port``, or its first in port), or None."""
    ports = declared.names(target_type, "EventPort", direction="in")
    if not ports:
        return PortProblem(f"an <EventConnection> without a receiver sends the events into the target itself, "
                           f"and its type {target_type} has no in <EventPort> (jLEMS stops: no input ports)")
    if target_port and target_port not in ports:
        return PortProblem(f"targetPort '{target_port}' of an <EventConnection> without a receiver: the target's "
                           f"type {target_type} has no in <EventPort> of that name (it has {_listed(ports)})")
    if len(ports) > 1:
        return PortProblem(f"an <EventConnection> without a receiver into one of the in ports of {target_type} "
                           f"({_listed(ports)}): nmlhub's cell mechanism runs every OnEvent of the cell on "
                           "each event it receives", unsupported=True)
    return None


def receiver_port_problem(declared: TypeDeclarations, receiver_type: str, target_port: str | None) -> PortProblem | None:
    """The problem of events delivered to a new receiver of type ``receiver_type`` (on
    ``target_port``, or its first in port), or None."""
    ports = declared.names(receiver_type, "EventPort", direction="in")
    if not ports:
        return PortProblem(f"the receiver's type {receiver_type} has no in <EventPort> (jLEMS stops: no input "
                           "ports)")
    if target_port and target_port not in ports:
        return PortProblem(f"targetPort '{target_port}': the receiver's type {receiver_type} has no in "
                           f"<EventPort> of that name (it has {_listed(ports)})")
    if target_port not in (None, "", "in"):
        return PortProblem(f"targetPort '{target_port}' (nmlhub delivers events to the receiver's 'in' port)",
                           unsupported=True)
    return None


def container_problem(declared: TypeDeclarations, target_type: str, container: str | None) -> PortProblem | None:
    """The problem of adding a receiver to the ``Attachments`` set ``container`` names (the only
    set when None) of a target of type ``target_type``, or None."""
    sets = declared.names(target_type, "Attachments")
    if container and container not in sets:
        return PortProblem(f"receiverContainer '{container}' names no <Attachments> of the target's type "
                           f"{target_type} (it has {_listed(sets)}; jLEMS stops with a NullPointerException)")
    if not container and len(sets) != 1:
        found = "no <Attachments>" if not sets else f"several <Attachments> ({_listed(sets)})"
        return PortProblem(f"the receiver joins the target's <Attachments>, and its type {target_type} has "
                           f"{found}: name one with receiverContainer (jLEMS stops there too)")
    return None
