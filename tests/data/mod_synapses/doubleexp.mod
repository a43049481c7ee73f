COMMENT
A conductance with a rise and a decay time constant, written for nmlhub's tests from the
equations (g = B - A, each event adds weight*factor to both, factor normalising the peak of one
event's conductance to its weight), under its own name and parameter names.
ENDCOMMENT

NEURON {
    POINT_PROCESS DoubleExpSyn
    RANGE tau_rise, tau_decay, erev, g
    NONSPECIFIC_CURRENT i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    tau_rise = 0.5 (ms) <1e-9,1e9>
    tau_decay = 5 (ms) <1e-9,1e9>
    erev = 0 (mV)
}

ASSIGNED {
    v (mV)
    i (nA)
    g (uS)
    factor
}

STATE {
    A (uS)
    B (uS)
}

INITIAL {
    LOCAL t_peak
    A = 0
    B = 0
    t_peak = tau_rise*tau_decay/(tau_decay - tau_rise) * log(tau_decay/tau_rise)
    factor = 1/(exp(-t_peak/tau_decay) - exp(-t_peak/tau_rise))
}

BREAKPOINT {
    SOLVE decay METHOD cnexp
    g = B - A
    i = g*(v - erev)
}

DERIVATIVE decay {
    A' = -A/tau_rise
    B' = -B/tau_decay
}

NET_RECEIVE(weight (uS)) {
    A = A + weight*factor
    B = B + weight*factor
}
