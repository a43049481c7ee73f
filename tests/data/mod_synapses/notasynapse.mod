: a density mechanism, not a point process: refused as a synapse
NEURON {
    SUFFIX leakish
    RANGE g
    NONSPECIFIC_CURRENT i
}
PARAMETER { g = 0.001 (S/cm2) }
ASSIGNED { v (mV) i (mA/cm2) }
BREAKPOINT { i = g*v }
