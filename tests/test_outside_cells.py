"""Defects found by running Open Source Brain cell and channel models from outside the corpus
(issue 16, session 10; docs/osb_outside_corpus.md "Session 10: cell models"), each shown by a
small model of our own under tests/data/outside_corpus/cells/ with its jLEMS reference (made by
make_references.py there)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "outside_corpus" / "cells"
REFERENCE = DATA / "reference"


def _nmlhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmlhub", *args], capture_output=True, text=True, timeout=600)


def test_kinetic_scheme_rates_written_with_their_own_id_are_the_transitions_rates(tmp_path):
    """`<rate id="opening_rate" type=...>` inside a forwardTransition is the transition's Child
    'rate' (jLEMS binds it by the element name); nmlhub read no rate there and the channel never
    opened (SolinasEtAl-GolgiCell's KAHP_CML stayed closed). Now the channel follows jLEMS."""
    run = _nmlhub("run", str(DATA / "LEMS_ks_named_rate.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "ks_named_rate.dat")
    jlems = np.loadtxt(REFERENCE / "ks_named_rate.dat")
    assert ours.shape == jlems.shape
    open_fraction = jlems[:, 2]
    assert open_fraction.max() - open_fraction.min() > 0.05  # the reference does open
    # NEURON's implicit step against jLEMS's explicit one (docs/conformance.md "Numerical schemes")
    np.testing.assert_allclose(ours[:, 2], open_fraction, atol=0.01 * np.ptp(open_fraction))
    np.testing.assert_allclose(ours[:, 1], jlems[:, 1], atol=0.01 * np.ptp(jlems[:, 1]))


def test_a_child_nmlhub_cannot_bind_is_refused_in_one_line(tmp_path):
    """Both rates of an HH gate written with ids: either could be the forward rate, so the model
    is refused in one line naming the file, the gate and the child ids (it read 0 before)."""
    run = _nmlhub("run", str(DATA / "LEMS_hh_named_rates.xml"), "--outdir", str(tmp_path))
    assert run.returncode != 0
    message = run.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert f"{DATA / 'hh_named_rates.nml'}:" in message
    assert "select 'forwardRate/r' reads the Child 'forwardRate'" in message
    assert "'up', 'down'" in message


def test_an_unused_input_without_a_parameter_of_its_type_is_named_by_validate(tmp_path):
    """A voltageClamp the simulation does not use, written with the older `seriesResistance`:
    jNeuroML refuses the whole file ('no value supplied for parameter: simpleSeriesResistance'),
    nmlhub runs the simulation (which does not need it) and validate warns at the component."""
    lems = DATA / "LEMS_unused_clamp.xml"
    line = next(k for k, text in enumerate(lems.read_text().splitlines(), 1) if 'id="oldClamp"' in text)
    validate = _nmlhub("validate", str(lems))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert (f"{lems}:{line}: <voltageClamp id='oldClamp'>: warning: component 'oldClamp' (voltageClamp) "
            "does not set its parameter 'simpleSeriesResistance'") in validate.stdout
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert np.loadtxt(tmp_path / "unused_clamp.dat")[:, 1].max() > -0.064  # the used pulse acts


def test_a_used_input_without_a_parameter_of_its_type_is_refused_in_one_line(tmp_path):
    """The same clamp given to the cell: nmlhub refuses, as jNeuroML does, in one line."""
    text = (DATA / "LEMS_unused_clamp.xml").read_text().replace('input="step"', 'input="oldClamp"')
    lems = tmp_path / "LEMS_used_clamp.xml"
    lems.write_text(text)
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    assert run.returncode != 0
    message = run.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert "component 'oldClamp' does not set its parameter 'simpleSeriesResistance'" in message


def test_a_cell_without_a_species_its_channel_reads_is_named_by_validate_and_run(tmp_path):
    """No species for ca, a channel whose rate reads caConc: jLEMS's caConc is 0 (the channel
    stays shut), nmlhub's NEURON's default cai (5e-5 mM: it opens). validate and run say so at the cell."""
    lems, cells = DATA / "LEMS_no_species.xml", DATA / "no_species.nml"
    line = next(k for k, text in enumerate(cells.read_text().splitlines(), 1) if '<cell id="noSpeciesCell">' in text)
    validate = _nmlhub("validate", str(lems))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert (f"{cells}:{line}: <cell id='noSpeciesCell'>: warning: cell 'noSpeciesCell' has no species 'ca', "
            "and its channel density 'kca_all' reads caConc: jLEMS reads caConc 0 there") in validate.stdout
    jlems = np.loadtxt(REFERENCE / "no_species.dat")
    assert np.all(jlems[:, 2] == 0) and np.all(jlems[:, 3] == 0)  # what the warning says of jLEMS
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "has no species 'ca', and its channel density 'kca_all' reads caConc" in run.stderr  # run says it too
    ours = np.loadtxt(tmp_path / "no_species.dat")
    np.testing.assert_allclose(ours[:, 2], 5e-5)  # NEURON's default cai, mM = mol/m3
    assert ours[-1, 3] > 0.1  # so the channel opens here


def test_a_species_without_its_required_attributes_is_refused_in_one_line(tmp_path):
    """`<species>` written as NeuroML 2's drafts wrote it (the concentration model as a child
    element with the initial values; StriatalSpinyProjectionNeuron's MScellLems.nml): jLEMS stops
    ('no value supplied for parameter: initialConcentration in Component(id=ca type=species)');
    nmlhub stopped with "'None' is not a quantity", naming no file, cell or species. Now run and
    validate name all three and the missing attributes."""
    cells = DATA / "species_child.nml"
    line = next(k for k, text in enumerate(cells.read_text().splitlines(), 1) if '<cell id="childSpeciesCell">' in text)
    expected = (f"{cells}:{line}: cell 'childSpeciesCell': <species id='ca'> does not set concentrationModel, "
                "initialConcentration, initialExtConcentration (required attributes of a species)")
    run = _nmlhub("run", str(DATA / "LEMS_species_child.xml"), "--outdir", str(tmp_path))
    assert run.returncode != 0
    message = run.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message == f"nmlhub: error: {expected}"
    assert not (tmp_path / "species_child.dat").exists()
    validate = _nmlhub("validate", str(DATA / "LEMS_species_child.xml"))
    assert expected.replace(": cell", ": warning: nmlhub run cannot run this model: cell") in validate.stdout


def test_a_child_written_under_its_child_name_without_a_type_takes_the_declared_type(tmp_path):
    """`<bodyHolderCell><body rate=.../></bodyHolderCell>`: the element names the type's
    `<Child name="body" type="decayingBody"/>` and has no type=, which jLEMS reads as that Child
    (SBMLShowcase's sbmlHelperCell holding <sbml .../>). nmlhub refused it ('an element <sbml>
    that no ComponentType defines'); now the child has the declared type, and its X decays as in
    jLEMS (and as exp(-rate t), to explicit Euler's O(dt))."""
    run = _nmlhub("run", str(DATA / "LEMS_child_by_name.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "child_by_name.dat")
    jlems = np.loadtxt(REFERENCE / "child_by_name.dat")
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours[:, 1], jlems[:, 1], atol=1e-7)
    np.testing.assert_allclose(ours[:, 1], np.exp(-100 * ours[:, 0]), atol=5e-4)


def test_an_on_start_assignment_reads_the_derived_value_of_the_states_assigned_before_it(tmp_path):
    """OnStart: V = 3, then B = D with D = 2 V + 1. jLEMS gives B = 7 (D of the new V); nmlhub
    gave B = 1 (D of the state before OnStart, V = 0), silently: MorrisLecarModel's N = Nss after
    V = VL started N at Nss(0) = 0.12 instead of Nss(-50) ~ 0 and every spike came 0.46 ms late."""
    run = _nmlhub("run", str(DATA / "LEMS_onstart_derived.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "onstart_derived.dat")
    jlems = np.loadtxt(REFERENCE / "onstart_derived.dat")
    assert jlems[0, 2] == 7.0  # the reference's reading
    np.testing.assert_allclose(ours, jlems, atol=1e-9)


def test_an_unbranched_chain_without_cable_groups_has_a_compartment_per_segment(tmp_path):
    """Three segments in a chain, no cable segment groups, a current into the tip: jNeuroML's
    NEURON export makes each segment a section; nmlhub merged the chain into one section of one
    compartment, so soma and tip had the same v (NeuroMLSBMLShowcase's BallAndStick: all ten
    segments crossed -55 mV at 129.4 ms). Reference: the NEURON export (make_neuron_references.py)."""
    run = _nmlhub("run", str(DATA / "LEMS_chain_cell.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "chain_cell.dat")
    export = np.loadtxt(REFERENCE / "chain_cell.nrn.dat")
    assert ours.shape == export.shape
    assert np.ptp(export[:, 3]) > 2 * np.ptp(export[:, 1])  # the tip moves more than the soma
    for column in (1, 2, 3):
        np.testing.assert_allclose(ours[:, column], export[:, column], atol=0.01 * np.ptp(export[:, column]))


def test_a_type_no_file_defines_is_refused_at_the_element_that_names_it(tmp_path):
    """A gate's steadyState of a misspelt type (StriatalSpinyProjectionNeuron's Updated_NML2
    naF: naf_h_inf_inf for naF_h_inf_inf): jLEMS stops ('No such type kInfTypo'); nmlhub said
    'an element <kInfTypo> that no ComponentType defines', naming only the LEMS file. Now it names
    the channel file, the line and the element."""
    cells = DATA / "misspelt_type.nml"
    line = next(k for k, text in enumerate(cells.read_text().splitlines(), 1) if 'type="kInfTypo"' in text)
    run = _nmlhub("run", str(DATA / "LEMS_misspelt_type.xml"), "--outdir", str(tmp_path))
    assert run.returncode != 0
    message = run.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message == (f"nmlhub: error: {cells}:{line}: <steadyState type='kInfTypo'>: not supported: type 'kInfTypo' "
                       "is defined by no ComponentType nmlhub has (nor jNeuroML's core types)")


def test_a_simulation_asking_the_neuron_export_for_cvode_is_run_at_its_step_and_says_so(tmp_path):
    """`<Meta for="neuron" method="cvode" .../>` (NEURONShowcase's Ex5 cvode test) makes jNeuroML's
    NEURON export integrate with CVode; jLEMS ignores it, and so did nmlhub, without a word. nmlhub
    still runs the fixed step of the file, and validate and run now say so at the <Meta> element.
    The run is the one of the same model without the <Meta>, sample for sample."""
    lems = DATA / "LEMS_meta_cvode.xml"
    line = next(k for k, text in enumerate(lems.read_text().splitlines(), 1) if "<Meta " in text)
    expected = (f"{lems}:{line}: <Meta for='neuron'>: warning: method 'cvode' (abs_tolerance 0.0001, "
                "rel_tolerance 0.001) is not followed: nmlhub runs NEURON at the fixed step of the simulation "
                "(0.025 ms), as jLEMS does; jNeuroML's NEURON export uses the method asked for")
    validate = _nmlhub("validate", str(lems))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert expected in validate.stdout
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path / "meta"))
    assert run.returncode == 0, run.stderr
    assert expected in run.stderr
    plain = tmp_path / "LEMS_plain.xml"
    plain.write_text("\n".join(t for t in lems.read_text().splitlines() if "<Meta " not in t))
    shutil.copy(DATA / "chain_cell.nml", tmp_path)
    run = _nmlhub("run", str(plain), "--outdir", str(tmp_path / "plain"))
    assert run.returncode == 0, run.stderr
    assert "<Meta" not in run.stderr
    ours, without_meta = np.loadtxt(tmp_path / "meta" / "meta_cvode.dat"), np.loadtxt(tmp_path / "plain" / "meta_cvode.dat")
    assert ours.shape == (2401, 3)  # 60 ms at 0.025 ms
    np.testing.assert_array_equal(ours, without_meta)


def test_a_channel_with_an_id_as_long_as_neuroconstruct_writes_them_runs(tmp_path):
    """A channel id of 73 characters (Thalamocortical's naf_tcr__shift_hnafmin7__shift_mnaf_...:
    66): every flat name of the generated mechanism starts with it, and eight names on a RANGE
    line made 726 characters, which nocmodl does not read; nmlhub refused the model ('an NMODL line
    of 726 characters ... which nmlhub cannot split'), jLEMS runs it. Now the names are spread
    over lines that fit, and the cell follows jLEMS (NEURON's implicit step against jLEMS's
    explicit one: within 1 % of each column's range)."""
    run = _nmlhub("run", str(DATA / "LEMS_long_ids.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "long_ids.dat")
    jlems = np.loadtxt(REFERENCE / "long_ids.dat")
    assert ours.shape == jlems.shape
    assert np.ptp(jlems[:, 2]) > 0.05  # the channel's gate moves with the step
    for column in (1, 2):
        np.testing.assert_allclose(ours[:, column], jlems[:, column], atol=0.01 * np.ptp(jlems[:, column]))


def test_a_network_without_temperature_whose_channel_reads_it_is_named_by_validate_and_run(tmp_path):
    """A plain `network` (no temperature) holding a cell whose K channel has a q10ExpTemp
    (NorenbergEtAl2010_DGBasketCell's Na_BC and K_BC): jLEMS stops ('Problem while trying to
    return a value for variable temperature: NaN'); jNeuroML's NEURON export and nmlhub run it at
    NEURON's default 6.3 degC, and nmlhub said nothing. Now validate and run say so at the
    network, and the run equals jLEMS's run of the same cell in a network at 6.3 degC."""
    lems, cells = DATA / "LEMS_no_temperature.xml", DATA / "no_temperature.nml"
    line = next(k for k, text in enumerate(cells.read_text().splitlines(), 1) if '<network id="plainNet">' in text)
    expected = (f"{cells}:{line}: <network id='plainNet'>: warning: network 'plainNet' sets no temperature "
                "(a networkWithTemperature does), and channel density 'k_all' of 'q10Cell' reads it: nmlhub, "
                "like jNeuroML's NEURON export, runs it at NEURON's default 6.3 degC; jLEMS stops")
    validate = _nmlhub("validate", str(lems))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert expected in validate.stdout
    assert "sets no temperature" not in _nmlhub("validate", str(DATA / "LEMS_temperature_6_3.xml")).stdout
    run = _nmlhub("run", str(lems), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert expected in run.stderr
    ours = np.loadtxt(tmp_path / "no_temperature.dat")
    jlems = np.loadtxt(REFERENCE / "temperature_6_3.dat")
    assert ours.shape == jlems.shape
    for column in (1, 2):
        np.testing.assert_allclose(ours[:, column], jlems[:, column], atol=0.01 * np.ptp(jlems[:, column]))


def test_a_cond_based_point_cell_starts_its_gates_at_the_steady_state_of_v0(tmp_path):
    """pointCellCondBased with v0 = -30 mV: jLEMS starts its channel populations' gates at their
    steady state at v0 (n = 0.7714); nmlhub started them at that of NEURON's -65 mV (0.3177), as
    the gates' OnStart came before the cell's v = v0 and read NEURON's v, silently
    (JohnsonMailler_MuscleModel's scaled muscle cell: every spike 21 ms late)."""
    run = _nmlhub("run", str(DATA / "LEMS_condbased_start.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "condbased_start.dat")
    jlems = np.loadtxt(REFERENCE / "condbased_start.dat")
    assert abs(jlems[0, 2] - 0.7714) < 1e-4  # the reference's reading: n_inf(-30 mV)
    assert ours.shape == jlems.shape
    np.testing.assert_allclose(ours[0, 1:], jlems[0, 1:], atol=1e-7)
    np.testing.assert_allclose(ours[:, 1], jlems[:, 1], atol=0.01 * np.ptp(jlems[:, 1]))
    np.testing.assert_allclose(ours[:, 2], jlems[:, 2], atol=1e-3)  # the explicit step after t = 0


def test_on_starts_of_a_component_and_its_child_see_what_the_other_sets(tmp_path):
    """The child's OnStart reads the parent's x (set to 7 by the parent's OnStart), the parent's
    reads the child's c (3): jLEMS runs the OnStarts several times and gives cx = 7 and p = 3;
    nmlhub ran the child's first, once, and gave cx = 0."""
    run = _nmlhub("run", str(DATA / "LEMS_onstart_cross.xml"), "--outdir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    ours = np.loadtxt(tmp_path / "onstart_cross.dat")
    jlems = np.loadtxt(REFERENCE / "onstart_cross.dat")
    np.testing.assert_array_equal(jlems[0, 1:], [7, 3, 3, 7])
    np.testing.assert_allclose(ours, jlems, atol=1e-12)
