"""Trace plots: recorded quantities over time, overlaid (one panel per kind of quantity) or
stacked (one panel per trace)."""

from __future__ import annotations

from matplotlib.axes import Axes

from ..analysis.traces import DISPLAY_UNITS, TraceSet
from .figure import new_figure, population_colors


def plot_traces(traces: TraceSet, ax: Axes | None = None, *, stacked: bool = False,
                figsize: tuple[float, float] | None = None) -> list[Axes]:
    """Draw traces in display units (mV, nA, nS, mM).

    Parameters
    ----------
    traces
        From :func:`~nmlhub.analysis.traces.select_traces`.
    ax
        Draw here (overlaid traces of a single kind only).
    stacked
        One panel per trace (shared time axis) instead of one panel per kind of quantity.

    Returns
    -------
    list of Axes
        The panels, top to bottom; each trace is one line labelled with its path.
    """
    if stacked:
        groups = [[k] for k in range(len(traces.names))]
    else:
        kinds = list(dict.fromkeys(traces.kinds))
        groups = [[k for k, kind in enumerate(traces.kinds) if kind == want] for want in kinds]
    if ax is not None and len(groups) == 1:
        panels = [ax]
    else:
        height = figsize or (7.0, min(2.0 + 1.6 * len(groups), 12.0))
        fig = new_figure(height)
        first = fig.add_subplot(len(groups), 1, 1)
        panels = [first] + [fig.add_subplot(len(groups), 1, i + 1, sharex=first) for i in range(1, len(groups))]
    colors = population_colors(len(traces.names))
    for panel, group in zip(panels, groups):
        for k in group:
            values, unit = traces.display(k)
            panel.plot(traces.time_ms, values, color=colors[k], linewidth=1.0, label=traces.names[k])
        kind = traces.kinds[group[0]]
        panel.set_ylabel(f"{kind} ({DISPLAY_UNITS[kind][0]})" if not stacked else
                         f"{traces.names[group[0]].rsplit('/', 1)[-1]} ({DISPLAY_UNITS[kind][0]})")
        if stacked:
            panel.set_title(traces.names[group[0]], fontsize="small", loc="left")
        elif 1 < len(group) <= 10:
            panel.legend(fontsize="x-small", loc="upper right")
    for panel in panels[:-1]:
        panel.tick_params(labelbottom=False)
    panels[-1].set_xlabel("time (ms)")
    panels[-1].set_xlim(traces.time_ms[0], traces.time_ms[-1])
    return panels
