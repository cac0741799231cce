"""Benchmark building the job graph: a dry run over 1,000 and 10,000 events.

Times ``snakemake -n`` (wall and CPU seconds) over simulated event ids, or over a folder of
empty TrackML-named files (``--source trackml``: the per-event input functions then look
files up), with the ``slurm`` profile (job grouping included) or locally (``--local``).
Nothing is simulated or read: a dry run only plans.

    python benchmarks/bench_dag.py [--events 1000 10000] [--source simulate] [--local]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def trackml_folder(folder: Path, n_events: int) -> None:
    """Empty files named like a TrackML folder of ``n_events`` events with truth."""
    folder.mkdir()
    for number in range(n_events):
        for part in ("hits", "cells", "particles", "truth"):
            (folder / f"event{number:09d}-{part}.csv.gz").touch()
    (folder / "detectors.csv.gz").touch()


def dry_run(n_events: int, source: str, local: bool, scratch: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one dry run, and its job summary."""
    if source == "simulate":
        data = {"simulate": {"n_events": n_events}}
    else:
        folder = scratch / f"trackml{n_events}"
        if not folder.exists():
            trackml_folder(folder, n_events)
        data = {
            "source": "trackml",
            "trackml_dir": str(folder),
            "split": {"train": 0.5, "val": 0.17, "test": 0.33},
        }
    mode = ["--cores", "1"] if local else ["--profile", "slurm"]
    command = [sys.executable, "-m", "snakemake", "-n", *mode,
               "--config", f"results={scratch / 'results'}", f"data={json.dumps(data)}"]  # fmt: skip
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(result.stdout[-2000:] + result.stderr[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = re.search(r"^total\s+(\d+)$", result.stdout, re.MULTILINE)
    groups = result.stdout.count("] Group job ")
    singles = sum(
        1 for line in result.stdout.splitlines()
        if line.startswith("rule ") and line != "rule all:"
    )  # fmt: skip
    jobs = f"{total.group(1) if total else '?'} jobs"
    if not local:
        jobs += f", {groups + singles} SLURM submissions ({groups} group jobs)"
    return wall, cpu, jobs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--source", choices=["simulate", "trackml"], default="simulate")
    parser.add_argument("--local", action="store_true", help="plan a local run (no groups)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; source {args.source}; "
          f"{'local' if args.local else '--profile slurm'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        for n_events in args.events:
            wall, cpu, jobs = dry_run(n_events, args.source, args.local, Path(scratch))
            print(f"{n_events:>6} events: dry run {wall:6.1f} s wall, {cpu:6.1f} s CPU; {jobs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
