COMMENT
Izhikevich's (2007) simple model as a NEURON point process named Izhi2007b, with the parameters
and units of the Izhi2007b mechanism NetPyNE's tutorials use, written for nmlhub's NetPyNE
references (tests/data/netpyne/make_references.py) from the book's equations, for its cell
types 1 to 3 (RS, IB, CH):

  C dv/dt = k (v - vr)(v - vt) - u + Iin     (the section's capacitance times C; currents pA)
  du/dt   = a (b (v - vr) - u)
  v > vpeak:  v = c, u = u + d               (and a spike)

The section holding it starts at vr with u = 0.
ENDCOMMENT

NEURON {
    POINT_PROCESS Izhi2007b
    RANGE C, k, vr, vt, vpeak, a, b, c, d, Iin, celltype
    NONSPECIFIC_CURRENT i
}

UNITS {
    (mV) = (millivolt)
    (nA) = (nanoamp)
}

PARAMETER {
    C = 1
    k = 0.7
    vr = -60 (mV)
    vt = -40 (mV)
    vpeak = 35 (mV)
    a = 0.03
    b = -2
    c = -50
    d = 100
    Iin = 0
    celltype = 1
}

ASSIGNED {
    v (mV)
    i (nA)
}

STATE {
    u
}

INITIAL {
    u = 0
    net_send(0, 1)
}

BREAKPOINT {
    SOLVE recovery METHOD cnexp
    i = -(k * (v - vr) * (v - vt) - u + Iin) / C / 1000
}

DERIVATIVE recovery {
    u' = a * (b * (v - vr) - u)
}

NET_RECEIVE (w) {
    if (flag == 1) {
        WATCH (v > vpeak) 2
        v = vr
    } else if (flag == 2) {
        net_event(t)
        v = c
        u = u + d
    }
}
