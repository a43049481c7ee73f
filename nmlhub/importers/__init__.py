"""Bring existing cells into NeuroML: HOC templates and Python cell classes (read in NEURON, in a
fresh process), SWC morphologies; custom ``.mod`` channels kept as references nmlhub simulates."""
