"""The hand-written NEURON script of ../shared/bench with NEURON's ``hh`` rate tables turned off.

NEURON's built-in ``hh`` looks its rates up in a table (linear interpolation, 1 mV steps) unless
``usetable_hh`` is 0. nmlhub evaluates every rate exactly, as jNeuroML does, so this run is the
like-for-like baseline for simulation time. Usage: as raw_neuron_net.py, with the script's path first:
python raw_neuron_exact_rates.py ../shared/bench/raw_neuron_net.py -N 1000
"""

import runpy
import sys

from neuron import h

h.usetable_hh = 0
script = sys.argv.pop(1)
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
