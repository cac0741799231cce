"""Benchmark of ``trackrec simulate``: seconds and peak memory per full-pileup event.

Usage: python benchmarks/bench_simulate.py [--events 3] [--pileup 200] [--cold]

Prints the first call's time (numba compilation, or loading its cache; ``--cold`` forces a
fresh compilation into an empty cache folder), then per event the seconds to simulate, the
seconds to write the four gzip CSV files, the table sizes and the process's peak resident
memory so far. Runs on one core (numba kernels are serial; BLAS threads are pinned to 1).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3)
    parser.add_argument("--pileup", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="compile the numba kernels afresh")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if args.cold:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-cold-")

    from trackrec.simulate import build_detector, prepare_geometry, simulate_event
    from trackrec.simulate.writer import write_event

    t0 = time.perf_counter()
    detector = build_detector()
    geometry = prepare_geometry(detector)
    t1 = time.perf_counter()
    print(f"detector: {len(detector)} modules built and prepared in {t1 - t0:.2f} s")
    t0 = time.perf_counter()
    simulate_event(geometry, event_id=0, pileup=1, seed=0)
    first = time.perf_counter() - t0
    print(f"first call (pileup 1, {'numba compile' if args.cold else 'numba compile or cache load'}): "
          f"{first:.2f} s; peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip
    print(f"{'event':>6} {'pileup':>6} {'particles':>9} {'hits':>7} {'cells':>7} "
          f"{'simulate_s':>10} {'write_s':>7} {'total_s':>7} {'peak_rss_MB':>11}")  # fmt: skip
    totals = []
    with tempfile.TemporaryDirectory() as out:
        for k in range(args.events):
            event_id = 1000 + k
            t0 = time.perf_counter()
            tables = simulate_event(geometry, event_id=event_id, pileup=args.pileup, seed=args.seed)
            t1 = time.perf_counter()
            write_event(out, event_id, tables)
            t2 = time.perf_counter()
            totals.append(t2 - t0)
            print(f"{event_id:>6} {args.pileup:>6g} {len(tables['particles']):>9} {len(tables['hits']):>7} "
                  f"{len(tables['cells']):>7} {t1 - t0:>10.2f} {t2 - t1:>7.2f} {t2 - t0:>7.2f} "
                  f"{peak_rss_mb():>11.0f}")  # fmt: skip
            del tables
    print(f"mean per event (simulate + write): {sum(totals) / len(totals):.2f} s; "
          f"peak RSS {peak_rss_mb():.0f} MB", file=sys.stdout)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
