"""Where a run's result differs from jLEMS's, or from what the file asks, by nmlhub's design: the
warnings a run logs (and ``validate`` prints) so that no such difference is silent."""

from __future__ import annotations

from typing import Any

from ..model.attachments import attachment_warnings
from ..model.child_condition_reads import late_child_condition_warnings
from ..model.dynamics_refusals import dynamics_refusal_warnings
from ..model.ignored_attributes import ignored_attribute_warnings, reread_trees
from ..model.include_attributes import neuroml_include_warnings
from ..model.meta_hints import unfollowed_meta_warnings
from ..model.renamed_exposures import renamed_exposure_warnings
from ..model.stray_children import stray_child_warnings
from .default_temperature import default_temperature_warnings
from .unpooled_ions import unpooled_ion_warnings


def design_warnings(model: Any, network: Any, mechanisms: Any) -> list[str]:
    """One line per difference: ions without a pool, attributes jLEMS ignores, a network run at
    NEURON's default temperature, NeuroML includes jLEMS cannot follow, simulation hints (``<Meta>``) not followed."""
    trees = reread_trees(model)  # parsed once for the checks that read the model's own files
    return [*unpooled_ion_warnings(model, mechanisms),
            *ignored_attribute_warnings(model, trees),
            *neuroml_include_warnings(model),
            *attachment_warnings(model),
            *dynamics_refusal_warnings(model),
            *late_child_condition_warnings(model),
            *renamed_exposure_warnings(model),
            *stray_child_warnings(model, trees),
            *default_temperature_warnings(model, network, mechanisms),
            *unfollowed_meta_warnings(model.simulation)]
