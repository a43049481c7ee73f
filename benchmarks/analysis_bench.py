"""Time the spike analyses on a large run: 10,000 Poisson cells (8,000 E at 10 Hz, 2,000 I at
25 Hz) over 10 s, about 1.3 million spikes, as ``Results.spikes`` holds them.

Times: building the columnar table, the raster drawn and written as PNG, rate statistics (rates,
ISI CV, Golomb synchrony, count correlation); and rates, CVs and a 5 ms population histogram
computed from the table and, for comparison, cell by cell and spike by spike in plain Python
loops (the naive way), with the ratio.

Usage: python benchmarks/analysis_bench.py [--cells 10000] [--seconds 10] [--out /tmp]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from nmlhub.analysis import spikes
from nmlhub.plots import figure
from nmlhub.plots.spikes import raster


def poisson_run(n_cells: int, seconds: float, seed: int = 1) -> dict[tuple[str, int], np.ndarray]:
    rng = np.random.default_rng(seed)
    n_exc = int(0.8 * n_cells)
    out = {}
    for i in range(n_cells):
        pop, cid, rate = ("E", i, 10.0) if i < n_exc else ("I", i - n_exc, 25.0)
        out[(pop, cid)] = np.sort(rng.uniform(0.0, seconds * 1000.0, rng.poisson(rate * seconds)))
    return out


def naive(trains: dict[tuple[str, int], np.ndarray], seconds: float, bin_ms: float) -> tuple:
    """Per-cell and per-spike Python loops, as one might write them without columns."""
    rates, cvs = {}, {}
    n_bins = int(seconds * 1000.0 / bin_ms)
    hist: dict[str, list[int]] = {}
    for (pop, cid), times in trains.items():
        rates[(pop, cid)] = len(times) / seconds
        if len(times) >= 3:
            isi = [b - a for a, b in zip(times[:-1], times[1:])]
            mean = sum(isi) / len(isi)
            cvs[(pop, cid)] = (sum((x - mean) ** 2 for x in isi) / len(isi)) ** 0.5 / mean
        counts = hist.setdefault(pop, [0] * n_bins)
        for t in times:
            counts[min(int(t // bin_ms), n_bins - 1)] += 1
    return rates, cvs, hist


def timed(label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"{label:<42s} {elapsed:8.2f} s")
    return value, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    trains = poisson_run(args.cells, args.seconds)
    n_spikes = sum(len(t) for t in trains.values())
    print(f"{args.cells} cells, {args.seconds:g} s, {n_spikes} spikes")
    table, t_table = timed("columnar spike table", spikes.spike_table, trains, stop_ms=args.seconds * 1000.0)

    def draw_raster():
        ax = raster(table)
        return figure.save(ax.figure, args.out / "analysis_bench_raster.png")

    path, t_raster = timed("raster drawn and written (PNG)", draw_raster)
    stats, t_stats = timed("rate statistics (rate, CV, chi, corr)", spikes.rate_statistics, table)

    def same_as_naive():
        return spikes.firing_rates(table), spikes.isi_cv(table), spikes.spike_histogram(table, 5.0, by="population")

    _, t_same = timed("columnar: rates, CV, histogram", same_as_naive)
    (rates, cvs, hist), t_naive = timed("naive loops: rates, CV, histogram", naive, trains, args.seconds, 5.0)
    print(f"{'naive / columnar (same three results)':<42s} {t_naive / t_same:8.1f} x")
    print(f"{'naive / (table + columnar)':<42s} {t_naive / (t_table + t_same):8.1f} x")
    print(f"{'table + raster + statistics':<42s} {t_table + t_raster + t_stats:8.2f} s")
    # the two agree
    e_rates = stats.rate_hz[table.cell_population == 0]
    assert np.allclose(e_rates, [rates[("E", i)] for i in range(len(e_rates))])
    finite = [(k, v) for k, v in cvs.items() if k[0] == "E"][:100]
    assert np.allclose([stats.cv[table.cell_row(*k)] for k, _ in finite], [v for _, v in finite])
    assert np.array_equal(spikes.spike_histogram(table, 5.0, by="population").counts[0], hist["E"])
    print(f"mean rates E {stats.mean_rate()[0]:.2f} Hz, I {stats.mean_rate()[1]:.2f} Hz; "
          f"synchrony chi {stats.synchrony.round(4).tolist()}; raster: {path}")


if __name__ == "__main__":
    main()
