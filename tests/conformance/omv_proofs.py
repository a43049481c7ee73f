"""Which hand-written section proves why an OMV experiment of the corpus does not pass.

The table is tests/omv_known.json: one reason per ``.omt::experiment``, written by hand beside the
proofs (numerical_schemes.md, event_timing.md, osb_causes.md, assembled into docs/conformance.md),
each reason ending with the section it rests on (``(docs/conformance.md, TITLE)``). A reason counts
as proven only when TITLE is a heading or a bold paragraph label of those sources: a cause is never
guessed from the figures of a result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
KNOWN = HERE.parent / "omv_known.json"
SOURCES = ("numerical_schemes.md", "event_timing.md", "osb_causes.md")
_POINTER = re.compile(r"(?:docs/conformance\.md|osb_causes\.md)[,:]?([^;]*)")


def read_known(path: Path | None = None) -> dict[str, str]:
    """The table (tests/omv_known.json unless ``path``): ``.omt`` (relative to the corpus's osb
    folder) ``::experiment`` -> reason."""
    return json.loads((path or KNOWN).read_text())


def _normal(text: str) -> str:
    return re.sub(r"[`'\"*]", "", text).strip().lower()


def _plain(text: str) -> str:
    return " ".join(text.replace("`", "").replace("**", "").split())


def titles() -> list[str]:
    """The titles of the hand-written proofs, as written: every heading, then every bold
    paragraph label (a heading is preferred when a reason fits both)."""
    texts = [(HERE / name).read_text() for name in SOURCES]
    found = [title for text in texts for title in re.findall(r"^#{2,4} (.+)$", text, flags=re.M)]
    found += [label for text in texts for label in re.findall(r"\*\*(.+?)\*\*", text, flags=re.S)]
    return [_plain(title) for title in found]


def anchors() -> list[str]:
    """The titles of the hand-written proofs, normalized (as ``proof_section`` compares them)."""
    return [_normal(title) for title in titles()]


def _common(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def proof_section(reason: str, known_titles: list[str]) -> str | None:
    """The title of the section a reason names (``docs/conformance.md, TITLE``; TITLE's part
    before a colon is enough), among ``known_titles`` (as ``titles`` gives them, or normalized);
    None when it names none. Several titles fit: the one sharing the longest start with TITLE."""
    for where in _POINTER.finditer(reason):
        pointer = _normal(where.group(1)).rstrip(")").strip(" ,")
        lead = pointer.split(":")[0].strip()
        if len(lead) < 4:
            continue
        fits = [title for title in known_titles
                if _normal(title).startswith(lead) or pointer.startswith(_normal(title).split(":")[0].strip())]
        if fits:
            return max(fits, key=lambda title: _common(_normal(title), pointer))
    return None


def key(omt: str, experiment: str) -> str:
    """The table's key of an experiment (``omt`` relative to the corpus's osb folder)."""
    return f"{omt}::{experiment}"


def proven_cause(omt: str, experiment: str, known: dict[str, str], titles: list[str]) -> str | None:
    """The section proving why the experiment does not pass, or None if the table has no reason
    for it or its reason names no section."""
    reason = known.get(key(omt, experiment), "")
    return proof_section(reason, titles) if reason else None
