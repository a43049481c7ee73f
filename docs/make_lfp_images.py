"""Draw the README's LFP figure: the layered cortex example with a 21-contact laminar probe through
its column, its LFP traces, current-source density and power spectra.

Usage: python docs/make_lfp_images.py   (writes docs/images/lfp_layered_cortex.png)
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

import nmlhub
from nmlhub.lfp import laminar_probe
from nmlhub.plots.lfp import csd_image, lfp_psd, lfp_traces

HERE = Path(__file__).resolve().parent
LEMS = HERE.parent / "nml_examples" / "layered_cortex" / "LEMS_layered_cortex.xml"


def main() -> None:
    probe = laminar_probe(150.0, 150.0, 0.0, 1000.0, 21)  # the column is 300 x 1000 x 300 um
    results = nmlhub.simulate(LEMS, lfp=probe, lfp_every_ms=0.1)
    lfp = results.lfp.between(50.0)  # past the start-up transient
    figure = Figure(figsize=(15, 5.5), layout="constrained")
    left, middle, right = figure.subplots(1, 3, width_ratios=(1.0, 1.25, 0.9))
    lfp_traces(lfp, left)
    csd_image(lfp, middle, traces=False)
    lfp_psd(lfp, right, electrodes=range(0, 21, 4))
    figure.suptitle(f"layered_cortex: {results.spike_count()} spikes in 300 ms; LFP along a probe at "
                    "x = z = 150 um (line sources, sigma = 0.3 S/m)")
    out = HERE / "images" / "lfp_layered_cortex.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
