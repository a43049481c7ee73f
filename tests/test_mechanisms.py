"""The LEMS -> NMODL translator and the mechanism cache, with the real nrnivmodl."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest

import nmlhub
from nmlhub.lems import expr as ex
from nmlhub.lems.nmodl import mechanism_for
from nmlhub.neuron.mechanisms import UnsupportedComponentError, build_mechanisms
from nmlhub.neuron.mechcache import CompileError, MechanismCache
from nmlhub.neuron.recording import QuantityPathError
from nmlhub.neuron.simulation import NeuronSimulation

EXAMPLES = Path(__file__).resolve().parents[1] / "nml_examples"


@pytest.mark.parametrize("text, env, expected", [
    ("(v - vt) * k", {"v": 2.0, "vt": 1.0, "k": 3.0}, 3.0),
    ("10 - 3 - 2", {}, 5.0),
    ("exp(-x/2)", {"x": 2.0}, math.exp(-1)),
    ("t .geq. d .and. t .lt. d + w", {"t": 1.5, "d": 1.0, "w": 1.0}, True),
    ("H(x) * 4", {"x": -1.0}, 0.0),
    ("(inf - q) / tau", {"inf": 1.0, "q": 0.25, "tau": 0.5}, 1.5),
])
def test_expressions_evaluate_as_written(text, env, expected):
    assert ex.evaluate(ex.parse(text), env) == pytest.approx(expected)


def test_expressions_refuse_unknown_functions():
    with pytest.raises(ex.ExpressionError):
        ex.parse("__import__('os')")
    with pytest.raises(ex.ExpressionError):
        ex.parse("system(1)")


def test_expressions_print_as_nmodl():
    text = ex.to_nmodl(ex.parse("a^2 + H(b)"))
    assert "powi_nml(a, 2)" in text and "heaviside_nml(b)" in text


def _izh_model():
    return nmlhub.load(EXAMPLES / "izh_network" / "LEMS_izh_network.xml")


def test_cell_mechanism_capacitance_comes_from_the_dynamics():
    model = _izh_model()
    mechs = build_mechanisms(model, ["RS"])
    cell = model.component("RS")
    expected_nf = model.units.parse(cell.C).to("nF")
    assert mechs["RS"].capacitance_nf == pytest.approx(expected_nf)
    text = mechs["RS"].mechanism.text
    assert "POINT_PROCESS" in text and "WATCH" in text and "NONSPECIFIC_CURRENT" in text


def test_components_of_one_type_share_a_mechanism():
    model = _izh_model()
    mechs = build_mechanisms(model, ["RS", "FS"])
    assert mechs["RS"].mechanism.name == mechs["FS"].mechanism.name
    assert mechs["RS"].mechanism.parameters != mechs["FS"].mechanism.parameters


def test_second_build_compiles_nothing(tmp_path):
    model = _izh_model()
    mechs = [m.mechanism for m in build_mechanisms(model, ["RS", "syn_exc", "drive_E"]).values()]
    first = MechanismCache(root=tmp_path / "cache")
    libraries = first.ensure(mechs)
    assert sorted(first.compiled) == sorted({m.name for m in mechs})
    assert all(lib is not None and lib.exists() for lib in libraries)
    second = MechanismCache(root=tmp_path / "cache")
    assert second.ensure(mechs) == libraries
    assert second.compiled == []


def test_concurrent_compiles_do_not_corrupt_the_cache(tmp_path):
    model = _izh_model()
    mech = build_mechanisms(model, ["syn_inh"])["syn_inh"].mechanism
    results, errors = [], []

    def compile_once():
        try:
            results.append(MechanismCache(root=tmp_path / "shared").ensure([mech])[0])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=compile_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and results[0].exists()
    leftovers = [p for p in (tmp_path / "shared").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_compile_error_names_the_component_type(tmp_path):
    model = _izh_model()
    mech = build_mechanisms(model, ["syn_inh"])["syn_inh"].mechanism
    mech.name = mech.name + "_broken"
    mech.text = mech.text.replace("BREAKPOINT {", "BREAKPOINT { this is not nmodl")
    with pytest.raises(CompileError, match="expTwoSynapse"):
        MechanismCache(root=tmp_path / "c").ensure([mech])


def test_unsupported_construct_names_type_and_construct(tmp_path):
    """A channel whose gate uses a construct the translator lacks (here a Regime inside a rate)
    fails before any NMODL is compiled, naming the ComponentType and the construct."""
    for f in (EXAMPLES / "hh_single").iterdir():
        (tmp_path / f.name).write_text(f.read_text())
    na = tmp_path / "Na.channel.nml"
    na.write_text(na.read_text().replace('<forwardRate type="HHExpLinearRate"', '<forwardRate type="switchingRate"', 1))
    (tmp_path / "switching.xml").write_text("""<Lems>
    <ComponentType name="switchingRate" extends="baseHHRate">
        <Dynamics>
            <StateVariable name="r" dimension="per_time" exposure="r"/>
            <Regime name="low" initial="true"><OnCondition test="v .gt. midpoint">
                <Transition regime="high"/></OnCondition></Regime>
            <Regime name="high"><OnEntry><StateAssignment variable="r" value="rate"/></OnEntry></Regime>
        </Dynamics>
    </ComponentType>
</Lems>""")
    lems = tmp_path / "LEMS_hh_single.xml"
    lems.write_text(lems.read_text().replace('<Include file="hh_single.net.nml"/>',
                                             '<Include file="switching.xml"/><Include file="hh_single.net.nml"/>'))
    with pytest.raises(UnsupportedComponentError) as info:
        NeuronSimulation(nmlhub.load(lems)).build()
    message = str(info.value)
    assert "switchingRate" in message and "Regime" in message and "hh_cell" in message


def test_bad_quantity_path_is_named(tmp_path):
    lems = EXAMPLES / "izh_network" / "LEMS_izh_network.xml"
    text = lems.read_text().replace('quantity="Exc/0/RS/v"', 'quantity="Exc/0/RS/nosuchvar"', 1)
    copy = tmp_path / "LEMS_bad.xml"
    copy.write_text(text.replace('href="izh_network.net.nml"', f'href="{lems.parent}/izh_network.net.nml"')
                    .replace('file="izh_network.net.nml"', f'file="{lems.parent}/izh_network.net.nml"'))
    with pytest.raises(QuantityPathError, match="nosuchvar"):
        NeuronSimulation(nmlhub.load(copy), duration_ms=1).build()


def test_run_writes_jneuroml_style_outputs(tmp_path):
    from nmlhub.cli import main

    lems = EXAMPLES / "izh_network" / "LEMS_izh_network.xml"
    assert main(["run", str(lems), "--duration", "50", "--outdir", str(tmp_path), "--no-progress"]) == 0
    trace = np.loadtxt(tmp_path / "izh_network.v.dat")
    assert trace.shape[0] == round(50 / 0.025) + 1
    assert trace[1, 0] == pytest.approx(0.025e-3)
    assert -0.09 < trace[:, 1].min() < -0.05  # volts, as jNeuroML writes them
    spikes = (tmp_path / "izh_network.spikes.dat").read_text().split()
    assert len(spikes) % 2 == 0


# -- the expression parser against Python's own arithmetic --------------------------------------
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

_LEAVES = st.one_of(st.sampled_from(["a", "b", "c"]),
                    st.floats(min_value=0.1, max_value=9.0, allow_nan=False).map(lambda x: f"{x:.3g}"))


def _combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda e: f"({e})"),
        children.map(lambda e: f"-{e}" if not e.startswith("-") else e),
        children.map(lambda e: f"exp({e} / 100)"),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_LEAVES, _combine, max_leaves=12))
def test_parser_agrees_with_python_arithmetic(text):
    env = {"a": 1.7, "b": -2.3, "c": 0.9}
    # Python's own parser (on a string built here from a whitelisted grammar) is the reference.
    try:
        expected = eval(text, {"__builtins__": {}, "exp": math.exp}, dict(env))  # noqa: S307  # safe: test-only reference
    except (OverflowError, ZeroDivisionError):
        assume(False)
    got = ex.evaluate(ex.parse(text), env)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_seed_makes_random_inputs_reproducible(core_examples):
    lems = core_examples / "LEMSexamples" / "LEMS_NML2_Ex16_Inputs.xml"

    def spikes(seed):
        results = NeuronSimulation(nmlhub.load(lems), duration_ms=100, seed=seed).run()
        return {k: v.tolist() for k, v in results.spikes.items()}

    first, again, other = spikes(11), spikes(11), spikes(12)
    assert first == again
    assert first != other
