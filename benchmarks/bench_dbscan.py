"""Benchmark the DBSCAN baseline's curvature scan on threads, on a real full TrackML event.

Runs :func:`trackrec.tracking.dbscan.dbscan_track_ids` with the default parameters (21
curvatures) on the hits of a real pileup-200 event (``../shared/data/trackml_full``, about
110,000 hits) once per ``--threads`` value, checks that every run gives the same tracks, and
prints the wall and CPU time (CPU time above the wall time: the threads did run at once),
the speedup over the first value and the machine's load.

    python benchmarks/bench_dbscan.py [--threads 1 2] [--event PREFIX] [--curvature-steps 21]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from trackrec.io import load_event
from trackrec.tracking.dbscan import DbscanParams, dbscan_track_ids

FULL = Path(__file__).resolve().parents[2] / "shared" / "data" / "trackml_full"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", type=Path, default=FULL / "event000001001")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--curvature-steps", type=int, default=DbscanParams().curvature_steps)
    args = parser.parse_args()

    (hits,) = load_event(args.event, ("hits",))
    x, y, z = (hits[c].to_numpy() for c in ("x", "y", "z"))
    params = DbscanParams(curvature_steps=args.curvature_steps)
    print(f"{args.event.name}: {len(hits)} hits, {params.curvature_steps} curvatures, "
          f"{os.cpu_count()} cpus, load before {os.getloadavg()[0]:.2f}")
    reference, first = None, None
    for threads in args.threads:
        start, cpu_start = time.perf_counter(), time.process_time()
        tracks = dbscan_track_ids(x, y, z, params, threads=threads)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start  # above the wall time: threads ran at once
        if reference is None:
            reference, first = tracks, seconds
        same = np.array_equal(tracks, reference)
        print(f"threads {threads}: {seconds:.2f} s (cpu {cpu:.2f} s), "
              f"speedup {first / seconds:.2f}x, "
              f"same tracks as threads {args.threads[0]}: {same}, "
              f"load {os.getloadavg()[0]:.2f}")
        if not same:
            raise SystemExit("tracks differ between thread counts")


if __name__ == "__main__":
    main()
