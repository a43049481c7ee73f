"""Does any engine run LEMS ``<CoInstantiate>``? The smallest models that ask jLEMS, one per form.

nmlhub refuses ``<CoInstantiate>`` ("not supported: <CoInstantiate>: no engine runs it, so no
reference exists"). This script is the evidence: each form below is a population of two spike
generators made by ``MultiInstantiate`` and a component whose ``<Structure>`` co-instantiates a
child for each of them, with ``at`` naming the population in every way jLEMS's
``Component.getScopeComponent`` could look for it (a path attribute, the population's id, a
``Link``, a ``Child``), and with ``componentType`` (of a type with parameters, which jLEMS leaves
unset, and of one without). ``jnml FILE -nogui`` (jLEMS) runs each in a
scratch folder; a form "runs" when jLEMS writes the simulation's output file. PyLEMS has no
``CoInstantiate`` at all, and the ``Structure`` of the LEMS 0.7.6 schema has no such element.

Usage: python tests/data/lems_structure/coinstantiate_in_jlems.py   (needs ``jnml`` on PATH, Java 17)
Prints one line per form (what jLEMS said); exit status 1 if any form runs (then a reference could
be made and nmlhub should run it).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

MODEL = """<Lems>
<Target component="sim"/>
<Include file="Cells.xml"/>
<Include file="Networks.xml"/>
<Include file="Simulation.xml"/>
<ComponentType name="group">
    <ComponentReference name="component" type="Component"/>
    <Parameter name="size" dimension="none"/>
    <Structure><MultiInstantiate number="size" component="component"/></Structure>
</ComponentType>
<ComponentType name="counter">
    <Dynamics><StateVariable name="x" dimension="none"/></Dynamics>
</ComponentType>
<ComponentType name="copies">
    <Child name="extra" type="spikeGenerator"/>
    {declaration}
    <Structure><CoInstantiate at="{at}" {what}/></Structure>
</ComponentType>
<ComponentType name="net">
    <Children name="groups" type="group"/>
    <Children name="copies" type="copies"/>
    {net_declaration}
</ComponentType>
<spikeGenerator id="clock" period="5ms"/>
<net id="net">
    {population}
    <copies id="co" {attributes}><extra type="spikeGenerator" period="3ms"/></copies>
</net>
<Simulation id="sim" length="10ms" step="0.1ms" target="net">
    <OutputFile id="out" fileName="co.dat"><OutputColumn id="t" quantity="cells[0]/tsince"/></OutputFile>
</Simulation>
</Lems>
"""

GROUP = '<group id="cells" component="clock" size="2"/>'
CHILD = '<cells id="cells" type="group" component="clock" size="2"/>'

FORMS = {
    "at: a Path attribute naming the population": dict(declaration='<Path name="over"/>', at="over",
                                                        attributes='over="cells"'),
    "at: the population's id": dict(at="cells"),
    "at: a Link to the population": dict(declaration='<Link name="over" type="group"/>', at="over",
                                         attributes='over="cells"'),
    "at: a Child holding the population": dict(at="cells", net_declaration='<Child name="cells" type="group"/>',
                                               population=CHILD),
    "componentType instead of component": dict(at="cells", what='componentType="spikeGenerator"'),
    "componentType of a type without parameters, at: a Child": dict(
        at="cells", what='componentType="counter"', net_declaration='<Child name="cells" type="group"/>',
        population=CHILD),
}


def model(form: dict[str, str]) -> str:
    values = dict(declaration="", at="", what='component="extra"', net_declaration="", population=GROUP,
                  attributes="")
    values.update(form)
    return MODEL.format(**values)


def jlems_says(text: str) -> tuple[bool, str]:
    """Whether jLEMS runs the model, and the first line of its complaint."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "LEMS_co.xml").write_text(text)
        proc = subprocess.run(["jnml", "LEMS_co.xml", "-nogui"], cwd=scratch, capture_output=True, text=True,
                              timeout=600)
        ran = (Path(scratch) / "co.dat").is_file()
    said = [row.strip() for row in (proc.stdout + proc.stderr).splitlines()
            if ("Error" in row or "Exception" in row) and not row.strip().startswith("at ")]
    return ran, (said[0] if said else "no error")[:200]


if __name__ == "__main__":
    runs = 0
    for name, form in FORMS.items():
        ran, said = jlems_says(model(form))
        runs += ran
        print(f"{name}: {'RUNS' if ran else 'stops'}: {said}")
    sys.exit(1 if runs else 0)
