"""``trackrec graph-cuts``, ``build-graph`` and ``evaluate-graph``: graph construction stages.

``graph-cuts`` derives the geometric layer-pair cuts from training events and writes them as
an array model (``.npz`` + provenance JSON, checked on validation events); ``build-graph``
writes one event's ``graph`` table from the cuts or from a trained embedding;
``evaluate-graph`` writes the event's edge metrics (:mod:`trackrec.metrics.edges`) as flat
JSON.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from trackrec.errors import InputError, TrackrecError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

GRAPH_HIT_COLUMNS = ["hit_id", "x", "y", "z", "r", "phi", "eta", "volume_id", "layer_id"]
CUTS_KIND = "graph_geometric_cuts"


def _read_event(hits_path: Path, particles_path: Path | None = None):
    from trackrec.io.parquet import read_table

    hits = read_table(hits_path, "hits")
    missing = [c for c in GRAPH_HIT_COLUMNS if c not in hits.columns]
    if missing:
        raise InputError(hits_path, f"hits table lacks column(s) {', '.join(missing)}")
    if particles_path is None:
        return hits, None
    particles = read_table(particles_path, "particles")
    if "particle_id" not in hits.columns or particles.empty:
        raise InputError(particles_path, "event has no truth (graph training and metrics need it)")
    return hits, particles


def _event_name(path: Path) -> str:
    return path.name.split("-")[0].removesuffix(".parquet")


def _pairs(args_hits: list[Path], args_particles: list[Path], what: str) -> list[tuple[Path, Path]]:
    if len(args_hits) != len(args_particles):
        raise TrackrecError(f"{what}: give as many particles tables as hits tables "
                            f"({len(args_hits)} hits, {len(args_particles)} particles)")
    return list(zip(args_hits, args_particles))


def run_graph_cuts(args: argparse.Namespace) -> int:
    import numpy as np

    from trackrec.graph.geometric import check_cuts, derive_cuts
    from trackrec.io.checkpoint import model_provenance, save_array_model

    start = time.perf_counter()
    train = _pairs(args.hits, args.particles, "training events")
    val = _pairs(args.val_hits or [], args.val_particles or [], "validation events")
    events = [_read_event(h, p) for h, p in train]
    config = {"pt_min": args.pt_min, "quantile": args.quantile, "margin": args.margin,
              "min_pair_fraction": args.min_pair_fraction, "max_abs_eta": args.max_abs_eta,
              "beam_spread_z": args.beam_spread_z, "seed": args.seed}
    cuts = derive_cuts(events, **config)
    checks = [check_cuts(cuts, *_read_event(h, p), max_abs_eta=args.max_abs_eta)
              for h, p in (val or train)]
    metrics = {
        "checked_on": "validation" if val else "training",
        "segment_coverage": float(np.mean([c["segment_coverage"] for c in checks])),
        "segment_on_pairs": float(np.mean([c["segment_on_pairs"] for c in checks])),
        "n_layer_pairs": cuts.n_pairs,
    }
    provenance = model_provenance(
        kind=CUTS_KIND,
        config=config,
        features=["r", "phi", "z", "eta", "volume_id", "layer_id"],
        normalisation=None,
        train_events=[_event_name(h) for h, _ in train],
        val_events=[_event_name(h) for h, _ in val],
        data={"hits": [str(h) for h, _ in train], "source": args.data_source},
        metrics=metrics,
        train_seconds=time.perf_counter() - start,
    )
    save_array_model(args.out, cuts.to_arrays(), provenance)
    print(f"{cuts.n_pairs} layer pairs; segment coverage {metrics['segment_coverage']:.4f} "
          f"on {metrics['checked_on']} events")
    return 0


def load_cuts(path: Path, *, pt_min: float | None = None):
    from trackrec.graph.geometric import LayerPairCuts
    from trackrec.io.checkpoint import load_array_model

    expected: dict = {"kind": CUTS_KIND}
    if pt_min is not None:
        expected["config.pt_min"] = pt_min
    arrays, _ = load_array_model(path, expected=expected)
    try:
        return LayerPairCuts.from_arrays(arrays)
    except TrackrecError as err:
        raise InputError(path, str(err)) from None


def run_build_graph(args: argparse.Namespace) -> int:
    from trackrec.graph.edges import distance_from_origin, graph_frame, orient_and_deduplicate
    from trackrec.io.parquet import write_table

    hits, _ = _read_event(args.hits)
    if args.cuts is not None:
        from trackrec.graph.geometric import build_edges

        cuts = load_cuts(args.cuts, pt_min=args.pt_min)
        src, dst = build_edges(hits, cuts)
        latent = None
        src, dst = orient_and_deduplicate(src, dst, distance_from_origin(hits))
    else:
        from trackrec.graph.embedding_command import embedding_edges

        src, dst, latent = embedding_edges(hits, args)
    write_table(graph_frame(hits, src, dst, latent), args.out, "graph")
    print(f"{len(src)} edges, {len(src) / max(len(hits), 1):.2f} per hit")
    return 0


def run_evaluate_graph(args: argparse.Namespace) -> int:
    import numpy as np

    from trackrec.io.atomic import atomic_output
    from trackrec.io.parquet import read_table
    from trackrec.metrics.command import metrics_json

    hits, particles = _read_event(args.hits, args.particles)
    graph = read_table(args.graph, "graph",
                       columns=["src", "dst", "src_hit_id", "dst_hit_id", "dz", "latent_distance"])
    src = graph["src"].to_numpy()
    dst = graph["dst"].to_numpy()
    if not _graph_fits_hits(graph, hits):
        raise InputError(args.graph, f"graph does not belong to hits table {args.hits}")
    distance = graph["latent_distance"].to_numpy(np.float64)
    # the learned graph ranks its edges by latent distance; a geometric one keeps its order
    scores = np.where(np.isfinite(distance), 1.0 / (1.0 + distance), 1.0)
    metrics = graph_metrics(src, dst, scores, hits, particles, pt_thresholds=args.pt_thresholds,
                            max_abs_eta=args.max_abs_eta)
    with atomic_output(args.out) as tmp:
        tmp.write_text(metrics_json(metrics))
    return 0


def _graph_fits_hits(graph, hits) -> bool:
    """Whether the graph's endpoints, hit ids and dz agree with the hits table."""
    import numpy as np

    src, dst = graph["src"].to_numpy(), graph["dst"].to_numpy()
    if not len(src):
        return True
    if min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= len(hits):
        return False
    hit_id, z = hits["hit_id"].to_numpy(), hits["z"].to_numpy(np.float64)
    return bool(np.array_equal(hit_id[src], graph["src_hit_id"])
                and np.array_equal(hit_id[dst], graph["dst_hit_id"])
                and np.allclose(z[dst] - z[src], graph["dz"], atol=1e-2))


def graph_metrics(src: np.ndarray, dst: np.ndarray, scores: np.ndarray, hits: pd.DataFrame,
                  particles: pd.DataFrame, *, pt_thresholds: list[float],
                  max_abs_eta: float) -> dict[str, float]:
    """Edge metrics of a constructed graph, one key set per pT threshold (``..._pt0.9``)."""
    from trackrec.metrics.edges import edge_metrics

    out: dict[str, float] = {}
    for pt in pt_thresholds:
        m = edge_metrics(src, dst, scores, hits, particles, threshold=0.0,
                         pt_threshold=pt, max_abs_eta=max_abs_eta)
        suffix = f"pt{pt:g}"
        out[f"edge_eff_{suffix}"] = m["edge_eff_total"]
        out[f"edge_purity_{suffix}"] = m["edge_purity_pt"]
        out[f"segment50_{suffix}"] = m["segment50"]
        out[f"n_edges_segment50_95_{suffix}"] = m["n_edges_segment50_95"]
    out["edges_per_hit"] = m["edges_per_hit"]
    out["edge_purity"] = m["edge_purity"]
    out["n_edges"] = m["n_edges"]
    out["n_true_edges"] = m["n_true_edges"]
    out["n_hits"] = float(len(hits))
    return out


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the graph construction subcommands to trackrec."""
    cuts = subparsers.add_parser(
        "graph-cuts",
        help="derive geometric layer-pair cuts from training events",
        description="Find the connected layer pairs and per-pair windows on dphi, phi slope, "
        "z0 and deta that hold the truth segments of particles above --pt-min in the training "
        "events (quantile windows), check them on the validation events, and write NAME.npz "
        "with its provenance NAME.json.",
    )
    cuts.add_argument("--hits", nargs="+", required=True, type=Path, help="training hits tables")
    cuts.add_argument("--particles", nargs="+", required=True, type=Path,
                      help="training particles tables (same order)")
    cuts.add_argument("--val-hits", nargs="*", type=Path, help="validation hits tables")
    cuts.add_argument("--val-particles", nargs="*", type=Path, help="validation particles tables")
    cuts.add_argument("--out", required=True, type=Path, metavar="CUTS.npz")
    cuts.add_argument("--pt-min", type=_positive_float, default=0.9,
                      help="minimum pT (GeV) of the particles whose segments the cuts keep "
                      "(default: %(default)s)")
    cuts.add_argument("--quantile", type=float, default=0.99,
                      help="central fraction of the segments each window holds (default: "
                      "%(default)s)")
    cuts.add_argument("--margin", type=float, default=0.05,
                      help="each window widened by this fraction of its width on both sides "
                      "(default: %(default)s)")
    cuts.add_argument("--min-pair-fraction", type=float, default=2e-4,
                      help="layer pairs carrying a smaller fraction of the segments are not "
                      "connected (default: %(default)s)")
    cuts.add_argument("--max-abs-eta", type=_positive_float, default=4.0)
    cuts.add_argument("--beam-spread-z", type=float, default=0.0, metavar="MM",
                      help="move each training particle along the beam by a Gaussian shift of "
                      "this width, so the cuts hold a longer luminous region (default: "
                      "%(default)s)")
    cuts.add_argument("--seed", type=int, default=0, help="seed of those shifts")
    cuts.add_argument("--data-source", default=None,
                      help="how the events were made, recorded in the provenance")
    cuts.set_defaults(handler=run_graph_cuts)

    build = subparsers.add_parser(
        "build-graph",
        help="build one event's hit graph (geometric cuts or learned embedding)",
        description="Write the event's graph table: edges between hits passing the layer-pair "
        "cuts (--cuts), or the k nearest neighbours within a radius in the learned embedding "
        "(--model).",
    )
    build.add_argument("--hits", required=True, type=Path, help="hits table of the event")
    build.add_argument("--out", required=True, type=Path, metavar="GRAPH.parquet")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--cuts", type=Path, metavar="CUTS.npz", help="geometric cuts")
    source.add_argument("--model", type=Path, metavar="EMBEDDING.pt", help="trained embedding")
    build.add_argument("--pt-min", type=_positive_float,
                       help="refuse cuts or a model made for another minimum pT")
    build.add_argument("--k", type=int, help="neighbours per hit (default: the model's)")
    build.add_argument("--radius", type=_positive_float,
                       help="maximum latent distance (default: the model's)")
    build.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    build.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                       help="where the embedding and its kNN run: cuda uses a chunked brute-force "
                       "kNN in torch (default: cpu, cKDTree)")
    build.set_defaults(handler=run_build_graph)

    evaluate = subparsers.add_parser(
        "evaluate-graph",
        help="edge metrics of one event's graph as flat JSON",
        description="Edge efficiency, purity, edges per hit, segment50 and the edges needed "
        "for 95%% of it (trackrec.metrics.edges) for each pT threshold.",
    )
    evaluate.add_argument("--hits", required=True, type=Path)
    evaluate.add_argument("--particles", required=True, type=Path)
    evaluate.add_argument("--graph", required=True, type=Path)
    evaluate.add_argument("--out", required=True, type=Path, metavar="METRICS.json")
    evaluate.add_argument("--pt-thresholds", type=float, nargs="+", default=[0.9])
    evaluate.add_argument("--max-abs-eta", type=_positive_float, default=4.0)
    evaluate.set_defaults(handler=run_evaluate_graph)

    from trackrec.graph.embedding_command import register as register_embedding

    register_embedding(subparsers)
    from trackrec.graph.report import register as register_report

    register_report(subparsers)
