"""Benchmark the TrackML reader and ``trackrec ingest`` on a full-size event.

Until the simulator makes full events, a full-size event is built by tiling the real
sample (5% of an event) ``--tiles`` times into a temporary folder: each copy gets new
hit_ids and particle_ids, so ids stay unique. Prints the load time of each part (pyarrow,
and plain ``pandas.read_csv`` for comparison), the whole ``load_event`` with its checks, the
table building, and the whole ingest with Parquet output.

    python benchmarks/bench_io.py [--tiles 20] [--gz] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from trackrec.io import build_hits_table, build_particles_table, load_detector, load_event
from trackrec.io.command import ingest_event
from trackrec.io.trackml import DEFAULT_PARTS, load_part_file

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "trackml_sample"


def tile_event(sample: Path, out: Path, tiles: int, gz: bool) -> Path:
    """Write ``tiles`` copies of the sample event as one event; returns its prefix."""
    hits, cells, particles, truth = load_event(sample / "event000000001")
    hit_step = int(hits["hit_id"].max()) + 1
    pid_rank = pd.Series(np.arange(1, len(particles) + 1), index=particles["particle_id"])
    pid_step = len(particles) + 1

    def new_pids(pids: pd.Series, k: int) -> np.ndarray:
        mapped = pid_rank.reindex(pids.to_numpy()).fillna(0).to_numpy(dtype=np.int64)
        return np.where(pids.to_numpy() == 0, 0, mapped + k * pid_step + (1 << 52))

    frames: dict[str, list[pd.DataFrame]] = {p: [] for p in DEFAULT_PARTS}
    for k in range(tiles):
        frames["hits"].append(hits.assign(hit_id=hits["hit_id"] + k * hit_step))
        frames["cells"].append(cells.assign(hit_id=cells["hit_id"] + k * hit_step))
        frames["particles"].append(particles.assign(
            particle_id=new_pids(particles["particle_id"], k)))
        frames["truth"].append(truth.assign(hit_id=truth["hit_id"] + k * hit_step,
                                            particle_id=new_pids(truth["particle_id"], k)))
    prefix = out / "event000000001"
    for part, pieces in frames.items():
        name = f"{prefix}-{part}.csv" + (".gz" if gz else "")
        pd.concat(pieces, ignore_index=True).to_csv(
            name, index=False, compression={"method": "gzip", "compresslevel": 6} if gz else None)
    return prefix


def best_of(repeat: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=20)
    parser.add_argument("--gz", action="store_true", help="write the event as .csv.gz")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    args = parser.parse_args(argv)
    if not (args.sample / "event000000001-hits.csv.gz").exists():
        print(f"sample not found at {args.sample}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        prefix = tile_event(args.sample, tmp, args.tiles, args.gz)
        suffix = ".csv.gz" if args.gz else ".csv"
        hits, cells, particles, truth = load_event(prefix)
        print(f"event: {args.tiles} tiles of the sample, {suffix}: {len(hits):,} hits, "
              f"{len(cells):,} cells, {len(particles):,} particles; "
              f"{os.cpu_count()} CPUs visible")
        print(f"{'part':<10} {'size MB':>8} {'trackrec s':>11} {'pandas s':>9}")
        for part in DEFAULT_PARTS:
            path = Path(f"{prefix}-{part}{suffix}")
            ours = best_of(args.repeat, lambda p=path, k=part: load_part_file(p, k))
            plain = best_of(1, lambda p=path: pd.read_csv(p))
            print(f"{part:<10} {path.stat().st_size / 1e6:8.1f} {ours:11.3f} {plain:9.3f}")
        total = best_of(args.repeat, lambda: load_event(prefix))
        print(f"load_event (all parts, with cross-file checks): {total:.3f} s")
        detectors_path = args.sample / "detectors.csv.gz"
        detector = load_detector(detectors_path)
        print(f"load_detector ({len(detector):,} modules): "
              f"{best_of(args.repeat, lambda: load_detector(detectors_path)):.3f} s")
        build = best_of(args.repeat, lambda: build_hits_table(
            hits, cells, truth, particles, detector))
        print(f"build_hits_table (cells + truth + geometry): {build:.3f} s")
        build_p = best_of(args.repeat, lambda: build_particles_table(particles, truth, hits))
        print(f"build_particles_table: {build_p:.3f} s")
        whole = best_of(args.repeat, lambda: ingest_event(
            prefix, tmp / "hits.parquet", tmp / "particles.parquet", detectors_path))
        size = (tmp / "hits.parquet").stat().st_size / 1e6
        print(f"ingest_event (read, build, write Parquet; hits file {size:.1f} MB): "
              f"{whole:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
