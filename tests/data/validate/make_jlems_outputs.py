"""What jLEMS does with the small files of this folder: its output where it runs a file (the
references ``extends_without_dynamics.dat``, ``unread_attachments.dat``, ``child_base.dat``...)
and, for each file, the line it stops on (written to
``jlems_said.txt``). tests/test_validate_jlems.py reads both and asks jLEMS again where ``jnml``
is there.

Usage: python tests/data/validate/make_jlems_outputs.py   (jnml of pyneuroml on PATH, Java 17)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The files asked, with the output kept as a reference when jLEMS runs them.
FILES = {"LEMS_extends_without_dynamics.xml": "extends_without_dynamics.dat",
         "LEMS_extends_without_attachments.xml": None,
         "LEMS_include_attribute.xml": None, "LEMS_dynamics_base.xml": None,
         "LEMS_unread_attachments.xml": "unread_attachments.dat", "LEMS_child_base.xml": "child_base.dat",
         "LEMS_compound_input_dl.xml": "compound_input_dl.dat", "LEMS_renamed_exposure.xml": "renamed_exposure.dat"}
#: Variants of LEMS_dynamics_base.xml jLEMS refuses: name -> the (text, replacement) pairs.
VARIANTS = {
    "onevent_out_port": (('<OnEvent port="in">', '<OnEvent port="spike">'),),
    "onevent_no_port": (('<OnEvent port="in">', '<OnEvent port="nope">'),),
    "eventout_in_port": (('<EventOut port="spike"/>', '<EventOut port="in"/>'),),
    "eventout_no_port": (('<EventOut port="spike"/>', '<EventOut port="nope"/>'),),
    "assign_derived": (('<OnEvent port="in"><StateAssignment variable="v"',
                        '<OnEvent port="in"><StateAssignment variable="drive"'),),
    "symbol_comparison": (('test="v .gt. th"', 'test="v &gt; th"'),),
    "requirement_unprovided": (('<EventPort name="in" direction="in"/>',
                                '<EventPort name="in" direction="in"/><Requirement name="vext" dimension="voltage"/>'),
                               ('value="e - v"', 'value="vext - v"')),
}

#: Variants of LEMS_child_base.xml (written as LEMS_child_NAME.xml): its child taken out, read
#: by the select (jLEMS refuses it) or not (jLEMS runs it); the child written with the Child's
#: name as its id, and a child element that fills nothing (jLEMS refuses both); a select through a
#: grandchild whose child is missing (jLEMS refuses it).
CHILD_VARIANTS = {
    "missing": (('<leak g="0.1per_ms"/>', ''),),
    "missing_unread": (('<leak g="0.1per_ms"/>', ''), ('select="leak/rate"', 'value="r0"'),
                       ('<Child name="leak"', '<Constant name="r0" dimension="per_time" value="0.1per_ms"/><Child name="leak"')),
    "by_id": (('<leak g="0.1per_ms"/>', '<leakPart id="leak" g="0.1per_ms"/>'),),
    "deep_missing": (('    <ComponentType name="parted"', '    <ComponentType name="bag"><Child name="leak" type="leakPart"/>'
                                                              '</ComponentType>\n    <ComponentType name="parted"'),
                     ('<Child name="leak" type="leakPart"/>\n        <Dynamics>',
                      '<Child name="inner" type="bag"/>\n        <Dynamics>'),
                     ('select="leak/rate"', 'select="inner/leak/rate"'), ('<leak g="0.1per_ms"/>', '<inner/>')),
    "stray": (('<leak g="0.1per_ms"/>', '<leak g="0.1per_ms"/>\n        <iafCell id="stray" leakReversal="-40mV" '
                                       'thresh="-50mV" reset="-70mV" C="1nF" leakConductance="20nS"/>'),),
}

#: Variants of LEMS_renamed_exposure.xml (written as LEMS_exposure_NAME.xml): recording the exposure.
EXPOSURE_VARIANTS = {
    "record_exposure": (('quantity="p[0]/B"', 'quantity="p[0]/Bx"'),),
}
#: Each file with variants: its variants, the prefix of their file names and the dict's name.
VARIANT_SETS = {"LEMS_dynamics_base.xml": (VARIANTS, "LEMS_dynamics_", "VARIANTS"),
                "LEMS_child_base.xml": (CHILD_VARIANTS, "LEMS_child_", "CHILD_VARIANTS"),
                "LEMS_renamed_exposure.xml": (EXPOSURE_VARIANTS, "LEMS_exposure_", "EXPOSURE_VARIANTS")}


def variant_text(name: str, base: str = "LEMS_dynamics_base.xml") -> str:
    """``base`` changed as its variant ``name`` (VARIANT_SETS) says."""
    text = (HERE / base).read_text()
    for old, new in VARIANT_SETS[base][0][name]:
        assert old in text, (name, old)
        text = text.replace(old, new)
    return text
_SAID = re.compile(r"(Exception|Error|Finished reading, building, running)")


def ask(name: str, scratch: Path, copy: bool = True) -> tuple[str, subprocess.CompletedProcess]:
    """jLEMS's first line that says how the run ended, and the whole run (of ``name``, copied from
    here into ``scratch`` unless already there)."""
    if copy:
        shutil.copy(HERE / name, scratch / name)
    run = subprocess.run(["jnml", name, "-nogui"], cwd=scratch, capture_output=True, text=True, timeout=600)
    lines = [line.strip() for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    first = next((k for k, line in enumerate(lines) if _SAID.search(line)), None)
    said = "" if first is None else " ".join(lines[first:first + (2 if lines[first].endswith(":") else 1)])
    return re.sub(r"^INFO \S+ \S+ \S+\s+\(INFO\) ", "", said), run


def main() -> None:
    lines = []
    with tempfile.TemporaryDirectory(prefix="validate-jlems-") as folder:
        scratch = Path(folder)
        for name, kept in FILES.items():
            said, run = ask(name, scratch)
            lines.append(f"{name}: exit {run.returncode}: {said}")
            if kept is not None:
                shutil.copy(scratch / kept, HERE / kept)
        for base, (variants, prefix, label) in VARIANT_SETS.items():
            for variant in variants:
                name = f"{prefix}{variant}.xml"
                (scratch / name).write_text(variant_text(variant, base))
                said, run = ask(name, scratch, copy=False)
                lines.append(f"{name} ({label}): exit {run.returncode}: {said}")
    version = subprocess.run(["jnml", "-v"], capture_output=True, text=True, timeout=120).stdout
    header = next((line.strip() for line in version.splitlines() if "jNeuroML v" in line), "jNeuroML")
    (HERE / "jlems_said.txt").write_text(f"# {header}, jnml FILE -nogui (make_jlems_outputs.py)\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
