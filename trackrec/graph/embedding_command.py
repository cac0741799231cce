"""``trackrec train-embedding``, and the learned half of ``build-graph``.

``train-embedding`` trains the hit embedding on the training events (resumable from
``--resume``), scans k on the validation events and writes ``NAME.pt`` with its provenance
(config, features, normalisation, events, the k scan and the chosen k). ``build-graph
--model`` embeds one event and joins each hit to its k nearest latent neighbours within the
radius.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from trackrec.errors import InputError, TrackrecError

EMBEDDING_KIND = "graph_embedding"


def _config_from_args(args: argparse.Namespace):
    from trackrec.graph.train import EmbeddingConfig

    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(EmbeddingConfig)
              if f.name != "extra" and getattr(args, f.name, None) is not None}
    if "k_scan" in values:
        values["k_scan"] = tuple(sorted(set(values["k_scan"])))
    config = EmbeddingConfig(**values)
    config.validate()
    return config


def run_train_embedding(args: argparse.Namespace) -> int:
    import torch

    from trackrec.graph.command import _event_name, _pairs, _read_event
    from trackrec.graph.train import (
        FEATURES,
        choose_k,
        event_sample,
        hit_features,
        k_scan,
        latent_graph,
        train_embedding,
    )
    from trackrec.io.checkpoint import model_provenance, save_torch_model
    from trackrec.metrics.edges import edge_metrics

    torch.set_num_threads(args.threads)
    config = _config_from_args(args)
    train_files = _pairs(args.hits, args.particles, "training events")
    val_files = _pairs(args.val_hits or [], args.val_particles or [], "validation events")
    train_events = [_read_event(h, p) for h, p in train_files]
    val_events = [_read_event(h, p) for h, p in val_files] or train_events[-1:]
    features = [hit_features(h) for h, _ in train_events]
    stacked = np.concatenate(features)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    std[std == 0] = 1.0
    samples = [event_sample(h, p, mean, std, args.pt_min) for h, p in train_events]

    def log(line: str) -> None:
        print(line, flush=True)

    def validate(model) -> float:
        hits, particles = val_events[0]
        from trackrec.graph.train import embed

        points = embed(model, ((hit_features(hits) - mean) / std).astype(np.float32))
        k = max(config.k_scan)
        src, dst, latent = latent_graph(points, hits, k, config.radius, workers=args.threads)
        return edge_metrics(src, dst, np.ones(len(src)), hits, particles,
                            pt_threshold=args.pt_min)["segment50"]

    start = time.perf_counter()
    model, steps, seconds = train_embedding(samples, config, resume_path=args.resume, log=log,
                                            validate=validate,
                                            validate_every=args.validate_every)
    scan = k_scan(model, val_events, mean, std, config, pt_min=args.pt_min,
                  workers=args.threads)
    k = choose_k(scan, config.target_segment50)
    for row in scan:
        log("k scan: " + " ".join(f"{key} {value:.4g}" for key, value in row.items()))
    chosen = next(row for row in scan if int(row["k"]) == k)
    provenance = model_provenance(
        kind=EMBEDDING_KIND,
        config={"pt_min": args.pt_min, **config.record()},
        features=list(FEATURES),
        normalisation={"mean": mean.tolist(), "std": std.tolist()},
        train_events=[_event_name(h) for h, _ in train_files],
        val_events=[_event_name(h) for h, _ in val_files],
        data={"hits": [str(h) for h, _ in train_files], "source": args.data_source},
        metrics={"k": k, "radius": config.radius, "steps_done": steps,
                 **{f"val_{key}": value for key, value in chosen.items() if key != "k"},
                 "k_scan": scan},
        train_seconds=seconds,
        extra={"architecture": {"in_dim": len(FEATURES), "hidden": config.hidden,
                                "depth": config.depth, "out_dim": config.out_dim}},
    )
    save_torch_model(args.out, model.state_dict(), provenance)
    log(f"wrote {args.out}: k {k}, validation segment50 {chosen['segment50']:.4f}, "
        f"{chosen['edges_per_hit']:.2f} edges per hit ({time.perf_counter() - start:.0f} s)")
    return 0


def load_embedding(path: Path, *, pt_min: float | None = None):
    """The embedding model (eval mode) and its provenance, checked against the features."""
    from trackrec.graph.embedding import ResidualMLP
    from trackrec.graph.train import FEATURES
    from trackrec.io.checkpoint import load_torch_model

    expected: dict = {"kind": EMBEDDING_KIND, "features": list(FEATURES)}
    if pt_min is not None:
        expected["config.pt_min"] = pt_min
    weights, provenance = load_torch_model(path, expected=expected)
    arch = provenance.get("architecture", {})
    try:
        model = ResidualMLP(**{key: int(arch[key]) for key in
                               ("in_dim", "hidden", "depth", "out_dim")})
        model.load_state_dict(weights)
    except (KeyError, ValueError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(path, f"weights do not fit the architecture {arch} ({first})") from None
    model.eval()
    return model, provenance


def embedding_edges(hits, args: argparse.Namespace):
    """Edges, oriented and deduplicated, with their latent distances (``build-graph --model``)."""
    import torch

    from trackrec.graph.train import embed, hit_features, latent_graph

    torch.set_num_threads(args.threads)
    model, provenance = load_embedding(args.model, pt_min=args.pt_min)
    norm = provenance["normalisation"]
    mean, std = np.asarray(norm["mean"]), np.asarray(norm["std"])
    k = args.k if args.k is not None else int(provenance["metrics"]["k"])
    radius = args.radius if args.radius is not None else float(provenance["metrics"]["radius"])
    if k < 1:
        raise TrackrecError(f"--k must be at least 1, not {k}")
    try:
        x = ((hit_features(hits) - mean) / std).astype(np.float32)
    except TrackrecError as err:
        raise InputError(args.hits, str(err)) from None
    device = _device(getattr(args, "device", "cpu"))
    if device == "cpu":
        points = embed(model, x)
        return latent_graph(points, hits, k, radius, workers=args.threads)
    from trackrec.graph.knn import knn_neighbours_torch

    model = model.to(device)
    with torch.no_grad():
        latent = model(torch.from_numpy(x).to(device))
    neighbours = knn_neighbours_torch(latent, k, radius)
    return latent_graph(latent.cpu().numpy(), hits, k, radius, neighbours=neighbours)


def _device(choice: str) -> str:
    """``cpu`` or ``cuda`` for ``auto|cpu|cuda`` (CUDA asked for but absent is an error)."""
    import torch

    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if not torch.cuda.is_available():
        raise TrackrecError("--device cuda: no CUDA device is available")
    return "cuda"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-embedding`` to trackrec."""
    from trackrec.graph.train import EmbeddingConfig

    parser = subparsers.add_parser(
        "train-embedding",
        help="train the metric-learning hit embedding for graph construction",
        description="Train the residual-MLP hit embedding on sectors of the training events "
        "(hinge or InfoNCE loss), resumable with --resume; scan k on the validation events and "
        "write NAME.pt with its provenance NAME.json (chosen k, radius, the scan).",
    )
    parser.add_argument("--hits", nargs="+", required=True, type=Path)
    parser.add_argument("--particles", nargs="+", required=True, type=Path)
    parser.add_argument("--val-hits", nargs="*", type=Path)
    parser.add_argument("--val-particles", nargs="*", type=Path)
    parser.add_argument("--out", required=True, type=Path, metavar="EMBEDDING.pt")
    parser.add_argument("--resume", type=Path, metavar="STATE.pt",
                        help="resume file: read when present, rewritten while training")
    parser.add_argument("--pt-min", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--validate-every", type=int, default=500)
    parser.add_argument("--data-source", default=None,
                        help="how the events were made, recorded in the provenance")
    defaults = EmbeddingConfig()
    for f in dataclasses.fields(EmbeddingConfig):
        if f.name == "extra":
            continue
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, tuple):
            parser.add_argument(flag, type=int, nargs="+", default=None,
                                help=f"(default: {' '.join(map(str, default))})")
        else:
            parser.add_argument(flag, type=type(default), default=None,
                                help=f"(default: {default})")
    parser.set_defaults(handler=run_train_embedding)
