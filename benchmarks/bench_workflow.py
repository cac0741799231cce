"""Benchmark the whole workflow at full pileup: per-stage time and memory, and the metrics.

Runs ``snakemake`` on simulated events (pileup 200 by default) into a temporary results
folder, one job at a time so each stage's figures are not disturbed by another, then prints
the report's stage table and headline metrics.

    python benchmarks/bench_workflow.py [--events 3] [--pileup 200] [--cores 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HEADLINE = (
    "trackml_score",
    "eff_dm_pt0.9",
    "eff_perfect_pt0.9",
    "fake_rate_pt0.9",
    "fake_rate_all",
    "duplicate_rate_pt0.9",
    "n_tracks",
    "n_hits",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=3, help="test events to simulate and reconstruct"
    )
    parser.add_argument("--pileup", type=float, default=200.0)
    parser.add_argument(
        "--cores", type=int, default=1, help="snakemake --cores (1: clean per-stage figures)"
    )
    parser.add_argument(
        "--keep", type=Path, help="results folder to keep (default: a temporary one)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        results = args.keep or Path(scratch)
        data = {
            "source": "simulate",
            "simulate": {
                "n_events": args.events,
                "first_event_id": 9000,
                "pileup": args.pileup,
                "seed": 11,
            },
            "split": {"train": 0, "val": 0, "test": 1.0},
        }
        env = dict(
            os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        )
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--quiet", "all",
             "--config", f"results={results}", "run=bench", f"data={json.dumps(data)}"],
            cwd=REPO_ROOT, env=env, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        summary = json.loads((results / "bench" / "report" / "summary.json").read_text())

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.events} events at pileup {args.pileup:g}; snakemake --cores {args.cores}")  # fmt: skip
    print(f"whole workflow: {wall:.1f} s\n")
    print(f"{'rule':<24}{'s/event':>10}{'max RSS MB':>12}")
    for rule, stats in summary["stages"].items():
        print(f"{rule:<24}{stats['s_per_event']:>10.2f}{stats['max_rss_mb']:>12.0f}")
    for method, metrics in summary["methods"].items():
        print(f"\n{method}:")
        for key in HEADLINE:
            stats = metrics[key]
            print(f"  {key:<24}{stats['mean']:>12.4g} ± {stats['std']:.2g}  (n={stats['n']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
