"""Never a silent wrong result (issue 19): what `nmlhub validate` rejects, `nmlhub run` refuses
too, before building anything, with the same one-line message; numbers are checked; resources
are bounded. One test per numbered defect of the issue, plus cases of our own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import nmlhub
from nmlhub import converters
from nmlhub.cli import main, without_rank_option
from nmlhub.model.validate import is_valid
from nmlhub.neuron.validation import validate  # with what run would refuse, as `nmlhub validate`

CELLS = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="cells">
    <expTwoSynapse id="syn" gbase="1nS" erev="0mV" tauDecay="5ms" tauRise="0.5ms"/>
    <izhikevich2007Cell id="RS" C="100pF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" vpeak="35mV"
        a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>
    <pulseGenerator id="drive" delay="5ms" duration="80ms" amplitude="200pA"/>
</neuroml>
"""

NETWORK = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="tiny">
    <include href="cells.nml"/>
    <network id="net">
        <population id="A" component="RS" size="3"/>
        <population id="B" component="RS" size="2"/>
        <projection id="AB" presynapticPopulation="A" postsynapticPopulation="B" synapse="syn">
            <connectionWD id="0" preCellId="../A/0/RS" postCellId="../B/1/RS" weight="{weight}" delay="{delay}"{fraction}/>
        </projection>
        <inputList id="in" population="{population}" component="drive">
            <input id="0" target="../A/{target}/RS" destination="synapses"/>
        </inputList>{extra}
    </network>
</neuroml>
"""

LEMS = """<Lems>
    <Target component="sim"/>
    <Include file="Cells.xml"/><Include file="Networks.xml"/><Include file="Simulation.xml"/>
    <Include file="{network}"/>
    <Simulation id="sim" length="{length}" step="{step}" target="net">
        <EventOutputFile id="sp" fileName="tiny.spikes" format="TIME_ID">
            <EventSelection id="0" select="A/0/RS" eventPort="spike"/>
            <EventSelection id="1" select="B/1/RS" eventPort="spike"/>
        </EventOutputFile>
    </Simulation>
</Lems>
"""

GOOD = dict(weight="2", delay="1ms", fraction="", population="A", target="0", extra="")


def write_model(folder: Path, network: str | None = None, length: str = "100ms", step: str = "0.025ms",
                **changes: str) -> Path:
    """A tiny network (3 + 2 Izhikevich cells, one connection, one current input) and its LEMS
    file, with ``changes`` to the network's values."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cells.nml").write_text(CELLS)
    name = "net.nml"
    if network is None:
        (folder / name).write_text(NETWORK.format(**{**GOOD, **changes}))
    else:
        name = network
    lems = folder / "LEMS_tiny.xml"
    lems.write_text(LEMS.format(network=name, length=length, step=step))
    return lems


def verdicts(lems: Path, capsys) -> tuple[list[str], int, str]:
    """validate's errors, run's exit status and run's stderr (run in this process: a refused model
    never reaches NEURON)."""
    errors = [str(p) for p in validate(lems) if p.severity == "error"]
    capsys.readouterr()
    status = main(["run", str(lems), "--no-progress"])
    return errors, status, capsys.readouterr().err


def assert_both_refuse(lems: Path, capsys, fragment: str) -> None:
    errors, status, err = verdicts(lems, capsys)
    assert errors, "validate accepts the model"
    assert any(fragment in e for e in errors), errors
    assert status == 1, err
    assert fragment in err, err
    assert err.count("\n") == 1 and err.startswith("nmlhub: error: /"), err
    assert "Traceback" not in err
    assert not (lems.parent / "tiny.spikes").exists(), "run wrote outputs of a model it refuses"


def test_a_good_model_is_valid_and_runs(tmp_path, capsys):
    lems = write_model(tmp_path)
    errors, status, err = verdicts(lems, capsys)
    assert errors == [] and status == 0, (errors, err)
    assert (tmp_path / "tiny.spikes").read_text().strip()


BAD_NETWORKS = {
    # issue 19 item 1: inputs and connections run used to drop, or simulate with bad numbers
    "input_list_on_unknown_population": (dict(population="Q"), "population 'Q' is not in network net"),
    "input_target_out_of_range": (dict(target="7"), "target cell 7 is not in A (size 3)"),
    "input_target_negative": (dict(target="-3"), "target cell -3 is not in A"),
    "nan_weight": (dict(weight="nan"), "weight nan is not a finite number"),
    "inf_weight": (dict(weight="inf"), "weight inf is not a finite number"),
    "negative_delay": (dict(delay="-1ms"), "delay -1 ms is not a finite number >= 0"),
    # item 11: these ended in internal errors inside NEURON
    "fraction_along_2.5": (dict(fraction=' postFractionAlong="2.5"'), "fraction_along 2.5 is not in [0, 1]"),
    "duplicate_population_id": (dict(extra='\n        <population id="A" component="RS" size="4"/>'),
                                "population id is used twice"),
}


@pytest.mark.parametrize("case", sorted(BAD_NETWORKS))
def test_run_refuses_what_validate_rejects(tmp_path, capsys, case):
    changes, fragment = BAD_NETWORKS[case]
    assert_both_refuse(write_model(tmp_path, **changes), capsys, fragment)


def test_the_same_cell_id_in_several_included_files_is_refused(tmp_path, capsys):
    """Issue 24 item 9: five files each define <cell id="LP">; jNeuroML refuses the model."""
    lems = write_model(tmp_path)
    network = tmp_path / "net.nml"
    text = network.read_text()
    for k in range(5):
        (tmp_path / f"lp{k}.nml").write_text(CELLS.replace('id="cells"', f'id="lp{k}"').replace(
            '<pulseGenerator id="drive"', '<izhikevich2007Cell id="LP" C="100pF" v0="-60mV" k="0.7nS_per_mV" '
            f'vr="-6{k}mV" vt="-40mV" vpeak="35mV" a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>\n'
            '    <pulseGenerator id="drive"').replace('id="syn"', f'id="syn{k}"').replace(
            'id="RS"', f'id="RS{k}"').replace('id="drive"', f'id="drive{k}"'))
        text = text.replace('<include href="cells.nml"/>', f'<include href="cells.nml"/><include href="lp{k}.nml"/>')
    network.write_text(text.replace('component="RS" size="2"', 'component="LP" size="2"'))
    assert_both_refuse(lems, capsys, "id 'LP' is used again")


@pytest.mark.parametrize("length, step, fragment", [("100ms", "nan ms", "step"), ("100ms", "0ms", "step"),
                                                    ("inf ms", "0.025ms", "length")])
def test_simulation_settings_must_be_finite_and_positive(tmp_path, capsys, length, step, fragment):
    assert_both_refuse(write_model(tmp_path, length=length, step=step), capsys, fragment)


def _column_names(dataset) -> dict[str, int]:
    def text(value) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    return {text(v): int(k.split("_")[1]) for k, v in dataset.attrs.items() if k.startswith("column_")}


def _hdf5_model(folder: Path, column: str, value: float) -> Path:
    """The tiny network as NeuroML HDF5 with one cell id of its projection replaced."""
    xml_lems = write_model(folder / "xml")
    network = folder / "net.nml.h5"
    nmlhub.save(xml_lems.parent / "net.nml", network)
    (folder / "cells.nml").write_text(CELLS)
    with h5py.File(network, "r+") as handle:
        found = []
        handle.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Dataset)
                          and column in _column_names(obj) else None)
        assert found, f"no dataset with a {column} column"
        dataset = found[0]
        names = _column_names(dataset)
        data = dataset[()].astype(float)
        data[0, names[column]] = value
        attrs = dict(dataset.attrs)
        parent, name = dataset.parent, dataset.name.rsplit("/", 1)[1]
        del parent[name]
        new = parent.create_dataset(name, data=data)
        new.attrs.update(attrs)
    return write_model(folder, network="net.nml.h5")


@pytest.mark.parametrize("value, fragment", [(np.nan, "post_cell_id nan is not a whole number"),
                                             (1e12, "post_cell_id 1000000000000 is not in B (size 2)"),
                                             (-3, "post_cell_id -3 is not in B (size 2)"),
                                             (2.5, "post_cell_id 2.5 is not a whole number")])
def test_hdf5_cell_ids_must_be_whole_and_in_range(tmp_path, capsys, value, fragment):
    """Issue 19 item 1: HDF5 cell ids NaN, 1e12, -3 were dropped and 2.5 became 2."""
    assert_both_refuse(_hdf5_model(tmp_path, "post_cell_id", value), capsys, fragment)


# -- rules ---------------------------------------------------------------------------------------
def _rules_model(folder: Path, rule, delay="1", populations=(("E", 20), ("I", 5))) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cells.nml").write_text(CELLS)
    net = nmlhub.NetworkBuilder("net", size=(100, 100, 100), seed=3)
    net.include(folder / "cells.nml")
    for pop, count in populations:
        net.population(pop, cell="RS", count=count)
    # the builder refuses a bad probability itself; a file written elsewhere must be refused too
    written_probability = isinstance(rule, str)
    net.connect("E", "I", "syn", nmlhub.Probability(_PLACEHOLDER) if written_probability else rule,
                weight=1.0, delay=delay)
    lems = net.save(folder / "net.net.nml", simulation=dict(duration_ms=10, dt_ms=0.025, spikes=None))
    if written_probability:
        for path in folder.glob("*.nml"):
            path.write_text(path.read_text().replace(repr(_PLACEHOLDER), rule))
    return lems


_PLACEHOLDER = 0.123457


@pytest.mark.parametrize("rule, delay, fragment", [
    ("1.5", "1", "probability 1.5 is not in [0, 1]"),
    ("-0.2", "1", "probability -0.2 is not in [0, 1]"),
    ("1.5 - dist_3D/1e9", "1", "' gives 1.5, outside [0, 1]"),
    (nmlhub.Probability(0.5), "0/0 + dist_3D", "delay nan is not a finite number >= 0"),
    (nmlhub.Convergence(30), "1", "30 connections asked of 20 candidates"),
    (nmlhub.Convergence(-2), "1", "negative"),
])
def test_bad_rules_are_refused_by_validate_and_run(tmp_path, capsys, rule, delay, fragment):
    """Issue 19 items 1 and 2: probabilities were clamped, a NaN delay simulated; validate
    accepted rules that run refused."""
    lems = _rules_model(tmp_path, rule, delay)
    errors, status, err = verdicts(lems, capsys)
    assert any(fragment in e for e in errors), errors
    assert status == 1 and fragment in err and err.count("\n") == 1, err


def test_a_rule_beyond_the_connection_budget_is_refused_before_allocating(tmp_path, capsys):
    """Issue 19 item 5: a rule making 10^11 connections allocated until memory ran out."""
    import resource
    import time

    lems = _rules_model(tmp_path, nmlhub.AllToAll(), populations=(("E", 316_228), ("I", 316_228)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    errors, status, err = verdicts(lems, capsys)
    assert time.monotonic() - start < 60
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1_000_000  # KiB: under 1 GB
    assert any("rule" in e and "100,000," in e and "beyond the limit" in e for e in errors), errors
    assert status == 1 and "beyond the limit" in err, err


def test_a_probability_rule_is_stopped_at_the_limit_given(tmp_path, capsys):
    lems = _rules_model(tmp_path, nmlhub.Probability("0.5 + 0*dist_3D"),
                        populations=(("E", 3000), ("I", 3000)))
    status = main(["run", str(lems), "--no-progress", "--max-connections", "100000"])
    err = capsys.readouterr().err
    assert status == 1 and "would make about" in err and "beyond the limit of 100,000" in err, err
    # the estimate scales the first block's count to every pair: 4.5 M, within a few percent
    estimate = int(err.split("would make about ")[1].split(" ")[0].replace(",", ""))
    assert abs(estimate - 0.5 * 3000 * 3000) < 0.05 * 0.5 * 3000 * 3000


# -- command line --------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value", [("--dt", "nan"), ("--dt", "-0.01"), ("--dt", "0"),
                                           ("--duration", "-5"), ("--duration", "nan"), ("--duration", "inf"),
                                           ("-n", "0"), ("--write-every", "0"), ("--max-connections", "-1")])
def test_command_line_numbers_are_checked(tmp_path, capsys, option, value):
    """Issue 19 item 2: --dt nan ran 'at dt nan', --dt -0.01 never ended, -n 0 ran serially."""
    lems = write_model(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(lems), option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err or option == "-n"


def test_only_the_rank_option_is_taken_out_of_the_command_line():
    argv = ["run", "X", "-n", "2", "--seed", "2", "--duration", "2"]
    assert without_rank_option(argv) == ["run", "X", "--seed", "2", "--duration", "2"]
    assert without_rank_option(["run", "X", "--ranks=2", "-n3", "--dt", "3"]) == ["run", "X", "--dt", "3"]


def test_arguments_equal_to_the_rank_count_reach_the_ranks(tmp_path):
    """Issue 19 item 3: `run X -n 2 --seed 2 --duration 2` reached mpiexec as `run X --seed --duration`."""
    lems = write_model(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "-n", "2", "--seed", "2",
                           "--duration", "2", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "simulated 2 ms at dt 0.025 ms: 5 cells on 2 rank(s)" in proc.stdout


# -- one-line errors (item 11) ---------------------------------------------------------------
def test_deeply_nested_input_gives_one_line(tmp_path, capsys):
    """900 nested parentheses in a rule and deeply nested JSON ended in RecursionError."""
    from nmlhub.rules.values import RuleError, parse_value

    with pytest.raises(RuleError, match="nested too deeply"):
        parse_value("(" * 900 + "dist_3D" + ")" * 900, what="rule 'r' delay")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(nmlhub.ModelError, match="nested too deeply"):
        nmlhub.load(deep)
    assert main(["convert", str(deep), str(tmp_path / "deep.nml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"nmlhub: error: {deep}") and err.count("\n") == 1, err


def test_damaged_hdf5_gives_one_line(tmp_path, capsys):
    lems = _hdf5_model(tmp_path, "post_cell_id", 1)
    network = tmp_path / "net.nml.h5"
    data = bytearray(network.read_bytes())
    for i in range(2000, len(data), 97):
        data[i] ^= 0xFF
    network.write_bytes(bytes(data))
    errors, status, err = verdicts(lems, capsys)
    assert errors and str(network) in errors[0]
    assert status == 1 and err.startswith(f"nmlhub: error: {network}") and err.count("\n") == 1, err


def test_string_typed_hdf5_table_is_refused(tmp_path, capsys):
    lems = _hdf5_model(tmp_path, "post_cell_id", 1)
    with h5py.File(tmp_path / "net.nml.h5", "r+") as handle:
        dataset = handle["neuroml/network/projection_AB/AB"]
        attrs = dict(dataset.attrs)
        del handle["neuroml/network/projection_AB/AB"]
        handle["neuroml/network/projection_AB"].create_dataset("AB", data=np.array([[b"a", b"b", b"c", b"d"]]))
        handle["neuroml/network/projection_AB/AB"].attrs.update(attrs)
    assert_both_refuse(lems, capsys, "not numbers")


def test_a_write_that_fails_gives_one_line(tmp_path, capsys):
    source = write_model(tmp_path).parent / "net.nml"
    assert main(["convert", str(source), "/dev/full/x.json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nmlhub: error: /dev/full") and err.count("\n") == 1, err


# -- file modes and temporary files (items 8 and 12) ------------------------------------------
def test_files_are_written_with_the_umask(tmp_path):
    import os
    import stat

    source = write_model(tmp_path).parent / "net.nml"
    old = os.umask(0o022)
    try:
        for name in ("a.json", "a.nml.h5", "a.mat", "a.pkl"):
            nmlhub.save(source, tmp_path / name)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
        (tmp_path / "a.json").chmod(0o640)
        nmlhub.save(source, tmp_path / "a.json")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640  # an overwrite keeps the mode
    finally:
        os.umask(old)


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".a.json.nmlhub-{dead.pid}.x1y2"
    stale.write_text("half")
    alive = tmp_path / ".a.json.nmlhub-1.z"  # pid 1 is always alive
    alive.write_text("someone else's")
    nmlhub.save(write_model(tmp_path).parent / "net.nml", tmp_path / "a.json")
    assert not stale.exists() and alive.exists()
    assert (tmp_path / "a.json").exists()


# -- XML guards (item 10) ----------------------------------------------------------------------
def _validate_in_subprocess(path: Path) -> subprocess.CompletedProcess:
    """`nmlhub validate` in its own process, so a parser that blocks on a FIFO fails the test by
    its timeout instead of hanging the suite."""
    return subprocess.run([sys.executable, "-m", "nmlhub", "validate", str(path)], capture_output=True,
                          text=True, timeout=120)


def test_a_doctype_naming_a_fifo_is_refused_without_opening_it(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")
    path = tmp_path / "doc.nml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE neuroml SYSTEM "pipe">\n<neuroml id="x"/>\n')
    proc = _validate_in_subprocess(path)
    assert proc.returncode == 1 and "DOCTYPE" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("target, kind", [("pipe.nml", "a FIFO"), ("pipe.nml.h5", "a FIFO"),
                                          ("/dev/urandom", "a device")])
def test_includes_must_be_regular_files(tmp_path, target, kind):
    import os

    for name in ("pipe.nml", "pipe.nml.h5"):
        os.mkfifo(tmp_path / name)
    path = tmp_path / "doc.nml"
    path.write_text(f'<neuroml id="x"><include href="{target}"/></neuroml>\n')
    proc = _validate_in_subprocess(path)
    assert proc.returncode == 1 and f"is {kind}, not a model file" in proc.stdout, proc.stdout + proc.stderr
    with pytest.raises(nmlhub.ModelError, match=f"is {kind}"):
        nmlhub.load(path)


# -- mechanism cache (item 7) ------------------------------------------------------------------
def test_a_damaged_mechanism_library_is_compiled_again(tmp_path):
    """A truncated libnrnmech.so made every later run die with SIGBUS and print nothing; another
    mechanism's library gave an internal AttributeError."""
    import os
    import shutil

    from nmlhub.neuron.mechanisms import build_mechanisms
    from nmlhub.neuron.mechcache import default_cache_root
    from nmlhub.neuron.network import needed_components

    lems = write_model(tmp_path / "model")
    # the model's libraries, compiled in the user's cache by a first run, copied to a cache of our own
    warm = subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--no-progress"],
                          capture_output=True, text=True, timeout=600)
    assert warm.returncode == 0, warm.stderr
    model = nmlhub.load(lems)
    names = [cm.mechanism.name for cm in build_mechanisms(model, needed_components(model.network())).values()
             if cm.mechanism is not None]
    env = {**os.environ, "NMLHUB_CACHE": str(tmp_path / "cache")}
    own = tmp_path / "cache" / "mechanisms" / default_cache_root().name  # hashes recorded on first use
    for name in names:
        shutil.copytree(default_cache_root() / name, own / name, ignore=shutil.ignore_patterns("*.sha256"))

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nmlhub", "run", str(lems), "--no-progress"],
                              capture_output=True, text=True, timeout=600, env=env)

    first = run()
    assert first.returncode == 0, first.stderr
    spikes = (lems.parent / "tiny.spikes").read_text()
    libraries = {p.parts[-3].split("_")[1]: p for p in (tmp_path / "cache").rglob("libnrnmech.so")}
    truncated = libraries["izhikevich2007Cell"]
    truncated.write_bytes(truncated.read_bytes()[:20_000])
    libraries["expTwoSynapse"].write_bytes(libraries["pulseGenerator"].read_bytes())
    (lems.parent / "tiny.spikes").unlink()
    second = run()
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("compiling it again") == 2, second.stderr
    assert (lems.parent / "tiny.spikes").read_text() == spikes


# -- batch output folder (item 6) --------------------------------------------------------------
@pytest.mark.parametrize("where", ["root", "home", "foreign"])
def test_a_batch_refuses_an_output_folder_that_is_not_its_own(tmp_path, where):
    from nmlhub.batch.batch import Batch
    from nmlhub.batch.spec import BatchError, spec_from_dict

    lems = write_model(tmp_path / "model")
    folder = {"root": Path("/"), "home": Path.home(), "foreign": tmp_path / "mine"}[where]
    if where == "foreign":
        folder.mkdir()
        (folder / "index.csv").write_text("my own table\n")
    spec = spec_from_dict({"name": "b", "model": str(lems), "output": str(folder),
                                "parameters": {"drive.amplitude": [100, 200]}, "metrics": ["rate"]})
    with pytest.raises(BatchError, match="refused|not a batch"):
        Batch.create(spec)
    if where == "foreign":
        assert (folder / "index.csv").read_text() == "my own table\n"
        assert sorted(p.name for p in folder.iterdir()) == ["index.csv"]


# -- interval files and SIGTERM (item 9) ---------------------------------------------------------
def _start_long_run(lems: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nmlhub", "run", str(lems), "--duration", "500000",
                             "--write-every", "50", "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_intervals(path: Path, proc: subprocess.Popen) -> None:
    import time

    from nmlhub.interval_files import open_hdf5_for_reading

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with open_hdf5_for_reading(path) as handle:
                if handle["written_to_ms"][0] >= 200:
                    return
        except (OSError, KeyError):
            pass
        time.sleep(0.5)
    raise AssertionError("the run wrote no interval")


def test_the_interval_file_of_a_killed_run_converts_and_plots(tmp_path, capsys):
    """Item 9: convert and plot refused it ('already open for write')."""
    lems = write_model(tmp_path)
    intervals = tmp_path / "LEMS_tiny.intervals.h5"
    proc = _start_long_run(lems)
    try:
        _wait_for_intervals(intervals, proc)
    finally:
        proc.kill()
        proc.communicate()
    assert main(["convert", str(intervals), str(tmp_path / "partial.json")]) == 0, capsys.readouterr().err
    partial = converters.load(tmp_path / "partial.json")
    assert partial.duration_ms >= 200 and partial.time_ms[-1] <= partial.duration_ms + 1e-9
    assert len(partial.spikes) == 5
    # the same model run for as long gives the same spikes (the drive ends at 85 ms)
    full = nmlhub.simulate(lems, duration_ms=partial.duration_ms)
    for cell, times in full.spikes.items():
        np.testing.assert_allclose(partial.spikes[cell], times)
    assert main(["plot", str(intervals), "--raster", "-o", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "raster.png").stat().st_size > 0


def test_sigterm_ends_a_run_saying_what_it_kept(tmp_path):
    import signal

    lems = write_model(tmp_path)
    intervals = tmp_path / "LEMS_tiny.intervals.h5"
    proc = _start_long_run(lems)
    _wait_for_intervals(intervals, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and f"{intervals} holds the run up to" in err, err
    kept = float(err.split("holds the run up to ")[1].split(" ")[0])
    assert converters.load(intervals).duration_ms == kept


RAMP_CELL = """<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="div">
    <ComponentType name="rampCell" extends="baseCellMembPot">
        <Parameter name="slope" dimension="voltage"/>
        <Parameter name="tau" dimension="time"/>
        <Dynamics>
            <StateVariable name="v" dimension="voltage" exposure="v"/>
            <TimeDerivative variable="v" value="{rate}"/>
        </Dynamics>
    </ComponentType>
    <rampCell id="ramp" slope="1mV" tau="{tau}"/>
    <network id="net">
        <population id="P" component="ramp" size="1"/>
    </network>
</neuroml>
"""

RAMP_LEMS = """<Lems>
    <Target component="sim"/>
    <Include file="Cells.xml"/><Include file="Networks.xml"/><Include file="Simulation.xml"/>
    <Include file="cell.nml"/>
    <Simulation id="sim" length="10ms" step="0.025ms" target="net">
        <OutputFile id="of" fileName="ramp.v.dat">
            <OutputColumn id="v" quantity="P/0/ramp/{variable}"/>
        </OutputFile>
    </Simulation>
</Lems>
"""


def _ramp_model(folder: Path, rate: str = "slope / tau", tau: str = "1ms", variable: str = "v") -> Path:
    (folder / "cell.nml").write_text(RAMP_CELL.format(rate=rate, tau=tau))
    lems = folder / "LEMS_ramp.xml"
    lems.write_text(RAMP_LEMS.format(variable=variable))
    return lems


def test_a_run_whose_traces_are_not_numbers_fails(tmp_path, capsys):
    """Item 2: a LEMS division by zero gave NaN traces and exit 0."""
    lems = _ramp_model(tmp_path, tau="0ms")
    assert main(["run", str(lems), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "trace 'P/0/ramp/v' is not a finite number from t = 0.025 ms" in err, err
    assert main(["run", str(_ramp_model(tmp_path, tau="2ms")), "--no-progress"]) == 0


@pytest.mark.parametrize("changes, fragment", [
    (dict(rate="slope / tauu"), "ComponentType rampCell reads 'tauu', which neither it nor the types it extends declare"),
    (dict(variable="vv"), "rampCell 'ramp' has no variable 'vv'"),
])
def test_validate_rejects_what_run_refuses(tmp_path, capsys, changes, fragment):
    """Item 1, the other way: validate accepted an undefined LEMS symbol and a recorded variable
    that does not exist, which run then refused."""
    lems = _ramp_model(tmp_path, **changes)
    errors, status, err = verdicts(lems, capsys)
    assert any(fragment in e for e in errors), errors
    assert status == 1 and fragment in err, err


@pytest.mark.parametrize("argv", [["batch", "run", "spec.yaml", "-j", "0"], ["batch", "run", "spec.yaml", "--poll", "nan"],
                                  ["plot", "x.h5", "--bin", "nan", "-o", "d"], ["plot", "x.h5", "--bin", "-5", "-o", "d"],
                                  ["import-cell", "c.swc", "--v-init", "inf", "-o", "c.cell.nml"]])
def test_other_commands_check_their_numbers(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and "argument" in capsys.readouterr().err


# -- validation of a large file streams (item 5) ------------------------------------------------
def _peak_rss_kib(argv: list[str]) -> tuple[int, str]:
    code = ("import resource, sys; from nmlhub.cli import main; status = main(sys.argv[1:]); "
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, status)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=600)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("PEAK")][-1]
    return int(line.split()[1]), proc.stdout


def test_validating_a_large_file_streams_and_still_checks_every_row(tmp_path):
    """validate of a 316 MB file peaked at 6.9 GB: it kept one lxml element per row."""
    from nmlhub.model.xml_columns import STREAM_BYTES

    lems = write_model(tmp_path)
    network = tmp_path / "net.nml"
    text = network.read_text()
    row = '            <connectionWD id="{0}" preCellId="../A/{1}/RS" postCellId="../B/{2}/RS" weight="0.5" delay="{3}ms"/>\n'
    n = STREAM_BYTES // 100 + 1000
    rows = "".join(row.format(i, i % 3, i % 2, "-2" if i == n - 7 else "1") for i in range(n))
    start = text.index("            <connectionWD")
    network.write_text(text[:start] + rows + text[text.index("        </projection>"):])
    size_kib = network.stat().st_size // 1024
    assert network.stat().st_size >= STREAM_BYTES
    small, _ = _peak_rss_kib(["validate", str(write_model(tmp_path / "small"))])
    large, out = _peak_rss_kib(["validate", str(lems)])
    assert f"projection AB connection {n - 7}: delay -2 ms is not a finite number >= 0" in out, out
    assert out.count("error") <= 2 and "INVALID (1 errors" in out, out
    # one lxml element per row took 32 times the file's size; tables take under 20
    assert large - small < 20 * size_kib, (large - small, size_kib)


def test_duplicate_instance_ids_are_refused(tmp_path, capsys):
    """Item 11: duplicate instance ids ended in an internal error."""
    lems = write_model(tmp_path)
    network = tmp_path / "net.nml"
    network.write_text(network.read_text().replace(
        '<population id="A" component="RS" size="3"/>',
        '<population id="A" component="RS" size="3" type="populationList">'
        + "".join(f'<instance id="{i}"><location x="{k}" y="0" z="0"/></instance>' for k, i in enumerate((0, 0, 2)))
        + "</population>"))
    assert_both_refuse(lems, capsys, "instance ids are not unique")


def test_an_hdf5_table_declaring_more_than_memory_is_refused_before_reading(tmp_path, capsys):
    """Item 5: a file of a few KB can declare a table of 10^10 rows."""
    lems = _hdf5_model(tmp_path, "post_cell_id", 1)
    with h5py.File(tmp_path / "net.nml.h5", "r+") as handle:
        group = handle["neuroml/network/projection_AB"]
        attrs = dict(group["AB"].attrs)
        del group["AB"]
        group.create_dataset("AB", shape=(10**10, 4), dtype="f4", chunks=(1 << 16, 4))
        group["AB"].attrs.update(attrs)
    assert (tmp_path / "net.nml.h5").stat().st_size < 100_000
    assert_both_refuse(lems, capsys, "declares 10000000000 x 4 values (160 GB), more than the limit")
