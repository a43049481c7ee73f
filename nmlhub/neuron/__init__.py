"""The NEURON driver: mechanism cache, instantiation, recording and running.

Every module that imports NEURON is in this package (or runs after it is imported), so NEURON is
told here, before its first import, that there is no GUI to start (``headless.py``).
"""

from .headless import prepare_environment

prepare_environment()
