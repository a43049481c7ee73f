#!/usr/bin/env python
"""Generate the NeuroML2 / LEMS example models in this folder.

Run from anywhere::

    python nml_examples/make_examples.py

It (re)writes the .nml and LEMS_*.xml files of the three example folders
``hh_single/``, ``izh_network/`` and ``mc_network/`` next to this script.
The output is deterministic (numpy RNG with fixed seeds), so running it again
reproduces the committed files exactly.

Requires libNeuroML (``pip install libNeuroML``) and numpy.  To check the
results::

    jnml -validate <file>.nml                  # schema validation
    cd hh_single && jnml LEMS_hh_single.xml -nogui
    cd mc_network && jnml LEMS_mc_network.xml -neuron -nogui -run

(run them in a scratch copy: the simulations write their output files next
to the LEMS file).
"""

import os
import re

import numpy as np
from neuroml import (
    BiophysicalProperties,
    Cell,
    ChannelDensity,
    Connection,
    ConnectionWD,
    ExpTwoSynapse,
    GateHHRates,
    HHRate,
    IncludeType,
    InitMembPotential,
    Include as SGInclude,
    Input,
    InputW,
    InputList,
    Instance,
    IntracellularProperties,
    IonChannel,
    IonChannelHH,
    Izhikevich2007Cell,
    Location,
    Member,
    MembraneProperties,
    Morphology,
    Network,
    NeuroMLDocument,
    Point3DWithDiam,
    Population,
    Projection,
    Property,
    PulseGenerator,
    Resistivity,
    Segment,
    SegmentGroup,
    SegmentParent,
    SpecificCapacitance,
    SpikeThresh,
)
from neuroml.writers import NeuroMLWriter

HERE = os.path.dirname(os.path.abspath(__file__))

# NeuroLex id marking an unbranched cable segment group
CABLE = "sao864921383"


def write_nml(doc, folder, fname):
    path = os.path.join(HERE, folder, fname)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    NeuroMLWriter.write(doc, path)
    print("wrote", os.path.relpath(path, HERE))


def write_text(text, folder, fname):
    path = os.path.join(HERE, folder, fname)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print("wrote", os.path.relpath(path, HERE))


def loc(x):
    """Round a coordinate to 0.25 um: exactly representable in binary, so
    libNeuroML (which formats floats with %.15f) writes it cleanly."""
    return round(float(x) * 4) / 4


def fmt(x, nd=3):
    """Compact float formatting for attribute values."""
    s = f"{x:.{nd}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# ---------------------------------------------------------------------------
# 1. hh_single: single compartment Hodgkin-Huxley cell
# ---------------------------------------------------------------------------

def hh_channels():
    """Classic squid axon HH channels (Hodgkin & Huxley 1952, 6.3 degC),
    voltages shifted so that rest is at -65 mV."""
    na = IonChannelHH(
        id="Na", conductance="10pS", species="na",
        notes="Squid axon fast sodium channel (Hodgkin & Huxley 1952), m^3 h",
    )
    na.gate_hh_rates.append(GateHHRates(
        id="m", instances=3,
        forward_rate=HHRate(type="HHExpLinearRate", rate="1per_ms",
                            midpoint="-40mV", scale="10mV"),
        reverse_rate=HHRate(type="HHExpRate", rate="4per_ms",
                            midpoint="-65mV", scale="-18mV"),
    ))
    na.gate_hh_rates.append(GateHHRates(
        id="h", instances=1,
        forward_rate=HHRate(type="HHExpRate", rate="0.07per_ms",
                            midpoint="-65mV", scale="-20mV"),
        reverse_rate=HHRate(type="HHSigmoidRate", rate="1per_ms",
                            midpoint="-35mV", scale="10mV"),
    ))

    k = IonChannelHH(
        id="K", conductance="10pS", species="k",
        notes="Squid axon delayed rectifier potassium channel "
              "(Hodgkin & Huxley 1952), n^4",
    )
    k.gate_hh_rates.append(GateHHRates(
        id="n", instances=4,
        forward_rate=HHRate(type="HHExpLinearRate", rate="0.1per_ms",
                            midpoint="-55mV", scale="10mV"),
        reverse_rate=HHRate(type="HHExpRate", rate="0.125per_ms",
                            midpoint="-65mV", scale="-80mV"),
    ))

    leak = IonChannel(
        id="leak", conductance="10pS", type="ionChannelPassive",
        notes="Passive (non voltage-gated) leak channel",
    )
    for ch, fname in ((na, "Na.channel.nml"), (k, "K.channel.nml"),
                      (leak, "leak.channel.nml")):
        doc = NeuroMLDocument(id=ch.id)
        if isinstance(ch, IonChannelHH):
            doc.ion_channel_hhs.append(ch)  # <ionChannelHH>
        else:
            doc.ion_channel.append(ch)  # <ionChannel type="ionChannelPassive">
        write_nml(doc, "hh_single", fname)


def hh_single():
    hh_channels()

    # cylinder with diameter = length = 17.841 um -> membrane area 1000 um^2,
    # i.e. C = 10 pF; 0.08 nA then corresponds to 8 uA/cm2 (repetitive firing)
    d = 17.841241
    cell = Cell(id="hh_cell", notes="Single compartment Hodgkin-Huxley cell")
    morph = Morphology(id="hh_cell_morph")
    soma = Segment(id=0, name="soma",
                   proximal=Point3DWithDiam(x=0, y=0, z=0, diameter=d),
                   distal=Point3DWithDiam(x=0, y=d, z=0, diameter=d))
    morph.segments.append(soma)
    # cable group "soma" (-> one NEURON section) + generic group "soma_group"
    morph.segment_groups.append(SegmentGroup(
        id="soma", neuro_lex_id=CABLE, members=[Member(segments=0)]))
    sg = SegmentGroup(id="soma_group", notes="Soma")
    sg.includes.append(SGInclude(segment_groups="soma"))
    morph.segment_groups.append(sg)
    cell.morphology = morph

    mp = MembraneProperties()
    mp.channel_densities.append(ChannelDensity(
        id="leak_all", ion_channel="leak", cond_density="0.3mS_per_cm2",
        erev="-54.387mV", ion="non_specific"))
    mp.channel_densities.append(ChannelDensity(
        id="Na_all", ion_channel="Na", cond_density="120mS_per_cm2",
        erev="50mV", ion="na"))
    mp.channel_densities.append(ChannelDensity(
        id="K_all", ion_channel="K", cond_density="36mS_per_cm2",
        erev="-77mV", ion="k"))
    mp.spike_threshes.append(SpikeThresh(value="0mV"))
    mp.specific_capacitances.append(SpecificCapacitance(value="1uF_per_cm2"))
    mp.init_memb_potentials.append(InitMembPotential(value="-65mV"))
    ip = IntracellularProperties()
    ip.resistivities.append(Resistivity(value="0.03kohm_cm"))
    cell.biophysical_properties = BiophysicalProperties(
        id="biophys", membrane_properties=mp, intracellular_properties=ip)

    doc = NeuroMLDocument(id="hh_cell")
    for f in ("Na.channel.nml", "K.channel.nml", "leak.channel.nml"):
        doc.includes.append(IncludeType(href=f))
    doc.cells.append(cell)
    write_nml(doc, "hh_single", "hh_cell.cell.nml")

    net_doc = NeuroMLDocument(id="hh_single")
    net_doc.includes.append(IncludeType(href="hh_cell.cell.nml"))
    net_doc.pulse_generators.append(PulseGenerator(
        id="pulse", delay="20ms", duration="60ms", amplitude="0.08nA"))
    net = Network(id="hh_net", type="networkWithTemperature",
                  temperature="6.3degC",
                  notes="One HH cell driven by a 60 ms current step")
    pop = Population(id="hhpop", component="hh_cell", size=1,
                     type="populationList")
    pop.instances.append(Instance(id=0, location=Location(x=0, y=0, z=0)))
    net.populations.append(pop)
    il = InputList(id="stim", component="pulse", populations="hhpop")
    il.input.append(Input(id=0, target="../hhpop/0/hh_cell",
                          destination="synapses", segment_id=0,
                          fraction_along=0.5))
    net.input_lists.append(il)
    net_doc.networks.append(net)
    write_nml(net_doc, "hh_single", "hh_single.net.nml")

    cellpath = "hhpop/0/hh_cell"
    mp_path = cellpath + "/biophys/membraneProperties"
    lems = f"""<Lems>

    <!-- Single compartment Hodgkin-Huxley cell, 60 ms current step.
         Run with: jnml LEMS_hh_single.xml -nogui -->

    <Target component="sim1"/>

    <Include file="NeuroMLCoreDimensions.xml"/>
    <Include file="Cells.xml"/>
    <Include file="Networks.xml"/>
    <Include file="Simulation.xml"/>

    <Include file="hh_single.net.nml"/>

    <Simulation id="sim1" length="100ms" step="0.01ms" target="hh_net" seed="1234">

        <Display id="d_v" title="HH cell: membrane potential" timeScale="1ms" xmin="-10" xmax="110" ymin="-90" ymax="60">
            <Line id="v" quantity="{cellpath}/v" scale="1mV" color="#000000" timeScale="1ms"/>
        </Display>

        <Display id="d_gates" title="HH cell: gating variables" timeScale="1ms" xmin="-10" xmax="110" ymin="-0.1" ymax="1.1">
            <Line id="m" quantity="{mp_path}/Na_all/Na/m/q" scale="1" color="#d62728" timeScale="1ms"/>
            <Line id="h" quantity="{mp_path}/Na_all/Na/h/q" scale="1" color="#2ca02c" timeScale="1ms"/>
            <Line id="n" quantity="{mp_path}/K_all/K/n/q" scale="1" color="#1f77b4" timeScale="1ms"/>
        </Display>

        <OutputFile id="of_v" fileName="hh_single.v.dat">
            <OutputColumn id="v" quantity="{cellpath}/v"/>
            <OutputColumn id="m" quantity="{mp_path}/Na_all/Na/m/q"/>
            <OutputColumn id="h" quantity="{mp_path}/Na_all/Na/h/q"/>
            <OutputColumn id="n" quantity="{mp_path}/K_all/K/n/q"/>
        </OutputFile>

        <EventOutputFile id="of_spikes" fileName="hh_single.spikes.dat" format="ID_TIME">
            <EventSelection id="0" select="{cellpath}" eventPort="spike"/>
        </EventOutputFile>

    </Simulation>

</Lems>
"""
    write_text(lems, "hh_single", "LEMS_hh_single.xml")


# ---------------------------------------------------------------------------
# 2. izh_network: E/I network of Izhikevich (2007) point neurons
# ---------------------------------------------------------------------------

def izh_network():
    rng = np.random.default_rng(2024)
    n_e, n_i = 40, 10
    box = 100.0  # um

    doc = NeuroMLDocument(
        id="izh_network",
        notes="Sparse E/I network of Izhikevich (2007) point neurons with "
              "heterogeneous current drive")

    # Izhikevich (2007) "Dynamical systems in neuroscience", ch. 8:
    # regular spiking pyramidal cell and (linearised) fast spiking interneuron
    doc.izhikevich2007_cells.append(Izhikevich2007Cell(
        id="RS", notes="Regular spiking excitatory cell",
        C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV", vt="-40mV",
        vpeak="35mV", a="0.03per_ms", b="-2nS", c="-50mV", d="100pA"))
    doc.izhikevich2007_cells.append(Izhikevich2007Cell(
        id="FS", notes="Fast spiking inhibitory interneuron",
        C="20pF", v0="-55mV", k="1nS_per_mV", vr="-55mV", vt="-40mV",
        vpeak="25mV", a="0.2per_ms", b="0.025nS", c="-45mV", d="0pA"))

    # recurrent synapses (weights of the connections scale gbase)
    doc.exp_two_synapses.append(ExpTwoSynapse(
        id="syn_exc", gbase="1nS", erev="0mV", tau_rise="0.5ms",
        tau_decay="5ms", notes="AMPA-like excitatory synapse"))
    doc.exp_two_synapses.append(ExpTwoSynapse(
        id="syn_inh", gbase="2nS", erev="-80mV", tau_rise="1ms",
        tau_decay="10ms", notes="GABA_A-like inhibitory synapse"))
    # background drive: one current step per population, scaled per cell by
    # the weight of an <inputW> (heterogeneous, deterministic drive).
    # (poissonFiringSynapse would be the stochastic alternative, but the mod
    # file jNeuroML 0.14 generates for it does not compile with NEURON 9.)
    doc.pulse_generators.append(PulseGenerator(
        id="drive_E", delay="20ms", duration="460ms", amplitude="100pA",
        notes="Drive to the RS cells, scaled by the input weights"))
    doc.pulse_generators.append(PulseGenerator(
        id="drive_I", delay="20ms", duration="460ms", amplitude="50pA",
        notes="Drive to the FS cells, scaled by the input weights"))

    net = Network(id="izh_net", notes="40 RS + 10 FS cells in a 100 um cube")
    doc.networks.append(net)

    pops = {}
    # population ids "Exc"/"Inh" rather than "E"/"I": E is a built-in constant
    # in NEURON's hoc (e = 2.718...), so a population called E cannot be
    # created as a hoc section array by the NEURON exporter
    E, I = "Exc", "Inh"
    short = {E: "E", I: "I"}
    for pid, comp, n in ((E, "RS", n_e), (I, "FS", n_i)):
        pop = Population(id=pid, component=comp, size=n,
                         type="populationList")
        xyz = rng.uniform(0, box, size=(n, 3))
        for i in range(n):
            pop.instances.append(Instance(id=i, location=Location(
                x=loc(xyz[i, 0]), y=loc(xyz[i, 1]), z=loc(xyz[i, 2]))))
        net.populations.append(pop)
        pops[pid] = (comp, n)

    # (pre, post, synapse, probability, mean weight)
    proj_specs = (
        (E, E, "syn_exc", 0.15, 1.0),
        (E, I, "syn_exc", 0.2, 1.0),
        (I, E, "syn_inh", 0.2, 0.5),
        (I, I, "syn_inh", 0.15, 0.5),
    )
    for pre, post, syn, p, w in proj_specs:
        pre_comp, n_pre = pops[pre]
        post_comp, n_post = pops[post]
        proj = Projection(id=f"proj_{short[pre]}{short[post]}",
                          presynaptic_population=pre,
                          postsynaptic_population=post, synapse=syn)
        cid = 0
        for i in range(n_pre):
            for j in range(n_post):
                if pre == post and i == j:
                    continue  # no autapses
                if rng.random() >= p:
                    continue
                weight = w * rng.uniform(0.5, 1.5)
                delay = rng.uniform(1.0, 5.0)
                proj.connection_wds.append(ConnectionWD(
                    id=cid,
                    pre_cell_id=f"../{pre}/{i}/{pre_comp}",
                    post_cell_id=f"../{post}/{j}/{post_comp}",
                    weight=fmt(weight), delay=f"{fmt(delay, 1)}ms"))
                cid += 1
        net.projections.append(proj)

    # (population, drive, weight range): E cells get 60-140 pA (RS rheobase
    # is ~51 pA, so all are driven, at different rates); FS cells get only
    # 10-40 pA (below their ~56 pA rheobase) and are recruited by E input
    for pid, comp_in, (w_lo, w_hi) in ((E, "drive_E", (0.6, 1.4)),
                                       (I, "drive_I", (0.2, 0.8))):
        comp, n = pops[pid]
        il = InputList(id=f"{comp_in}_input", component=comp_in,
                       populations=pid)
        for i in range(n):
            il.input_ws.append(InputW(
                id=i, target=f"../{pid}/{i}/{comp}", destination="synapses",
                weight=fmt(rng.uniform(w_lo, w_hi))))
        net.input_lists.append(il)

    write_nml(doc, "izh_network", "izh_network.net.nml")

    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    rec = [(E, "RS", i) for i in range(3)] + [(I, "FS", i) for i in range(2)]
    lines = "\n".join(
        f'            <Line id="{p}_{i}" quantity="{p}/{i}/{c}/v" scale="1mV" '
        f'color="{col}" timeScale="1ms"/>'
        for (p, c, i), col in zip(rec, colors))
    cols = "\n".join(
        f'            <OutputColumn id="{p}_{i}" quantity="{p}/{i}/{c}/v"/>'
        for p, c, i in rec)
    sels = []
    gid = 0
    for pid in (E, I):
        comp, n = pops[pid]
        for i in range(n):
            sels.append(f'            <EventSelection id="{gid}" '
                        f'select="{pid}/{i}/{comp}" eventPort="spike"/>')
            gid += 1
    sels = "\n".join(sels)

    lems = f"""<Lems>

    <!-- Izhikevich E/I network (40 RS + 10 FS cells), current steps 20-480 ms
         (amplitude scaled per cell by input weights).
         Spike file: one line per spike, "<id> <time in s>";
         ids 0-{n_e - 1} are {E}/0-{n_e - 1}, ids {n_e}-{n_e + n_i - 1} are {I}/0-{n_i - 1}.
         Run with: jnml LEMS_izh_network.xml -nogui -->

    <Target component="sim1"/>

    <Include file="NeuroMLCoreDimensions.xml"/>
    <Include file="Cells.xml"/>
    <Include file="Networks.xml"/>
    <Include file="Simulation.xml"/>

    <Include file="izh_network.net.nml"/>

    <Simulation id="sim1" length="500ms" step="0.025ms" target="izh_net" seed="1234">

        <Display id="d_v" title="Izhikevich network: membrane potentials" timeScale="1ms" xmin="-20" xmax="520" ymin="-90" ymax="50">
{lines}
        </Display>

        <OutputFile id="of_v" fileName="izh_network.v.dat">
{cols}
        </OutputFile>

        <EventOutputFile id="of_spikes" fileName="izh_network.spikes.dat" format="ID_TIME">
{sels}
        </EventOutputFile>

    </Simulation>

</Lems>
"""
    write_text(lems, "izh_network", "LEMS_izh_network.xml")


# ---------------------------------------------------------------------------
# 3. mc_network: two populations of multi-compartment cells
# ---------------------------------------------------------------------------

def p3(x, y, z, d):
    return Point3DWithDiam(x=x, y=y, z=z, diameter=d)


def mc_cell(cell_id, notes, dends, n_div, soma_diam, dend_leak):
    """Soma (segment 0) + dendritic segments.

    dends: list of (name, parent, distal (x, y, z), diameter, cable group)
    n_div: {cable group: numberInternalDivisions}
    """
    cell = Cell(id=cell_id, notes=notes)
    morph = Morphology(id=f"{cell_id}_morph")
    r = soma_diam / 2.0
    segs = {0: Segment(id=0, name="soma",
                       proximal=p3(0, -r, 0, soma_diam),
                       distal=p3(0, r, 0, soma_diam))}
    morph.segments.append(segs[0])
    groups = {}
    for k, (name, parent, dist, diam, grp) in enumerate(dends, start=1):
        par = segs[parent]
        if parent == 0:
            # dendrites start at the soma centre (fractionAlong 0.5);
            # explicit proximal point
            start = (0.0, 0.0, 0.0)
            seg = Segment(id=k, name=name,
                          parent=SegmentParent(segments=0, fraction_along=0.5),
                          proximal=p3(*start, diam),
                          distal=p3(*dist, diam))
        else:
            # continues from the distal end of the parent (implicit proximal)
            seg = Segment(id=k, name=name, parent=SegmentParent(segments=parent),
                          distal=p3(*dist, diam))
        segs[k] = seg
        morph.segments.append(seg)
        groups.setdefault(grp, []).append(k)

    # unbranched cable groups ("soma", "apical", ...) each become one NEURON
    # section; "soma_group", "dendrite_group" and "all" are collections of them
    morph.segment_groups.append(SegmentGroup(
        id="soma", neuro_lex_id=CABLE, members=[Member(segments=0)]))
    for grp, ids in groups.items():
        sg = SegmentGroup(id=grp, neuro_lex_id=CABLE,
                          members=[Member(segments=i) for i in ids])
        sg.properties.append(Property(tag="numberInternalDivisions",
                                      value=str(n_div[grp])))
        morph.segment_groups.append(sg)
    sg = SegmentGroup(id="soma_group", notes="Soma")
    sg.includes.append(SGInclude(segment_groups="soma"))
    morph.segment_groups.append(sg)
    dg = SegmentGroup(id="dendrite_group", notes="All dendritic segments")
    for grp in groups:
        dg.includes.append(SGInclude(segment_groups=grp))
    morph.segment_groups.append(dg)
    allg = SegmentGroup(id="all")
    allg.includes.append(SGInclude(segment_groups="soma_group"))
    allg.includes.append(SGInclude(segment_groups="dendrite_group"))
    morph.segment_groups.append(allg)
    cell.morphology = morph

    mp = MembraneProperties()
    mp.channel_densities.append(ChannelDensity(
        id="leak_soma", ion_channel="leak", cond_density="0.3mS_per_cm2",
        erev="-54.387mV", ion="non_specific", segment_groups="soma_group"))
    mp.channel_densities.append(ChannelDensity(
        id="Na_soma", ion_channel="Na", cond_density="120mS_per_cm2",
        erev="50mV", ion="na", segment_groups="soma_group"))
    mp.channel_densities.append(ChannelDensity(
        id="K_soma", ion_channel="K", cond_density="36mS_per_cm2",
        erev="-77mV", ion="k", segment_groups="soma_group"))
    mp.channel_densities.append(ChannelDensity(
        id="leak_dend", ion_channel="leak", cond_density=dend_leak,
        erev="-65mV", ion="non_specific", segment_groups="dendrite_group"))
    # spikes are detected at the soma (NEURON export: segment 0 = soma);
    # segmentGroup "all" (the default) is what the exporters support
    mp.spike_threshes.append(SpikeThresh(value="0mV"))
    mp.specific_capacitances.append(SpecificCapacitance(
        value="1uF_per_cm2", segment_groups="all"))
    mp.init_memb_potentials.append(InitMembPotential(value="-65mV",
                                                     segment_groups="all"))
    ip = IntracellularProperties()
    ip.resistivities.append(Resistivity(value="0.1kohm_cm",
                                        segment_groups="all"))
    cell.biophysical_properties = BiophysicalProperties(
        id="biophys", membrane_properties=mp, intracellular_properties=ip)

    doc = NeuroMLDocument(id=cell_id)
    for f in ("Na.channel.nml", "K.channel.nml", "leak.channel.nml"):
        doc.includes.append(IncludeType(href=f"../hh_single/{f}"))
    doc.cells.append(cell)
    return doc


def explicit_connection_sites(path):
    """libNeuroML omits attributes equal to their defaults (segment 0,
    fractionAlong 0.5); write the synapse locations of every <connection>
    out in full so that the file documents them."""
    def fix(m):
        tag = m.group(0)
        for attr, default in (("postSegmentId", "0"),
                              ("postFractionAlong", "0.5")):
            if f'{attr}="' not in tag:
                tag = tag.replace("/>", f' {attr}="{default}"/>')
        return re.sub(r'(preCellId="[^"]+")',
                      r'\1 preSegmentId="0" preFractionAlong="0.5"', tag)

    with open(path) as f:
        text = f.read()
    text = re.sub(r"<connection [^>]*/>", fix, text)
    with open(path, "w") as f:
        f.write(text)


def mc_network():
    rng = np.random.default_rng(7)

    # pyramidal-like cell: soma, 3-segment apical cable, 2 basal dendrites
    pyr = mc_cell(
        "pyr_cell", "Pyramidal-like cell: HH soma, passive apical and basal "
                    "dendrites",
        dends=[
            ("apical_0", 0, (0, 80, 0), 3.0, "apical"),
            ("apical_1", 1, (0, 160, 0), 2.5, "apical"),
            ("apical_2", 2, (0, 240, 0), 2.0, "apical"),
            ("basal_0", 0, (-60, -60, 0), 2.0, "basal_left"),
            ("basal_1", 0, (60, -60, 0), 2.0, "basal_right"),
        ],
        n_div={"apical": 3, "basal_left": 2, "basal_right": 2},
        soma_diam=20.0, dend_leak="0.1mS_per_cm2")
    write_nml(pyr, "mc_network", "pyr_cell.cell.nml")

    # basket-like interneuron: small soma, 3 short passive dendrites
    bask = mc_cell(
        "bask_cell", "Basket-like interneuron: HH soma, three short passive "
                     "dendrites",
        dends=[
            ("dend_0", 0, (0, 60, 0), 1.5, "dend_up"),
            ("dend_1", 0, (-50, -30, 0), 1.5, "dend_left"),
            ("dend_2", 0, (50, -30, 0), 1.5, "dend_right"),
        ],
        n_div={"dend_up": 2, "dend_left": 2, "dend_right": 2},
        soma_diam=15.0, dend_leak="0.1mS_per_cm2")
    write_nml(bask, "mc_network", "bask_cell.cell.nml")

    doc = NeuroMLDocument(
        id="mc_network",
        notes="Small network of multi-compartment cells: 6 pyramidal-like "
              "cells and 3 basket-like interneurons")
    doc.includes.append(IncludeType(href="pyr_cell.cell.nml"))
    doc.includes.append(IncludeType(href="bask_cell.cell.nml"))
    doc.exp_two_synapses.append(ExpTwoSynapse(
        id="AMPA", gbase="3nS", erev="0mV", tau_rise="0.5ms",
        tau_decay="5ms", notes="Excitatory (AMPA-like) synapse"))
    doc.exp_two_synapses.append(ExpTwoSynapse(
        id="GABA", gbase="1nS", erev="-80mV", tau_rise="1ms",
        tau_decay="15ms", notes="Inhibitory (GABA_A-like) synapse"))
    doc.pulse_generators.append(PulseGenerator(
        id="pyr_stim", delay="20ms", duration="150ms", amplitude="0.3nA"))

    net = Network(id="mc_net", type="networkWithTemperature",
                  temperature="6.3degC")
    doc.networks.append(net)

    n_pyr, n_bask = 6, 3
    pyr_pop = Population(id="pyr", component="pyr_cell", size=n_pyr,
                         type="populationList")
    for i in range(n_pyr):
        pyr_pop.instances.append(Instance(id=i, location=Location(
            x=loc(100.0 * i), y=loc(rng.uniform(-20, 20)), z=0)))
    bask_pop = Population(id="bask", component="bask_cell", size=n_bask,
                          type="populationList")
    for i in range(n_bask):
        bask_pop.instances.append(Instance(id=i, location=Location(
            x=loc(100.0 + 200.0 * i), y=loc(300 + rng.uniform(-20, 20)),
            z=50)))
    net.populations.append(pyr_pop)
    net.populations.append(bask_pop)

    pyr_dends = [1, 2, 3, 4, 5]      # apical_0..2, basal_0, basal_1
    pyr_apical = [1, 2, 3]
    bask_dends = [1, 2, 3]

    def project(pid, pre, pre_comp, n_pre, post, post_comp, n_post, syn,
                targets, p, ensure=()):
        proj = Projection(id=pid, presynaptic_population=pre,
                          postsynaptic_population=post, synapse=syn)
        cid = 0
        for i in range(n_pre):
            for j in range(n_post):
                if pre == post and i == j:
                    continue
                if (i, j) not in ensure and rng.random() >= p:
                    continue
                proj.connections.append(Connection(
                    id=cid,
                    pre_cell_id=f"../{pre}/{i}/{pre_comp}",
                    pre_segment_id=0, pre_fraction_along=0.5,
                    post_cell_id=f"../{post}/{j}/{post_comp}",
                    post_segment_id=int(rng.choice(targets)),
                    post_fraction_along=fmt(rng.uniform(0.1, 0.9), 2)))
                cid += 1
        net.projections.append(proj)

    # pyr -> pyr onto any dendrite, pyr -> bask onto bask dendrites,
    # bask -> pyr onto the apical dendrite; some connections from the
    # stimulated pyr cells are guaranteed so that the responses are visible
    project("pyr_pyr", "pyr", "pyr_cell", n_pyr, "pyr", "pyr_cell", n_pyr,
            "AMPA", pyr_dends, 0.3, ensure={(0, 3), (1, 4), (2, 5)})
    project("pyr_bask", "pyr", "pyr_cell", n_pyr, "bask", "bask_cell", n_bask,
            "AMPA", bask_dends, 0.5, ensure={(0, 0), (1, 1), (2, 2)})
    project("bask_pyr", "bask", "bask_cell", n_bask, "pyr", "pyr_cell", n_pyr,
            "GABA", pyr_apical, 0.5, ensure={(0, 3), (1, 4), (2, 5)})

    il = InputList(id="stim", component="pyr_stim", populations="pyr")
    for i in range(3):
        il.input.append(Input(id=i, target=f"../pyr/{i}/pyr_cell",
                              destination="synapses", segment_id=0,
                              fraction_along=0.5))
    net.input_lists.append(il)

    write_nml(doc, "mc_network", "mc_network.net.nml")
    explicit_connection_sites(os.path.join(HERE, "mc_network",
                                           "mc_network.net.nml"))

    rec = [("pyr", "pyr_cell", i) for i in (0, 3)] + [("bask", "bask_cell", 0)]
    colors = ["#1f77b4", "#2ca02c", "#d62728"]
    lines, cols = [], []
    for (p, c, i), col in zip(rec, colors):
        lines.append(f'            <Line id="{p}_{i}_soma" quantity="{p}/{i}/{c}/0/v" '
                     f'scale="1mV" color="{col}" timeScale="1ms"/>')
        cols.append(f'            <OutputColumn id="{p}_{i}_soma" quantity="{p}/{i}/{c}/0/v"/>')
        cols.append(f'            <OutputColumn id="{p}_{i}_dend" quantity="{p}/{i}/{c}/2/v"/>')
    lines.append('            <Line id="pyr_3_dend" quantity="pyr/3/pyr_cell/2/v" '
                 'scale="1mV" color="#9467bd" timeScale="1ms"/>')
    sels, gid = [], 0
    for p, c, n in (("pyr", "pyr_cell", n_pyr), ("bask", "bask_cell", n_bask)):
        for i in range(n):
            sels.append(f'            <EventSelection id="{gid}" select="{p}/{i}/{c}" '
                        f'eventPort="spike"/>')
            gid += 1
    lines, cols, sels = "\n".join(lines), "\n".join(cols), "\n".join(sels)

    lems = f"""<Lems>

    <!-- Network of multi-compartment cells (6 pyr + 3 bask), current step into pyr 0-2.
         Voltages: soma (segment 0) and dendrite (segment 2) of pyr 0, pyr 3 and bask 0.
         Spike ids 0-{n_pyr - 1} are pyr/0-{n_pyr - 1}, ids {n_pyr}-{n_pyr + n_bask - 1} are bask/0-{n_bask - 1}.
         jNeuroML's own LEMS interpreter (jnml LEMS_mc_network.xml -nogui)
         cannot simulate multi-compartment cells; run it through NEURON:
             jnml LEMS_mc_network.xml -neuron -nogui -run -->

    <Target component="sim1"/>

    <Include file="NeuroMLCoreDimensions.xml"/>
    <Include file="Cells.xml"/>
    <Include file="Networks.xml"/>
    <Include file="Simulation.xml"/>

    <Include file="mc_network.net.nml"/>

    <Simulation id="sim1" length="200ms" step="0.025ms" target="mc_net" seed="1234">

        <Display id="d_v" title="Multi-compartment network: membrane potentials" timeScale="1ms" xmin="-10" xmax="210" ymin="-90" ymax="60">
{lines}
        </Display>

        <OutputFile id="of_v" fileName="mc_network.v.dat">
{cols}
        </OutputFile>

        <EventOutputFile id="of_spikes" fileName="mc_network.spikes.dat" format="ID_TIME">
{sels}
        </EventOutputFile>

    </Simulation>

</Lems>
"""
    write_text(lems, "mc_network", "LEMS_mc_network.xml")


if __name__ == "__main__":
    hh_single()
    izh_network()
    mc_network()
