"""Benchmark simulated events as the workflow makes them: one ``trackrec simulate`` process
per event (the ``simulate_event`` rule's command line, run as a subprocess), against one
process simulating every event (``--events N``).

The difference is what each job pays again: the interpreter and imports, numba's start-up,
and the detector (read and prepared, or with ``--geometry`` loaded already prepared). Each
configuration is timed ``--repeat`` times, interleaved, and the median is printed.

    python benchmarks/bench_simulate_jobs.py [--events 3] [--pileup 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRACKREC = [sys.executable, "-m", "trackrec"]


def _run(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(TRACKREC + argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3)
    parser.add_argument("--pileup", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--geometry", action="store_true",
        help="also time the jobs given the prepared geometry (the workflow's command line)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        detectors, geometry = folder / "detectors.csv.gz", folder / "geometry.npz"
        extra = ["--geometry", str(geometry)] if args.geometry else []
        subprocess.run(TRACKREC + ["simulate-detector", "--out", str(detectors), *extra],
                       check=True)
        common = ["--pileup", str(args.pileup), "--seed", "1", "--detectors", str(detectors)]
        configs = {"one process, --events N": None, "a process per event": []}
        if args.geometry:
            configs["a process per event, --geometry"] = ["--geometry", str(geometry)]
        times: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(args.repeat):
            for name, per_event in configs.items():
                out = folder / "out"
                if per_event is None:
                    seconds = _run(["simulate", "--out", str(out), "--events", str(args.events),
                                    "--first-event-id", "1000", *common])
                else:
                    seconds = sum(
                        _run(["simulate", "--out", str(out), "--events", "1",
                              "--first-event-id", str(1000 + i), *common, *per_event])
                        for i in range(args.events)
                    )
                times[name].append(seconds / args.events)
        if args.geometry:
            detector_costs = _detector_costs(detectors, geometry, args.repeat)
    print(f"{args.events} events at pileup {args.pileup:g}, median of {args.repeat}; "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    for name, values in times.items():
        print(f"{name}: {statistics.median(values):.2f} s per event "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    if args.geometry:
        read, loaded = detector_costs
        print(f"the detector in a job (in one process, median of {args.repeat}): read and "
              f"prepared {read:.3f} s, prepared geometry loaded {loaded:.3f} s")


def _detector_costs(detectors: Path, geometry: Path, repeat: int) -> tuple[float, float]:
    """What a job spends on the detector: reading and preparing it, or loading it prepared."""
    from trackrec.io import load_detector
    from trackrec.simulate.geometry import load_geometry, prepare_geometry

    def timed(work) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    read = [timed(lambda: prepare_geometry(load_detector(detectors))) for _ in range(repeat)]
    loaded = [timed(lambda: load_geometry(geometry)) for _ in range(repeat)]
    return statistics.median(read), statistics.median(loaded)


if __name__ == "__main__":
    main()
