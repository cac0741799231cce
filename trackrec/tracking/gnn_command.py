"""``trackrec build-tracks-edges``, ``scan-oc-dbscan`` and ``build-tracks-oc``: GNN track building.

The ``gnn_ec`` method builds tracks from an edge classifier's scores (walk-through or
connected components); ``gnn_oc`` clusters the object-condensation coordinates with DBSCAN,
whose ``eps`` and ``min_samples`` ``scan-oc-dbscan`` chooses on the validation events (a JSON
file with the grid and the choice, and a report section).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from trackrec.errors import InputError, TrackrecError
from trackrec.options import integer, real

BUILDERS = ("walkthrough", "components")
# defaults of the tracking.gnn_ec / gnn_oc config sections (the schema repeats them; a test
# checks that they agree)
SCORE_CUT = 0.5
EPS_GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8)
MIN_SAMPLES_GRID = (1, 2, 3)
BETA_MIN = 0.0
EPS = 0.2
MIN_SAMPLES = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the GNN track-building subcommands to ``trackrec``."""
    edges = subparsers.add_parser(
        "build-tracks-edges",
        help="build tracks from edge classifier scores (gnn_ec)",
        description="Turn an event's edge scores into tracks with the walk-through or "
        "connected components over the edges above the score cut, and write the tracks "
        "table (hit_id, track_id).",
    )
    edges.add_argument("--hits", required=True, help="hits table the graph was built on")
    edges.add_argument("--scores", required=True, help="edge_scores table (trackrec infer-gnn)")
    edges.add_argument("--builder", choices=BUILDERS, default="walkthrough",
                       help="track builder (default: %(default)s)")
    edges.add_argument("--score-cut", type=real(minimum=0, maximum=1), default=SCORE_CUT,
                       help="edges scoring below are dropped (default: %(default)s)")
    edges.add_argument("--classifier", default="", help="edge classifier name, recorded in "
                       "the file's config")
    edges.add_argument("--out", required=True, help="tracks table to write (Parquet)")
    edges.set_defaults(handler=run_build_edges)

    scan = subparsers.add_parser(
        "scan-oc-dbscan",
        help="choose DBSCAN eps and min_samples for gnn_oc on validation events",
        description="Cluster the condensation coordinates of the validation events for every "
        "(eps, min_samples) of the grid and keep the pair with the highest mean "
        "double-majority efficiency at pT > 0.9 GeV; write the grid and the choice (JSON) "
        "and a report section.",
    )
    scan.add_argument("--scores", nargs="+", required=True, help="hit_condensation tables")
    scan.add_argument("--hits", nargs="+", required=True, help="hits tables with truth, "
                      "one per scores table")
    scan.add_argument("--particles", nargs="+", required=True, help="particles tables, one "
                      "per scores table")
    scan.add_argument("--eps-grid", nargs="+", type=real(exclusive_minimum=0),
                      default=list(EPS_GRID), help="DBSCAN radii tried (default: %(default)s)")
    scan.add_argument("--min-samples-grid", nargs="+", type=integer(minimum=1),
                      default=list(MIN_SAMPLES_GRID),
                      help="DBSCAN core-point thresholds tried (default: %(default)s)")
    scan.add_argument("--beta-min", type=real(minimum=0, maximum=0.99), default=BETA_MIN,
                      help="hits with a lower beta are dropped as noise (default: %(default)s)")
    scan.add_argument("--max-abs-eta", type=real(exclusive_minimum=0), default=4.0)
    scan.add_argument("--min-track-hits", type=integer(minimum=1), default=3)
    scan.add_argument("--out", required=True, help="scan result (JSON)")
    scan.add_argument("--section", required=True, help="report section file (JSON)")
    scan.set_defaults(handler=run_scan)

    oc = subparsers.add_parser(
        "build-tracks-oc",
        help="build tracks with DBSCAN on condensation coordinates (gnn_oc)",
        description="Cluster an event's object-condensation coordinates with the DBSCAN "
        "parameters chosen by scan-oc-dbscan and write the tracks table.",
    )
    oc.add_argument("--scores", required=True, help="hit_condensation table")
    oc.add_argument("--scan", help="scan-oc-dbscan result (JSON); its choice replaces "
                    "--eps, --min-samples and --beta-min")
    oc.add_argument("--eps", type=real(exclusive_minimum=0), default=EPS,
                    help="DBSCAN radius without a scan (default: %(default)s)")
    oc.add_argument("--min-samples", type=integer(minimum=1), default=MIN_SAMPLES,
                    help="DBSCAN core-point threshold without a scan (default: %(default)s)")
    oc.add_argument("--beta-min", type=real(minimum=0, maximum=0.99), default=BETA_MIN,
                    help="beta below which hits are noise, without a scan (default: %(default)s)")
    oc.add_argument("--out", required=True, help="tracks table to write (Parquet)")
    oc.set_defaults(handler=run_build_oc)


def _write_tracks(hit_id: np.ndarray, labels: np.ndarray, out: str, config: dict) -> None:
    from trackrec.io.parquet import write_table

    write_table(pd.DataFrame({"hit_id": hit_id, "track_id": labels}), out, "tracks",
                config=config)


def run_build_edges(args: argparse.Namespace) -> int:
    from trackrec.io.parquet import read_table
    from trackrec.tracking.graph_builders import component_labels, walkthrough_labels

    hits = read_table(args.hits, "hits", columns=["hit_id", "r", "volume_id", "layer_id"])
    scores = read_table(args.scores, "edge_scores")
    n = len(hits)
    ends = scores[["src", "dst"]].to_numpy()
    if len(ends) and (ends.min() < 0 or ends.max() >= n):
        raise InputError(args.scores, f"edge endpoints outside the {n} rows of {args.hits}")
    src, dst, score = scores["src"].to_numpy(), scores["dst"].to_numpy(), scores["score"].to_numpy()
    if not np.isfinite(score).all():
        raise InputError(args.scores, "edge scores are not all finite")
    if args.builder == "walkthrough":
        layer = 1000 * hits["volume_id"].to_numpy(np.int64) + hits["layer_id"].to_numpy(np.int64)
        labels = walkthrough_labels(n, src, dst, score, hits["r"].to_numpy(), args.score_cut,
                                    layer)
    else:
        labels = component_labels(n, src, dst, score, args.score_cut)
    config = {"builder": args.builder, "score_cut": args.score_cut,
              "classifier": args.classifier}
    _write_tracks(hits["hit_id"].to_numpy(), labels, args.out,
                  {"tracking": {"gnn_ec": config}})
    return 0


def _coordinates(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from trackrec.io.parquet import read_table

    table = read_table(path, "hit_condensation")
    names = [c for c in table.columns if c.startswith("c") and c[1:].isdigit()]
    if not names:
        raise InputError(path, "no clustering coordinates (c0, c1, ...)")
    names.sort(key=lambda c: int(c[1:]))
    coords = table[names].to_numpy(dtype=np.float64)
    beta = table["beta"].to_numpy(dtype=np.float64)
    if not (np.isfinite(coords).all() and np.isfinite(beta).all()):
        raise InputError(path, "coordinates or beta are not all finite")
    return table["hit_id"].to_numpy(), coords, beta


def run_scan(args: argparse.Namespace) -> int:
    from trackrec.io.atomic import atomic_outputs
    from trackrec.io.parquet import read_table
    from trackrec.metrics.tracking import track_metrics
    from trackrec.tracking.condensation import scan_dbscan

    if not len(args.scores) == len(args.hits) == len(args.particles):
        raise TrackrecError("--scores, --hits and --particles need one file per event each")
    events, truth = [], []
    for scores_path, hits_path, particles_path in zip(args.scores, args.hits, args.particles,
                                                      strict=True):
        hit_id, coords, beta = _coordinates(scores_path)
        hits = read_table(hits_path, "hits")
        if "particle_id" not in hits.columns:
            raise InputError(hits_path, "hits table has no truth; the scan needs validation "
                             "events with truth")
        events.append((coords, beta))
        truth.append((hit_id, hits, read_table(particles_path, "particles")))

    def eff_dm(i: int, labels: np.ndarray) -> float:
        hit_id, hits, particles = truth[i]
        tracks = pd.DataFrame({"hit_id": hit_id, "track_id": labels})
        missing = np.setdiff1d(hits["hit_id"].to_numpy(), hit_id)
        if len(missing):  # hits the stage did not see: single-hit tracks
            tracks = pd.concat([tracks, pd.DataFrame(
                {"hit_id": missing, "track_id": labels.max(initial=-1) + 1 + np.arange(len(missing))})])
        metrics = track_metrics(hits, particles, tracks, pt_thresholds=[0.9],
                                max_abs_eta=args.max_abs_eta, min_track_hits=args.min_track_hits)
        return metrics["eff_dm_pt0.9"]

    try:
        result = scan_dbscan(events, eff_dm, args.eps_grid, args.min_samples_grid, args.beta_min)
    except ValueError as err:
        raise TrackrecError(str(err)) from None
    result["events"] = [Path(p).stem for p in args.scores]
    result["figure_of_merit"] = "eff_dm_pt0.9"
    best = result["best"]
    section = {
        "title": "Object condensation: DBSCAN parameter scan",
        "text": f"DBSCAN on the condensation coordinates (hits with beta < {args.beta_min:g} "
                f"dropped) for every eps and min_samples of the grid on "
                f"{len(events)} validation event(s); the gnn_oc method uses the pair with the "
                f"highest mean double-majority efficiency at pT > 0.9 GeV: eps "
                f"{best['eps']:g}, min_samples {best['min_samples']}.",
        "metrics": {"chosen eps": best["eps"], "chosen min_samples": best["min_samples"],
                    "validation eff_dm_pt0.9": best["score"]},
        "table": {"columns": ["eps", "min_samples", "mean eff_dm_pt0.9"],
                  "rows": [[p["eps"], p["min_samples"], p["score"]] for p in result["grid"]]},
        "order": 45,
    }
    with atomic_outputs([args.out, args.section]) as (out, section_file):
        out.write_text(json.dumps(result, indent=1) + "\n")
        section_file.write_text(json.dumps(section, indent=1) + "\n")
    return 0


def read_scan(path: str) -> tuple[float, int, float]:
    """``(eps, min_samples, beta_min)`` chosen by a scan file; InputError naming it otherwise."""
    try:
        raw = json.loads(Path(path).read_text())
        best = raw["best"]
        return float(best["eps"]), int(best["min_samples"]), float(raw["beta_min"])
    except FileNotFoundError:
        raise
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise InputError(path, f"not a scan-oc-dbscan result ({type(err).__name__}: {err})") from None


def run_build_oc(args: argparse.Namespace) -> int:
    from trackrec.tracking.condensation import OcDbscanParams, condensation_labels

    if args.scan:
        eps, min_samples, beta_min = read_scan(args.scan)
    else:
        eps, min_samples, beta_min = args.eps, args.min_samples, args.beta_min
    params = OcDbscanParams(eps=eps, min_samples=min_samples, beta_min=beta_min)
    try:
        params.validate()
    except ValueError as err:
        raise InputError(args.scan, str(err)) from None
    hit_id, coords, beta = _coordinates(args.scores)
    labels = condensation_labels(coords, beta, params)
    _write_tracks(hit_id, labels, args.out, {"tracking": {"gnn_oc": {
        "eps": eps, "min_samples": min_samples, "beta_min": beta_min}}})
    return 0
