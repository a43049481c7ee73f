"""nmlhub: NeuroML as the common language of network modelling, NEURON as its engine.

Importing nmlhub has no side effects.
"""

from .errors import CoreTypesError, ModelError, NmlhubError, UnitError, XmlSecurityError
from .model import Model, load
from .units import Quantity, Unit, UnitRegistry

__version__ = "0.1.0"

__all__ = [
    "load", "Model", "NmlhubError", "ModelError", "UnitError", "XmlSecurityError",
    "CoreTypesError", "Quantity", "Unit", "UnitRegistry", "__version__",
]
