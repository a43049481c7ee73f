"""nmlhub.model.paths: every cell/quantity path form nmlhub accepts, round trips, bad paths."""

import re

import pytest

from conftest import corpus_files, requires_corpus
from nmlhub.errors import NmlhubError
from nmlhub.model.paths import CellPath, QuantityPathError, cell_key, parse_path, quantity_path

FORMS = [
    # text, population, index, component, rest, bracketed, relative
    ("pop[3]", "pop", 3, None, (), True, False),
    ("pop[3]/v", "pop", 3, None, ("v",), True, False),
    ("pop[3]/2/v", "pop", 3, None, ("2", "v"), True, False),
    ("pop[0]/syn/g", "pop", 0, None, ("syn", "g"), True, False),
    ("pop[0]/synapses:syn:1/g", "pop", 0, None, ("synapses:syn:1", "g"), True, False),
    ("pop[1]/caConc", "pop", 1, None, ("caConc",), True, False),
    ("pop/3", "pop", 3, None, (), False, False),
    ("pop/3/cellType", "pop", 3, "cellType", (), False, False),
    ("pop/3/cellType/v", "pop", 3, "cellType", ("v",), False, False),
    ("pop/3/cellType/2/v", "pop", 3, "cellType", ("2", "v"), False, False),
    ("pop/3/cell/dend/caConc", "pop", 3, "cell", ("dend", "caConc"), False, False),
    ("../pop[3]", "pop", 3, None, (), True, True),
    ("../pop/3/cellType", "pop", 3, "cellType", (), False, True),
    ("pop[-1]", "pop", -1, None, (), True, False),
    ("pop_A.b-c[12]/v", "pop_A.b-c", 12, None, ("v",), True, False),
]


@pytest.mark.parametrize("text, population, index, component, rest, bracketed, relative", FORMS)
def test_every_form_parses_and_round_trips(text, population, index, component, rest, bracketed, relative):
    parsed = parse_path(text)
    assert parsed == CellPath(population, index, component, rest, bracketed, relative)
    assert str(parsed) == text
    assert parse_path(str(parsed)) == parsed


def test_segment_and_quantity():
    assert parse_path("pop[3]/2/v").segment == 2 and parse_path("pop[3]/2/v").quantity == "v"
    assert parse_path("pop/3/cell/v").segment is None and parse_path("pop/3/cell/v").quantity == "v"
    assert parse_path("pop[0]/syn/g").segment is None
    assert parse_path("pop[3]").quantity is None
    assert parse_path("pop/3/cell/2/v").cell() == "pop/3/cell"


def test_empty_elements_are_dropped():
    assert parse_path("pop[3]//v").rest == ("v",)


@pytest.mark.parametrize("text", ["", "3", "pop", "pop[x]", "pop[3", "pop3]", "[3]/v", "pop/x/cell/v",
                                  "pop[3]x", "pop/3x/v", "a[1][2]", "/pop[3]"])
def test_what_is_not_a_cell_path(text):
    assert parse_path(text) is None


@pytest.mark.parametrize("text", ["pop", "../pop[3]/v", "pop[-1]/v", "net/v", ""])
def test_bad_quantity_path_names_itself_in_one_line(text):
    with pytest.raises(QuantityPathError) as caught:
        quantity_path(text)
    message = str(caught.value)
    assert f"'{text}' does not name a cell" in message and "\n" not in message
    assert isinstance(caught.value, NmlhubError)


def test_cell_key_strips_and_splits():
    assert cell_key("  pop[3]/2/v ") == ("pop", 3, ["2", "v"])
    assert cell_key("pop/4/cell/v") == ("pop", 4, ["v"])


# The regexes model/paths replaced (issue 22), kept here as the reference its parse must agree with.
_BEFORE_RECORDING = re.compile(r"^(?P<pop>[^/\[\]]+)(?:\[(?P<i1>\d+)\]|/(?P<i2>\d+)(?:/(?P<comp>[^/]+))?)"
                               r"(?P<rest>(?:/.*)?)$")
_BEFORE_REFERENCE = re.compile(r"^(?:\.\./)?(?P<pop>[^/\[\]]+)(?:\[(?P<i1>-?\d+)\]|/(?P<i2>-?\d+)(?:/[^/]+)?)$")


def _before_cell_key(text):
    match = _BEFORE_RECORDING.match(text.strip())
    if match is None:
        return None
    index = int(match.group("i1") if match.group("i1") is not None else match.group("i2"))
    return match.group("pop"), index, [p for p in match.group("rest").split("/") if p]


def _before_reference(text):
    text = text.strip()
    if text.lstrip("-").isdigit():
        return None, int(text)
    match = _BEFORE_REFERENCE.match(text)
    if not match:
        return None, -1
    return match.group("pop"), int(match.group("i1") if match.group("i1") is not None else match.group("i2"))


def _corpus_paths() -> set[str]:
    from lxml import etree

    from nmlhub.xmlsafe import parse_xml_file

    found = set()
    for file in corpus_files():
        if file.suffix == ".h5":
            continue
        try:
            tree = parse_xml_file(file)
        except (NmlhubError, etree.XMLSyntaxError, OSError):
            continue
        for element in tree.iter(etree.Element):
            found |= {element.get(a) for a in ("quantity", "select", "target", "preCellId", "postCellId")
                      if element.get(a)}
    return found


@requires_corpus
@pytest.mark.corpus
def test_every_corpus_path_parses_as_before():
    """Every quantity, selection and cell reference written in the corpus (about 7,000 distinct)
    reads as it did with the regexes model/paths replaced (~7 s)."""
    from nmlhub.model.columns import parse_cell_reference

    paths = _corpus_paths()
    assert len(paths) > 1000
    for path in paths:
        try:
            parsed = cell_key(path)
        except QuantityPathError:
            parsed = None
        assert parsed == _before_cell_key(path), path
        assert parse_cell_reference(path) == _before_reference(path), path
