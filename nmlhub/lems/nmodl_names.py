"""The names generated NMODL uses: NMODL-safe variable names for LEMS names, the variables nmlhub
adds to every mechanism, NMODL's limits, and the ions and pools NEURON provides."""

from __future__ import annotations

import re

RESERVED = {
    "v", "t", "dt", "celsius", "area", "diam", "flag", "i", "e", "PI", "FARADAY", "R", "pi",
    "index", "error", "on", "off", "sec", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh",
    "fabs", "floor", "ceil", "first", "last", "if", "else", "while", "for", "from", "to", "by",
    "with", "LOCAL", "net_event", "net_send", "at_time", "VERBATIM", "ENDVERBATIM", "nrn_ghk",
    "weight", "w", "delay", "erf", "pow", "atan", "sinh", "cosh", "abs", "min", "max", "double",
    "int", "float", "const", "return", "static", "extern", "struct", "union", "char", "long",
    "short", "signed", "unsigned", "void", "default", "case", "switch", "break", "continue",
    "do", "goto", "register", "auto", "volatile", "sizeof", "typedef", "enum", "inline",
} | {
    # NMODL's keywords (nocmodl reads them in any position)
    "TITLE", "COMMENT", "ENDCOMMENT", "NEURON", "UNITS", "PARAMETER", "ASSIGNED", "STATE", "INITIAL",
    "BREAKPOINT", "DERIVATIVE", "KINETIC", "LINEAR", "NONLINEAR", "PROCEDURE", "FUNCTION",
    "FUNCTION_TABLE", "NET_RECEIVE", "TABLE", "DEPEND", "FROM", "TO", "WITH", "BY", "SOLVE", "METHOD",
    "STEADYSTATE", "CONSERVE", "COMPARTMENT", "LONGITUDINAL_DIFFUSION", "SUFFIX", "POINT_PROCESS",
    "ARTIFICIAL_CELL", "USEION", "READ", "WRITE", "VALENCE", "RANGE", "GLOBAL", "POINTER",
    "BBCOREPOINTER", "EXTERNAL", "NONSPECIFIC_CURRENT", "ELECTRODE_CURRENT", "SECTION", "THREADSAFE",
    "REPRESENTS", "INDEPENDENT", "CONSTANT", "CONSTRUCTOR", "DESTRUCTOR", "BEFORE", "AFTER", "STEP",
    "WATCH", "FOR_NETCONS", "MUTEXLOCK", "MUTEXUNLOCK", "PROTECT", "LAG", "RESET", "MATCH", "SENS",
    "CONDUCTANCE", "PLOT", "VS", "PARTIAL", "DEL", "DEL2", "SWEEP", "CHANGED", "REACTION", "REACT1",
    "TERMINAL", "UNITSON", "UNITSOFF", "RANDOM", "START", "STEPPED", "SOLVEFOR", "IFERROR", "DISCRETE",
    "EQUATION", "FIRST", "LAST", "KINETIC", "MODEL", "NRNAPI", "DEFINE", "INCLUDE", "ELSE", "IF",
    "WHILE", "LOCAL", "OR", "AND", "NOT",
    # NEURON's own variables and the functions generated code may call
    "secondorder", "clamp_resist", "stoprun", "delta_t", "nrn_random_pick", "exprand", "normrand",
    "scop_random", "set_seed", "log10", "fmod", "erfc", "hypot", "atan2", "asin", "acos", "random_uniform",
    "net_move", "nrn_pointing", "state_discontinuity", "modelname",
    # NMODL declares ``x0`` for every STATE ``x``: these would clash with C library functions
    # (the Bessel functions y0 and j0, GNU exp10 and pow10)
    "y", "j", "exp1", "pow1",
}

CURRENT = "i_nrn"
REGIME = "regime_nml"
CSEC = "csec_nml"
DL_SCALE = "dlscale_nml"
NET_WEIGHT = "w_nc"
VHOLD = "vhold_nml"
VINIT = "vinit_nml"
VSTEP = "vstep_nml"
TSTEP = "tstep_nml"
TEND = "tend_nml"  # the time (ms) at the end of this step, which jLEMS's equations read
TLEMS = "tlems_nml"  # jLEMS's time at this step (s), accumulated as jLEMS does (nmlhub.neuron.eventgrid)
NLEMS = "nlems_nml"  # the step TLEMS belongs to
DTLEMS = "dtlems_nml"  # the step in seconds (a variable: dt * 0.001 + t could be fused, rounding otherwise)
AHEAD = "ahead_nml"  # steps a spike source's jLEMS clock runs ahead (1 in a copy sending a step early)
TINPUT = "tinput_nml"  # the time (s) an input's equations and level conditions read in this step
MIDSTEP = "midstep_nml"  # 1: an input reads the middle of NEURON's step (the NEURON export's clock)
CONDUCTANCE_HINT = "gdidv_nml"  # the current's derivative in v, NEURON's CONDUCTANCE hint
INPUT_SUM = "isum_nml"
INPUT_HELD = "isumheld_nml"  # the measured input sum, kept while a cell computes its own current without it
CAPACITANCE = "cm_nml"  # a channel density's segment's specific capacitance (uF/cm2), set by the driver
WHOLE_CONDUCTANCE = "implicit_nml"  # 1: a density on a multi-compartment cell (nmlhub.lems.nmodl_conductance)
#: The longest line nocmodl reads (its buffer holds 512 characters with the newline).
NMODL_LINE_LIMIT = 510
#: A condition written ``.geq.``/``.leq.`` holds on equality; WATCH only knows ``>``, so the
#: difference may fall short of 0 by this much relative to the compared values (floating error).
NON_STRICT_TOLERANCE = "1e-9"

#: Valence of ions NEURON does not know by name (it knows na, k and ca).
ION_VALENCE = {"ca2": 2}

#: The calcium pools of cell2CaPools and the requirements that read their concentrations.
CALCIUM_POOLS = {"ca": ("caConc", "caConcExt"), "ca2": ("caConc2", "caConcExt2")}

#: Requirements a concentration model gets from the driver as per-segment constants.
SUPPLIED = ("initialConcentration", "initialExtConcentration")

#: What the measured input sum (nA) is multiplied by for each dimension of the cell's input
#: (dimensionless inputs inject 1 nA per unit into such a cell: its dl_scale is 1).
INPUT_UNITS = {"current": "1e-9", "none": "1"}


def transfer_buffer(pointer: str) -> str:
    """The RANGE variable beside a POINTER that a parallel run's transfer writes (NEURON's
    ``target_var`` needs a variable of the point process itself); the POINTER then aims at it."""
    return f"{pointer}_xfer"


def safe_names(names: list[str]) -> dict[str, str]:
    """NMODL-safe variable names for flat LEMS names, distinct from each other (``v`` is
    written ``v_l``; a LEMS name ``v_l`` beside it is then ``v_l_l``)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in dict.fromkeys(names):
        clean = safe_name(name)
        while clean in taken or (clean != name and clean in names):
            clean += "_l"
        out[name] = clean
        taken.add(clean)
    return out


def safe_name(name: str) -> str:
    """An NMODL-safe variable name for a flat LEMS name."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not clean or not clean[0].isalpha():
        clean = "x" + clean
    if clean in RESERVED or clean.endswith("_nml"):
        clean += "_l"
    return clean


def watch_value(k: int) -> str:
    """The ASSIGNED variable holding the value of long watched condition k."""
    return f"watch{k}_nml"
