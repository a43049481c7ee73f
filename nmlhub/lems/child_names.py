"""Which child component fills a ComponentType's single ``Child`` when the element was written
with its own id.

jLEMS binds ``<rate id="opening_rate" type="HHExpRate" .../>`` to the ``Child name="rate"`` of
its parent by the element's name, whatever its id (ChannelML conversions write kinetic-scheme
rates so). pylems names a child by its id when it has one, by its element name otherwise, so the
element name is lost; a ``select="rate/r"`` then found nothing. Here such a child is bound to the
single ``Child`` no other child fills: the one whose declared type it extends, or, when exactly
one ``Child`` and one child are left, that one (jLEMS does not check the type either).
"""

from __future__ import annotations

from typing import Any, Callable


def bind_children_by_role(fc: Any, child_scopes: list[tuple[Any, Any]],
                          type_chain: Callable[[str], list[str]]) -> list[Any]:
    """Add the name of the single ``Child`` each child fills to its scope's aliases.

    Parameters
    ----------
    fc
        The pylems FatComponent whose ``children`` are the Child/Children declarations.
    child_scopes
        Its child components with their scopes (``aliases`` is a set of names).
    type_chain
        A type's ``extends`` chain.

    Returns
    -------
    list
        The child components left unbound while a single ``Child`` is unfilled (a ``select``
        through that Child must refuse, not read 0).
    """
    singles = [d for d in fc.children if not getattr(d, "multiple", False)]
    collections = [d for d in fc.children if getattr(d, "multiple", False)]
    names = {d.name for d in fc.children}
    filled = {child.id for child, _ in child_scopes} | {a for _, s in child_scopes for a in s.aliases}
    missing = [d for d in singles if d.name not in filled]
    unbound = [(child, scope) for child, scope in child_scopes
               if child.id not in names and not scope.aliases
               and not any(d.type in type_chain(child.type) for d in collections)]
    if not missing or not unbound:
        return []
    for declaration in list(missing):
        fitting = [(c, s) for c, s in unbound if declaration.type in type_chain(c.type)]
        if len(fitting) == 1 and not any(d.type in type_chain(fitting[0][0].type)
                                         for d in missing if d is not declaration):
            fitting[0][1].aliases.add(declaration.name)
            unbound.remove(fitting[0])
            missing.remove(declaration)
    if len(missing) == 1 and len(unbound) == 1:
        unbound[0][1].aliases.add(missing[0].name)
        return []
    return [child for child, _ in unbound] if missing else []
