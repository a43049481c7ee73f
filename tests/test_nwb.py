"""NWB results: runs of every bundled example written with pynwb, checked by pynwb's validator and
nwbinspector (the field's own readers), and read back equal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

import nmlhub
from nmlhub import converters
from nmlhub.converters import nwb
from nmlhub.converters.plain import ConversionError

pynwb = pytest.importorskip("pynwb")
nwbinspector = pytest.importorskip("nwbinspector")

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "nml_examples").glob("*/LEMS_*.xml"))
FAILING = {"CRITICAL", "PYNWB_VALIDATION", "BEST_PRACTICE_VIOLATION", "ERROR"}


def check_nwb(path: Path) -> None:
    """pynwb's schema validator finds nothing, nwbinspector nothing critical nor a violation."""
    assert pynwb.validate(path=str(path)) == []
    findings = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path))
                if m.importance.name in FAILING]
    assert findings == [], [f"{m.importance.name} {m.check_function_name}: {m.message}" for m in findings]


def assert_equal_results(back, orig) -> None:
    """Traces bit for bit; spike times and sample times to the rounding of ms -> s -> ms."""
    assert list(back.traces) == list(orig.traces)
    for name, values in orig.traces.items():
        assert np.array_equal(back.traces[name], values), name
    np.testing.assert_allclose(back.time_ms, orig.time_ms, rtol=0, atol=1e-6 * max(orig.dt_ms, 1e-9))
    assert list(back.spikes) == list(orig.spikes)
    for key, times in orig.spikes.items():
        np.testing.assert_allclose(back.spikes[key], times, rtol=1e-14, atol=0)
    assert (back.duration_ms, back.dt_ms, back.seed, back.model_hash, back.settings) == \
        (orig.duration_ms, orig.dt_ms, orig.seed, orig.model_hash, orig.settings)


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.parent.name)
def example_run(request, tmp_path_factory):
    lems = request.param
    results = nmlhub.simulate(nmlhub.load(lems), duration_ms=100.0)
    path = tmp_path_factory.mktemp("nwb") / "run.nwb"
    assert nmlhub.save(results, path) == [path]
    return lems, results, path


def test_every_example_passes_the_validators_and_reads_back_equal(example_run):
    _, results, path = example_run
    check_nwb(path)
    assert_equal_results(converters.load(path), results)


def test_units_table_has_every_cell_with_its_population_index_type_and_position(example_run):
    lems, results, path = example_run
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        if results.spike_count():
            units = f.units.to_dataframe()
            assert sum(len(t) for t in units["spike_times"]) == results.spike_count()
            silent = [k for k, t in results.spikes.items() if len(t) == 0]
            assert sum(len(t) == 0 for t in units["spike_times"]) == len(silent)
        else:  # NWB's checks reject a Units table without spikes
            assert f.units is None
            units = f.processing["misc"][nwb.CELLS_TABLE].to_dataframe()
    assert list(zip(units["population"], units["cell_index"])) == list(results.spikes)
    positions = _xml_positions(lems)
    for pop, index, ctype, x, y, z in zip(units["population"], units["cell_index"], units["cell_type"],
                                          units["x"], units["y"], units["z"]):
        assert ctype, (pop, index)
        if (pop, index) in positions:  # cells placed explicitly in the XML (rules-built ones are not)
            assert (x, y, z) == positions[(pop, index)]


def _xml_positions(lems: Path) -> dict[tuple[str, int], tuple[float, float, float]]:
    """Positions of the instances written in the example's network files, read with lxml alone."""
    found = {}
    for net in lems.parent.glob("*.nml"):
        tree = etree.parse(str(net), etree.XMLParser(resolve_entities=False, no_network=True))
        for pop in tree.iter("{*}population"):
            for inst in pop.iter("{*}instance"):
                loc = inst.find("{*}location")
                found[(pop.get("id"), int(inst.get("id")))] = tuple(float(loc.get(a)) for a in "xyz")
    return found


def test_traces_carry_si_units_and_their_lems_paths(example_run):
    _, results, path = example_run
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        module = io.read().processing[nwb.TRACES_MODULE]
        table = module[nwb.COLUMNS_TABLE].to_dataframe()
        assert list(table["lems_path"]) == list(results.traces)
        for series, column, lems_path in zip(table["series"], table["column"], table["lems_path"]):
            ts = module[series]
            assert lems_path.rsplit("/", 1)[-1] == series
            assert np.array_equal(ts.data[:, column], results.traces[lems_path])
            assert ts.unit == {"v": "volts", "caConc": "mol/m^3", "caConc2": "mol/m^3"}.get(series, "SI"), series
            if series == "v":
                assert -0.1 < float(np.median(ts.data[:, column])) < 0.06  # volts, not mV


def test_lfp_is_an_electrical_series_with_contact_positions(tmp_path):
    from nmlhub.lfp import laminar_probe

    probe = laminar_probe(x=150, z=150, y_start=0, y_end=1000, n=4)
    results = nmlhub.simulate(REPO / "nml_examples" / "layered_cortex" / "LEMS_layered_cortex.xml",
                              duration_ms=30.0, lfp=probe, lfp_every_ms=0.1)
    path = tmp_path / "lfp.nwb"
    nmlhub.save(results, path)
    check_nwb(path)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        series = f.processing["ecephys"]["LFP"].electrical_series[nwb.LFP_NAME]
        assert series.unit == "volts"
        electrodes = f.electrodes.to_dataframe()
        np.testing.assert_array_equal(electrodes[["x", "y", "z"]].to_numpy(), results.lfp.positions_um)
        np.testing.assert_allclose(np.asarray(series.data[:]).T * 1e3, results.lfp.potential_mv, rtol=1e-15)
    back = converters.load(path).lfp
    np.testing.assert_allclose(back.potential_mv, results.lfp.potential_mv, rtol=1e-14, atol=0)
    np.testing.assert_allclose(back.time_ms, results.lfp.time_ms, atol=1e-9)
    assert (back.sigma, back.method) == (results.lfp.sigma, results.lfp.method)


def test_session_metadata_names_the_run(example_run):
    lems, results, path = example_run
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        assert f.source_script_file_name == str(lems)
        assert f.source_script == lems.read_text()
        assert results.model_hash in f.experiment_description
        assert f"seed {results.seed}" in f.session_description
        assert ["nmlhub", nmlhub.__version__] in [list(g) for g in f.was_generated_by]
        assert f.units.resolution == pytest.approx(results.dt_ms * 1e-3)


def test_cli_run_output_and_convert_from_hdf5(tmp_path):
    lems = REPO / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"
    run = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--duration", "50", "--no-progress",
                          "--outdir", str(tmp_path), "--output", str(tmp_path / "run.nwb"),
                          "--output", str(tmp_path / "run.h5")], capture_output=True, text=True, check=True)
    assert f"wrote {tmp_path / 'run.nwb'}" in run.stdout
    check_nwb(tmp_path / "run.nwb")
    converters.convert(tmp_path / "run.h5", tmp_path / "c.nwb")  # what `nmlhub convert` calls
    check_nwb(tmp_path / "c.nwb")
    from_h5 = converters.load(tmp_path / "run.h5")
    assert_equal_results(converters.load(tmp_path / "c.nwb"), from_h5)
    assert_equal_results(converters.load(tmp_path / "run.nwb"), from_h5)


def test_foreign_and_damaged_files_are_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"not an HDF5 file")
    with pytest.raises(ConversionError, match="bad.nwb.*not a readable NWB file"):
        converters.load(bad)
    foreign = tmp_path / "foreign.nwb"
    from datetime import datetime, timezone

    with pynwb.NWBHDF5IO(str(foreign), "w") as io:
        io.write(pynwb.NWBFile(session_description="a recording", identifier="x",
                               session_start_time=datetime.now(timezone.utc)))
    with pytest.raises(ConversionError, match="foreign.nwb.*not an nmlhub results file"):
        converters.load(foreign)


def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    from nmlhub.results import Results

    results = Results(np.array([0.0, 0.1]), {"p/0/c/v": np.array([-0.07, -0.06])}, {("p", 0): np.array([0.05])},
                      duration_ms=0.1, dt_ms=0.1)
    target = tmp_path / "keep.nwb"
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", fail)
    with pytest.raises(RuntimeError):
        nmlhub.save(results, target)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
