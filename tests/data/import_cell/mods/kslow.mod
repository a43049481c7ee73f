: A slow potassium channel with one gate, for nmlhub's import tests.
NEURON {
    SUFFIX kslow
    USEION k READ ek WRITE ik
    RANGE gbar, ik
    GLOBAL tau
}
UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    (S) = (siemens)
}
PARAMETER {
    gbar = 0.002 (S/cm2)
    tau = 20 (ms)
}
ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    ninf
}
STATE { n }
BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar * n * (v - ek)
}
INITIAL {
    rates(v)
    n = ninf
}
DERIVATIVE states {
    rates(v)
    n' = (ninf - n) / tau
}
PROCEDURE rates(v (mV)) {
    ninf = 1 / (1 + exp(-(v + 45) / 8))
}
