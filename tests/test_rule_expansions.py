"""Every stored example and test rule network expands to the arrays it expanded to when the
fingerprints were stored (tests/rule_expansions.py regenerates them), whole, per rank and after
a round trip through its annotation, whose bytes are unchanged too."""

from __future__ import annotations

import json

import pytest

from rule_expansions import STORED, fingerprints


@pytest.fixture(scope="module")
def found():
    return fingerprints()


def _stored():
    return json.loads(STORED.read_text())


@pytest.mark.parametrize("name", sorted(_stored()))
def test_expansion_is_unchanged(found, name):
    stored = _stored()[name]
    assert found[name].keys() == stored.keys()
    for case, expected in stored.items():
        assert found[name][case] == expected, f"{name}: {case}"


def test_every_case_is_stored(found):
    assert sorted(found) == sorted(_stored())
