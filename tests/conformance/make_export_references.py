#!/usr/bin/env python
"""Store outputs of jNeuroML's NEURON export as a second opinion for multi-compartment models.

jLEMS, the interpreter behind ``jnml LEMS_file.xml -nogui`` that produced the
references in ``reference/`` (see make_references.py), refuses cells with more
than one segment.  For those models this script runs jNeuroML's NEURON export
instead::

    jnml LEMS_file.xml -neuron -nogui -run

which writes a NEURON (Python/hoc/mod) version of the model, compiles the mod
files with ``nrnivmodl`` and runs it with ``nrniv -python``.  The output files
that the LEMS ``<Simulation>`` declares are then stored in
``reference_export/<case_id>.npz`` and described in ``reference_export/index.json``.
This is a different simulator from jLEMS (and close to what nmlhub does itself),
so treat these outputs as a second opinion, not as ground truth.

Run by hand (never by pytest), from anywhere::

    python tests/conformance/make_export_references.py             # every case, 2 at a time
    python tests/conformance/make_export_references.py --list      # case ids and LEMS files
    python tests/conformance/make_export_references.py --only export_ACnet2_TwoCell
    python tests/conformance/make_export_references.py --skip export_ACnet2_MediumNet

``--only``/``--skip`` take case ids or shell patterns (``export_BBP_*``).  A run
with ``--only``/``--skip`` updates those cases in an existing index.json and keeps
the other entries.  ``--timeout S`` (default 900) limits each case.

Needs Java (for jnml), NEURON with ``nrnivmodl`` and a C++ compiler, numpy and lxml.
``NEURON_HOME`` is set for jnml to the prefix whose ``bin/`` holds ``nrnivmodl``
(default: this Python's prefix, e.g. /work/venv; option ``--neuron-home``), and
that ``bin/`` is put first on ``PATH``.

Per case the script

1. collects the LEMS file and every local file it includes (``<Include file>``
   in LEMS, ``<include href>`` in NeuroML, recursively) and copies them, with
   their relative layout, into a fresh scratch folder (includes such as
   ``../Channels/x.nml`` or ``../hh_single/Na.channel.nml`` must resolve);
2. runs the export there, with a time limit per case;
3. if the only problem is the known NEURON 9 incompatibility of jNeuroML's
   generated Poisson-input mod files (a ``void* nrn_random_arg(int argpos);``
   forward declaration in a VERBATIM block, which clashes with NEURON 9's own
   ``Rand* nrn_random_arg(int)``: "ambiguating new declaration"), it deletes that
   one declaration line from the generated .mod files (replacing it with a
   comment), recompiles with ``nrnivmodl`` and runs the generated
   ``LEMS_<name>_nrn.py`` with ``nrniv -python``, as jnml itself does.  The index
   records this under ``fix``.  Any other failure is recorded as the case's
   status (the first useful error line of the log);
4. reads every ``OutputFile`` (column 0 time in s, then one column per
   ``OutputColumn``, SI units) and ``EventOutputFile`` (format ``ID_TIME`` or
   ``TIME_ID``) as the export wrote them.

npz keys (same layout as reference/*.npz):

* ``trace:<fileName>``  float64 (rows, 1 + n): the stored rows of an OutputFile;
* ``stride:<fileName>`` int64 k: the stored rows are rows 0, k, 2k, ... of the file;
* ``rows:<fileName>``   int64: rows in the full file;
* ``events:<fileName>`` float64 (N, 2): the events in file order, columns as the
  file's format says (ID_TIME: id, time; TIME_ID: time, id);
* ``events_total:<fileName>`` int64: only when events were truncated.

Traces are thinned to at most MAX_ROWS rows, and further when a case has many
columns so that a case stores at most CASE_VALUES numbers.  Upward crossings of
0 mV are counted on the full-resolution voltage columns and stored in the index
(``v_crossings``), next to event counts, so that spike counts can be compared.

XML is parsed with lxml without entity expansion or network access.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lxml import etree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = Path("/work/shared/corpus/osb")
OUT_DIR = HERE / "reference_export"

MAX_ROWS = 4000          # at most this many rows of a trace file are stored
CASE_VALUES = 250_000    # at most this many numbers of traces are stored per case
MAX_EVENTS = 50_000      # at most this many events of an event file are stored
DEFAULT_TIMEOUT = 900.0  # seconds per case

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)

# The known NEURON 9 incompatibility of jNeuroML's Poisson-input mod files.
RANDOM_DECL = "void* nrn_random_arg(int argpos);"
RANDOM_DECL_SYMPTOM = "ambiguating new declaration of"
RANDOM_FIX_NOTE = ("deleted the forward declaration 'void* nrn_random_arg(int argpos);' "
                   "(a VERBATIM block) from the generated mod files; it clashes with NEURON 9's "
                   "'Rand* nrn_random_arg(int)' in nrnrandom.h; then nrnivmodl and "
                   "'nrniv -python <generated _nrn.py>' were run by this script")


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    base: str    # "repo" or "corpus"
    lems: str    # LEMS file relative to the base

    @property
    def path(self) -> Path:
        return (REPO if self.base == "repo" else CORPUS) / self.lems

    @property
    def recorded(self) -> str:
        return self.lems if self.base == "repo" else f"corpus:{self.lems}"


ACNET = "ACnet2/neuroConstruct/generatedNeuroML2"
ALLEN = "AllenInstituteNeuroML/CellTypesDatabase/models/NeuroML2"
BBP = "BlueBrainProjectShowcase/NMC/NeuroML2"
HAY = "L5bPyrCellHayEtAl2011/neuroConstruct/generatedNeuroML2"
OB = "MiglioreEtAl14_OlfactoryBulb3D/NeuroML2"
PR = "PinskyRinzelModel/NeuroML2/twoCompartment"


def build_cases() -> list[Case]:
    cases = [Case("export_mc_network", "repo", "nml_examples/mc_network/LEMS_mc_network.xml")]
    for name in ("TwoCell", "StimuliTest", "BasketCell", "MediumNet"):
        cases.append(Case(f"export_ACnet2_{name}", "corpus", f"{ACNET}/LEMS_{name}.xml"))
    for p in sorted((CORPUS / ALLEN).glob("LEMS_4*.xml")):
        cases.append(Case(f"export_Allen_{p.stem[5:]}", "corpus", f"{ALLEN}/{p.name}"))
    for p in sorted((CORPUS / BBP).glob("LEMS_L*.xml")):
        cases.append(Case(f"export_BBP_{p.stem[5:]}", "corpus", f"{BBP}/{p.name}"))
    cases += [
        Case("export_L5bPyr_TestL5PC", "corpus", f"{HAY}/LEMS_TestL5PC.xml"),
        Case("export_OB_MitralCell", "corpus", f"{OB}/MitralCells/LEMS_MitralCell.xml"),
        Case("export_OB_GC_test", "corpus", f"{OB}/GranuleCells/LEMS_GC.test.xml"),
        Case("export_OB_Syn_test", "corpus", f"{OB}/Synapses/LEMS_Syn.test.xml"),
        Case("export_PR_twoCompartment_Figure2", "corpus", f"{PR}/LEMS_Figure2.xml"),
    ]
    return cases


def select(cases: list[Case], only, skip) -> list[Case]:
    def hit(c, pats):
        return any(fnmatch.fnmatchcase(c.id, p) for p in pats)
    if only:
        unknown = [p for p in only if not any(fnmatch.fnmatchcase(c.id, p) for c in cases)]
        if unknown:
            sys.exit(f"no case matches: {' '.join(unknown)} (see --list)")
        cases = [c for c in cases if hit(c, only)]
    if skip:
        cases = [c for c in cases if not hit(c, skip)]
    return cases


# --------------------------------------------------------------------------
# LEMS / NeuroML reading
# --------------------------------------------------------------------------

def local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def parse(path: Path):
    return etree.parse(str(path), PARSER).getroot()


def include_closure(lems: Path) -> list[Path]:
    """The LEMS file and every local file it includes, recursively (core types from the jar are absent)."""
    found: list[Path] = []
    todo = [lems.resolve()]
    while todo:
        f = todo.pop(0)
        if f in found or not f.is_file():
            continue
        found.append(f)
        if f.suffix not in (".xml", ".nml"):
            continue  # e.g. .h5: copied, not read
        for el in parse(f).iter():
            ref = (el.get("file") if local(el) == "Include"
                   else el.get("href") if local(el) == "include" else None)
            if ref:
                todo.append((f.parent / ref).resolve())
    return found


def copy_with_includes(lems: Path, scratch: Path) -> tuple[list[Path], Path]:
    """Copy the LEMS file and every local file it includes into ``scratch`` with their relative
    layout (includes such as ``../Channels/x.nml`` resolve); the files, and the copy's folder of
    the LEMS file."""
    files = include_closure(lems)
    top = Path(os.path.commonpath([str(f.parent) for f in files]))
    for f in files:
        dst = scratch / f.relative_to(top)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dst)
    return files, scratch / lems.resolve().parent.relative_to(top)


def is_type(el, name: str) -> bool:
    return local(el) == name or (local(el) == "Component" and el.get("type") == name)


def find_simulation(files: list[Path]) -> tuple[etree._Element, str]:
    root = parse(files[0])
    targets = [el for el in root if local(el) == "Target"]
    if not targets:
        raise ValueError("no <Target> in the LEMS file")
    sim_id = targets[0].get("component")
    for f in files:
        if f.suffix not in (".xml", ".nml"):
            continue
        for el in (root if f == files[0] else parse(f)).iter():
            if is_type(el, "Simulation") and el.get("id") == sim_id:
                return el, sim_id
    raise ValueError(f"simulation {sim_id!r} not found")


def describe_outputs(sim) -> list[dict]:
    outs = []
    for el in sim:
        if is_type(el, "OutputFile"):
            outs.append({"kind": "trace", "id": el.get("id"), "fileName": el.get("fileName"),
                         "columns": [{"id": c.get("id"), "quantity": c.get("quantity")}
                                     for c in el if is_type(c, "OutputColumn")]})
        elif is_type(el, "EventOutputFile"):
            outs.append({"kind": "events", "id": el.get("id"), "fileName": el.get("fileName"),
                         "format": el.get("format") or "TIME_ID",
                         "selections": [{"id": s.get("id"), "select": s.get("select"),
                                         "eventPort": s.get("eventPort")}
                                        for s in el if is_type(s, "EventSelection")]})
    return outs


def max_segments(files: list[Path]) -> int:
    """Largest number of <segment>s in any NeuroML <cell> among the files."""
    best = 0
    for f in files:
        if f.suffix not in (".xml", ".nml"):
            continue
        for cell in parse(f).iter():
            if local(cell) == "cell":
                best = max(best, sum(1 for s in cell.iter() if local(s) == "segment"))
    return best


UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def seconds(text: str | None) -> float | None:
    m = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-z]*)\s*", text or "")
    if not m or m.group(2) not in UNITS:
        return None
    return float(m.group(1)) * UNITS[m.group(2)]


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

def run_logged(cmd, cwd: Path, env, log: Path, deadline: float) -> int | None:
    """Run cmd with output appended to log; None if the deadline passed (the process group is killed)."""
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}\n")
        fh.flush()
        proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=fh,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            return proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return None


PREFIX = re.compile(r"^\((?:INFO|WARNING|ERROR)\)\s*(?:NMODL \w+\s*>>\s*>|NRN \w+\s*>>>)?\s*")


def first_error(log_text: str) -> str:
    lines = [PREFIX.sub("", ln).strip() for ln in log_text.splitlines()]
    lines = [ln for ln in lines if ln]
    for pat in (r"\berror:", r"Exception\b|Error\b|\berror\b"):
        for ln in lines:
            # skip stack frames and lines that parallel make output got mixed into
            if (re.search(pat, ln) and not ln.startswith(("at ", "NOTE"))
                    and "Translating " not in ln):
                return ln[:300]
    return lines[-1][:300] if lines else "no output"


def apply_random_fix(folder: Path) -> list[str]:
    patched = []
    for mod in sorted(folder.glob("*.mod")):
        text = mod.read_text()
        if RANDOM_DECL in text:
            lines = [("/* nmlhub: NEURON 9 declares nrn_random_arg itself */"
                      if ln.strip() == RANDOM_DECL else ln) for ln in text.split("\n")]
            mod.write_text("\n".join(lines))
            patched.append(mod.name)
    return patched


def load_table(path: Path) -> np.ndarray:
    data = np.loadtxt(path, ndmin=2)
    return data


def count_crossings(col: np.ndarray) -> int:
    return int(np.count_nonzero((col[:-1] < 0.0) & (col[1:] >= 0.0)))


def is_voltage(quantity: str) -> bool:
    return re.fullmatch(r"v|V[sd]?", (quantity or "").rsplit("/", 1)[-1]) is not None


def run_case(case: Case, opts, versions: dict) -> tuple[dict, dict]:
    entry: dict = {"lems": case.recorded, **versions}
    arrays: dict = {}
    t0 = time.monotonic()
    deadline = t0 + opts.timeout
    scratch = Path(tempfile.mkdtemp(prefix=f"{case.id}_"))
    try:
        files, work = copy_with_includes(case.path, scratch)
        entry["copied_files"] = len(files)
        lems_name = case.path.name

        sim, sim_id = find_simulation(files)
        outs = describe_outputs(sim)
        entry.update(simulation=sim_id, sim_target=sim.get("target"),
                     step=sim.get("step"), length=sim.get("length"), seed=sim.get("seed"),
                     step_s=seconds(sim.get("step")), length_s=seconds(sim.get("length")),
                     max_segments=max_segments(files))
        entry["outputs"] = outs
        for o in outs:
            if os.path.isabs(o["fileName"]):
                raise ValueError(f"absolute output path {o['fileName']} not supported")
            (work / o["fileName"]).parent.mkdir(parents=True, exist_ok=True)

        env = dict(os.environ)
        env["NEURON_HOME"] = str(opts.neuron_home)
        env["PATH"] = f"{opts.neuron_home / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("DISPLAY", None)
        log = work / "jnml.log"
        cmd = [opts.jnml, lems_name, "-neuron", "-nogui", "-run"]
        entry["command"] = f"jnml {lems_name} -neuron -nogui -run"
        rc = run_logged(cmd, work, env, log, deadline)
        missing = [o["fileName"] for o in outs if not (work / o["fileName"]).is_file()]
        if rc is None:
            entry["status"] = f"timeout after {opts.timeout:.0f} s (jnml)"
        elif rc != 0 or missing:
            text = log.read_text(errors="replace")
            if RANDOM_DECL_SYMPTOM in text and "nrn_random_arg" in text:
                entry["first_attempt"] = first_error(text)
                patched = apply_random_fix(work)
                entry["fix"] = {"files": patched, "what": RANDOM_FIX_NOTE}
                shutil.rmtree(work / "x86_64", ignore_errors=True)
                nrn_py = work / (Path(lems_name).stem + "_nrn.py")
                bindir = opts.neuron_home / "bin"
                rc = run_logged([bindir / "nrnivmodl"], work, env, log, deadline)
                if rc == 0 and nrn_py.is_file():
                    rc = run_logged([bindir / "nrniv", "-python", nrn_py.name], work, env, log,
                                    deadline)
                missing = [o["fileName"] for o in outs if not (work / o["fileName"]).is_file()]
                if rc is None:
                    entry["status"] = f"timeout after {opts.timeout:.0f} s (after fix)"
                elif rc != 0 or missing:
                    entry["status"] = "failed after fix: " + first_error(
                        log.read_text(errors="replace").split(RANDOM_DECL_SYMPTOM)[-1])
            else:
                entry["status"] = (f"failed: {first_error(text)}" if rc != 0
                                   else f"failed: outputs not written: {missing}")
        entry["wall_time_s"] = round(time.monotonic() - t0, 1)
        if "status" not in entry:
            collect(work, outs, arrays)
            entry["status"] = "ok"
        if opts.keep:
            entry["scratch"] = str(scratch)
    except Exception as exc:  # keep going with the other cases
        entry["status"] = f"failed: {type(exc).__name__}: {exc}"
        entry["wall_time_s"] = round(time.monotonic() - t0, 1)
    finally:
        for key in ("status", "first_attempt"):  # no scratch paths in the index
            if key in entry:
                entry[key] = entry[key].replace(str(scratch), "<scratch>")
        if not opts.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return entry, arrays


def collect(work: Path, outs: list[dict], arrays: dict) -> None:
    tables = {}
    for o in outs:
        path = work / o["fileName"]
        if o["kind"] == "trace":
            data = load_table(path)
            if data.shape[1] != 1 + len(o["columns"]):
                raise ValueError(f"{o['fileName']}: {data.shape[1]} columns, expected "
                                 f"{1 + len(o['columns'])}")
            tables[o["fileName"]] = data
            o["rows"] = int(data.shape[0])
            o["t_first_s"], o["t_last_s"] = float(data[0, 0]), float(data[-1, 0])
            volt = [(i + 1, c["id"]) for i, c in enumerate(o["columns"])
                    if is_voltage(c["quantity"])]
            o["v_crossings"] = {cid: count_crossings(data[:, i]) for i, cid in volt}
            o["v_max"] = {cid: float(data[:, i].max()) for i, cid in volt}
        else:
            text = path.read_text().split()
            ev = np.array(text, dtype=float).reshape(-1, 2) if text else np.zeros((0, 2))
            id_col = 0 if o["format"] == "ID_TIME" else 1
            o["events"] = int(ev.shape[0])
            ids, counts = np.unique(ev[:, id_col], return_counts=True)
            o["events_per_id"] = {str(int(i) if float(i).is_integer() else i): int(n)
                                  for i, n in zip(ids, counts)}
            if ev.shape[0] > MAX_EVENTS:
                arrays[f"events_total:{o['fileName']}"] = np.int64(ev.shape[0])
                ev = ev[:MAX_EVENTS]
            arrays[f"events:{o['fileName']}"] = ev
    # rows per trace: at most MAX_ROWS, and at most CASE_VALUES numbers over the case
    width = sum(t.shape[1] for t in tables.values())
    cap = min(MAX_ROWS, max(200, CASE_VALUES // width)) if width else MAX_ROWS
    for o in outs:
        if o["kind"] != "trace":
            continue
        data = tables[o["fileName"]]
        k = max(1, math.ceil(data.shape[0] / cap))
        arrays[f"trace:{o['fileName']}"] = np.ascontiguousarray(data[::k])
        arrays[f"stride:{o['fileName']}"] = np.int64(k)
        arrays[f"rows:{o['fileName']}"] = np.int64(data.shape[0])
        o["stride"], o["stored_rows"] = k, int(data[::k].shape[0])


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def tool_versions(jnml: str, neuron_home: Path) -> dict:
    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL)
            return r.stdout + r.stderr
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
    jv = out([jnml, "-v"])
    m = re.search(r"jNeuroML v\S+", jv)
    nv = out([str(neuron_home / "bin" / "nrniv"), "--version"]).strip().splitlines()
    javav = out(["java", "-version"]).strip().splitlines()
    return {"jnml_version": m.group(0) if m else jv.strip()[:200],
            "jnml_components": dict(re.findall(r"(org\.neuroml\.\w+|jLEMS)\s+(v\S+)", jv)),
            "neuron_version": nv[-1] if nv else "?",
            "java_version": javav[0] if javav else "?"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--only", nargs="+", metavar="ID", help="run only these case ids/patterns")
    ap.add_argument("--skip", nargs="+", metavar="ID", help="skip these case ids/patterns")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per case")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (at most 2)")
    ap.add_argument("--jnml", default=None, help="jnml to use (default: next to this Python)")
    ap.add_argument("--neuron-home", type=Path, default=None,
                    help="prefix with bin/nrnivmodl (default: this Python's prefix)")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    ap.add_argument("--keep", action="store_true", help="keep scratch folders (paths in index)")
    opts = ap.parse_args()

    cases = build_cases()
    if opts.list:
        for c in cases:
            print(f"{c.id:40s} {c.recorded}")
        return
    cases = select(cases, opts.only, opts.skip)
    here_bin = Path(sys.executable).parent
    opts.jnml = opts.jnml or (str(here_bin / "jnml") if (here_bin / "jnml").exists()
                              else shutil.which("jnml"))
    if not opts.jnml:
        sys.exit("cannot find jnml; pass --jnml")
    if opts.neuron_home is None:
        found = shutil.which("nrnivmodl", path=str(here_bin)) or shutil.which("nrnivmodl")
        opts.neuron_home = Path(sys.prefix) if (Path(sys.prefix) / "bin/nrnivmodl").exists() \
            else Path(found).resolve().parent.parent if found else None
    if opts.neuron_home is None:
        sys.exit("cannot find nrnivmodl; pass --neuron-home")
    opts.jobs = max(1, min(2, opts.jobs))
    opts.out.mkdir(parents=True, exist_ok=True)
    index_path = opts.out / "index.json"
    partial = bool(opts.only or opts.skip)
    index = json.loads(index_path.read_text()) if partial and index_path.exists() else {}
    versions = tool_versions(opts.jnml, opts.neuron_home)
    lock = threading.Lock()
    print(f"{len(cases)} case(s), {opts.jobs} at a time, {opts.timeout:.0f} s each; "
          f"{versions['jnml_version']}, {versions['neuron_version']}", flush=True)

    def one(case: Case):
        entry, arrays = run_case(case, opts, versions)
        entry["generated"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds")
        npz = opts.out / f"{case.id}.npz"
        if arrays:
            np.savez_compressed(npz, **arrays)
            entry["npz"], entry["npz_bytes"] = npz.name, npz.stat().st_size
        elif npz.exists():
            npz.unlink()
        with lock:
            index[case.id] = entry
            print(f"{case.id:40s} {entry['wall_time_s']:7.1f} s  {entry['status'][:100]}",
                  flush=True)

    with concurrent.futures.ThreadPoolExecutor(opts.jobs) as pool:
        for fut in [pool.submit(one, c) for c in cases]:
            fut.result()

    if not partial:  # a full run drops entries and npz files of cases no longer listed
        for p in opts.out.glob("*.npz"):
            if p.stem not in index:
                p.unlink()
    order = {c.id: i for i, c in enumerate(build_cases())}
    index = dict(sorted(index.items(), key=lambda kv: order.get(kv[0], len(order))))
    index_path.write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
