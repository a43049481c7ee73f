"""Event timing identical to jLEMS: spike sources, delays on and off the time grid, two spikes in
one step at one synapse, a spike at the end of the run, delays of whole steps (where jLEMS's
accumulated clock decides spike by spike), and 200-cell networks with delays off the grid and of
whole steps, serially and on 2 MPI ranks; whole-step delays also with CoreNEURON. Every spike is
compared with jLEMS's to the time step (whole-step delays at dt 0.025, 0.01, 0.005 and 0.001 ms).

The references (``tests/data/event_timing/reference_*.npz``) are jLEMS's event files, made with
``jnml`` by ``tests/data/event_timing/make_references.py`` (which also writes the 200-cell model).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_ran
from nmlhub.model import load
from nmlhub.neuron import mpi
from nmlhub.neuron.eventgrid import decided_per_spike, delivery_steps, jlems_times, netcon_delays
from nmlhub.neuron.simulation import NeuronSimulation

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "event_timing"
DT = 0.025
#: EventSelection ids of LEMS_timing.xml, in order
TIMING_CELLS = [("arr", 0), ("gen", 0), ("pair", 0)] + [("tgt", k) for k in range(7)]
IZH_CELLS = [("E", k) for k in range(160)] + [("I", k) for k in range(40)]
#: whole_steps.net.nml (make_references.py): spikeArray j drives tgt[5j + i] with WHOLE_DELAYS[i]
WHOLE_DELAYS = ("0.05", "0.075", "1", "2", "3")
WHOLE_CELLS = [(f"src{j}", 0) for j in range(4)] + [("tgt", k) for k in range(4 * len(WHOLE_DELAYS))]
WHOLE_DT = {"dt025": 0.025, "dt01": 0.01, "dt005": 0.005, "dt001": 0.001}
has_mpi = pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                             reason="no MPI library")


def _write_lems(folder: Path, network_file: str, length: str, *, name: str = "LEMS.xml", seed: str = "") -> Path:
    """A LEMS file in ``folder`` running the network of ``network_file`` (``net``) at dt 0.025 ms."""
    seeded = f' seed="{seed}"' if seed else ""
    (folder / name).write_text(f"""<Lems>
  <Target component="sim"/>
  <Include file="Cells.xml"/>
  <Include file="Networks.xml"/>
  <Include file="Simulation.xml"/>
  <Include file="{network_file}"/>
  <Simulation id="sim" length="{length}" step="0.025ms" target="net"{seeded}/>
</Lems>
""")
    return folder / name

def _reference_steps(name: str, cells: list[tuple[str, int]], dt: float = DT) -> dict[tuple[str, int], list[int]]:
    """jLEMS's spikes of each cell as time-step indices."""
    stored = np.load(DATA / f"reference_{name}.npz")
    steps = {cell: [] for cell in cells}
    for time_s, selection in zip(stored["time_s"], stored["id"]):
        steps[cells[int(selection)]].append(int(round(time_s * 1e3 / dt)))
    return steps


def _steps(spikes: dict, dt: float = DT) -> dict[tuple[str, int], list[int]]:
    return {key: [int(round(t / dt)) for t in times] for key, times in spikes.items()}


def _run(lems: Path, dt: float = DT, **options) -> dict[tuple[str, int], list[int]]:
    return _steps(NeuronSimulation(load(lems), **options).run().spikes, dt)


def _on_two_ranks(lems: Path, out: Path, dt: float = DT) -> dict[tuple[str, int], list[int]]:
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"), str(lems), str(out)]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, "rb") as handle:
        gathered = pickle.load(handle)
    assert gathered["nhost"] == 2 and gathered["cells_here"] < len(gathered["spikes"])
    return _steps(gathered["spikes"], dt)


def test_delays_round_up_to_whole_steps_as_jlems_does():
    delays = np.array([0.0, 0.01, 0.025, 0.0251, 1.0, 1.013, 1.0374, 2.5])
    steps = delivery_steps(delays, DT)
    assert steps.tolist() == [0, 1, 1, 2, 40, 41, 42, 100]
    # NEURON acts at the start of a step on the events up to half a step after it: a delay acting
    # after k steps reaches NEURON within the first part of the step before, in jLEMS's order
    off = np.array([False, True, False, True, False, True, True, False])
    applied = netcon_delays(delays, DT) / DT
    assert np.all((applied[off] > steps[off] - 1) & (applied[off] < steps[off] - 0.5))
    assert np.all(np.diff(applied[[5, 6]]) > 0)
    # whole steps k: after k where not relayed (one step)
    assert np.allclose(netcon_delays(np.array([0.025, 0.05]), DT) / DT, [0.4, 1.4])
    assert np.array_equal(netcon_delays(delays, DT, "jlems-exact"), netcon_delays(delays, DT))
    assert np.array_equal(netcon_delays(delays, DT, "neuron"), delays)
    # whole steps from 2 on: jLEMS's accumulated time decides per spike (a relay does the same)
    assert decided_per_spike(delays, DT).tolist() == [False, False, False, False, True, False, False, True]
    assert decided_per_spike(np.array([0.05]), DT)[0] and not decided_per_spike(np.array([0.025]), DT)[0]


@pytest.mark.parametrize("timing", ["jlems", "jlems-exact"])
def test_sources_delays_same_step_pairs_and_the_last_step_match_jlems(timing):
    ours = _run(DATA / "LEMS_timing.xml", event_timing=timing)
    reference = _reference_steps("timing", TIMING_CELLS)
    # spikeArray on the grid (10 ms) and off it; three delays off the grid from one source acting
    # at three successive steps; the spikeGenerator's spike at t = 300 ms (the run's length)
    assert reference[("arr", 0)] == [400, 801, 1201]
    assert [reference[("tgt", k)][0] for k in range(3)] == [454, 455, 456]
    assert reference[("gen", 0)][-1] == 12000 and len(reference[("gen", 0)]) == 10
    assert reference[("pair", 0)] == [1601, 1601]  # two spikes in one step, to one synapse each
    # 0.5 ms (20 steps) from the generator's spikes at 30 and 60 ms: jLEMS acts after 20 steps,
    # then after 21 (its accumulated time: t_1200 + 0.5 ms <= t_1220, t_2400 + 0.5 ms > t_2420)
    # (tgt 3 gets them after 0.7013 ms, 29 steps: its first spikes come 9 and 8 steps later)
    after_30, after_60 = (reference[("tgt", 6)][k] - reference[("tgt", 3)][k] for k in (0, 5))
    assert (after_30, after_60) == (20 - 29, 21 - 29)

    # delays of whole steps (1.0 and 0.5 ms) too: jLEMS's clock decides per spike, and so do
    # the relays ("jlems-exact" is the former name of the default)
    for cell in TIMING_CELLS:
        assert ours[cell] == reference[cell], cell


def _outcomes(reference: dict, dt_tag: str) -> dict[str, set[int]]:
    """For each whole-step delay, the steps from a source spike to its target's next spike in
    jLEMS (k + latency, or k + 1 + latency where jLEMS's clock rounds the arrival up)."""
    outcomes: dict[str, set[int]] = {d: set() for d in WHOLE_DELAYS}
    for j in range(4):
        for i, delay in enumerate(WHOLE_DELAYS):
            target = np.array(reference[("tgt", 5 * j + i)])
            for sent in reference[(f"src{j}", 0)]:
                outcomes[delay].add(int(target[np.searchsorted(target, sent)] - sent))
    return outcomes


@pytest.mark.parametrize("dt_tag", sorted(WHOLE_DT))
def test_whole_step_delays_act_at_jlems_step_spike_by_spike(dt_tag):
    dt = WHOLE_DT[dt_tag]
    reference = _reference_steps(f"whole_steps_{dt_tag}", WHOLE_CELLS, dt)
    assert sum(len(reference[(f"src{j}", 0)]) for j in range(4)) == 120
    # jLEMS acts on some spikes after k steps and on others after k + 1 (0.075 ms is 7.5 steps
    # of 0.01 ms, off that grid, so always rounded up)
    whole = [d for d in WHOLE_DELAYS if abs(float(d) / dt - round(float(d) / dt)) < 1e-9]
    for delay in whole:
        assert len(_outcomes(reference, dt_tag)[delay]) >= 2, delay
    ours = _run(DATA / f"LEMS_whole_steps_{dt_tag}.xml", dt)
    assert {c: ours[c] for c in WHOLE_CELLS} == reference
    # NEURON's own semantics act after k + 1 steps every time
    assert _run(DATA / f"LEMS_whole_steps_{dt_tag}.xml", dt, event_timing="neuron") != ours


@has_mpi
def test_whole_step_delays_on_two_ranks_act_at_jlems_step(tmp_path):
    ours = _on_two_ranks(DATA / "LEMS_whole_steps_dt025.xml", tmp_path / "p2.pkl")
    assert ours == _reference_steps("whole_steps_dt025", WHOLE_CELLS)


#: two_steps.net.nml (make_references.py): spikeArray j drives tgt[2j] after 2 steps and tgt[2j + 1]
#: after 3 steps (dt 0.01 ms); on 2 ranks (cells dealt by gid) one of each pair is on another rank
TWO_STEPS_CELLS = [(f"src{j}", 0) for j in range(4)] + [("tgt", k) for k in range(8)]


def test_two_step_delays_act_at_jlems_step():
    dt = 0.01
    reference = _reference_steps("two_steps_dt01", TWO_STEPS_CELLS, dt)
    # jLEMS's clock makes some of these spikes act after 3 steps, not 2
    clock = jlems_times(dt, 50_000) * 1e-3
    sent = np.concatenate([reference[(f"src{j}", 0)] for j in range(4)])
    assert 0 < sum(clock[n] + 2 * dt * 1e-3 > clock[n + 2] for n in sent) < len(sent)
    assert {c: v for c, v in _run(DATA / "LEMS_two_steps_dt01.xml", dt).items() if c in reference} == reference


@has_mpi
def test_two_step_delays_from_another_rank_act_at_jlems_step(tmp_path):
    """A delay of exactly 2 steps is decided a step ahead by a relay that hears the spike under a
    step after it was sent: for targets on another rank the relay sits on the source's rank (the
    spikes of a relay on the target's rank acted after 2 steps where jLEMS's clock says 3)."""
    ours = _on_two_ranks(DATA / "LEMS_two_steps_dt01.xml", tmp_path / "p2.pkl", 0.01)
    assert ours == _reference_steps("two_steps_dt01", TWO_STEPS_CELLS, 0.01)


def test_two_step_delays_with_coreneuron_act_as_with_neuron(tmp_path):
    """Relays hearing a spike a quarter of a step after it was sent, with CoreNEURON: the spikes
    of NEURON (jLEMS's, above), and other than NEURON's own timing. (CoreNEURON on several ranks
    aborts on any NetCon between ranks under about two steps, relayed or not: docs/conformance.md.)"""
    lems = _whole_steps_with_hh_targets(tmp_path / "model", "two_steps")
    runs = {}
    for engine, timing, ranks in (("neuron", "jlems", "1"), ("coreneuron", "jlems", "1"), ("neuron", "neuron", "1")):
        out = tmp_path / f"{engine}_{timing}"
        command = [sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(out), "--no-progress",
                   "--engine", engine, "--event-timing", timing, "-n", ranks]
        run = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
        assert_ran(run)
        runs[engine, timing] = (out / "two_steps_dt01.spikes").read_bytes()
    assert len(runs["neuron", "jlems"].splitlines()) > 100
    assert runs["coreneuron", "jlems"] == runs["neuron", "jlems"]
    assert runs["neuron", "neuron"] != runs["neuron", "jlems"]


def _with_delays(lems: Path, delays: dict[str, tuple[str, str]]) -> Path:
    """The two_steps model beside ``lems`` with each projection's two delays (ms) replaced."""
    net = lems.parent / "two_steps.net.nml"
    text = net.read_text()
    for projection, pair in delays.items():
        start = text.index(f'<projection id="{projection}"')
        end = text.index("</projection>", start)
        block = text[start:end]
        for k, delay in enumerate(pair):
            line = next(part for part in block.splitlines() if f'connectionWD id="{k}"' in part)
            block = block.replace(line, line.replace(line[line.index('delay="'):], f'delay="{delay}ms"/>'))
        text = text[:start] + block + text[end:]
    net.write_text(text)
    return lems


def _nmlhub_spikes(lems: Path, out: Path, engine: str, ranks: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(out), "--no-progress",
               "--engine", engine, "-n", ranks]
    return subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)


@has_mpi
def test_coreneuron_on_two_ranks_acts_at_jlems_step_or_refuses_in_one_line(tmp_path):
    """CoreNEURON makes a second (empty) thread and then exchanges spikes between ranks a step
    sooner than the shortest NetCon delay between them, which must leave a step: a NetCon from
    another rank needs 2 steps. A cell's spikes to another rank after 3 steps (a relay on the
    source's rank deciding 2 steps ahead), 4 steps (a relay on the target's rank) and 3.5 steps
    (off the grid) give NEURON's serial spikes (jLEMS's: the tests above); after 2 steps, which
    jLEMS acts on after 2 or 3, the run is refused before it starts. Spike sources on jLEMS's
    clock have copies on their targets' ranks: any delay (two_steps, 2 and 3 steps)."""
    cells = _two_hh_cells(tmp_path / "cells", (0.5, 0.5, 0.5))
    cells.write_text(cells.read_text().replace('target="net"/>', 'target="net">\n    <EventOutputFile id="s" '
                     'fileName="cells.spikes" format="TIME_ID"><EventSelection id="0" select="hh[0]" eventPort="spike"/>'
                     '<EventSelection id="1" select="hh[1]" eventPort="spike"/></EventOutputFile>\n  </Simulation>'))
    net = cells.parent / "net.nml"
    text = net.read_text()
    for old, new in (("2.0101ms", "0.0750ms"), ("3.0101ms", "0.1000ms"), ("4.0101ms", "0.0875ms")):
        text = text.replace(old, new)
    net.write_text(text)
    arrays = _whole_steps_with_hh_targets(tmp_path / "arrays", "two_steps")
    for lems, name in ((cells, "cells.spikes"), (arrays, "two_steps_dt01.spikes")):
        runs = {}
        for engine, ranks in (("neuron", "1"), ("coreneuron", "2")):
            run = _nmlhub_spikes(lems, tmp_path / f"{lems.parent.name}_{engine}", engine, ranks)
            assert_ran(run)
            runs[engine] = (tmp_path / f"{lems.parent.name}_{engine}" / name).read_bytes()
        assert len(runs["neuron"].splitlines()) > 5 and runs["coreneuron"] == runs["neuron"], name
    net.write_text(text.replace("0.0750ms", "0.0500ms"))
    run = _nmlhub_spikes(cells, tmp_path / "refused", "coreneuron", "2")
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert ("projection p (from hh[0] to hh[1]): delay 0.05 ms crosses ranks at dt 0.025 ms, and "
            "CoreNEURON on several ranks needs 2 steps between ranks") in run.stderr


@has_mpi
def test_short_delays_from_spike_sources_on_two_ranks_give_the_serial_spikes(tmp_path):
    """On 2 NEURON ranks (cells dealt by gid: src0, src2, tgt[even] on rank 0), delays of 0, 0.5,
    1 and 1.5 steps from spikeArrays, within a rank and between ranks, give the serial run's
    spikes: a spike source on jLEMS's clock has a copy on each rank of its targets, so its spikes
    do not cross ranks."""
    import shutil

    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("two_steps.net.nml", "LEMS_two_steps_dt01.xml"):
        shutil.copy(DATA / name, folder)
    lems = _with_delays(folder / "LEMS_two_steps_dt01.xml",
                        {"whole0": ("0", "0.005"), "whole1": ("0.01", "0.015"), "whole2": ("0.015", "0"),
                         "whole3": ("0.005", "0.01")})
    serial = _run(lems, 0.01)
    assert sum(map(len, serial.values())) > 200
    assert _on_two_ranks(lems, tmp_path / "p2.pkl", 0.01) == serial


@has_mpi
def test_a_cells_spike_without_delay_to_another_rank_is_refused_in_one_line(tmp_path):
    """jLEMS acts on a cell's spike with a delay of up to a step in the next step, and NEURON
    exchanges spikes between ranks once a step at the most: refused, naming the projection
    (zero_delay_cell on 2 ranks: src[0] on rank 1, before[0] on rank 0)."""
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"),
                                               str(DATA / "LEMS_zero_delay_cell.xml"), str(tmp_path / "x.pkl")]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0
    assert "projection to_before (from src[0] to before[0]): delay 0 ms is shorter than the time step" in proc.stderr


def _whole_steps_with_hh_targets(folder: Path, name: str = "whole_steps") -> Path:
    """whole_steps.net.nml (or ``name``.net.nml, made the same way) with single-compartment HH
    target cells (CoreNEURON runs no LEMS point cells), at dt 0.01 ms."""
    import shutil

    folder.mkdir()
    for path in (HERE.parent / "nml_examples" / "hh_single").glob("*.nml"):
        shutil.copy(path, folder)
    net = (DATA / f"{name}.net.nml").read_text()
    iaf = next(line for line in net.splitlines() if "<iafCell" in line)
    net = net.replace(iaf, '  <include href="hh_cell.cell.nml"/>').replace('component="iaf"', 'component="hh_cell"')
    net = net.replace('<network id="net">', '<network id="net" type="networkWithTemperature" temperature="6.3degC">')
    (folder / f"{name}.net.nml").write_text(net.replace('gbase="10nS"', 'gbase="20nS"'))
    lems = folder / f"LEMS_{name}.xml"
    lems.write_text((DATA / f"LEMS_{name}_dt01.xml").read_text())
    return lems


def test_whole_step_delays_with_coreneuron_act_as_with_neuron(tmp_path):
    """CoreNEURON runs no LEMS point cells, so the whole-step model gets HH target cells: the
    relays decide each spike there as with the NEURON engine (whose decisions are jLEMS's, above),
    and the decisions matter (NEURON's own timing gives other spikes)."""
    lems = _whole_steps_with_hh_targets(tmp_path / "model")
    runs = {}
    for engine, timing in (("neuron", "jlems"), ("coreneuron", "jlems"), ("neuron", "neuron")):
        out = tmp_path / f"{engine}_{timing}"
        command = [sys.executable, "-m", "nmlhub", "run", str(lems), "--outdir", str(out), "--no-progress",
                   "--engine", engine, "--event-timing", timing]  # a fresh process for each engine
        run = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=900)
        assert_ran(run)
        runs[engine, timing] = (out / "whole_steps_dt01.spikes").read_bytes()
    assert runs["coreneuron", "jlems"] == runs["neuron", "jlems"]
    assert len(runs["neuron", "jlems"].splitlines()) > 200
    assert runs["neuron", "neuron"] != runs["neuron", "jlems"]


CLOCK_CELLS = [("a50", 0), ("a100", 0), ("gen", 0)] + [("tgt", k) for k in range(6)]


def test_sources_fire_on_jlems_clock_compared_exactly():
    """At dt 0.005 ms jLEMS's clock at step 10000 falls 3e-15 s short of 50 ms: a spikeArray spike
    at 50 ms fires at step 10001 (at 100 ms, step 20000 is past it), and delays of 10 ms from
    there act as jLEMS acts on them."""
    dt = 0.005
    reference = _reference_steps("clock", CLOCK_CELLS, dt)
    assert reference[("a50", 0)] == [10001] and reference[("a100", 0)] == [20000]
    ours = _run(DATA / "LEMS_clock.xml", dt)
    # tgt 0, 2 and 4 get spikes without delay, which jLEMS acts on in the step they are sent
    # (the targets are declared after their sources): nmlhub sends them from copies of the
    # sources whose clock runs a step ahead; NEURON's own timing acts a step later
    assert {cell: ours[cell] for cell in CLOCK_CELLS} == reference
    neuron = _run(DATA / "LEMS_clock.xml", dt, event_timing="neuron")
    assert [neuron[("tgt", k)][0] - reference[("tgt", k)][0] for k in (0, 2, 4)] == [1, 1, 1]


def test_spikes_without_delay_act_as_in_jlems_when_targets_are_declared_first():
    """jLEMS connects a delay of 0 directly: the target acts on the spike as it is sent, within
    the step, and its dynamics see it in that step if its population is updated after the
    source's (declared after it, LEMS_clock.xml), in the next step otherwise
    (LEMS_clock_first.xml, the targets declared first), which is what NEURON does: there every
    spike equals jLEMS's."""
    dt = 0.005
    reference = _reference_steps("clock_first", CLOCK_CELLS, dt)
    sources_first = _reference_steps("clock", CLOCK_CELLS, dt)
    for cell in (("tgt", 0), ("tgt", 2), ("tgt", 4)):
        assert reference[cell][0] == sources_first[cell][0] + 1, cell
    ours = _run(DATA / "LEMS_clock_first.xml", dt)
    assert {cell: ours[cell] for cell in CLOCK_CELLS} == reference


def test_spikes_of_a_cell_without_delay_act_a_step_after_jlems_on_targets_declared_after_it():
    """jLEMS hands a cell's spike without delay over at once: a cell declared (updated) after the
    source acts on it in the step it was sent, one declared before in the next. NEURON finds a
    cell's spike at the end of the step that made it, once every cell has been advanced through
    that step, so every target acts on it in the next step: the cell declared after the source
    fires one step after jLEMS's, at every spike (docs/conformance.md, "Event timing")."""
    cells = [("src", 0), ("before", 0), ("after", 0)]
    reference = _reference_steps("zero_delay_cell", cells)
    assert len(reference[("src", 0)]) == 15
    # in jLEMS the target updated after the source fires a step before the one updated before it
    assert [a + 1 for a in reference[("after", 0)]] == reference[("before", 0)]
    ours = _run(DATA / "LEMS_zero_delay_cell.xml")
    assert ours[("src", 0)] == reference[("src", 0)] and ours[("before", 0)] == reference[("before", 0)]
    assert ours[("after", 0)] == [k + 1 for k in reference[("after", 0)]]


def _random_sources_model(folder: Path, trains: dict[str, list[float]] | None = None) -> Path:
    """Random spike sources (spikeGeneratorRandom, spikeGeneratorPoisson; or, given ``trains``,
    spikeArrays with those times in ms) declared before integrate-and-fire targets they drive
    without delay, one each, at dt 0.025 ms."""
    folder.mkdir(exist_ok=True)
    names = ["rand0", "rand1", "pois0", "pois1"]
    if trains is None:
        sources = ('  <spikeGeneratorRandom id="gen_rand" minISI="3ms" maxISI="6ms"/>\n'
                   '  <spikeGeneratorPoisson id="gen_pois" averageRate="200Hz"/>')
        component = {name: "gen_" + name[:4] for name in names}
    else:
        sources = "\n".join(f'  <spikeArray id="arr_{name}">' + "".join(
            f'<spike id="{k}" time="{t:.6f}ms"/>' for k, t in enumerate(trains[name])) + "</spikeArray>"
            for name in names)
        component = {name: f"arr_{name}" for name in names}
    populations = "\n".join(f'    <population id="{name}" component="{component[name]}" size="1"/>' for name in names)
    projections = "\n".join(
        f'    <projection id="p_{name}" presynapticPopulation="{name}" postsynapticPopulation="tgt" synapse="syn">'
        f'<connectionWD id="0" preCellId="../{name}[0]" postCellId="../tgt[{k}]" weight="1" delay="0ms"/></projection>'
        for k, name in enumerate(names))
    (folder / "net.nml").write_text(f"""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="net">
  <iafCell id="iaf" leakReversal="-70mV" thresh="-50mV" reset="-70mV" C="0.01nF" leakConductance="0.001uS"/>
  <expOneSynapse id="syn" gbase="10nS" erev="0mV" tauDecay="0.5ms"/>
{sources}
  <network id="net">
{populations}
    <population id="tgt" component="iaf" size="{len(names)}"/>
{projections}
  </network>
</neuroml>
""")
    return _write_lems(folder, "net.nml", "200ms", seed="1234")


def test_random_sources_without_delay_act_in_the_step_they_fire_as_spike_arrays_do():
    """A random spike source's copy a step ahead draws from its source's random stream, so it
    sends the same spikes a step early: targets declared after the source act on them in the
    step they are sent, as jLEMS does and as with a spikeArray of the same spikes (whose timing
    is jLEMS's, test_sources_fire_on_jlems_clock_compared_exactly); the sources' own spikes are
    those of a run without copies (NEURON's timing)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        lems = _random_sources_model(Path(scratch) / "random")
        ours = _run(lems)
        without_copies = _run(lems, event_timing="neuron")
        names = ["rand0", "rand1", "pois0", "pois1"]
        assert all(ours[(name, 0)] == without_copies[(name, 0)] for name in names)
        assert all(len(ours[(name, 0)]) > 20 for name in names)
        # the same spikes from spikeArrays: each time half a step before the step it fired at
        trains = {name: [(step - 0.5) * DT for step in ours[(name, 0)]] for name in names}
        arrays = _run(_random_sources_model(Path(scratch) / "arrays", trains))
    assert all(arrays[(name, 0)] == ours[(name, 0)] for name in names)
    assert all(len(ours[("tgt", k)]) > 10 for k in range(len(names)))
    assert [ours[("tgt", k)] for k in range(len(names))] == [arrays[("tgt", k)] for k in range(len(names))]
    # NEURON's timing acts on them a step later
    assert without_copies[("tgt", 0)][0] == ours[("tgt", 0)][0] + 1


def _input_on_iaf(folder: Path, input_xml: str, name: str) -> Path:
    """One iafCell with the input ``input_xml`` (id ``inp``), an expOneSynapse, dt 0.025 ms, 100 ms."""
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.nml").write_text(f"""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="{name}">
  <iafCell id="iaf" leakReversal="-70mV" thresh="-50mV" reset="-70mV" C="0.01nF" leakConductance="0.001uS"/>
  <expOneSynapse id="syn" gbase="10nS" erev="0mV" tauDecay="0.5ms"/>
  {input_xml}
  <network id="net">
    <population id="tgt" component="iaf" size="1"/>
    <inputList id="in" population="tgt" component="inp"><input id="0" target="../tgt[0]" destination="synapses"/></inputList>
  </network>
</neuroml>
""")
    return _write_lems(folder, f"{name}.nml", "100ms", name=f"LEMS_{name}.xml", seed="1")


def test_poisson_firing_synapse_acts_on_its_synapse_as_a_timed_synaptic_input_does(tmp_path):
    """A poissonFiringSynapse's spikes reach its own synapse inside its mechanism (no NetCon, no
    copy a step ahead needed): its cell's v is that of a timedSynapticInput given the same spikes,
    whose synapse first acts at jLEMS's step (LEMS_timed_input.xml: v first changes in the step
    after a spike at 10 ms, sample 401, in both)."""
    poisson = _input_on_iaf(tmp_path, '<poissonFiringSynapse id="inp" averageRate="100Hz" synapse="syn" '
                                      'spikeTarget="./syn"/>', "poisson")
    results = NeuronSimulation(load(poisson), record=["tgt/0/inp/tsince", "tgt/0/v"]).run()
    since, v = (np.asarray(results.traces[f"tgt[0]/{path}"]) for path in ("inp/tsince", "v"))
    # tsince, reset by the spike's condition (held at the end of step m - 1), shows at that step's
    # sample m - 1, as in jLEMS (nmlhub/neuron/reset_samples.py)
    fired = np.flatnonzero(since[1:] < since[:-1]) + 1
    assert len(fired) > 5
    spikes = "".join(f'<spike id="{k}" time="{(m - 0.5) * DT:.6f}ms"/>' for k, m in enumerate(fired))
    timed = _input_on_iaf(tmp_path, f'<timedSynapticInput id="inp" synapse="syn" spikeTarget="./syn">{spikes}'
                                    "</timedSynapticInput>", "timed")
    assert np.array_equal(np.asarray(NeuronSimulation(load(timed), record=["tgt/0/v"]).run().traces["tgt[0]/v"]), v)
    jlems = np.load(DATA / "reference_timed_input.npz")["traces"][:, 1].astype(float)
    ours = np.asarray(NeuronSimulation(load(DATA / "LEMS_timed_input.xml")).run().traces["tgt[0]/v"])
    first_change = [int(np.flatnonzero(np.abs(np.diff(trace)) > 1e-9)[0]) + 1 for trace in (jlems, ours)]
    assert first_change == [401, 401]


def test_neuron_timing_is_an_option_with_neuron_semantics():
    ours = _run(DATA / "LEMS_timing.xml", event_timing="neuron")
    first = [ours[("tgt", k)][0] for k in range(3)]
    # as NEURON delivers (nearest step to the event's time, one step after it): 1.013 and 1.0374 ms
    # act in the same step, one step after 1.0 ms; jLEMS's timing gives three successive steps
    assert first[1] == first[2] == first[0] + 1
    assert ours[("gen", 0)][-1] == 12000  # the spike at the end of the run is kept either way


def test_200_izhikevich_cells_with_delays_off_the_grid_spike_as_in_jlems():
    reference = _reference_steps("izh200", IZH_CELLS)
    assert sum(len(v) for v in reference.values()) > 1000
    ours = _run(DATA / "LEMS_izh200.xml")
    different = [cell for cell in IZH_CELLS if ours[cell] != reference[cell]]
    assert not different, f"{len(different)} cells differ, first {different[0]}: " \
                          f"{ours[different[0]][:8]} vs jLEMS {reference[different[0]][:8]}"


@has_mpi
def test_200_izhikevich_cells_on_two_ranks_spike_as_in_jlems(tmp_path):
    assert _on_two_ranks(DATA / "LEMS_izh200.xml", tmp_path / "p2.pkl") == _reference_steps("izh200", IZH_CELLS)


def test_200_izhikevich_cells_with_whole_step_delays_spike_as_in_jlems():
    """Delays of whole steps (1-5 ms in 0.05 ms, at dt 0.01 ms, where jLEMS's clock makes most
    spikes act after k steps and the others after k + 1)."""
    reference = _reference_steps("izh200_whole", IZH_CELLS, 0.01)
    assert sum(len(v) for v in reference.values()) > 1000
    ours = _run(DATA / "LEMS_izh200_whole.xml", 0.01)
    different = [cell for cell in IZH_CELLS if ours[cell] != reference[cell]]
    assert not different, f"{len(different)} cells differ, first {different[0]}: " \
                          f"{ours[different[0]][:8]} vs jLEMS {reference[different[0]][:8]}"


@has_mpi
def test_200_izhikevich_cells_with_whole_step_delays_on_two_ranks_spike_as_in_jlems(tmp_path):
    ours = _on_two_ranks(DATA / "LEMS_izh200_whole.xml", tmp_path / "p2.pkl", 0.01)
    assert ours == _reference_steps("izh200_whole", IZH_CELLS, 0.01)


def _two_hh_cells(folder: Path, fractions: tuple[float, ...]) -> Path:
    """Two HH cells (one segment, one NEURON segment each), cell 0 driven by a pulse, with one
    connection onto cell 1 per fraction along cell 0's soma where its spikes are detected."""
    import shutil

    folder.mkdir()
    for path in (HERE.parent / "nml_examples" / "hh_single").glob("*.nml"):
        shutil.copy(path, folder)
    connections = "\n".join(
        f'      <connectionWD id="{k}" preCellId="../hh[0]" preSegmentId="0" preFractionAlong="{f}" '
        f'postCellId="../hh[1]" postSegmentId="0" postFractionAlong="0.5" weight="1" delay="{2.0101 + k:.4f}ms"/>'
        for k, f in enumerate(fractions))
    (folder / "net.nml").write_text(f"""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="net">
  <include href="hh_cell.cell.nml"/>
  <pulseGenerator id="pulse" delay="5ms" duration="40ms" amplitude="0.08nA"/>
  <expOneSynapse id="syn" gbase="20nS" erev="0mV" tauDecay="2ms"/>
  <network id="net" type="networkWithTemperature" temperature="6.3degC">
    <population id="hh" component="hh_cell" size="2"/>
    <projection id="p" presynapticPopulation="hh" postsynapticPopulation="hh" synapse="syn">
{connections}
    </projection>
    <inputList id="stim" population="hh" component="pulse">
      <input id="0" target="../hh[0]" destination="synapses"/>
    </inputList>
  </network>
</neuroml>
""")
    return _write_lems(folder, "net.nml", "60ms")


def test_sources_on_the_segment_of_a_cells_own_source_share_it(tmp_path):
    # 0.503 and 0.541 of a soma with one NEURON segment are where the cell's own spike source is
    # (its middle); NEURON allows one source per place, which used to fail with "Can't associate
    # gid 4. PreSyn already associated with gid 0". Connections wired by gid (delays of a step or more).
    moved = _run(_two_hh_cells(tmp_path / "moved", (0.503, 0.541, 0.5)))
    middle = _run(_two_hh_cells(tmp_path / "middle", (0.5, 0.5, 0.5)))
    assert len(moved[("hh", 0)]) >= 3 and len(moved[("hh", 1)]) >= 1
    assert moved == middle


@pytest.mark.skipif(mpi.wheel_library() is None and "MPI_LIB_NRN_PATH" not in mpi.environment(),
                    reason="no MPI library")
def test_sources_on_the_segment_of_a_cells_own_source_share_it_on_two_ranks(tmp_path):
    lems = _two_hh_cells(tmp_path / "moved", (0.503, 0.541, 0.5))
    out = tmp_path / "p2.pkl"
    command = mpi.mpiexec_command(2, [])[:3] + [sys.executable, str(HERE / "parallel_run.py"), str(lems), str(out)]
    proc = subprocess.run(command, env=mpi.environment(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, "rb") as handle:
        gathered = pickle.load(handle)
    assert gathered["nhost"] == 2
    assert _steps(gathered["spikes"]) == _run(_two_hh_cells(tmp_path / "middle", (0.5, 0.5, 0.5)))


def test_states_of_components_with_regimes_are_recorded_a_step_late_as_jlems_does():
    """jLEMS records the states of a component with regimes (iafRefCell) one step late (it
    copies them to its outputs before advancing the active regime); its spikes are not late, nor
    are those of a cell without regimes (iafCell) or its trace. Both cells here get the same
    input (an alpha current synapse, 1 ms after spikes on and off the dt 0.001 ms grid, as in
    LEMS_NML2_Ex21_CurrentBasedSynapses.xml) and fire."""
    from nmlhub.neuron.eventgrid import one_step_late

    dt = 0.001
    stored = np.load(DATA / "reference_regimes.npz")
    reference = _reference_steps("regimes", [("refPop", 0), ("plainPop", 0)], dt)
    assert len(reference[("refPop", 0)]) == 2 and len(reference[("plainPop", 0)]) == 5
    results = NeuronSimulation(load(DATA / "LEMS_regimes.xml")).run()
    assert {cell: _steps(results.spikes, dt)[cell] for cell in reference} == reference
    jlems = {"refPop[0]/v": stored["traces"][:, 1], "plainPop[0]/v": stored["traces"][:, 2]}
    ours = {path: np.asarray(results.traces[path]) for path in jlems}
    assert all(len(ours[path]) == len(jlems[path]) == 16001 for path in jlems)
    # every sample agrees, the spike's too: jLEMS records v after the reset (the step of the spike
    # for the plain cell, the next one for the cell with regimes, whose samples are a step late),
    # and so does nmlhub (nmlhub.neuron.reset_samples)
    for path, cell, late in (("refPop[0]/v", ("refPop", 0), 1), ("plainPop[0]/v", ("plainPop", 0), 0)):
        spike_samples = np.array(reference[cell]) + late
        assert np.max(np.abs(ours[path] - jlems[path])) < 1e-8, path
        assert np.all(np.abs(ours[path][spike_samples] - ours[path][spike_samples - 1]) > 1e-3), path
    # not late, the cell with regimes would be a step ahead of jLEMS's trace, as before
    unshifted = np.append(ours["refPop[0]/v"][1:], np.nan)
    assert np.nanmax(np.abs(unshifted - jlems["refPop[0]/v"])) > 1e-6
    assert one_step_late(unshifted)[2:100].tolist() == ours["refPop[0]/v"][2:100].tolist()


def _iaf_with_exp_two_synapse(jlems_steps: int, event_step: int | tuple[int, ...], gbase_s: float,
                              block_lag: int | None) -> np.ndarray:
    """v (V) of Ex12's iaf1 with one event at ``event_step`` on an exp-two synapse (tauRise 1 ms,
    tauDecay 10 ms, erev 0 V), by forward Euler at dt 0.005 ms as jLEMS integrates, written from
    NeuroML's definitions (expTwoSynapse, voltageConcDepBlockMechanism with Ex12's synNmda
    parameters, iafCell): without block (``block_lag`` None), or with the block reading v of this
    step (0) or of the step before (1)."""
    dt, capacitance, leak, rest = 5e-6, 1e-11, 5e-10, -0.06
    rise, decay = 1e-3, 10e-3
    peak = np.log(decay / rise) * rise * decay / (decay - rise)
    factor = 1.0 / (np.exp(-peak / decay) - np.exp(-peak / rise))
    v, a, b = rest, 0.0, 0.0
    events = {event_step} if isinstance(event_step, int) else set(event_step)
    trace = [rest, rest]  # v at the last two steps
    for step in range(1, jlems_steps):
        if step in events:
            a, b = a + factor, b + factor
        block = 1.0
        if block_lag is not None:
            seen = trace[-1 - block_lag]
            block = 1.0 / (1.0 + np.exp(-seen / 0.016129032258064516) * 1.2 / 1.9205441817997078)
        current = gbase_s * block * (b - a) * (0.0 - v)
        a, b, v = a - dt * a / rise, b - dt * b / decay, v + dt * (leak * (rest - v) + current) / capacitance
        trace.append(v)
    return np.array(trace[1:])


def test_jlems_nmda_block_reads_the_cells_v_of_the_step_before():
    """Ex12 v7's difference from jLEMS (docs/conformance.md, "Event timing"): jLEMS's NMDA block
    (a blockMechanism in a blockingPlasticSynapse, the cell's grandchild) reads the cell's v of
    the step before; the synapse without block reads v of the step. Shown against jLEMS's traces
    (LEMS_nmda.xml, stored to 7 digits as float32) by an independent Euler integration."""
    traces = np.load(DATA / "reference_nmda.npz")["traces"].astype(float)
    nmda, plain = traces[:, 1], traces[:, 2]
    event = int(np.argmax(plain != plain[0])) - 1  # g = gbase (B - A) is 0 in the event's own step
    assert np.abs(_iaf_with_exp_two_synapse(len(plain), event, 0.2e-9, None) - plain).max() < 2e-8
    assert np.abs(_iaf_with_exp_two_synapse(len(plain), event + 1, 0.2e-9, None) - plain).max() > 1e-6
    late = np.abs(_iaf_with_exp_two_synapse(len(nmda), event, 5e-9, 1) - nmda).max()
    now = np.abs(_iaf_with_exp_two_synapse(len(nmda), event, 5e-9, 0) - nmda).max()
    assert late < 2e-8 and now > 1e-6, (late, now)


def test_ex12_v6_differs_from_jlems_by_the_nmda_block_lag_alone():
    """Ex12 v6 (iafPop[6]: Ex12's spikeGenerator, no delay, synNmda) on its own
    (LEMS_nmda_v6.xml): the generator's spikes act in the step jLEMS acts on them, and the
    Euler integration of test_jlems_nmda_block_reads_the_cells_v_of_the_step_before with the
    block reading v of the step before gives jLEMS's trace, and its first crossing of the omt's
    -42 mV at 97.03 ms; with the block reading v of the step, as nmlhub does, 97.02 ms, nmlhub's."""
    dt = 0.005
    stored = np.load(DATA / "reference_nmda_v6.npz")
    jlems = stored["traces"][:, 1].astype(float)
    sent = [int(round(t * 1e3 / dt)) for t in stored["time_s"]]
    assert sent == [6000, 12000, 18000]
    late = _iaf_with_exp_two_synapse(len(jlems), tuple(sent), 5e-9, 1)
    now = _iaf_with_exp_two_synapse(len(jlems), tuple(sent), 5e-9, 0)
    assert np.abs(late - jlems).max() < 2e-8 and np.abs(now - jlems).max() > 1e-6

    def first_crossing(v: np.ndarray) -> int:
        return int(np.argmax(v > -0.042))

    assert first_crossing(jlems) == first_crossing(late) == 19406  # 97.03 ms
    results = NeuronSimulation(load(DATA / "LEMS_nmda_v6.xml")).run()
    ours = np.asarray(results.traces["iafPop[0]/v"])
    assert np.abs(ours - now).max() < 1e-9
    assert first_crossing(ours) == first_crossing(now) == 19404  # 97.02 ms
