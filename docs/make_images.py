"""Regenerate the README's analysis images (docs/images/*.png) from real nmlhub runs of the bundled
examples.

Usage: python docs/make_images.py
"""

from __future__ import annotations

from pathlib import Path

import nmlhub
from nmlhub.analysis import connectivity, morphology, network, spikes
from nmlhub.plots import connectivity as pconn
from nmlhub.plots import figure, shape
from nmlhub.plots import spikes as pspikes

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"


def main() -> None:
    cortex = nmlhub.load(ROOT / "nml_examples" / "layered_cortex" / "LEMS_layered_cortex.xml")
    results = nmlhub.simulate(cortex)
    table = spikes.results_spike_table(results)
    cells = network.network_cells(cortex)
    conns = network.network_connections(cortex, cells)
    depth = network.positions_of(cells, table.populations, table.cell_population, table.cell_id)[:, 1]
    written = [figure.save(pspikes.raster(table, order="depth", depth=depth).figure,
                           IMAGES / "raster_depth.png", dpi=110)]
    matrix = connectivity.connectivity_matrix(cells, conns, "probability")
    written.append(figure.save(pconn.matrix_plot(matrix).figure, IMAGES / "connectivity.png", dpi=110))
    shapes = morphology.network_shapes(cortex, cells)
    values = morphology.values_per_segment(shapes, connectivity.synapses_per_segment(cells, conns))
    ax = shape.shape_plot(shapes, values, label="synapses per segment", width_scale=0.3)
    written.append(figure.save(ax.figure, IMAGES / "shape.png", dpi=110))

    izh = nmlhub.simulate(ROOT / "nml_examples" / "izh_network" / "LEMS_izh_network.xml")
    stats = spikes.rate_statistics(spikes.results_spike_table(izh))
    fig = figure.new_figure((8.0, 3.2))
    left, right = fig.subplots(1, 2)
    pspikes.rate_boxplot(stats, "rate", left)
    pspikes.rate_histogram(stats, "cv", right)
    written.append(figure.save(fig, IMAGES / "rates.png", dpi=110))
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
