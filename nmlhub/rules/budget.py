"""A budget of connections for rule expansion: each rule's count is estimated before its
connections are allocated, and expansion stops, naming the rule, beyond the limit."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .values import RuleError

#: Memory one expanded connection takes while rules expand (columns, sort order, random
#: numbers, values), a generous figure: NEURON's own objects come on top.
BYTES_PER_CONNECTION = 200
#: Environment variable that sets the limit (``nmlhub run --max-connections`` sets it too).
LIMIT_VARIABLE = "NMLHUB_MAX_CONNECTIONS"


def available_memory_bytes() -> int:
    """Memory available to a new allocation (Linux ``MemAvailable``; else physical memory)."""
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def connection_limit(max_connections: int | None = None) -> int:
    """The most connections rule expansion makes: ``max_connections`` if given, else
    ``$NMLHUB_MAX_CONNECTIONS``, else what the available memory holds."""
    if max_connections is not None:
        return int(max_connections)
    text = os.environ.get(LIMIT_VARIABLE)
    if text:
        try:
            return int(float(text))
        except ValueError:
            raise RuleError(f"${LIMIT_VARIABLE} is '{text}', not a number of connections") from None
    return available_memory_bytes() // BYTES_PER_CONNECTION


@dataclass
class ConnectionBudget:
    """Connections allowed, and used so far, over every rule of one expansion."""

    limit: int
    used: int = 0

    def allows(self, count: int) -> bool:
        """Whether ``count`` more connections stay within the limit."""
        return self.used + count <= self.limit

    def charge(self, rule_id: str, count: int) -> None:
        """Take ``count`` connections for a rule before allocating them.

        Raises
        ------
        RuleError
            The rule would go over the limit.
        """
        if not self.allows(count):
            self.refuse(rule_id, count)
        self.used += count

    def refuse(self, rule_id: str, estimate: int, about: str = "") -> None:
        """Raise the error of a rule that would make ``estimate`` connections, too many."""
        raise RuleError(
            f"rule '{rule_id}' would make {about}{estimate:,} connections, beyond the limit of "
            f"{self.limit:,} ({max(0, self.limit - self.used):,} left; the limit is set from available "
            f"memory: raise it with --max-connections or ${LIMIT_VARIABLE})")
