"""Batch runs: a 2x3 grid on local processes and on a pool of MPI ranks (one run failing on
purpose), the index against a recomputation from the stored spikes, failures of every kind
recorded, resuming after the driver was killed, specs and parameter paths, analysis."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nmlhub.batch import (
    Batch, BatchError, BatchSpec, Metric, Parameter, Sampling, executor_for, load_spec, read_index_hdf5,
    run_batch, spec_from_dict,
)
from nmlhub.batch.params import ModelDocuments, ParameterError, copy_model
from nmlhub.batch.sampling import combinations

REPO = Path(__file__).resolve().parents[1]
LEMS = REPO / "nml_examples" / "izh_network" / "LEMS_izh_network.xml"
HELPERS = Path(__file__).resolve().parent / "batch_helpers.py"
GRID = {"RS.a": [0.02, 0.03], "drive_E.amplitude": [60, 100, 140]}
FAILING = (0.03, 100)


def grid_spec(name: str = "grid") -> BatchSpec:
    return spec_from_dict({
        "name": name, "model": str(LEMS), "parameters": GRID,
        "simulation": {"duration_ms": 100},
        "metrics": ["rate", "isi_cv", "synchrony", "spike_count",
                    {"name": "checked", "function": f"{HELPERS}:deliberate"},
                    {"name": "corr", "function": "nmlhub.analysis.spikes:count_correlation", "bin_ms": 5}],
        "timeout_s": 120,
    })


# -- metrics recomputed here, independently of nmlhub.batch.metrics ------------------------------
def recompute(results_file: Path, duration_ms: float) -> dict[str, float]:
    from nmlhub import converters

    results = converters.load(results_file)
    pops: dict[str, list[np.ndarray]] = {}
    for (pop, _cell), times in results.spikes.items():
        pops.setdefault(pop, []).append(np.asarray(times))
    pops[""] = [t for p in list(pops) for t in pops[p]]
    out = {}
    for pop, trains in pops.items():
        suffix = f".{pop}" if pop else ""
        count = sum(len(t) for t in trains)
        out["spike_count" + suffix] = count
        out["rate" + suffix] = count / len(trains) / (duration_ms / 1000)
        cvs = []
        for t in trains:
            if len(t) >= 3:
                isi = np.diff(np.sort(t))
                cvs.append(isi.std() / isi.mean())
        out["isi_cv" + suffix] = float(np.mean(cvs)) if cvs else math.nan
        nbins = int(math.ceil(duration_ms / 5.0))
        counts = np.zeros((len(trains), nbins))
        for i, t in enumerate(trains):
            for time_ms in t:
                counts[i, min(int(time_ms // 5.0), nbins - 1)] += 1
        var_cells = counts.var(axis=1).mean()
        out["synchrony" + suffix] = math.sqrt(counts.mean(axis=0).var() / var_cells) if var_cells else math.nan
    return out


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def check_grid_index(folder: Path) -> dict[tuple, dict[str, float]]:
    """Every combination once, the failure recorded, metrics equal to a recomputation; returns
    the done runs' metrics by combination."""
    with open(folder / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    h5 = read_index_hdf5(folder / "index.h5")
    combos = [(float(r["RS.a"]), float(r["drive_E.amplitude"])) for r in rows]
    assert sorted(combos) == sorted((a, d) for a in GRID["RS.a"] for d in GRID["drive_E.amplitude"])
    assert len(set(combos)) == 6 and len(h5) == 6
    assert list(zip(h5.params["RS.a"], h5.params["drive_E.amplitude"])) == combos
    by_combo = {}
    for i, (row, combo) in enumerate(zip(rows, combos)):
        run_dir = folder / "runs" / row["run"]
        if combo == FAILING:
            assert row["status"] == "failed" and h5.status[i] == "failed"
            assert "deliberately failing run" in row["error"] and "ValueError" in h5.error[i]
            assert json.loads((run_dir / "status.json").read_text())["traceback"]
            continue
        assert row["status"] == "done", row["error"]
        assert row["error"] == "" and float(row["wall_s"]) > 0 and int(row["seed"]) == 1234
        expected = recompute(run_dir / "results.h5", 100.0)
        for name, value in expected.items():
            assert same(float(row[name] or "nan"), value), (row["run"], name, row[name], value)
            assert same(float(h5.metrics[name][i]), value)
        assert float(row["checked"]) == expected["spike_count"]
        assert -1 <= float(row["corr.Exc"] or 0) <= 1 and "corr.Inh" in row
        by_combo[combo] = {k: float(v) if v else None for k, v in row.items() if k in expected}
        # the model as run is a real file holding the run's values
        net = (run_dir / "model" / "izh_network.net.nml").read_text()
        assert f'a="{combo[0]!r}per_ms"' in net and f'amplitude="{int(combo[1])}pA"' in net
        assert 'length="100.0ms"' in (run_dir / "model" / "LEMS_izh_network.xml").read_text()
    assert len(by_combo) == 5
    return by_combo


@pytest.fixture(scope="module")
def local_grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("batch") / "local"
    batch, index = run_batch(grid_spec(), executor_for("local", jobs=2), folder=folder)
    assert list(index.status).count("done") == 5
    return folder


def test_local_grid_index_matches_stored_spikes(local_grid: Path) -> None:
    check_grid_index(local_grid)


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def _kill_rank_running(run_dir: Path, stop: threading.Event, killed: list[int]) -> None:
    """Kill the MPI rank that runs ``run_dir`` (the parent of the run's process), once."""
    while not stop.is_set():
        try:
            status = json.loads((run_dir / "status.json").read_text())
            if status["state"] == "running" and status["attempt"] == 1:
                rank = _parent(status["pid"])
                os.kill(rank, signal.SIGKILL)
                killed.append(rank)
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)


def test_mpi_grid_gives_the_same_index_even_when_a_rank_dies(local_grid: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mpi"
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_rank_running, args=(folder / "runs" / "run_0002", stop, killed))
    killer.start()
    try:
        batch, index = run_batch(grid_spec(), executor_for("mpi", workers=2), folder=folder)
    finally:
        stop.set()
        killer.join()
    assert killed, "the rank running run_0002 was not killed"
    assert check_grid_index(folder) == check_grid_index(local_grid)
    # the pool died with the rank; what it was running ran again in a new pool
    assert index.attempt[2] == 2 and set(index.attempt) <= {1, 2}


def test_failures_of_every_kind_are_recorded(tmp_path: Path) -> None:
    spec = spec_from_dict({
        "model": str(LEMS), "sampling": "list", "simulation": {"duration_ms": 50}, "timeout_s": 8,
        "runs": [{"drive_E.amplitude": a} for a in ("100parsec", 61, 62, 100)],
        "metrics": ["spike_count", {"name": "misbehave", "function": f"{HELPERS}:misbehave"}],
    })
    start = time.monotonic()
    batch, index = run_batch(spec, executor_for("local", jobs=2), folder=tmp_path / "b")
    assert time.monotonic() - start < 40
    status = dict(zip(index.params["drive_E.amplitude"], zip(index.status, index.error)))
    state, error = status["100parsec"][:2]
    assert state == "failed" and "unknown unit 'parsec'" in error and "amplitude" in error
    assert status["61"] == ("failed", "time limit of 8 s exceeded")
    assert status["62"][0] == "failed" and "exited with code 7 without recording a result" in status["62"][1]
    assert status["100"] == ("done", "")
    assert index.metrics["misbehave.ok"][list(index.params["drive_E.amplitude"]).index("100")] == 1.0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_resume_after_the_driver_is_killed(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        f"name: resumed\nmodel: {LEMS}\nparameters:\n  drive_E.amplitude: [60, 100, 140]\n"
        "simulation: {duration_ms: 50}\nmetrics: [spike_count]\n")
    folder = tmp_path / "resumed"
    driver = subprocess.Popen([sys.executable, "-m", "nmlhub", "batch", "run", str(tmp_path / "spec.yaml"), "-j", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [json.loads(p.read_text())["state"] for p in sorted(folder.glob("runs/*/status.json"))]
        if states.count("done") >= 1 and "running" in states:
            break
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    batch = Batch.open(folder)
    before = {run.name: status for run, status in zip(batch.runs, batch.statuses())}
    done_before = {name for name, s in before.items() if s.state == "done"}
    assert 1 <= len(done_before) < 3
    running = [s for s in before.values() if s.state == "running"]
    assert running
    time.sleep(0.5)
    assert not any(_alive(s.pid) for s in running), "a run outlived its killed driver"
    assert not (folder / "index.csv").exists()
    status = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "status", str(folder), "--json"],
                            capture_output=True, text=True, timeout=60)
    report = json.loads(status.stdout)  # the runs the killed batch left "running" are recorded
    assert report["counts"]["running"] == 0 and report["counts"]["failed"] == len(running)
    assert all("is gone without recording a result" in e for e in report["failed"].values())

    out = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "resume", str(folder), "-j", "2"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "3 done, 0 failed" in out.stdout
    after = {run.name: status for run, status in zip(batch.runs, batch.statuses())}
    for name in done_before:  # finished runs were skipped
        assert after[name].attempt == 1 and after[name].started == before[name].started
    for name in set(after) - done_before:
        assert after[name].state == "done"
    with open(folder / "index.csv", newline="") as handle:
        assert [r["status"] for r in csv.DictReader(handle)] == ["done"] * 3
    # running the same spec again is a resume with nothing left to do
    again = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "run", str(tmp_path / "spec.yaml")],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "3 done" in again.stdout
    status = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "status", str(folder), "--json"],
                            capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["counts"] == {"pending": 0, "running": 0, "done": 3, "failed": 0}


def test_analyze_heatmap_curve_and_best_runs(local_grid: Path, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from nmlhub.batch.analyze import best_runs, metric_grid, plot_metric
    from nmlhub.batch.index import build_index

    index = build_index(Batch.open(local_grid))
    xs, ys, grid = metric_grid(index, "rate.Exc", "drive_E.amplitude", "RS.a")
    assert xs == [60.0, 100.0, 140.0] and ys == [0.02, 0.03] and grid.shape == (2, 3)
    assert math.isnan(grid[1, 1])  # the failed run
    done = index.done()
    for j, a in enumerate(ys):
        for i, d in enumerate(xs):
            rows = done & (index.params["RS.a"] == a) & (index.params["drive_E.amplitude"] == d)
            if rows.any():
                assert grid[j, i] == index.metrics["rate.Exc"][rows][0]
    _, _, curve = metric_grid(index, "rate", "drive_E.amplitude", fixed={"RS.a": "0.02"})
    assert np.all(np.diff(curve) > 0)  # more drive, more spikes
    assert isinstance(plot_metric(index, "rate.Exc", "drive_E.amplitude", "RS.a"), Figure)
    best = best_runs(index, "rate", 3)
    assert [row["rate"] for row in best] == sorted(index.metrics["rate"][done], reverse=True)[:3]
    among = best_runs(index, "rate", 3, fixed={"RS.a": "0.02"})
    assert [row["rate"] for row in among] == sorted(index.metrics["rate"][done & (index.params["RS.a"] == 0.02)],
                                                   reverse=True)[:3]
    out = subprocess.run([sys.executable, "-m", "nmlhub", "batch", "analyze", str(local_grid), "--metric", "rate",
                          "-x", "drive_E.amplitude", "-y", "RS.a", "--out", str(tmp_path / "h.png"), "--best", "2"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "h.png").stat().st_size > 1000 and best[0]["run"] in out.stdout


# -- specs, sampling and parameter paths ------------------------------------------------------------
def test_spec_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    for text, key in [("model: x.xml\nparamters: {}\n", "paramters"),
                      ("model: x.xml\nparameters: {RS.a: {low: 1}}\n", "parameters.RS.a"),
                      ("model: x.xml\nparameters: {RS.a: [1]}\nsampling: {method: lhs}\n", "sampling.samples"),
                      ("model: x.xml\nparameters: {RS.a: [1]}\nmetrics: [{function: nocolon}]\n", "metrics[0].function"),
                      ("model: x.xml\nparameters: {RS.a: [1]}\nsimulation: {duration_ms: long}\n",
                       "simulation.duration_ms"),
                      ("model: x.xml\nparameters: {RS.a: [1]}\nexecutor: {kind: slurm, jobs: 2}\n", "executor"),
                      ("model: [unclosed\n", "YAML")]:
        bad.write_text(text)
        with pytest.raises(BatchError) as err:
            load_spec(bad)
        assert str(bad) in str(err.value) and key in str(err.value)


def test_spec_executor_options(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("model: x.xml\nparameters: {RS.a: [1, 2]}\n"
                                     "executor: {kind: slurm, queue: short, modules: [neuron/9], memory: 2G}\n")
    spec = load_spec(tmp_path / "s.yaml")
    assert spec.executor == {"kind": "slurm", "queue": "short", "modules": ["neuron/9"], "memory": "2G"}
    assert spec.output == tmp_path / "s"


def test_sampling_grid_list_random_lhs() -> None:
    spec = grid_spec()
    assert len(combinations(spec)) == 6 and combinations(spec)[1] == {"RS.a": 0.02, "drive_E.amplitude": 100}
    lhs = BatchSpec(LEMS, (Parameter("RS.a", low=0.01, high=0.05), Parameter("RS.d", low=10, high=1000, log=True)),
                    Sampling("lhs", samples=8, seed=3))
    points = combinations(lhs)
    assert points == combinations(lhs) and len(points) == 8
    a = np.array([p["RS.a"] for p in points])
    assert np.all((a >= 0.01) & (a < 0.05))
    assert sorted(np.floor((a - 0.01) / 0.005).astype(int).tolist()) == list(range(8))  # one per stratum
    rnd = BatchSpec(LEMS, (Parameter("RS.c", values=(-50, -55, -60)),), Sampling("random", samples=5, seed=1))
    assert all(p["RS.c"] in (-50, -55, -60) for p in combinations(rnd))
    listed = BatchSpec(LEMS, (), Sampling("list", combinations=({"RS.a": 1}, {"RS.b": 2})))
    with pytest.raises(BatchError, match="same parameters"):
        combinations(listed)


def test_parameter_paths(tmp_path: Path) -> None:
    layered = REPO / "nml_examples" / "layered_cortex" / "LEMS_layered_cortex.xml"
    lems, files = copy_model(layered, tmp_path / "m")
    docs = ModelDocuments(files, lems)
    assert docs.apply("L4_to_L23.probability", "0.2*exp(-dist_y/150)") == "0.2*exp(-dist_y/150)"
    assert docs.apply("L23_bask.size", 6) == "6"  # the rule's count and the population's size
    with pytest.raises(ParameterError, match="names 2 elements"):
        docs.apply("L23_bask.id", "x")
    assert docs.apply("rule:pyr_to_bask.weight", 1.5) == "1.5"
    assert docs.apply("simulation.dt", 0.05) == "0.05ms"
    with pytest.raises(ParameterError, match="convergence rule"):
        docs.apply("pyr_to_bask.probability", 0.1)
    with pytest.raises(ParameterError, match="sized by a density"):
        docs.apply("L23_pyr.size", 10)
    with pytest.raises(ParameterError, match="no element with id 'nothing'"):
        docs.apply("nothing.x", 1)
    docs.save()
    import nmlhub

    model = nmlhub.load(lems)
    assert model.simulation.step_ms == 0.05
    net = model.network()
    assert [p.size for p in net.populations if p.id == "L23_bask"] == [6]
    rules = model.rules[net.id]
    assert [p.count for p in rules.populations if p.id == "L23_bask"] == [6]
    assert [r.weight.to_text() for r in rules.connections if r.id == "pyr_to_bask"] == ["1.5"]
    lems2, files2 = copy_model(LEMS, tmp_path / "izh")
    docs = ModelDocuments(files2, lems2)
    assert docs.apply("RS.a", 0.05) == "0.05per_ms"
    assert docs.apply("syn_exc.gbase", "2nS") == "2nS"
    with pytest.raises(ParameterError, match="has no attribute 'q'"):
        docs.apply("RS.q", 1)
    with pytest.raises(ParameterError, match="lists its 40 cells"):
        docs.apply("Exc.size", 20)
    with pytest.raises(ParameterError, match="cannot be negative"):
        docs.apply("Exc.size", -1)
