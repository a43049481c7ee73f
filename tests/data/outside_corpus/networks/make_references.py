"""Regenerate the models and jLEMS references of tests/test_outside_networks.py.

Writes ``LEMS_<form>.xml`` for each equation form of ``FORMS``: a dimensionless rate unit ``R``
starting at ``k / 4`` = 0.5, whose ``TimeDerivative`` (and, for one form, a reset) is that form,
in a network of one unit recording ``R`` for 2 ms. Each file holds its own type only, as jLEMS checks every type a file
includes. Then runs ``jnml FILE -nogui`` (jLEMS, from pyNeuroML) on each in a scratch folder and
records in ``reference/dimensions.json`` whether jLEMS ran it or refused it for its dimensions
(its message), storing the output of those it ran as ``reference/<form>.dat``.

It also runs ``LEMS_interval_on_grid.xml`` and ``LEMS_interval_off_grid.xml`` (a clock of ours,
``interval_clock.xml``, counting intervals of 1 ms and 1.01 ms at dt 0.025 ms) and stores their
outputs as ``reference/interval_on_grid.dat`` and ``reference/interval_off_grid.dat``.

Usage: python tests/data/outside_corpus/networks/make_references.py
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Form -> (the TimeDerivative's value, the value R is reset to when above 1, or "").
FORMS = {
    "rateOverTau": ("(k - R) / tau", ""),  # consistent
    "rateNegatedOverNumber": ("-R / 0.5", ""),  # jLEMS reads -R as 0 - R, of any dimension
    "rateOverNumber": ("(k - R) / 0.5", ""),  # a number is dimensionless in a quotient
    "rateWithoutTime": ("k", ""),  # a dimensionless rate of change (JoglekarEtAl18's rateJoglekarCellDL)
    "rateSumOfDimensions": ("(k + tau) / tau", ""),  # a time added to a number
    "rateExpOfVoltage": ("exp(x) / tau", ""),  # exp of a voltage
    "rateResetToTime": ("k / tau", "tau"),  # a dimensionless state reset to a time
}
LEMS = """<Lems>
    <Target component="sim"/>
    <Include file="Cells.xml"/>
    <Include file="Networks.xml"/>
    <Include file="Simulation.xml"/>
    <ComponentType name="{form}" extends="baseCellMembPotDL">
        <Parameter name="k" dimension="none"/>
        <Parameter name="tau" dimension="time"/>
        <Parameter name="x" dimension="voltage"/>
        <Exposure name="R" dimension="none"/>
        <Dynamics>
            <StateVariable name="R" dimension="none" exposure="R"/>
            <DerivedVariable name="V" dimension="none" exposure="V" value="0"/>
            <OnStart>
                <StateAssignment variable="R" value="k / 4"/>
            </OnStart>
            <TimeDerivative variable="R" value="{derivative}"/>{reset}
        </Dynamics>
    </ComponentType>
    <Component id="unit" type="{form}" k="2" tau="5ms" x="3mV"/>
    <network id="net">
        <population id="pop" component="unit" size="1"/>
    </network>
    <Simulation id="sim" length="2ms" step="0.01ms" target="net">
        <OutputFile id="out" fileName="{form}.dat">
            <OutputColumn id="R" quantity="pop[0]/R"/>
        </OutputFile>
    </Simulation>
</Lems>
"""
RESET = """
            <OnCondition test="R .gt. 1">
                <StateAssignment variable="R" value="{value}"/>
            </OnCondition>"""
#: The interval clocks (LEMS files written by hand, not by this script).
CLOCKS = ("interval_on_grid", "interval_off_grid")
_REFUSAL = re.compile(r"(Dimension mismatch in the equation[^\n]*|Function argument for \w+ is not dimensionless[^\n]*"
                      r"|Dimensions do not match in \w+[^\n]*)")


def write_models() -> None:
    """The LEMS files, one per form (committed; this rewrites them)."""
    for form, (derivative, reset) in FORMS.items():
        text = LEMS.format(form=form, derivative=derivative, reset=RESET.format(value=reset) if reset else "")
        (HERE / f"LEMS_{form}.xml").write_text(text)


def main() -> None:
    write_models()
    (HERE / "reference").mkdir(exist_ok=True)
    outcome = {}
    for form in FORMS:
        with tempfile.TemporaryDirectory() as scratch:
            shutil.copy(HERE / f"LEMS_{form}.xml", scratch)
            run = subprocess.run(["jnml", f"LEMS_{form}.xml", "-nogui"], cwd=scratch, capture_output=True,
                                 text=True)
            refusal = _REFUSAL.search(run.stdout + run.stderr)
            outcome[form] = {"jlems_runs": run.returncode == 0, "message": refusal.group(1) if refusal else ""}
            if run.returncode == 0:
                shutil.copy(Path(scratch) / f"{form}.dat", HERE / "reference" / f"{form}.dat")
        print(form, outcome[form])
    (HERE / "reference" / "dimensions.json").write_text(json.dumps(outcome, indent=1, sort_keys=True) + "\n")
    for clock in CLOCKS:
        with tempfile.TemporaryDirectory() as scratch:
            for source in (f"LEMS_{clock}.xml", "interval_clock.xml"):
                shutil.copy(HERE / source, scratch)
            subprocess.run(["jnml", f"LEMS_{clock}.xml", "-nogui"], cwd=scratch, check=True, capture_output=True)
            shutil.copy(Path(scratch) / f"{clock}.dat", HERE / "reference" / f"{clock}.dat")
        print(clock, f"reference/{clock}.dat")


if __name__ == "__main__":
    main()
