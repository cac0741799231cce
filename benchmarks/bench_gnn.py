"""Benchmark GNN inference per full event: seconds and peak memory per model.

Each model runs in a fresh child process (so its peak RSS is its own) with ``--threads``
torch threads: it loads the checkpoint, then times :func:`trackrec.models.infer.predict`
(features, forward pass, output frame; reading and writing Parquet excluded) on every event,
``--repeat`` times, and prints the median wall and CPU seconds per event (on a shared,
oversubscribed machine, CPU seconds / threads is what an idle machine's wall time would be
near), the edges per event and the process's peak RSS.

Events: ``--hits``/``--graphs`` tables (for example from a workflow run), or by default
``--events`` simulated pileup-200 events with geometric graphs whose cuts are derived on two
further simulated events (made with the ``trackrec`` commands in a temporary folder).

    python benchmarks/bench_gnn.py [--models-dir models] [--threads 2] [--events 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("interaction_network", "euclidnet", "condensation")


def _run(*args: str) -> None:
    subprocess.run(["trackrec", *args], check=True, stdout=subprocess.DEVNULL)


def simulated_events(folder: Path, n_events: int, pileup: float) -> tuple[list[str], list[str]]:
    """``n_events`` test events plus 2 cut-deriving events, simulated, ingested, graphed."""
    sim = folder / "sim"
    _run("simulate-detector", "--out", str(sim / "detectors.csv.gz"))
    _run("simulate", "--out", str(sim), "--events", str(n_events + 2), "--pileup", str(pileup),
         "--seed", "7", "--first-event-id", "500000", "--detectors", str(sim / "detectors.csv.gz"))
    names = [f"event{500000 + i:09d}" for i in range(n_events + 2)]
    for name in names:
        _run("ingest", str(sim / name), "--hits", str(folder / f"{name}-hits.parquet"),
             "--particles", str(folder / f"{name}-particles.parquet"),
             "--detectors", str(sim / "detectors.csv.gz"))
    cut_events = names[n_events:]
    _run("graph-cuts", "--hits", *(str(folder / f"{n}-hits.parquet") for n in cut_events),
         "--particles", *(str(folder / f"{n}-particles.parquet") for n in cut_events),
         "--out", str(folder / "cuts.npz"))
    hits, graphs = [], []
    for name in names[:n_events]:
        hits.append(str(folder / f"{name}-hits.parquet"))
        graphs.append(str(folder / f"{name}-graph.parquet"))
        _run("build-graph", "--hits", hits[-1], "--cuts", str(folder / "cuts.npz"),
             "--out", graphs[-1])
    return hits, graphs


def child(args: argparse.Namespace) -> None:
    """Time one model on every event; print one JSON line."""
    import torch

    from trackrec.io.checkpoint import read_provenance
    from trackrec.models.data import read_graph_event
    from trackrec.models.infer import load_model, predict
    from trackrec.models.layers import count_parameters

    torch.set_num_threads(args.threads)
    path = Path(args.models_dir) / f"gnn_{args.child}.pt"
    arch = {k: v for k, v in read_provenance(path)["config"][args.child].items()
            if k not in ("q_min", "noise_weight", "min_pt")}
    model, norm, _ = load_model(path, args.child, arch)
    events = [read_graph_event(h, g) for h, g in zip(args.hits, args.graphs)]
    predict(model, args.child, events[0], norm)  # warm-up
    seconds, cpu_seconds = [], []
    for event in events:
        times, cpu_times = [], []
        for _ in range(args.repeat):
            start, cpu_start = time.perf_counter(), time.process_time()
            predict(model, args.child, event, norm)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        seconds.append(sorted(times)[len(times) // 2])
        cpu_seconds.append(sorted(cpu_times)[len(cpu_times) // 2])
    print(json.dumps({
        "model": args.child, "n_params": count_parameters(model),
        "seconds": seconds, "cpu_seconds": cpu_seconds, "edges": [e.n_edges for e in events],
        "hits": [e.n_hits for e in events],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--hits", nargs="*", default=[])
    parser.add_argument("--graphs", nargs="*", default=[])
    parser.add_argument("--events", type=int, default=2)
    parser.add_argument("--pileup", type=float, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not args.hits:
            print(f"simulating {args.events} pileup-{args.pileup:g} events ...", flush=True)
            args.hits, args.graphs = simulated_events(Path(tmp), args.events, args.pileup)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch threads "
              f"{args.threads}; load average {os.getloadavg()[0]:.1f}")
        print("| model | parameters | hits / event | edges / event | s / event (median of "
              f"{args.repeat}) | CPU s / event | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for model in args.models:
            out = subprocess.run(
                [sys.executable, __file__, "--child", model, "--models-dir", args.models_dir,
                 "--threads", str(args.threads), "--repeat", str(args.repeat),
                 "--hits", *args.hits, "--graphs", *args.graphs],
                check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            secs = ", ".join(f"{s:.2f}" for s in r["seconds"])
            hits = ", ".join(str(n) for n in r["hits"])
            edges = ", ".join(str(n) for n in r["edges"])
            cpu = ", ".join(f"{s:.2f}" for s in r["cpu_seconds"])
            print(f"| {model} | {r['n_params']} | {hits} | {edges} | {secs} | {cpu} | "
                  f"{r['peak_rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
