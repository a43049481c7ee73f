"""Observed spike times and rates, and their comparison with expected values, as omv does them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import Observation

#: omv compares with ``numpy.allclose(observed, expected, rtol=tolerance)``, whose default absolute
#: tolerance (1e-8, in the scaled units) is what a tolerance of 0 leaves: the very same samples.
ABSOLUTE_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Comparison:
    """The outcome of one experiment: passed or not, and the differences in words."""

    passed: bool
    detail: str


def detect_spikes(time: np.ndarray, values: np.ndarray, method: str = "threshold",
                  threshold: float = 0.0) -> np.ndarray:
    """Spike times in a trace, as omv detects them (no interpolation).

    ``"threshold"``: the first sample above ``threshold`` after one at or below it.
    ``"derivative"``: local maxima, samples reached by a non-negative step and left by a negative one.
    """
    values = np.asarray(values, float)
    if method == "threshold":
        index = 1 + np.flatnonzero((values[:-1] <= threshold) & (values[1:] > threshold))
    elif method == "derivative":
        step = np.diff(values)
        index = 1 + np.flatnonzero((step[:-1] >= 0) & (step[1:] < 0))
    else:
        raise ValueError(f"spike detection method '{method}' is not one omv knows (threshold, derivative)")
    return np.asarray(time, float)[index]


def _columns(observation: Observation) -> np.ndarray:
    table = np.loadtxt(observation.path, skiprows=observation.header, ndmin=2)
    picked = table[:, list(observation.columns)]
    scaling = np.resize(np.asarray(observation.scaling, float), picked.shape[1])
    return picked * scaling


def read_spike_trains(observation: Observation) -> dict[float, np.ndarray]:
    """Spike times per cell id from an event file of ``ID TIME`` (or ``TIME ID``) rows."""
    table = np.loadtxt(observation.path, ndmin=2)
    if table.size == 0:
        return {}
    ids, times = (table[:, 0], table[:, 1]) if observation.spike_format == "ID_TIME" else (table[:, 1], table[:, 0])
    wanted = np.unique(ids) if observation.ids == "*" else [float(observation.ids)]
    return {float(i): times[ids == i] * observation.scaling[0] for i in wanted if np.any(ids == i)}


def observed_spike_times(observation: Observation) -> np.ndarray:
    """The observed spike times of an experiment (one cell's)."""
    if observation.kind == "spike file":
        trains = read_spike_trains(observation)
        if len(trains) > 1:
            raise ValueError(f"{observation.path.name} holds spikes of {len(trains)} cells, not one")
        return next(iter(trains.values()), np.zeros(0))
    table = _columns(observation)
    if observation.kind == "times":
        return table[:, 0]
    return detect_spikes(table[:, 0], table[:, 1], observation.method, observation.threshold)


def isi_rate(times: np.ndarray) -> float:
    """omv's rate of one spike train: the number of inter-spike intervals over their total length."""
    intervals = np.diff(np.asarray(times, float))
    return float(len(intervals) / intervals.sum()) if len(intervals) and intervals.sum() > 0 else 0.0


def observed_spike_rate(observation: Observation) -> float:
    """The observed rate: the mean of the cells' inter-spike-interval rates."""
    if observation.kind == "spike file":
        trains = read_spike_trains(observation)
        return float(np.mean([isi_rate(t) for t in trains.values()])) if trains else 0.0
    return isi_rate(observed_spike_times(observation))


def compare_spike_times(observed: np.ndarray, expected: list[float], tolerance: float) -> Comparison:
    """omv's rule: the same number of spikes, each within ``1e-8 + tolerance * |expected|``."""
    observed = np.asarray(observed, float)
    expected_arr = np.asarray(expected, float)
    if len(observed) != len(expected_arr):
        return Comparison(False, f"{len(observed)} spikes, expected {len(expected_arr)}"
                                 f"{_first_difference(observed, expected_arr)}")
    if len(observed) == 0:
        return Comparison(True, "no spikes, as expected")
    shift = np.abs(observed - expected_arr)
    passed = bool(np.all(shift <= ABSOLUTE_TOLERANCE + tolerance * np.abs(expected_arr)))
    worst = int(np.argmax(shift / np.maximum(np.abs(expected_arr), 1e-12)))
    relative = shift[worst] / max(abs(expected_arr[worst]), 1e-12)
    return Comparison(passed, f"{len(observed)} spikes, largest relative difference {relative:.3g} "
                              f"(spike {worst + 1}: {observed[worst]:.6g}, expected {expected_arr[worst]:.6g}), "
                              f"tolerance {tolerance:g}")


def _first_difference(observed: np.ndarray, expected: np.ndarray) -> str:
    for k, (found, wanted) in enumerate(zip(observed, expected)):
        if abs(found - wanted) > ABSOLUTE_TOLERANCE + 1e-3 * abs(wanted):
            return f"; first differing spike {k + 1}: {found:.6g}, expected {wanted:.6g}"
    k = min(len(observed), len(expected))
    extra = observed[k:] if len(observed) > k else expected[k:]
    which = "extra" if len(observed) > k else "missing"
    return f"; {which} from spike {k + 1}: {', '.join(f'{t:.6g}' for t in extra[:3])}"


def compare_rate(observed: float, expected: float, tolerance: float) -> Comparison:
    """omv's rule for a rate: within ``1e-8 + tolerance * |expected|``."""
    passed = abs(observed - float(expected)) <= ABSOLUTE_TOLERANCE + tolerance * abs(float(expected))
    relative = abs(observed - float(expected)) / max(abs(float(expected)), 1e-12)
    return Comparison(passed, f"rate {observed:.6g}, expected {float(expected):.6g}, relative difference "
                              f"{relative:.3g}, tolerance {tolerance:g}")
