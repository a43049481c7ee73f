"""Run the README's example batch (docs/batch/izh_drive.yaml: 25 runs of the bundled Izhikevich
network) and draw its heatmap; prints the best-runs table and the time taken.

Usage: python docs/make_batch_images.py [--jobs 2]   (writes docs/images/batch_heatmap.png; the
batch's folder is build/izh_drive/, which a second call resumes)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nmlhub.batch import executor_for, load_spec, run_batch
from nmlhub.batch.analyze import best_runs, format_table, metric_grid

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    spec = load_spec(HERE / "batch" / "izh_drive.yaml")
    start = time.perf_counter()
    batch, index = run_batch(spec, executor_for("local", jobs=args.jobs))
    print(f"{len(index)} runs in {time.perf_counter() - start:.1f} s "
          f"({', '.join(f'{n} {s}' for s, n in batch.counts().items())})")
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    for ax, metric in zip(figure.subplots(1, 2), ("rate.Exc", "synchrony")):
        xs, ys, grid = metric_grid(index, metric, "drive_E.amplitude", "syn_inh.gbase")
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
        for (j, i), value in np.ndenumerate(grid):
            ax.text(i, j, f"{value:.2g}", ha="center", va="center", fontsize=7,
                    color="white" if value < np.nanmean(grid) else "black")
        ax.set_xlabel("drive_E.amplitude (pA)")
        ax.set_ylabel("syn_inh.gbase (nS)")
        figure.colorbar(image, ax=ax, label=metric + (" (Hz)" if metric.startswith("rate") else " (chi)"))
        ax.set_title(metric)
    out = HERE / "images" / "batch_heatmap.png"
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")
    print(format_table(best_runs(index, "synchrony", 5), "synchrony"))


if __name__ == "__main__":
    main()
