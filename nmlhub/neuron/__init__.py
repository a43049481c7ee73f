"""The NEURON driver: mechanism cache, instantiation, recording and running."""
