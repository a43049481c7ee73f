"""Simulation results through every results format: round trips, bad input, atomic writes."""

from __future__ import annotations

import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import nmlhub
from nmlhub.converters import jneuroml_files, results_hdf5
from nmlhub.converters.plain import ConversionError, envelope
from nmlhub.converters.result_mapping import from_plain, to_plain
from nmlhub.converters.results_io import FORMATS, load_results, save_results
from nmlhub.results import Results

REPO = Path(__file__).resolve().parents[1]
IZH = REPO / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"
REFERENCE = REPO / "tests" / "conformance" / "reference"
EXTENSION = {"hdf5": ".h5", "json": ".json", "pickle": ".pkl", "matlab": ".mat", "csv": ".csv", "jneuroml": ".dat",
             "nwb": ".nwb", "sonata_spikes": ".spikes.h5"}
# NWB holds times in seconds (ms -> s -> ms rounds): tests/test_nwb.py checks it with its tolerance;
# SONATA spike files hold spikes only: tests/test_sonata.py.
LOSSLESS = [name for name in FORMATS if name not in ("jneuroml", "nwb", "sonata_spikes")]


@pytest.fixture(scope="module")
def izh(tmp_path_factory: pytest.TempPathFactory):
    """The izh_network example run once: model, results and the folder of its jNeuroML-layout outputs."""
    from nmlhub.neuron.simulation import NeuronSimulation

    model = nmlhub.load(IZH)
    sim = NeuronSimulation(model)
    results = sim.run()
    outputs = tmp_path_factory.mktemp("izh_outputs")
    sim.write_outputs(results, outputs)
    return model, results, outputs


def same_value(a: object, b: object) -> bool:
    """Equality of plain data in which NaN equals NaN and types must match."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def assert_same(back: Results, orig: Results) -> None:
    """Every sample, trace, spike, cell and setting, bit for bit (NaN included)."""
    assert back.time_ms.dtype == np.float64
    assert np.array_equal(back.time_ms, orig.time_ms, equal_nan=True)
    assert list(back.traces) == list(orig.traces)
    for name, values in orig.traces.items():
        assert np.array_equal(back.traces[name], values, equal_nan=True), name
    assert list(back.spikes) == list(orig.spikes)
    for cell, times in orig.spikes.items():
        assert np.array_equal(back.spikes[cell], times, equal_nan=True), cell
    assert same_value(back.duration_ms, float(orig.duration_ms))
    assert same_value(back.dt_ms, float(orig.dt_ms))
    assert back.seed == orig.seed
    assert same_value(back.settings, orig.settings)
    assert back.model_hash == orig.model_hash


# ---------------------------------------------------------------- a real simulation

def test_simulation_fills_settings_and_hash(izh) -> None:
    model, results, _ = izh
    assert results.settings["simulation"] == "sim1" and results.settings["target"] == "izh_net"
    assert results.settings["simulator"] == "NEURON"
    assert results.model_hash == model.content_hash()
    assert len(results.model_hash) == 64
    assert any(len(t) == 0 for t in results.spikes.values())  # silent cells are kept


@pytest.mark.parametrize("fmt", LOSSLESS)
def test_simulation_round_trip(izh, tmp_path: Path, fmt: str) -> None:
    _, results, _ = izh
    written = save_results(results, tmp_path / f"run{EXTENSION[fmt]}")
    assert all(path.is_file() for path in written)
    assert_same(load_results(written[0]), results)
    assert_same(load_results(tmp_path / f"run{EXTENSION[fmt]}", fmt), results)


def test_simulation_round_trip_jneuroml(izh, tmp_path: Path) -> None:
    """jNeuroML files keep time, trace values (in order) and spike times of cells that spiked,
    to 9 significant digits; names, populations, silent cells, seed, settings and hash are lost."""
    _, results, _ = izh
    written = save_results(results, tmp_path / "run.dat")
    assert [p.name for p in written] == ["run.dat", "run.spikes"]
    for path in written:
        back = load_results(path)
        np.testing.assert_allclose(back.time_ms, results.time_ms, rtol=1e-8)
        assert list(back.traces) == [f"col{k}" for k in range(1, len(results.traces) + 1)]
        for got, expected in zip(back.traces.values(), results.traces.values()):
            np.testing.assert_allclose(got, expected, rtol=1e-8)
        cells = list(results.spikes)
        spiking = {("cells", k) for k, cell in enumerate(cells) if len(results.spikes[cell])}
        assert set(back.spikes) == spiking
        for (_, k), times in back.spikes.items():
            np.testing.assert_allclose(times, results.spikes[cells[k]], rtol=1e-8)
        assert back.duration_ms == pytest.approx(results.duration_ms)
        assert back.dt_ms == pytest.approx(results.dt_ms)
        assert back.settings == {} and back.model_hash is None and back.seed is None


def test_jneuroml_writer_matches_the_driver(izh, tmp_path: Path) -> None:
    """write_trace_file/write_spike_file give the bytes `nmlhub run` writes, and
    read_lems_outputs names every column and cell (silent ones too) as the LEMS file does."""
    model, results, outputs = izh
    sim = model.simulation
    trace_out, event_out = sim.outputs[0], sim.event_outputs[0]
    mine = jneuroml_files.write_trace_file(tmp_path / "v.dat", results, [c.quantity for c in trace_out.columns])
    assert mine.read_bytes() == (outputs / trace_out.file_name).read_bytes()
    ids = {tuple(jneuroml_files_cell(s.select)): s.id for s in event_out.selections}
    spikes = jneuroml_files.write_spike_file(tmp_path / "s.dat", results, event_out.format, ids)
    assert spikes.read_bytes() == (outputs / event_out.file_name).read_bytes()

    back = jneuroml_files.read_lems_outputs(model, outputs)
    assert list(back.traces) == [c.quantity for c in trace_out.columns]
    assert set(back.spikes) == set(ids)
    for cell in ids:
        np.testing.assert_allclose(back.spikes[cell], results.spikes[cell], rtol=1e-8)
    for name, values in back.traces.items():
        np.testing.assert_allclose(values, results.traces[name], rtol=1e-8)
    assert back.model_hash == results.model_hash and back.seed == results.seed


def jneuroml_files_cell(select: str) -> tuple[str, int]:
    from nmlhub.model.paths import cell_key

    population, index, _ = cell_key(select)
    return population, index


def test_reads_java_number_layout(tmp_path: Path) -> None:
    """The first rows of jNeuroML's own hh_single.v.dat and its ID_TIME spike file."""
    dat = tmp_path / "hh_single.v.dat"
    dat.write_text("0.0\t-0.065\t0.052932486\t0.5961208\t0.3176769\t\n"
                   "1.0E-5\t-0.06499996\t0.052932486\t0.5961208\t0.3176769\t\n")
    time_ms, traces = jneuroml_files.read_trace_file(dat, ["v", "m", "h", "n"])
    assert time_ms.tolist() == [0.0, 1.0e-5 * 1e3]
    assert traces["v"].tolist() == [-0.065, -0.06499996]
    spikes = tmp_path / "hh_single.spikes.dat"
    spikes.write_text("0\t0.02228\n0\t0.03864\n")
    cells = jneuroml_files.read_spike_file(spikes, "ID_TIME", {"0": ("hhpop", 0), "1": ("hhpop", 1)})
    assert list(cells) == [("hhpop", 0), ("hhpop", 1)]
    assert cells[("hhpop", 0)].tolist() == [0.02228 * 1e3, 0.03864 * 1e3] and len(cells[("hhpop", 1)]) == 0


def _jnml() -> str | None:
    beside = Path(sys.executable).parent / "jnml"
    found = str(beside) if beside.is_file() else shutil.which("jnml")
    return found if found and shutil.which("java") else None


@pytest.mark.skipif(_jnml() is None, reason="jnml or java not available")
def test_reads_files_jneuroml_wrote(izh, tmp_path: Path) -> None:
    """Run jnml on izh_network (~10 s) and compare what we read with the stored conformance
    reference, made from jnml's files by tests/conformance/make_references.py: the same numbers
    (izh_network is run at the file's own step there, see its index.json)."""
    folder = tmp_path / "izh_network"
    shutil.copytree(IZH.parent, folder)
    lems = folder / IZH.name
    subprocess.run([_jnml(), lems.name, "-nogui"], cwd=folder, check=True, capture_output=True, timeout=300)
    model = nmlhub.load(lems)
    back = jneuroml_files.read_lems_outputs(model, folder)
    reference = np.load(REFERENCE / "nml_izh_network.npz")
    stride = int(reference["stride:izh_network.v.dat"])
    table = np.column_stack([back.time_ms * 1e-3] + list(back.traces.values()))
    assert len(table) == int(reference["rows:izh_network.v.dat"])
    np.testing.assert_allclose(table[::stride], reference["trace:izh_network.v.dat"], rtol=1e-15, atol=0)
    events = reference["events:izh_network.spikes.dat"]  # ID_TIME
    selections = model.simulation.event_outputs[0].selections
    assert set(back.spikes) == {jneuroml_files_cell(s.select) for s in selections}  # silent cells too
    for selection in selections:
        times = events[events[:, 0] == int(selection.id), 1]
        np.testing.assert_allclose(back.spikes[jneuroml_files_cell(selection.select)] * 1e-3, times, rtol=1e-15)
    assert list(back.traces) == list(izh[1].traces) and back.model_hash == izh[1].model_hash


# ---------------------------------------------------------------- random results

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
_floats = st.floats(width=64)
_settings = st.dictionaries(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True),
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | _floats | _text, max_size=4)


@st.composite
def random_results(draw: st.DrawFn) -> Results:
    n = draw(st.integers(0, 5))
    names = draw(st.lists(_text, max_size=3, unique=True))
    populations = draw(st.lists(_text, min_size=1, max_size=3, unique=True))
    cells = draw(st.lists(st.tuples(st.sampled_from(populations), st.integers(-3, 2**40)), max_size=6, unique=True))
    return Results(
        time_ms=draw(arrays(np.float64, n, elements=_floats)),
        traces={name: draw(arrays(np.float64, n, elements=_floats)) for name in names},
        spikes={cell: draw(arrays(np.float64, st.integers(0, 4), elements=_floats)) for cell in cells},
        duration_ms=draw(_floats), dt_ms=draw(_floats), seed=draw(st.none() | st.integers(0, 2**63 - 1)),
        settings=draw(_settings),
        model_hash=draw(st.none() | st.text("0123456789abcdef", min_size=64, max_size=64)),
    )


_HYPOTHESIS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("fmt", LOSSLESS)
@_HYPOTHESIS
@given(results=random_results())
def test_random_round_trip(tmp_path: Path, fmt: str, results: Results) -> None:
    written = save_results(results, tmp_path / f"r{EXTENSION[fmt]}")
    assert_same(load_results(written[0]), results)
    assert_same(from_plain(to_plain(results)), results)


def _nine_digits(values: np.ndarray, to_file: float = 1.0, back: float = 1.0) -> np.ndarray:
    """A value written with 9 significant digits (times ``to_file``) and read back (times ``back``)."""
    return np.array([float(f"{v * to_file:.9g}") for v in values.tolist()]) * back


@_HYPOTHESIS
@given(results=random_results())
def test_random_round_trip_jneuroml(tmp_path: Path, results: Results) -> None:
    back = load_results(save_results(results, tmp_path / "r.dat")[0])
    assert np.array_equal(back.time_ms, _nine_digits(results.time_ms, 1e-3, 1e3), equal_nan=True)
    expected = list(results.traces.values()) if len(results.time_ms) else []
    assert len(back.traces) == len(expected)
    for got, values in zip(back.traces.values(), expected):
        assert np.array_equal(got, _nine_digits(values), equal_nan=True)
    cells = list(results.spikes)
    assert set(back.spikes) == {("cells", k) for k, c in enumerate(cells) if len(results.spikes[c])}
    for (_, k), times in back.spikes.items():
        assert np.array_equal(times, _nine_digits(np.sort(results.spikes[cells[k]], kind="stable"), 1e-3, 1e3),
                              equal_nan=True)


def test_a_million_spikes_are_vectorised(tmp_path: Path) -> None:
    """10,000 cells and 1,000,000 spikes: mapping and HDF5 stay fast (numpy columns, no per-spike objects)."""
    rng = np.random.default_rng(1)
    counts = rng.poisson(100, 10_000)
    counts[:10] = 0
    spikes = {("Exc", k): np.sort(rng.uniform(0, 10_000, n)) for k, n in enumerate(counts)}
    results = Results(np.zeros(0), {}, spikes, 10_000.0, 0.025, 1)
    assert_same(load_results(save_results(results, tmp_path / "big.h5")[0]), results)
    assert len(to_plain(results)["spike_time_ms"]) == counts.sum()


# ---------------------------------------------------------------- bad input

class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(envelope("results", {"time_ms": _Evil(marker)})))
    with pytest.raises(ConversionError, match="evil.pkl.*refused"):
        load_results(path)
    assert not marker.exists()


def _bad_files(tmp_path: Path, izh_results: Results) -> dict[str, Path]:
    files = {}
    good = save_results(izh_results, tmp_path / "good.h5")[0]
    files["truncated.h5"] = tmp_path / "truncated.h5"
    files["truncated.h5"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["text.h5"] = tmp_path / "text.h5"
    files["text.h5"].write_text("not HDF5 at all\n")
    files["other.h5"] = tmp_path / "other.h5"
    with h5py.File(files["other.h5"], "w") as f:
        f.create_dataset("something", data=[1, 2, 3])
    files["half.h5"] = tmp_path / "half.h5"
    shutil.copy(good, files["half.h5"])
    with h5py.File(files["half.h5"], "a") as f:
        del f["spike_cell"]
    files["text.mat"] = tmp_path / "text.mat"
    files["text.mat"].write_text("MATLAB 5.0 MAT-file? no.\n")
    files["wrong.json"] = tmp_path / "wrong.json"
    files["wrong.json"].write_text('{"time_ms": [1, 2, 3]}')
    files["partial.json"] = tmp_path / "partial.json"
    files["partial.json"].write_text('{"nmlhub": {"kind": "results", "version": 1}, "data": {"time_ms": 1}}')
    files["model.json"] = tmp_path / "model.json"
    files["model.json"].write_text('{"nmlhub": {"kind": "model", "version": 1}, "data": {}}')
    files["LEMS_izh_network.xml"] = IZH
    files["izh_network.net.nml"] = IZH.with_name("izh_network.net.nml")
    files["letters.dat"] = tmp_path / "letters.dat"
    files["letters.dat"].write_text("a\tb\n")
    files["ragged.dat"] = tmp_path / "ragged.dat"
    files["ragged.dat"].write_text("0.0\t1.0\t\n0.1\t\n")
    files["missing.pkl"] = tmp_path / "missing.pkl"
    save_results(izh_results, tmp_path / "run.csv")
    files["run.spikes.csv"] = tmp_path / "run.spikes.csv"  # the traces file is fine
    files["run.spikes.csv"].write_text("cell,time_ms\nExc[0],1.0\n")
    save_results(Results(np.zeros(0), seed=1), tmp_path / "mixed.csv")
    save_results(Results(np.zeros(0), seed=2), tmp_path / "other.csv")
    shutil.copy(tmp_path / "other.spikes.csv", tmp_path / "mixed.spikes.csv")
    files["mixed.traces.csv"] = tmp_path / "mixed.traces.csv"  # not of the same run
    return files


def test_bad_files_give_one_conversion_error_naming_the_file(izh, tmp_path: Path) -> None:
    for name, path in _bad_files(tmp_path, izh[1]).items():
        with pytest.raises(ConversionError) as caught:
            load_results(path)
        assert str(path) in str(caught.value), name


def test_unknown_extension_lists_the_formats(tmp_path: Path) -> None:
    with pytest.raises(ConversionError) as caught:
        save_results(Results(np.zeros(0)), tmp_path / "run.txt")
    assert all(name in str(caught.value) for name in FORMATS)
    with pytest.raises(ConversionError, match="formats"):
        load_results(tmp_path / "run.h5", "netcdf")


# ---------------------------------------------------------------- atomic writes

def _folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_interrupted_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    old = Results(np.arange(3.0), {"p/0/c/v": np.ones(3)}, {("p", 0): np.array([1.0])}, 3.0, 1.0, 7)
    new = Results(np.arange(5.0), {"p/0/c/v": np.zeros(5)}, {("p", 0): np.array([2.0])}, 5.0, 1.0, 8)
    path = tmp_path / f"run{EXTENSION[fmt]}"
    save_results(old, path)
    before = _folder_state(tmp_path)

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="simulated"):
        save_results(new, path)
    monkeypatch.undo()
    assert _folder_state(tmp_path) == before
    assert_same(load_results(path), old) if fmt not in ("jneuroml", "sonata_spikes") else None


def test_hdf5_failing_mid_file_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = Results(np.arange(3.0), {"v": np.ones(3)}, {("p", 0): np.array([1.0])}, 3.0, 1.0, 7)
    path = save_results(old, tmp_path / "run.h5")[0]
    before = _folder_state(tmp_path)

    def half_then_fail(out: h5py.File, data: dict, settings_json: str) -> None:
        out.create_dataset("time_ms", data=data["time_ms"])
        raise RuntimeError("interrupted")

    monkeypatch.setattr(results_hdf5, "_fill", half_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        save_results(Results(np.arange(9.0)), path)
    assert _folder_state(tmp_path) == before


def test_unserialisable_settings_keep_the_old_file(tmp_path: Path) -> None:
    old = Results(np.arange(3.0), settings={"a": 1})
    for fmt in LOSSLESS:
        path = tmp_path / f"run{EXTENSION[fmt]}"
        save_results(old, path)
        before = _folder_state(tmp_path)
        with pytest.raises((ConversionError, TypeError, pickle.PicklingError, AttributeError)):
            save_results(Results(np.arange(3.0), settings={"a": lambda: 0}), path)
        assert _folder_state(tmp_path) == before, fmt
