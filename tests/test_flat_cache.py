"""The cache of flattened components (nmlhub.lems.flat_cache): the same mechanisms as flattening
afresh, pylems not run when the cache holds every component, a damaged file ignored."""

from __future__ import annotations

from pathlib import Path

from nmlhub.lems.flatten import Flattener
from nmlhub.model import load
from nmlhub.neuron.mechanisms import build_mechanisms
from nmlhub.neuron.network import needed_components

HH = Path(__file__).resolve().parents[1] / "nml_examples" / "hh_single" / "LEMS_hh_single.xml"


def _ids(model) -> list[str]:
    network = model.network(model.simulation.target)
    return [i for i in needed_components(network, model.network_extras.get(network.id), model.rules.get(network.id))
            if i in model.components]


def _texts(mechanisms) -> dict[str, str]:
    texts = {}
    for item in mechanisms.values():
        found = [item.mechanism] if item.mechanism else []
        if item.biophysics:
            found += [d.mechanism for d in item.biophysics.densities]
        texts.update({m.name: m.text for m in found})
    return texts


def test_cached_flattening_gives_the_same_mechanisms(tmp_path):
    model = load(HH)
    fresh = _texts(build_mechanisms(model, _ids(model)))
    first = _texts(build_mechanisms(model, _ids(model), flat_cache=tmp_path))
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    second = _texts(build_mechanisms(model, _ids(model), flat_cache=tmp_path))
    assert len(fresh) >= 3 and first == fresh and second == fresh


def _channels(model) -> list[str]:
    return sorted(c.id for c in model.components.values() if c.type == "ionChannelHH")


def test_a_full_cache_does_not_run_pylems(tmp_path):
    model = load(HH)
    first = Flattener(model, _channels(model), cache_dir=tmp_path)
    fats = {c: first.fatten(c) for c in _channels(model)}
    first.close()
    again = Flattener(model, _channels(model), cache_dir=tmp_path)
    try:
        cached = {c: again.fatten(c) for c in _channels(model)}
        assert again._resolved is None  # read from the cache, pylems not started
    finally:
        again.close()
    assert len(fats) == 2 and {c: _described(f) for c, f in cached.items()} == {c: _described(f) for c, f in fats.items()}


def _described(fat) -> tuple:
    """What a flattened component says of itself, its parameters (with values), children and dynamics."""
    return (str(fat), sorted((p.name, p.numeric_value) for p in fat.parameters),
            sorted(fat.dynamics.derived_variables.keys()), sorted(fat.dynamics.state_variables.keys()),
            [_described(child) for child in fat.child_components])


def test_another_model_text_gets_another_file(tmp_path):
    model = load(HH)
    channels = _channels(model)
    for extra in ({}, {"x": '<ionChannelHH id="x" conductance="1pS"/>'}):
        flattener = Flattener(model, channels, extra_xml=extra, cache_dir=tmp_path)
        flattener.fatten(channels[0])
        flattener.close()
    assert len(list(tmp_path.glob("*.pickle"))) == 2


def test_a_damaged_file_is_ignored(tmp_path):
    model = load(HH)
    fresh = _texts(build_mechanisms(model, _ids(model)))
    build_mechanisms(model, _ids(model), flat_cache=tmp_path)
    (cached,) = tmp_path.glob("*.pickle")
    cached.write_bytes(b"not a pickle")
    assert _texts(build_mechanisms(model, _ids(model), flat_cache=tmp_path)) == fresh


def test_a_cache_of_translations_does_not_import_pylems(tmp_path):
    """The second build of a model reads nmlhub's translations from the cache: pylems's object
    model (whose import costs a tenth of a second per rank) is never imported."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from nmlhub.model import load\n"
        "from nmlhub.neuron.mechanisms import build_mechanisms\n"
        "from nmlhub.neuron.network import needed_components\n"
        f"model = load({str(HH)!r})\n"
        "network = model.network(model.simulation.target)\n"
        "ids = [i for i in needed_components(network, model.network_extras.get(network.id),\n"
        "       model.rules.get(network.id)) if i in model.components]\n"
        f"made = build_mechanisms(model, ids, flat_cache={str(tmp_path)!r})\n"
        "print(len(made), 'lems.model.component' in sys.modules)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert runs[0].stdout.split() == [runs[1].stdout.split()[0], "True"]  # the first run flattens
    assert runs[1].stdout.split()[1] == "False"
