"""Benchmark every method's chain from a Parquet hits table to tracks, stage by stage.

Each stage runs as the workflow runs it, a ``trackrec`` command in its own process (reading
and writing Parquet, importing torch, loading the model: what a job costs), and is timed
with its wall seconds and peak RSS (``os.wait4``). Stages: ``build-graph`` (the shipped
geometric cuts), ``infer-gnn`` (each shipped GNN, its architecture from the checkpoint's
provenance), ``build-tracks-edges`` (walk-through and components), ``build-tracks-oc``
(DBSCAN parameters scanned with ``scan-oc-dbscan`` on one more simulated validation event)
and ``track-dbscan`` (the baseline). A method's chain is the sum of its stages.

Events: ``--events`` simulated pileup-``--pileup`` events (made with the ``trackrec``
commands; scored with ``trackrec evaluate``: efficiencies, fake rate, TrackML score), and
``--real`` TrackML events without truth (``../shared/data/trackml_full``: timing and track
counts only). Prints the machine and markdown tables.

    python benchmarks/bench_chain.py [--events 2] [--pileup 200] [--threads 2] [--real ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "trackml_full"
ARCH_SKIP = ("q_min", "noise_weight", "min_pt")  # loss settings, not architecture


def timed(*args: str) -> tuple[float, float, float]:
    """Run ``trackrec ARGS``; (wall seconds, peak RSS in MB, CPU seconds) of its process."""
    start = time.perf_counter()
    proc = subprocess.Popen(["trackrec", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"trackrec {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def simulate(folder: Path, n_events: int, pileup: float) -> list[str]:
    """``n_events`` simulated events ingested into ``folder`` (NAME-hits/-particles.parquet)."""
    sim = folder / "sim"
    timed("simulate-detector", "--out", str(sim / "detectors.csv.gz"))
    timed("simulate", "--out", str(sim), "--events", str(n_events), "--pileup", str(pileup),
          "--seed", "11", "--first-event-id", "700000", "--detectors",
          str(sim / "detectors.csv.gz"))
    names = [f"event{700000 + i:09d}" for i in range(n_events)]
    for name in names:
        timed("ingest", str(sim / name), "--hits", str(folder / f"{name}-hits.parquet"),
              "--particles", str(folder / f"{name}-particles.parquet"),
              "--detectors", str(sim / "detectors.csv.gz"))
    return names


def arch_options(models_dir: Path, model: str) -> list[str]:
    provenance = json.loads((models_dir / f"gnn_{model}.json").read_text())
    options = []
    for key, value in provenance["config"][model].items():
        if key not in ARCH_SKIP:
            options += [f"--{key.replace('_', '-')}", str(value)]
    return options


def run_stages(folder: Path, name: str, models_dir: Path, threads: int,
               oc_options: list[str]) -> dict[str, tuple[float, float, float]]:
    """Every stage on one event: {stage: (seconds, peak MB)}; outputs in ``folder``."""
    hits = str(folder / f"{name}-hits.parquet")
    graph = str(folder / f"{name}-graph.parquet")
    got = {"build_graph": timed("build-graph", "--hits", hits, "--cuts",
                                str(models_dir / "graph_cuts.npz"), "--out", graph,
                                "--threads", str(threads))}
    for model in ("interaction_network", "euclidnet", "condensation"):
        got[f"infer_gnn/{model}"] = timed(
            "infer-gnn", "--model", model, *arch_options(models_dir, model), "--device", "cpu",
            "--threads", str(threads), "--checkpoint", str(models_dir / f"gnn_{model}.pt"),
            "--hits", hits, "--graph", graph, "--out", str(folder / f"{name}-{model}.parquet"))
    for classifier in ("interaction_network", "euclidnet"):
        for builder in ("walkthrough", "components"):
            got[f"track_gnn_ec/{classifier}/{builder}"] = timed(
                "build-tracks-edges", "--hits", hits, "--scores",
                str(folder / f"{name}-{classifier}.parquet"), "--builder", builder,
                "--out", str(folder / f"{name}-tracks-{classifier}-{builder}.parquet"))
    if oc_options:
        got["track_gnn_oc"] = timed(
            "build-tracks-oc", "--scores", str(folder / f"{name}-condensation.parquet"),
            *oc_options, "--out", str(folder / f"{name}-tracks-oc.parquet"))
    got["track_dbscan_baseline"] = timed(
        "track-dbscan", "--hits", hits, "--threads", str(threads),
        "--out", str(folder / f"{name}-tracks-dbscan.parquet"))
    return got


def chains(oc: bool) -> dict[str, list[str]]:
    out = {"dbscan_baseline": ["track_dbscan_baseline"]}
    for classifier in ("interaction_network", "euclidnet"):
        for builder in ("walkthrough", "components"):
            out[f"gnn_ec ({classifier}, {builder})"] = [
                "build_graph", f"infer_gnn/{classifier}", f"track_gnn_ec/{classifier}/{builder}"]
    if oc:
        out["gnn_oc"] = ["build_graph", "infer_gnn/condensation", "track_gnn_oc"]
    return out


def track_files(folder: Path, name: str) -> dict[str, Path]:
    files = {"dbscan_baseline": folder / f"{name}-tracks-dbscan.parquet",
             "gnn_oc": folder / f"{name}-tracks-oc.parquet"}
    for classifier in ("interaction_network", "euclidnet"):
        for builder in ("walkthrough", "components"):
            files[f"gnn_ec ({classifier}, {builder})"] = (
                folder / f"{name}-tracks-{classifier}-{builder}.parquet")
    return files


def print_tables(label: str, per_event: list[dict[str, tuple[float, float, float]]],
                 oc: bool) -> None:
    """Wall and CPU seconds (on a shared machine CPU seconds / threads is nearer an idle
    machine's wall time) and peak RSS, per stage and per method chain."""
    print(f"\n### {label}: seconds per event (mean over {len(per_event)}) and peak RSS\n")
    print("| stage | wall s / event | CPU s / event | peak RSS MB |\n|---|---|---|---|")
    for stage in per_event[0]:
        secs = sum(e[stage][0] for e in per_event) / len(per_event)
        cpu = sum(e[stage][2] for e in per_event) / len(per_event)
        rss = max(e[stage][1] for e in per_event)
        print(f"| {stage} | {secs:.2f} | {cpu:.2f} | {rss:.0f} |")
    print("\n| method chain (Parquet hits -> tracks) | wall s / event | CPU s / event | "
          "peak RSS MB (largest stage) |\n|---|---|---|---|")
    for method, stages in chains(oc).items():
        secs = sum(e[s][0] for e in per_event for s in stages) / len(per_event)
        cpu = sum(e[s][2] for e in per_event for s in stages) / len(per_event)
        rss = max(e[s][1] for e in per_event for s in stages)
        print(f"| {method} | {secs:.2f} | {cpu:.2f} | {rss:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--events", type=int, default=2,
                        help="simulated test events (0: only the validation event, for the "
                        "scan, and the real events)")
    parser.add_argument("--pileup", type=float, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--real", nargs="*", default=None,
                        help="TrackML event prefixes without truth (default: those of "
                        f"{REAL}); none: skip")
    args = parser.parse_args()
    real = args.real if args.real is not None else sorted(
        str(p).removesuffix("-hits.csv.gz") for p in REAL.glob("*-hits.csv.gz"))
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores "
          f"({platform.processor() or 'cpu'}), threads {args.threads}; load average "
          f"{os.getloadavg()[0]:.1f}; models from {args.models_dir}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"simulating {args.events} + 1 (validation) pileup-{args.pileup:g} events ...",
              flush=True)
        names = simulate(folder, args.events + 1, args.pileup)
        val, tests = names[-1], names[:-1]
        # gnn_oc's DBSCAN parameters, scanned on the validation event (not timed as a stage)
        run_stages(folder, val, args.models_dir, args.threads, [])
        scan = folder / "scan.json"
        timed("scan-oc-dbscan", "--scores", str(folder / f"{val}-condensation.parquet"),
              "--hits", str(folder / f"{val}-hits.parquet"), "--particles",
              str(folder / f"{val}-particles.parquet"), "--out", str(scan),
              "--section", str(folder / "section.json"))
        best = json.loads(scan.read_text())["best"]
        print(f"gnn_oc DBSCAN scan on {val}: eps {best['eps']}, min_samples "
              f"{best['min_samples']}, validation eff_dm_pt0.9 {best['score']:.4f}")
        per_event = [run_stages(folder, n, args.models_dir, args.threads, ["--scan", str(scan)])
                     for n in tests]
        if per_event:
            print_tables(f"simulated pileup {args.pileup:g}", per_event, oc=True)
        if tests:
            print("\n| method | eff DM | eff perfect | eff LHC | fake rate | duplicate rate | "
                  "TrackML score |  (pT > 0.9 GeV, mean over events)\n|---|---|---|---|---|---|---|")
        keys = ("eff_dm_pt0.9", "eff_perfect_pt0.9", "eff_lhc_pt0.9", "fake_rate_pt0.9",
                "duplicate_rate_pt0.9", "trackml_score")
        for i, method in enumerate(chains(True) if tests else []):
            values = []
            for name in tests:
                out = folder / f"{name}-metrics-{i}.json"
                timed("evaluate", "--hits", str(folder / f"{name}-hits.parquet"), "--particles",
                      str(folder / f"{name}-particles.parquet"), "--tracks",
                      str(track_files(folder, name)[method]), "--out", str(out))
                values.append(json.loads(out.read_text()))
            means = [sum(v.get(k, float("nan")) for v in values) / len(values) for k in keys]
            print(f"| {method} | " + " | ".join(f"{m:.4f}" for m in means) + " |")
        if real:
            real_events = []
            for prefix in real:
                name = Path(prefix).name
                # the full events have hits and particles but no truth: ingest the hits alone,
                # as a test event
                (folder / "real").mkdir(exist_ok=True)
                hits_csv = Path(f"{prefix}-hits.csv.gz")
                (folder / "real" / hits_csv.name).symlink_to(hits_csv.resolve())
                timed("ingest", str(folder / "real" / name), "--hits",
                      str(folder / f"{name}-hits.parquet"),
                      "--particles", str(folder / f"{name}-particles.parquet"))
                real_events.append(run_stages(folder, name, args.models_dir, args.threads,
                                              ["--scan", str(scan)]))
            print("\n| method | tracks of >= 3 hits per real event |\n|---|---|")
            for method in chains(True):
                counts = []
                for prefix in real:
                    tracks = pd.read_parquet(track_files(folder, Path(prefix).name)[method])
                    sizes = tracks["track_id"].value_counts()
                    counts.append(str(int((sizes >= 3).sum())))
                print(f"| {method} | {', '.join(counts)} |")
            print_tables(f"real TrackML events ({', '.join(Path(p).name for p in real)}; no "
                         "truth)", real_events, oc=True)


if __name__ == "__main__":
    main()
