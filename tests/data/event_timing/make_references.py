#!/usr/bin/env python
"""Make the event-timing test models' jLEMS references (run by hand, never by pytest).

    python tests/data/event_timing/make_references.py            # both models
    python tests/data/event_timing/make_references.py --only timing

``izh200_whole.net.nml`` / ``LEMS_izh200_whole.xml``: the same network (same seed) with every delay
a whole number of steps (1-5 ms, rounded to 0.05 ms), at dt 0.01 ms. ``whole_steps.net.nml`` and
``LEMS_whole_steps_<dt>.xml`` (dt 0.025, 0.01, 0.005 and 0.001 ms; ``two_steps`` the same with delays of
2 and 3 steps at dt 0.01 ms): a spikeArray with spikes at many different
steps (off the grids of 0.025 and 0.01 ms; some on those of 0.005 and 0.001 ms) driving integrate-and-fire cells through
delays of whole steps (0.05, 0.075, 1, 2, 3 ms): jLEMS's accumulated clock makes each spike act
after k or k + 1 steps, both outcomes many times.

``izh200.net.nml`` and ``LEMS_izh200.xml`` are written by this script from a fixed seed (160 RS and
40 FS Izhikevich cells, each receiving 10 excitatory and 5 inhibitory connections with delays
drawn uniformly from 1-5 ms off the 0.025 ms grid, pulse inputs of per-cell weights, 500 ms).
``LEMS_timing.xml`` / ``timing.net.nml``, ``LEMS_clock.xml`` / ``clock.net.nml``,
``LEMS_regimes.xml``, ``LEMS_nmda.xml``, ``LEMS_nmda_v6.xml``, ``LEMS_timed_input.xml`` (whose references
also keep jLEMS's traces, ``traces``)
and ``LEMS_zero_delay_cell.xml`` / ``zero_delay_cell.net.nml`` are written by hand;
``LEMS_clock_first.xml`` / ``clock_first.net.nml`` (the targets declared first) by this script. Each LEMS file is run with
``jnml LEMS_FILE -nogui`` in a scratch copy of this folder, and its event file is stored as
``reference_<name>.npz``: ``time_s`` and ``id`` of every event in file order, plus the jNeuroML
version line. tests/test_event_timing.py compares nmlhub's spikes with them, to the time step.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DT_MS = 0.025
SEED = 17
N_EXC, N_INH = 160, 40
EXC_IN, INH_IN = 10, 5


def off_grid_delays(rng: np.random.Generator, count: int) -> np.ndarray:
    """Delays (ms, 4 decimals) drawn uniformly from 1-5 ms, none a whole number of steps."""
    delays = np.round(rng.uniform(1.0, 5.0, count), 4)
    while True:
        steps = delays / DT_MS
        on_grid = np.abs(steps - np.round(steps)) < 1e-6
        if not on_grid.any():
            return delays
        delays[on_grid] = np.round(rng.uniform(1.0, 5.0, int(on_grid.sum())), 4)


#: the whole-step network's time step (ms): jLEMS's clock makes most spikes act after k steps at
#: this step (at 0.025 ms only about 5% do), and its delays are whole multiples of 0.05 ms
WHOLE_DT_MS = 0.01


def whole_step_delays(rng: np.random.Generator, count: int) -> np.ndarray:
    """Delays (ms) drawn uniformly from 1-5 ms and rounded to 0.05 ms (whole steps at 0.01 ms)."""
    return np.round(rng.uniform(1.0, 5.0, count) / 0.05) * 0.05


def write_izh200(name: str = "izh200", whole_steps: bool = False) -> None:
    rng = np.random.default_rng(SEED)
    draw_delays = whole_step_delays if whole_steps else off_grid_delays
    lines = ['<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="izh200">',
             f"  <notes>Written by make_references.py (seed 17{', delays of whole steps' if whole_steps else ''}): "
             "do not edit by hand.</notes>",
             '  <expTwoSynapse id="syn_exc" gbase="1nS" erev="0mV" tauDecay="5ms" tauRise="0.5ms"/>',
             '  <expTwoSynapse id="syn_inh" gbase="2nS" erev="-80mV" tauDecay="10ms" tauRise="1ms"/>',
             '  <izhikevich2007Cell id="RS" C="100pF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" '
             'vpeak="35mV" a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>',
             '  <izhikevich2007Cell id="FS" C="20pF" v0="-55mV" k="1nS_per_mV" vr="-55mV" vt="-40mV" '
             'vpeak="25mV" a="0.2per_ms" b="0.025nS" c="-45mV" d="0pA"/>',
             '  <pulseGenerator id="drive_E" delay="20ms" duration="460ms" amplitude="100pA"/>',
             '  <pulseGenerator id="drive_I" delay="35ms" duration="400ms" amplitude="50pA"/>',
             '  <network id="izh200">',
             f'    <population id="E" component="RS" size="{N_EXC}"/>',
             f'    <population id="I" component="FS" size="{N_INH}"/>']
    cells = [("E", k) for k in range(N_EXC)] + [("I", k) for k in range(N_INH)]
    for pre_pop, synapse, per_cell, size, weight_range in (("E", "syn_exc", EXC_IN, N_EXC, (0.5, 1.5)),
                                                           ("I", "syn_inh", INH_IN, N_INH, (0.5, 1.5))):
        for post_pop in ("E", "I"):
            posts = [k for p, k in cells if p == post_pop]
            pre = np.concatenate([rng.choice(size, per_cell, replace=False) for _ in posts])
            post = np.repeat(posts, per_cell)
            delays = draw_delays(rng, len(pre))
            weights = np.round(rng.uniform(*weight_range, len(pre)), 4)
            lines.append(f'    <projection id="{pre_pop}_to_{post_pop}" presynapticPopulation="{pre_pop}" '
                         f'postsynapticPopulation="{post_pop}" synapse="{synapse}">')
            for k, (a, b, d, w) in enumerate(zip(pre, post, delays, weights)):
                lines.append(f'      <connectionWD id="{k}" preCellId="../{pre_pop}[{a}]" postCellId="../{post_pop}[{b}]" '
                             f'weight="{w:g}" delay="{d:.4f}ms"/>')
            lines.append("    </projection>")
    for pop, size, drive in (("E", N_EXC, "drive_E"), ("I", N_INH, "drive_I")):
        weights = np.round(rng.uniform(0.6, 1.6, size), 4)
        lines.append(f'    <inputList id="in_{pop}" population="{pop}" component="{drive}">')
        for k, w in enumerate(weights):
            lines.append(f'      <inputW id="{k}" target="../{pop}[{k}]" destination="synapses" weight="{w:g}"/>')
        lines.append("    </inputList>")
    lines += ["  </network>", "</neuroml>"]
    (HERE / f"{name}.net.nml").write_text("\n".join(lines) + "\n")
    selections = "\n".join(f'      <EventSelection id="{k}" select="{p}[{i}]" eventPort="spike"/>'
                           for k, (p, i) in enumerate(cells))
    (HERE / f"LEMS_{name}.xml").write_text(f"""<Lems>
  <!-- Written by make_references.py: a deterministic 200-cell Izhikevich network with delays off
       the time grid, to compare every spike time with jLEMS's. -->
  <Target component="sim"/>
  <Include file="Cells.xml"/>
  <Include file="Networks.xml"/>
  <Include file="Simulation.xml"/>
  <Include file="{name}.net.nml"/>
  <Simulation id="sim" length="500ms" step="{WHOLE_DT_MS if whole_steps else DT_MS}ms" target="izh200">
    <EventOutputFile id="spikes" fileName="{name}.spikes" format="TIME_ID">
{selections}
    </EventOutputFile>
  </Simulation>
</Lems>
""")


#: delays of whole steps (ms) at both steps, one target cell each; and the spikeArray's times
WHOLE_DELAYS_MS = ("0.05", "0.075", "1", "2", "3")
WHOLE_STEPS_DTS = {"dt025": "0.025", "dt01": "0.01", "dt005": "0.005", "dt001": "0.001"}


def whole_steps_spike_times() -> np.ndarray:
    """120 spikes 3.3-3.9 ms apart, in time order (the cells settle between them), off both grids by 0.3-0.7 of
    a step of 0.01 ms (so also of 0.025 ms): at many different steps."""
    rng = np.random.default_rng(SEED)
    times = 5.0 + np.cumsum(rng.uniform(3.3, 3.9, 120)).round(2) + rng.uniform(0.003, 0.007, 120).round(4)
    return times


#: spikeArrays of WHOLE_STEPS_SPIKES each (one of 120 spikes would give a too long NMODL line)
WHOLE_STEPS_ARRAYS, WHOLE_STEPS_SPIKES = 4, 30


#: delays of exactly 2 and 3 steps at dt 0.01 ms (a relay hears a 2-step delay's spike under a step
#: after it was sent: on 2 ranks, each spikeArray drives one target on each rank)
TWO_STEPS_DELAYS_MS, TWO_STEPS_DTS = ("0.02", "0.03"), {"dt01": "0.01"}


def write_whole_steps(name: str = "whole_steps", delays: tuple[str, ...] = WHOLE_DELAYS_MS,
                      dts: dict[str, str] = WHOLE_STEPS_DTS) -> None:
    times = whole_steps_spike_times().reshape(WHOLE_STEPS_ARRAYS, WHOLE_STEPS_SPIKES)
    count = len(delays)
    arrays, populations, projections = [], [], []
    for j, train in enumerate(times):
        spikes = "\n".join(f'    <spike id="{k}" time="{t:.4f}ms"/>' for k, t in enumerate(train))
        arrays.append(f'  <spikeArray id="train{j}">\n{spikes}\n  </spikeArray>')
        populations.append(f'    <population id="src{j}" component="train{j}" size="1"/>')
        targets = "\n".join(f'      <connectionWD id="{k}" preCellId="../src{j}[0]" postCellId="../tgt[{j * count + k}]" '
                            f'weight="1" delay="{d}ms"/>' for k, d in enumerate(delays))
        projections.append(f'    <projection id="whole{j}" presynapticPopulation="src{j}" postsynapticPopulation="tgt" '
                           f'synapse="syn">\n{targets}\n    </projection>')
    newline = "\n"
    (HERE / f"{name}.net.nml").write_text(f"""<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="{name}">
  <notes>Written by make_references.py: do not edit by hand. Spikes at many steps (spikeArray j
    drives tgt[{count}j..{count}j+{count - 1}]) through delays of whole steps ({", ".join(delays)} ms), each to
    an integrate-and-fire cell that fires within a few steps of the spike's arrival.</notes>
  <iafCell id="iaf" leakReversal="-70mV" thresh="-50mV" reset="-70mV" C="0.01nF" leakConductance="0.001uS"/>
  <expOneSynapse id="syn" gbase="10nS" erev="0mV" tauDecay="0.5ms"/>
{newline.join(arrays)}
  <network id="net">
{newline.join(populations)}
    <population id="tgt" component="iaf" size="{WHOLE_STEPS_ARRAYS * count}"/>
{newline.join(projections)}
  </network>
</neuroml>
""")
    selections = "\n".join([f'      <EventSelection id="{j}" select="src{j}[0]" eventPort="spike"/>'
                            for j in range(WHOLE_STEPS_ARRAYS)]
                           + [f'      <EventSelection id="{WHOLE_STEPS_ARRAYS + k}" select="tgt[{k}]" eventPort="spike"/>'
                              for k in range(WHOLE_STEPS_ARRAYS * count)])
    length = float(times.max()) + 10.0
    for tag, step in dts.items():
        (HERE / f"LEMS_{name}_{tag}.xml").write_text(f"""<Lems>
  <!-- Written by make_references.py: delays of whole steps, spikes at many steps. -->
  <Target component="sim"/>
  <Include file="Cells.xml"/>
  <Include file="Networks.xml"/>
  <Include file="Simulation.xml"/>
  <Include file="{name}.net.nml"/>
  <Simulation id="sim" length="{length:.0f}ms" step="{step}ms" target="net">
    <EventOutputFile id="spikes" fileName="{name}_{tag}.spikes" format="TIME_ID">
{selections}
    </EventOutputFile>
  </Simulation>
</Lems>
""")


def write_clock_first() -> None:
    """clock.net.nml with its target population declared before the sources (jLEMS then updates
    the targets first in each step and acts on a spike without delay in the next step, as NEURON)."""
    net = (HERE / "clock.net.nml").read_text()
    targets = next(line for line in net.splitlines(keepends=True) if '<population id="tgt"' in line)
    net = net.replace(targets, "").replace('    <population id="a50"', targets + '    <population id="a50"', 1)
    net = net.replace("Written by hand.", "Written by make_references.py from clock.net.nml, with the "
                      "target population first.").replace('id="clock"', 'id="clock_first"', 1)
    (HERE / "clock_first.net.nml").write_text(net)
    lems = (HERE / "LEMS_clock.xml").read_text().replace("clock.net.nml", "clock_first.net.nml")
    lems = lems.replace("clock.spikes", "clock_first.spikes").replace(
        "Written by hand: spike sources", "Written by make_references.py from LEMS_clock.xml: spike sources")
    (HERE / "LEMS_clock_first.xml").write_text(lems)


def jnml() -> str:
    local = Path(sys.executable).parent / "jnml"
    return str(local) if local.exists() else (shutil.which("jnml") or sys.exit("jnml not found"))


def reference(name: str, lems: str, events: str, traces: str | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="nmlhub-event-timing-") as scratch:
        for path in HERE.iterdir():
            if path.suffix in (".xml", ".nml"):
                shutil.copy(path, scratch)
        run = subprocess.run([jnml(), lems, "-nogui"], cwd=scratch, capture_output=True, text=True, timeout=1800)
        if run.returncode != 0 or not (Path(scratch) / events).exists():
            sys.exit(f"jnml failed on {lems}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        table = np.loadtxt(Path(scratch) / events, ndmin=2)
        # the traces (time and one column per OutputColumn, in SI; jLEMS writes 7 digits), if asked for
        recorded = {"traces": np.loadtxt(Path(scratch) / traces, ndmin=2).astype(np.float32)} if traces else {}
        version = subprocess.run([jnml(), "-v"], capture_output=True, text=True).stdout
        version = next((line.strip() for line in version.splitlines() if "jNeuroML v" in line), "")
    np.savez_compressed(HERE / f"reference_{name}.npz", time_s=table[:, 0], id=table[:, 1].astype(np.int64),
                        jnml_version=np.array(version), **recorded)
    print(f"reference_{name}.npz: {len(table)} events ({version})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("timing", "izh200", "izh200_whole", "whole_steps", "two_steps", "clock",
                                                 "regimes", "nmda", "nmda_v6", "zero_delay_cell",
                                                 "timed_input"))
    args = parser.parse_args()
    if args.only in (None, "timing"):
        reference("timing", "LEMS_timing.xml", "timing.spikes")
    if args.only in (None, "clock"):
        reference("clock", "LEMS_clock.xml", "clock.spikes")
        write_clock_first()
        reference("clock_first", "LEMS_clock_first.xml", "clock_first.spikes")
    if args.only in (None, "regimes"):
        reference("regimes", "LEMS_regimes.xml", "regimes.spikes", "regimes.dat")
    if args.only in (None, "nmda"):
        reference("nmda", "LEMS_nmda.xml", "nmda.spikes", "nmda.dat")
    if args.only in (None, "nmda_v6"):
        reference("nmda_v6", "LEMS_nmda_v6.xml", "nmda_v6.spikes", "nmda_v6.dat")
    if args.only in (None, "timed_input"):
        reference("timed_input", "LEMS_timed_input.xml", "timed_input.spikes", "timed_input.dat")
    if args.only in (None, "zero_delay_cell"):
        reference("zero_delay_cell", "LEMS_zero_delay_cell.xml", "zero_delay_cell.spikes")
    if args.only in (None, "izh200"):
        write_izh200()
        reference("izh200", "LEMS_izh200.xml", "izh200.spikes")
    if args.only in (None, "izh200_whole"):
        write_izh200("izh200_whole", whole_steps=True)
        reference("izh200_whole", "LEMS_izh200_whole.xml", "izh200_whole.spikes")
    if args.only in (None, "whole_steps"):
        write_whole_steps()
        for tag in WHOLE_STEPS_DTS:
            reference(f"whole_steps_{tag}", f"LEMS_whole_steps_{tag}.xml", f"whole_steps_{tag}.spikes")
    if args.only in (None, "two_steps"):
        write_whole_steps("two_steps", TWO_STEPS_DELAYS_MS, TWO_STEPS_DTS)
        for tag in TWO_STEPS_DTS:
            reference(f"two_steps_{tag}", f"LEMS_two_steps_{tag}.xml", f"two_steps_{tag}.spikes")


if __name__ == "__main__":
    main()
