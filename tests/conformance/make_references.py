#!/usr/bin/env python
"""Produce the stored jNeuroML reference outputs used by the conformance tests.

Run by hand (never by pytest), from anywhere:

    python tests/conformance/make_references.py            # all cases, 2 at a time
    python tests/conformance/make_references.py --list     # list the cases
    python tests/conformance/make_references.py --only Ex2_Izh osb_Izh_2007One

For every case the folder(s) holding the LEMS file and what it includes are
copied into a scratch directory, ``jnml <LEMS file> -nogui`` is run there, and
the outputs of the target simulation (every ``OutputFile`` and
``EventOutputFile``) are stored in ``reference/<case_id>.npz``.
``reference/index.json`` describes every case, failed ones included.
See README.md next to this file for the format.

Needs numpy and lxml (both in nmlhub's environment) and a working ``jnml``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import fnmatch
import glob
import importlib.util
import io
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
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lxml import etree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REF_DIR = HERE / "reference"
INDEX = REF_DIR / "index.json"

MAX_ROWS = 2000          # at most this many rows of a trace are stored
MAX_EVENTS = 20000       # at most this many events of an event file are stored
CASE_BUDGET = 300_000    # bytes; aim for npz files below this size
ABS_DIR = "_absolute_outputs"  # where absolute output paths are redirected to


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    source: str          # "jar", or a folder relative to the repo root
    lems: str            # LEMS file, relative to source
    copy: tuple          # folders (relative to source) copied to the scratch dir

    @property
    def lems_path(self) -> str:
        """The LEMS file as recorded in the index."""
        if self.source == "jar":
            return f"jar:{self.lems}"
        return f"{self.source}/{self.lems}"


OSB = "../shared/corpus/osb"

# (id prefix, source, folder to copy (relative to source), glob of LEMS files
# inside that folder, or an explicit list of file names).  The case id is the
# prefix + the LEMS file name without "LEMS_" / "LEMS_NML2_" and ".xml".
GROUPS = [
    ("", "jar", ("LEMSexamples", "examples"), "LEMSexamples", "LEMS_NML2_Ex*.xml"),
    ("nml_", "nml_examples", ("hh_single",), "hh_single", ["LEMS_hh_single.xml"]),
    ("nml_", "nml_examples", ("izh_network",), "izh_network", ["LEMS_izh_network.xml"]),
    ("nml_", "nml_examples", ("channel_kinds",), "channel_kinds", ["LEMS_channel_kinds.xml"]),
    ("osb_Izh_", f"{OSB}/IzhikevichModel", ("NeuroML2",), "NeuroML2", "LEMS_*.xml"),
    ("osb_Brunel_", f"{OSB}/Brunel2000", ("NeuroML2",), "NeuroML2", "LEMS_*.xml"),
    ("osb_ISN_", f"{OSB}/SadehEtAl2017-InhibitionStabilizedNetworks", ("NeuroML2",),
     "NeuroML2", "LEMS_*.xml"),
    ("osb_PR_", f"{OSB}/PinskyRinzelModel", ("NeuroML2/LEMS",), "NeuroML2/LEMS", "LEMS_*.xml"),
    ("osb_PR_", f"{OSB}/PinskyRinzelModel", ("NeuroML2/LEMS_Dimensionless",),
     "NeuroML2/LEMS_Dimensionless", "LEMS_*.xml"),
    ("osb_Gran_", f"{OSB}/GranuleCell", ("neuroConstruct/generatedNeuroML2",),
     "neuroConstruct/generatedNeuroML2", ["LEMS_GranuleCell.xml"]),
    ("osb_Gran_", f"{OSB}/GranuleCell", ("neuroConstruct/generatedNeuroML2",),
     "neuroConstruct/generatedNeuroML2", ["LEMS_GranuleCell_LowDt.xml"]),
    # single-compartment test cells of the detailed-cell repositories (jLEMS runs these)
    ("osb_Allen_", f"{OSB}/AllenInstituteNeuroML", ("CellTypesDatabase/models/NeuroML2",),
     "CellTypesDatabase/models/NeuroML2", ["LEMS_NaV.xml", "LEMS_Kv2_like.xml", "LEMS_SomaTest.xml"]),
    ("osb_BBP_", f"{OSB}/BlueBrainProjectShowcase", ("NMC/NeuroML2",), "NMC/NeuroML2",
     ["LEMS_Soma_AllNML2.xml"]),
    ("osb_OB_", f"{OSB}/MiglioreEtAl14_OlfactoryBulb3D", ("NeuroML2",), "NeuroML2/Channels/test",
     ["LEMS_OlfactoryTest_12.xml", "LEMS_OlfactoryTest_35.xml"]),
    ("osb_PR2_", f"{OSB}/PinskyRinzelModel", ("NeuroML2/twoCompartment",), "NeuroML2/twoCompartment",
     ["LEMS_Figure2.xml"]),
    # ACnet2: LEMS_ACnet2(_LowDt) use the soma-only cells and run in jLEMS;
    # TwoCell, BasketCell and StimuliTest use multi-compartment cells and are
    # kept to document that jnml -nogui refuses them (status "failed: ...").
    # MediumNet/LargeNet (multi-compartment, 60+ cells) are left out.
    ("osb_ACnet2_", f"{OSB}/ACnet2", ("neuroConstruct/generatedNeuroML2",),
     "neuroConstruct/generatedNeuroML2",
     ["LEMS_ACnet2.xml", "LEMS_ACnet2_LowDt.xml", "LEMS_TwoCell.xml",
      "LEMS_BasketCell.xml", "LEMS_StimuliTest.xml"]),
    # small models of LEMS semantics nmlhub once computed differently from jLEMS (issue 24)
    ("sem_", "tests/conformance", ("semantics",), "semantics", "LEMS_*.xml"),
]


def find_jar(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("pyneuroml")
    cands = []
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            cands += glob.glob(os.path.join(loc, "lib", "jNeuroML-*.jar"))
    if not cands:
        cands = glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages",
                                       "pyneuroml", "lib", "jNeuroML-*.jar"))
    if not cands:
        sys.exit("cannot find pyNeuroML's jNeuroML jar; pass --jar")
    return Path(sorted(cands)[-1])


def natural(name: str):
    """Sort key: Ex2 before Ex10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def case_id_for(prefix: str, name: str) -> str:
    stem = name[:-4] if name.endswith(".xml") else name
    for p in ("LEMS_NML2_", "LEMS_"):
        if stem.startswith(p):
            stem = stem[len(p):]
            break
    return prefix + stem


def build_cases(jar: Path) -> list[Case]:
    cases = []
    for prefix, source, copy, folder, files in GROUPS:
        if isinstance(files, str):
            if source == "jar":
                with zipfile.ZipFile(jar) as z:
                    names = [n.split("/")[-1] for n in z.namelist()
                             if n.startswith(folder + "/") and n.count("/") == 1]
            else:
                d = REPO / source / folder
                names = [p.name for p in d.iterdir()] if d.is_dir() else []
            names = sorted((n for n in names if fnmatch.fnmatch(n, files)), key=natural)
        else:
            names = list(files)
        for n in names:
            cases.append(Case(case_id_for(prefix, n), source, f"{folder}/{n}", copy))
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise SystemExit(f"duplicate case ids: {sorted(dup)}")
    return cases


# --------------------------------------------------------------------------
# LEMS parsing
# --------------------------------------------------------------------------

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                         huge_tree=False)


def local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_type(el, name: str) -> bool:
    """<Name ...> or <Component type="Name" ...>."""
    ln = local(el)
    return ln == name or (ln == "Component" and el.get("type") == name)


def children(el, name: str):
    return [c for c in el if isinstance(c.tag, str) and is_type(c, name)]


def lems_files(lems: Path, seen=None):
    """The LEMS file and the local .xml files it includes (recursively)."""
    seen = seen if seen is not None else []
    lems = lems.resolve()
    if lems in seen or not lems.is_file():
        return seen
    seen.append(lems)
    try:
        root = etree.parse(str(lems), PARSER).getroot()
    except etree.XMLSyntaxError:
        return seen
    for inc in root.iter():
        if local(inc) == "Include" and inc.get("file", "").endswith(".xml"):
            lems_files(lems.parent / inc.get("file"), seen)
    return seen


def parse_simulation(lems: Path) -> dict:
    """Find the target simulation and its outputs."""
    root = etree.parse(str(lems), PARSER).getroot()
    targets = [e for e in root.iter() if local(e) == "Target"]
    if not targets:
        raise ValueError("no <Target> in LEMS file")
    target = targets[0]
    sim_id = target.get("component")
    sim = None
    sim_file = None
    for f in lems_files(lems):
        r = root if f == lems.resolve() else etree.parse(str(f), PARSER).getroot()
        for e in r.iter():
            if is_type(e, "Simulation") and e.get("id") == sim_id:
                sim, sim_file = e, f
                break
        if sim is not None:
            break
    if sim is None:
        raise ValueError(f"target simulation {sim_id!r} not found")
    outputs = []
    for e in sim.iter():
        if not isinstance(e.tag, str):
            continue
        if is_type(e, "OutputFile"):
            outputs.append({
                "kind": "trace", "id": e.get("id"), "fileName": e.get("fileName"),
                "columns": [{"id": c.get("id"), "quantity": c.get("quantity")}
                            for c in children(e, "OutputColumn")],
            })
        elif is_type(e, "EventOutputFile"):
            outputs.append({
                "kind": "events", "id": e.get("id"), "fileName": e.get("fileName"),
                "format": e.get("format") or "TIME_ID",
                "format_as_written": e.get("format"),
                "selections": [{"id": c.get("id"), "select": c.get("select"),
                                "eventPort": c.get("eventPort")}
                               for c in children(e, "EventSelection")],
            })
    return {
        "simulation": sim_id,
        "simulation_file": sim_file,
        "length": sim.get("length"),
        "step": sim.get("step"),
        "seed": sim.get("seed"),
        "sim_target": sim.get("target"),
        "extra_files": [target.get(a) for a in ("reportFile", "timesFile") if target.get(a)],
        "outputs": outputs,
    }


# --------------------------------------------------------------------------
# Running one case
# --------------------------------------------------------------------------

def prepare(case: Case, jar: Path, work: Path) -> Path:
    """Copy what the case needs into work/; return the LEMS file path there."""
    if case.source == "jar":
        with zipfile.ZipFile(jar) as z:
            for n in z.namelist():
                if any(n.startswith(f + "/") for f in case.copy) and not n.endswith("/"):
                    z.extract(n, work)
    else:
        for f in case.copy:
            src = REPO / case.source / f
            shutil.copytree(src, work / f, symlinks=False)
    # the corpus is read-only: make the copy writable
    for dirpath, dirnames, filenames in os.walk(work):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            os.chmod(p, os.stat(p).st_mode | 0o200)
    return work / case.lems


DISPLAY_FILE = "displays.dat"   # synthetic OutputFile for Display-only simulations


def add_display_output(sim: dict) -> int:
    """The target simulation has no OutputFile/EventOutputFile (only <Display>s,
    which jnml -nogui does not save).  Add, in the scratch copy only, one
    OutputFile recording every Display Line's quantity (unscaled, SI units);
    return the number of columns added (0: no Display lines either)."""
    sim_file: Path = sim["simulation_file"]
    tree = etree.parse(str(sim_file), PARSER)
    el = next(e for e in tree.getroot().iter()
              if is_type(e, "Simulation") and e.get("id") == sim["simulation"])
    cols = []
    for d in children(el, "Display"):
        for ln in children(d, "Line"):
            cols.append((f"{d.get('id')}/{ln.get('id')}", ln.get("quantity")))
    if not cols:
        return 0
    ns = etree.QName(el).namespace
    q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)
    of = etree.SubElement(el, q("OutputFile"), id="displays", fileName=DISPLAY_FILE)
    for cid, quantity in cols:
        etree.SubElement(of, q("OutputColumn"), id=cid, quantity=quantity)
    tree.write(str(sim_file), encoding="utf-8", xml_declaration=True)
    return len(cols)


def redirect_absolute(sim: dict) -> dict:
    """Rewrite absolute output paths in the scratch copy (so nothing is
    written outside it); return {original fileName: path actually written}."""
    moved = {}
    sim_file: Path = sim["simulation_file"]
    text = sim_file.read_text(encoding="utf-8")
    for o in sim["outputs"]:
        fn = o["fileName"]
        if fn and os.path.isabs(fn):
            new = ABS_DIR + fn
            pat = re.compile(r'(fileName\s*=\s*)(["\'])' + re.escape(fn) + r'\2')
            text, n = pat.subn(lambda m: m.group(1) + m.group(2) + new + m.group(2), text)
            if n:
                moved[fn] = new
    if moved:
        sim_file.write_text(text, encoding="utf-8")
    return moved


#: Cases whose references are made at a finer step (divisor of the file's step).
#: jLEMS advances a component's children before the component itself and children read
#: requirements such as v from their parent's previous evaluation, so in a deep hierarchy
#: (cell -> channel -> gate -> rate) v reaches the rates a few steps late. At the files'
#: steps this shifts HH spikes by up to 0.7 ms; at a tenth of the step the artefact is gone
#: and jLEMS agrees with the converged solution.
FINE_STEP = {"Ex1_HH": 10, "Ex5_DetCell": 10, "Ex10_Q10": 10, "Ex23_Spiketimes": 10,
             "Ex24_FractionalConductance": 10, "Ex26_Weights": 10, "nml_hh_single": 10,
             "Ex20a_AnalogSynapsesHH": 10, "Ex4_KS": 10, "Ex4a_KS": 10, "Ex18_GHK": 10,
             "nml_channel_kinds": 10, "Ex15_CaDynamics": 10, "osb_Gran_GranuleCell": 10,
             "osb_ACnet2_ACnet2": 10, "osb_ACnet2_ACnet2_LowDt": 10}
FINE_STEP.update(sem_instant_gate=10, sem_long_expression=10, sem_two_ca_pools=10, Ex17_Tissue=10)


def refine_step(sim: dict, divisor: int) -> str:
    """Divide the simulation's step in the scratch copy; return the new step text."""
    sim_file: Path = sim["simulation_file"]
    tree = etree.parse(str(sim_file), PARSER)
    el = next(e for e in tree.getroot().iter()
              if is_type(e, "Simulation") and e.get("id") == sim["simulation"])
    match = re.match(r"\s*([0-9.eE+-]+)\s*(\w*)", el.get("step"))
    new = f"{float(match.group(1)) / divisor:g}{match.group(2)}"
    el.set("step", new)
    tree.write(str(sim_file), encoding="utf-8", xml_declaration=True)
    return new


def first_error_line(text: str) -> str:
    """The most telling line of a failed jnml run's output."""
    lines = []
    for ln in text.splitlines():
        ln = re.sub(r"^(INFO|WARNING|SEVERE)\s+\S+\s+\d+,\d+\s+\S+\s+", "", ln.strip())
        ln = ln.lstrip("* ").strip()
        if ln and not ln.startswith("INFO:numexpr") and len(re.sub(r"\W", "", ln)) > 15:
            lines.append(ln)
    for pat in (r"Feature is not supported", r"does not exist|not found|No such file",
                r"Exception|Error:|error:", r"Error|ERROR"):
        for ln in lines:
            if re.search(pat, ln):
                return ln[:300]
    return lines[-1][:300] if lines else "no output"


def load_trace(path: Path) -> np.ndarray:
    a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    return a


def load_events(path: Path, fmt: str, selections: list) -> tuple[np.ndarray, dict | None]:
    """(N,2) float64 as written; non-numeric ids are mapped to selection indices."""
    rows = []
    idmap = None
    with open(path, encoding="utf-8") as fh:
        for ln in fh:
            parts = ln.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise ValueError(f"{path.name}: event line with {len(parts)} fields: {ln!r}")
            rows.append(parts)
    if not rows:
        return np.zeros((0, 2)), None
    id_col = 1 if fmt == "TIME_ID" else 0
    try:
        arr = np.array(rows, dtype=np.float64)
    except ValueError:
        sel_ids = [s["id"] for s in selections]
        idmap = {sid: i for i, sid in enumerate(sel_ids)}
        for r in rows:
            r[id_col] = idmap.setdefault(r[id_col], len(idmap))
        arr = np.array(rows, dtype=np.float64)
    return arr.reshape(-1, 2), idmap


def npz_bytes(data: dict) -> int:
    buf = io.BytesIO()
    np.savez_compressed(buf, **data)
    return buf.tell()


def run_case(case: Case, jar: Path, jnml: str, timeout: float, versions: dict,
             keep: bool = False) -> dict:
    entry = {
        "source": case.source,
        "lems": case.lems_path,
        "copied": [f"{case.source}/{f}" if case.source != "jar" else f"jar:{f}"
                   for f in case.copy],
        "jnml_version": versions["jnml"],
        "java_version": versions["java"],
        "command": f"jnml {Path(case.lems).name} -nogui",
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    npz_path = REF_DIR / f"{case.id}.npz"
    tmp = Path(tempfile.mkdtemp(prefix=f"nmlref_{case.id}_"))
    try:
        lems = prepare(case, jar, tmp)
        try:
            sim = parse_simulation(lems)
        except Exception as e:  # noqa: BLE001
            entry.update(status=f"failed: cannot parse LEMS file: {e}", wall_time_s=None,
                         outputs=[])
            return entry
        entry.update(simulation=sim["simulation"], length=sim["length"], step=sim["step"],
                     seed=sim["seed"], sim_target=sim["sim_target"])
        if sim["simulation_file"] != lems.resolve():
            entry["simulation_file"] = str(sim["simulation_file"].relative_to(tmp.resolve()))
        synthetic = False
        if not sim["outputs"]:
            if add_display_output(sim):
                synthetic = True
                sim = parse_simulation(lems)
                entry["synthetic_outputs"] = (
                    f"the simulation has no OutputFile/EventOutputFile; '{DISPLAY_FILE}' was "
                    "added to the scratch copy with one OutputColumn per <Display> <Line> "
                    "(id 'displayId/lineId', quantity unscaled)")
            else:
                entry["note"] = "the simulation has no outputs (no OutputFile, no Display)"
        if case.id in FINE_STEP:
            entry["reference_step"] = refine_step(sim, FINE_STEP[case.id])
            entry["note_step"] = (f"jNeuroML run at step {entry['reference_step']} (1/"
                                  f"{FINE_STEP[case.id]} of the file's), see FINE_STEP")
        moved = redirect_absolute(sim)
        # create the folders of every output and remove stale outputs
        written = {}
        for o in sim["outputs"]:
            fn = moved.get(o["fileName"], o["fileName"])
            p = lems.parent / fn
            written[o["fileName"]] = p
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.exists():
                p.unlink()
        for fn in sim["extra_files"]:
            if not os.path.isabs(fn):
                (lems.parent / fn).parent.mkdir(parents=True, exist_ok=True)

        t0 = time.monotonic()
        # own process group, so that a timeout also ends the java child of
        # the jnml wrapper
        proc = subprocess.Popen([jnml, lems.name, "-nogui"], cwd=lems.parent,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
            log = out.decode("utf-8", "replace")
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            entry.update(status="timeout", wall_time_s=round(time.monotonic() - t0, 2),
                         timeout_s=timeout, outputs=sim_outputs_meta(sim, moved))
            return entry
        wall = round(time.monotonic() - t0, 2)
        entry["wall_time_s"] = wall
        if keep:
            (tmp / "jnml.log").write_text(log)
        if rc != 0:
            entry.update(status=f"failed: {first_error_line(log)}", returncode=rc,
                         outputs=sim_outputs_meta(sim, moved))
            return entry
        missing = [fn for fn, p in written.items() if not p.is_file()]
        if missing:
            entry.update(status=f"failed: jnml exited 0 but did not write {', '.join(missing)}",
                         outputs=sim_outputs_meta(sim, moved))
            return entry

        data, outs = collect(sim, written, moved)
        if synthetic:
            for o in outs:
                o["synthetic"] = True
        entry["outputs"] = outs
        REF_DIR.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(npz_path, **data)
        entry["npz"] = npz_path.name
        entry["npz_bytes"] = npz_path.stat().st_size
        entry["status"] = "ok"
        return entry
    except Exception as e:  # noqa: BLE001  (a bug here must not lose the other cases)
        entry.setdefault("outputs", [])
        entry["status"] = f"failed: {type(e).__name__}: {e}".splitlines()[0]
        return entry
    finally:
        if entry.get("status") != "ok" and npz_path.exists():
            npz_path.unlink()   # no stale reference for a case that no longer runs
        if keep:
            entry["scratch_dir"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def sim_outputs_meta(sim: dict, moved: dict) -> list:
    outs = []
    for o in sim["outputs"]:
        m = {k: v for k, v in o.items() if k != "format_as_written" or v is not None}
        if o["fileName"] in moved:
            m["written_to"] = moved[o["fileName"]]
        outs.append(m)
    return outs


def collect(sim: dict, written: dict, moved: dict) -> tuple[dict, list]:
    outs = sim_outputs_meta(sim, moved)
    full = {}
    for o in outs:
        fn = o["fileName"]
        if o["kind"] == "trace":
            a = load_trace(written[fn])
            full[fn] = a
            o["rows"] = int(a.shape[0])
            o["file_columns"] = int(a.shape[1])
            if a.shape[1] != len(o["columns"]) + 1:
                o["warning"] = (f"file has {a.shape[1]} columns, LEMS lists "
                                f"{len(o['columns'])} OutputColumns + time")
        else:
            ev, idmap = load_events(written[fn], o["format"], o["selections"])
            full[fn] = ev
            o["events_total"] = int(ev.shape[0])
            if idmap is not None:
                o["id_map"] = idmap

    def build(max_rows, max_events):
        data = {}
        for o in outs:
            fn = o["fileName"]
            a = full[fn]
            if o["kind"] == "trace":
                k = max(1, math.ceil(a.shape[0] / max_rows))
                data[f"trace:{fn}"] = np.ascontiguousarray(a[::k])
                data[f"stride:{fn}"] = np.int64(k)
                data[f"rows:{fn}"] = np.int64(a.shape[0])
                o["stride"], o["stored_rows"] = k, int(a[::k].shape[0])
            else:
                data[f"events:{fn}"] = np.ascontiguousarray(a[:max_events])
                o["stored_events"] = int(min(a.shape[0], max_events))
                if a.shape[0] > max_events:
                    data[f"events_total:{fn}"] = np.int64(a.shape[0])
        return data

    # Traces keep at most MAX_ROWS rows and events are all kept, unless the
    # npz would exceed CASE_BUDGET: then only the first MAX_EVENTS events of
    # each event file, and if still too big, traces are thinned further
    # (at most 1000, then 500, then 250 rows).
    max_rows, max_events = MAX_ROWS, sys.maxsize
    data = build(max_rows, max_events)
    if npz_bytes(data) > CASE_BUDGET and any(o["kind"] == "events" for o in outs):
        max_events = MAX_EVENTS
        data = build(max_rows, max_events)
    while npz_bytes(data) > CASE_BUDGET and max_rows > 250:
        max_rows //= 2
        data = build(max_rows, max_events)
    for o in outs:
        if o["kind"] == "trace":
            o["max_rows"] = max_rows
    return data, outs


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def tool_versions(jnml: str) -> dict:
    try:
        out = subprocess.run([jnml, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=120).stdout.decode("utf-8", "replace")
        lines = [ln.strip() for ln in out.splitlines()
                 if ln.strip() and not ln.startswith("INFO:numexpr") and not ln.startswith("#")]
        jv = next((ln for ln in lines if "jNeuroML" in ln), lines[0] if lines else "unknown")
    except Exception as e:  # noqa: BLE001
        jv = f"unknown ({e})"
    try:
        out = subprocess.run(["java", "-version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60).stdout.decode()
        java = out.splitlines()[0].strip()
    except Exception:  # noqa: BLE001
        java = "unknown"
    return {"jnml": jv, "java": java}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="CASE", help="regenerate only these cases")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--jobs", type=int, default=2, help="cases run in parallel (default 2)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per jnml run (600)")
    ap.add_argument("--jnml", default=None, help="jnml executable (default: next to python, "
                    "else on PATH)")
    ap.add_argument("--jar", default=None, help="jNeuroML jar holding LEMSexamples/ and "
                    "examples/ (default: pyNeuroML's)")
    ap.add_argument("--out", default=None, help="output folder (default: reference/ next to "
                    "this script); e.g. a scratch folder to check that reruns agree")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dirs (debugging)")
    args = ap.parse_args(argv)

    global REF_DIR, INDEX
    if args.out:
        REF_DIR = Path(args.out).resolve()
        INDEX = REF_DIR / "index.json"
    jar = find_jar(args.jar)
    cases = build_cases(jar)
    if args.list:
        for c in cases:
            print(f"{c.id:32s} {c.lems_path}")
        return 0
    if args.only:
        known = {c.id for c in cases}
        unknown = [i for i in args.only if i not in known]
        if unknown:
            ap.error(f"unknown case(s): {', '.join(unknown)} (see --list)")
        todo = [c for c in cases if c.id in args.only]
    else:
        todo = cases

    jnml = args.jnml
    if jnml is None:
        cand = Path(sys.executable).parent / "jnml"
        jnml = str(cand) if cand.exists() else shutil.which("jnml")
    if not jnml:
        sys.exit("jnml not found; pass --jnml")
    versions = tool_versions(jnml)
    print(f"{versions['jnml']} ({versions['java']}); jar {jar.name}; "
          f"{len(todo)} case(s), {args.jobs} at a time", flush=True)

    REF_DIR.mkdir(parents=True, exist_ok=True)
    index = {}
    if args.only and INDEX.exists():
        index = json.loads(INDEX.read_text())
    lock = threading.Lock()

    def one(c):
        e = run_case(c, jar, jnml, args.timeout, versions, keep=args.keep)
        with lock:
            size = f"{e['npz_bytes'] / 1024:.0f} kB" if "npz_bytes" in e else "-"
            print(f"{c.id:32s} {e['status'][:90]:90s} {e.get('wall_time_s')}s {size}",
                  flush=True)
        return c.id, e

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for cid, e in ex.map(one, todo):
            index[cid] = e

    if not args.only:   # --only keeps the index's order (new cases at its end): small diffs
        order = [c.id for c in cases]
        index = {k: index[k] for k in sorted(index, key=lambda k: (order.index(k)
                                                                    if k in order else 1e9, k))}
    INDEX.write_text(json.dumps(index, indent=1) + "\n")
    if not args.only:   # drop npz files of cases that are no longer in the list
        for p in REF_DIR.glob("*.npz"):
            if p.stem not in index:
                p.unlink()
    n_ok = sum(1 for e in index.values() if e["status"] == "ok")
    print(f"{n_ok}/{len(index)} cases ok; index: {INDEX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
