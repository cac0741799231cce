"""Benchmark the noise filter and measure its quality on full-size events.

Simulates ``--events`` pileup-200 events (ids from ``--first-event-id``, seed ``--seed``,
the workflow's per-event seeding), ingests them with the simulated detector, and with the
shipped model (``models/noise_filter_gbdt.npz``, or ``--model``: a ``.pt`` is an MLP)
prints per event:
feature seconds, scoring seconds, the whole ``filter_event`` seconds, and the metrics at
the model's working point. The figures of the README come from

    python benchmarks/bench_noise.py --events 5 --first-event-id 100025 --seed 1

(events 100025-100029 are the full-scale test events: the shipped model was trained on
100000-100019 and its working point chosen on 100020-100024). With ``--real`` it also
filters the real sample event (``../shared/data/trackml_sample``, ingested with the real
detector) and times the features on the real full events (``../shared/data/trackml_full``:
no cells, so the shape features and the shipped model cannot run there; the context
features can). Threads: numba and OpenMP run on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from trackrec.cli import main as trackrec  # noqa: E402
from trackrec.io.parquet import read_table  # noqa: E402
from trackrec.noise.features import compute_features  # noqa: E402
from trackrec.noise.stage import filter_event, load_scorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SECTION = {"model": "gbdt", "max_poi_loss": 0.005, "features": ["hit", "shape", "context"]}


def run(args: list[str]) -> None:
    if trackrec(args) != 0:
        sys.exit(f"trackrec {' '.join(args)} failed")


def measure(hits_path: Path, particles_path: Path, scorer, section: dict) -> dict:
    hits = read_table(hits_path, "hits")
    particles = read_table(particles_path, "particles")
    start = time.perf_counter()
    x = compute_features(hits, section["features"])
    t_features = time.perf_counter() - start
    start = time.perf_counter()
    scorer.scores(x)
    t_score = time.perf_counter() - start
    start = time.perf_counter()
    kept, metrics, _ = filter_event(hits, particles, section, scorer, hits_path)
    t_total = time.perf_counter() - start
    noise = hits[hits["particle_id"] == 0]
    survived = noise["hit_id"].isin(kept["hit_id"])
    removed_by_volume = (~survived).groupby(noise["volume_id"]).mean().round(3)
    return {"hits": len(hits), "features_s": t_features, "score_s": t_score,
            "filter_event_s": t_total, **{k: metrics[k] for k in (
                "noise_removed_frac", "good_hit_loss_pt0.9", "good_hit_loss_all", "noise_auc")},
            "noise_removed_by_volume": {int(k): float(v) for k, v in removed_by_volume.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2)
    parser.add_argument("--first-event-id", type=int, default=100025)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pileup", type=float, default=200)
    parser.add_argument("--model", default=str(ROOT / "models" / "noise_filter_gbdt.npz"))
    parser.add_argument("--real", action="store_true", help="also the real sample and full events")
    parser.add_argument("--real-only", action="store_true", help="only the real events")
    args = parser.parse_args()
    section = dict(SECTION, model="mlp" if args.model.endswith(".pt") else "gbdt")
    scorer = load_scorer(args.model, section)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run(["simulate-detector", "--out", str(folder / "detectors.csv.gz")])
        for k in range(0 if args.real_only else args.events):
            number = args.first_event_id + k
            name = f"event{number:09d}"
            run(["simulate", "--out", str(folder), "--events", "1", "--first-event-id",
                 str(number), "--pileup", str(args.pileup), "--seed", str(args.seed),
                 "--detectors", str(folder / "detectors.csv.gz")])  # fmt: skip
            hits, particles = folder / f"{name}.parquet", folder / f"{name}-p.parquet"
            run(["ingest", str(folder / name), "--hits", str(hits), "--particles",
                 str(particles), "--detectors", str(folder / "detectors.csv.gz")])  # fmt: skip
            if k == 0:  # compile the numba kernels outside the timings
                measure(hits, particles, scorer, section)
            row = {"event": name, **measure(hits, particles, scorer, section)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        if rows:
            keys = [k for k in rows[0] if k not in ("event", "noise_removed_by_volume")]
            mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
            print("simulated mean:", json.dumps(mean))
        if args.real or args.real_only:
            sample = SHARED / "trackml_sample"
            hits, particles = folder / "sample.parquet", folder / "sample-p.parquet"
            run(["ingest", str(sample / "event000000001"), "--hits", str(hits), "--particles",
                 str(particles), "--detectors", str(sample / "detectors.csv.gz")])  # fmt: skip
            print("real sample:", json.dumps(measure(hits, particles, scorer, section)))
            for name in ("event000001001", "event000001003"):
                # the hits file alone: a test event to ingest (no cells, no truth)
                (folder / "full").mkdir(exist_ok=True)
                prefix = folder / "full" / name
                Path(f"{prefix}-hits.csv.gz").symlink_to(
                    SHARED / "trackml_full" / f"{name}-hits.csv.gz")
                hits = folder / f"{name}.parquet"
                run(["ingest", str(prefix), "--hits", str(hits), "--particles",
                     str(folder / f"{name}-p.parquet"), "--detectors",
                     str(sample / "detectors.csv.gz")])  # fmt: skip
                table = read_table(hits, "hits")
                compute_features(table.iloc[:1000], ["hit", "context"])
                start = time.perf_counter()
                compute_features(table, ["hit", "context"])
                print(f"real full {name}: {len(table)} hits, hit+context features "
                      f"{time.perf_counter() - start:.2f} s (no cells: no shape features)")


if __name__ == "__main__":
    main()
