"""What a run of many events costs on SLURM: jobs, CPU hours and GPU hours.

Per-event stage times come from a run's ``report/summary.json`` (``stages``: seconds per
event of every per-event rule, as ``benchmarks/bench_workflow.py --keep DIR`` leaves at
``DIR/bench/report/summary.json``) or from ``--seconds RULE=S`` pairs; the number of SLURM
jobs comes from a dry run of the ``slurm`` profile over that many event ids (as
``benchmarks/bench_dag.py`` makes). Stages of training and validation events (simulate,
ingest) are counted for every event; the others for the test events only.

    python benchmarks/cluster_cost.py --summary DIR/bench/report/summary.json [--events 1000 10000]
    python benchmarks/cluster_cost.py --seconds simulate_event=3.05 ingest=1.5 ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EVERY_EVENT = ("simulate_event", "ingest")  # stages of train, val and test events alike
GPU_STAGES: tuple[str, ...] = ()  # per-event stages run on a GPU (none yet)


def slurm_jobs(n_events: int, test_fraction: float) -> int:
    """SLURM submissions of a dry run of the slurm profile over ``n_events`` simulated ids."""
    split = {"train": 1 - test_fraction, "val": 0, "test": test_fraction}
    data = {"simulate": {"n_events": n_events}, "split": split}
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--profile", "slurm", "--config",
             f"results={scratch}", f"data={json.dumps(data)}"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    lines = result.stdout.splitlines()
    groups = sum("] Group job " in line for line in lines)
    return groups + sum(1 for line in lines if line.startswith("rule ") and line != "rule all:")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", type=Path, help="a run's report/summary.json")
    parser.add_argument("--seconds", nargs="*", default=[], help="RULE=SECONDS per event")
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--test-fraction", type=float, default=0.33, help="share of test events (default split)"
    )
    args = parser.parse_args()
    seconds: dict[str, float] = {}
    if args.summary:
        stages = json.loads(args.summary.read_text())["stages"]
        seconds = {rule: float(s["s_per_event"]) for rule, s in stages.items()}
    seconds.update({k: float(v) for k, v in (pair.split("=", 1) for pair in args.seconds)})
    if not seconds:
        parser.error("give --summary or --seconds")
    per_event = ", ".join(f"{rule} {s:.2f}" for rule, s in sorted(seconds.items()))
    print(f"per-event seconds: {per_event}; test fraction {args.test_fraction:g}")
    print(f"{'events':>8}{'SLURM jobs':>12}{'CPU hours':>11}{'GPU hours':>11}")
    for n_events in args.events:
        n_test = round(args.test_fraction * n_events)
        cpu = gpu = 0.0
        for rule, s in seconds.items():
            total = s * (n_events if rule in EVERY_EVENT else n_test)
            if rule in GPU_STAGES:
                gpu += total
            else:
                cpu += total
        jobs = slurm_jobs(n_events, args.test_fraction)
        print(f"{n_events:>8}{jobs:>12}{cpu / 3600:>11.1f}{gpu / 3600:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
