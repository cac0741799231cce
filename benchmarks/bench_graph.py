"""Benchmark of graph construction: seconds, CPU seconds, peak memory and edge metrics per event.

Usage:
  python benchmarks/bench_graph.py [--simulate 3 --pileup 200 --seed 11]
                                   [--event DIR/NAME ...] [--threads 1]
                                   [--cuts models/graph_cuts.npz] [--model models/graph_embedding.pt]

Each ``--event DIR/NAME`` reads ``DIR/NAME-hits.parquet`` (and ``DIR/NAME-particles.parquet``
when it exists: then the edge metrics are printed too); ``--simulate N`` first simulates N
events (pileup ``--pileup``, seed ``--seed``; keep the seed away from the models' training
events) into a temporary folder. Every (event, construction) runs in a fresh process, so the
peak resident memory is that of one construction: reading the hits, loading the model,
building the graph and its table (not the metrics, computed after the peak is read). The
seconds are wall and CPU time of the construction alone (reading the hits table, loading the
model, building the edges and the graph table; not the imports of torch and trackrec, about
1.5 CPU seconds, nor writing the table); on a shared
machine wall time can exceed CPU time by a lot, CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _one(method: str, model: str, prefix: str, threads: int) -> dict:
    """Build one graph in this process and return its figures."""
    import numpy as np

    from trackrec.graph.edges import distance_from_origin, graph_frame, orient_and_deduplicate
    from trackrec.io.parquet import read_table

    if method == "embedding":  # imports are not construction time
        import torch  # noqa: F401

        import trackrec.graph.embedding  # noqa: F401
    hits_path = Path(f"{prefix}-hits.parquet")
    particles_path = Path(f"{prefix}-particles.parquet")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    hits = read_table(hits_path, "hits")
    if method == "geometric":
        from trackrec.graph.command import load_cuts
        from trackrec.graph.geometric import build_edges

        cuts = load_cuts(Path(model))
        src, dst = build_edges(hits, cuts)
        src, dst = orient_and_deduplicate(src, dst, distance_from_origin(hits))
        latent = None
    else:
        from trackrec.graph.embedding_command import embedding_edges

        args = argparse.Namespace(model=Path(model), pt_min=None, k=None, radius=None,
                                  threads=threads, hits=hits_path)
        src, dst, latent = embedding_edges(hits, args)
    frame = graph_frame(hits, src, dst, latent)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out = {"hits": len(hits), "edges": len(frame), "edges_per_hit": len(frame) / len(hits),
           "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak}
    if particles_path.exists() and "particle_id" in hits.columns:
        from trackrec.metrics.edges import edge_metrics

        particles = read_table(particles_path, "particles")
        if len(particles):
            m = edge_metrics(src, dst, np.ones(len(src)), hits, particles)
            out["segment50_pt0.9"] = m["segment50"]
            out["edge_eff_pt0.9"] = m["edge_eff_total"]
    return out


def _simulate(n: int, pileup: float, seed: int, folder: Path) -> list[str]:
    from trackrec.io import build_hits_table, build_particles_table
    from trackrec.io.parquet import write_table
    from trackrec.simulate import build_detector, simulate_event

    detector = build_detector()
    prefixes = []
    for k in range(n):
        event_id = 900_000 + k
        tables = simulate_event(detector, event_id=event_id, pileup=pileup, seed=seed)
        hits = build_hits_table(tables["hits"], tables["cells"], truth=tables["truth"],
                                particles=tables["particles"], detectors=detector)
        particles = build_particles_table(tables["particles"], tables["truth"], tables["hits"])
        prefix = folder / f"event{event_id:09d}"
        write_table(hits, f"{prefix}-hits.parquet", "hits")
        write_table(particles, f"{prefix}-particles.parquet", "particles")
        prefixes.append(str(prefix))
    return prefixes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulate", type=int, default=0, metavar="N")
    parser.add_argument("--pileup", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--event", nargs="*", default=[], metavar="DIR/NAME")
    parser.add_argument("--cuts", default="models/graph_cuts.npz")
    parser.add_argument("--model", default="models/graph_embedding.pt")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", nargs=3, metavar=("METHOD", "MODEL", "PREFIX"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    if args.one:
        print(json.dumps(_one(*args.one, args.threads)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        prefixes = list(args.event)
        if args.simulate:
            t0 = time.perf_counter()
            prefixes += _simulate(args.simulate, args.pileup, args.seed, Path(tmp))
            print(f"simulated {args.simulate} events at pileup {args.pileup:g} "
                  f"in {time.perf_counter() - t0:.0f} s")
        methods = [("geometric", args.cuts)]
        if Path(args.model).exists():
            methods.append(("embedding", args.model))
        print(f"{'event':<16} {'method':<9} {'hits':>7} {'edges':>9} {'edges/hit':>9} "
              f"{'wall_s':>7} {'cpu_s':>6} {'peak_MB':>7} {'segment50':>9} {'edge_eff':>8}")
        failed = 0
        for prefix in prefixes:
            for method, model in methods:
                proc = subprocess.run(
                    [sys.executable, __file__, "--threads", str(args.threads),
                     "--one", method, model, prefix],
                    capture_output=True, text=True,
                )
                if proc.returncode != 0:
                    failed += 1
                    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{Path(prefix).name:<16} {method:<9} failed: {last}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                s50 = r.get("segment50_pt0.9")
                eff = r.get("edge_eff_pt0.9")
                print(f"{Path(prefix).name:<16} {method:<9} {r['hits']:>7} {r['edges']:>9} "
                      f"{r['edges_per_hit']:>9.2f} {r['wall_s']:>7.2f} {r['cpu_s']:>6.2f} "
                      f"{r['peak_rss_mb']:>7.0f} "
                      f"{'-' if s50 is None else f'{s50:.4f}':>9} "
                      f"{'-' if eff is None else f'{eff:.4f}':>8}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
