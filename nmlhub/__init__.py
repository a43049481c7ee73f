"""nmlhub: NeuroML as the common language of network modelling, NEURON as its engine.

Importing nmlhub has no side effects, except that networkx, which libNeuroML imports, is imported
when first used (:mod:`nmlhub.lazy`).
"""

from .lazy import defer_import

defer_import("networkx")  # before anything imports libNeuroML  # noqa: E402

from .errors import CoreTypesError, ModelError, NmlhubError, UnitError, XmlSecurityError
from .model import Model, load
from .rules.builder import (
    AllToAll, Convergence, Divergence, FromList, NetworkBuilder, OneToOne, Probability,
)
from .rules.connectivity import Placement
from .rules.selection import CellSelector
from .rules.values import lognormal, normal, uniform
from .units import Quantity, Unit, UnitRegistry

__version__ = "0.1.0"


def simulate(model, options=None, **values):
    """Run a LEMS simulation in NEURON and return its :class:`~nmlhub.results.Results`.

    Parameters
    ----------
    model
        A :class:`Model`, the path of a LEMS simulation file, or a :class:`NetworkBuilder`
        (then ``duration_ms`` and ``dt_ms`` are required; every cell's spikes are recorded).
    options
        How to run it: a :class:`nmlhub.neuron.options.RunOptions` (default: the file's settings).
    **values
        Run options by name (``duration_ms``, ``dt_ms``, ``seed``, ``engine``, ...), ``cache``,
        ``progress`` (see :class:`nmlhub.neuron.simulation.NeuronSimulation`).

    Raises
    ------
    NmlhubError
        A builder without ``duration_ms`` or ``dt_ms``, or anything else the model cannot do.

    Examples
    --------
    >>> results = nmlhub.simulate("nml_examples/izh_network/LEMS_izh_network.xml")  # doctest: +SKIP
    >>> results.spike_count()  # doctest: +SKIP
    """
    from os import PathLike

    from .neuron.simulation import simulate as _simulate  # NEURON is imported only when used

    if isinstance(model, NetworkBuilder):
        given = {name: values.get(name, getattr(options, name, None)) for name in ("duration_ms", "dt_ms")}
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise NmlhubError(f"simulate(NetworkBuilder) needs {' and '.join(missing)} (or save the builder "
                              "with simulation=dict(duration_ms=..., dt_ms=...) and simulate that file)")
        model = model.to_model(simulation=given)
    elif not isinstance(model, (Model, str, PathLike)):
        raise NmlhubError(f"simulate() takes a Model, a LEMS file path or a NetworkBuilder, not {type(model).__name__}")
    return _simulate(model, options, **values)

def save(obj, path, fmt=None):
    """Write a model or results in the format the file's extension (or ``fmt``) names.

    Models: NeuroML XML, NeuroML HDF5, JSON, pickle, MATLAB; results: HDF5, JSON, pickle, MATLAB,
    CSV and jNeuroML's files. See :func:`nmlhub.converters.save`.

    Examples
    --------
    >>> nmlhub.save("nml_examples/izh_network/izh_network.net.nml", "net.json")  # doctest: +SKIP
    >>> nmlhub.save(nmlhub.simulate("LEMS_x.xml"), "results.h5")  # doctest: +SKIP
    """
    from .converters import save as _save

    return _save(obj, path, fmt)


__all__ = [
    "load", "save", "Model", "NmlhubError", "ModelError", "UnitError", "XmlSecurityError",
    "CoreTypesError", "Quantity", "Unit", "UnitRegistry", "simulate", "__version__",
    "NetworkBuilder", "Probability", "Convergence", "Divergence", "AllToAll", "OneToOne", "FromList",
    "Placement", "CellSelector", "uniform", "normal", "lognormal",
]
