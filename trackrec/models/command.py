"""``trackrec train-gnn``, ``infer-gnn``, ``evaluate-edges`` and ``summarise-gnn``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# model settings per kind (config section gnn.<kind>), with their types and defaults
MODEL_OPTIONS = {
    "hidden": (int, None, "latent width"),
    "iterations": (int, None, "message-passing iterations (interaction_network, condensation)"),
    "layers": (int, None, "message-passing layers (euclidnet)"),
    "coordinate_scale": (float, None, "coordinate update scale c (euclidnet)"),
    "coordinates": (int, None, "clustering-space dimensions (condensation)"),
    "q_min": (float, 0.1, "minimum charge q_min of the condensation loss"),
    "noise_weight": (float, 1.0, "weight s_B of the noise term of the beta loss"),
    "min_pt": (float, 0.0, "particles under this pT (GeV) count as noise for condensation"),
}
TRAINING_OPTIONS = {
    "epochs": (int, 10, "most epochs"),
    "patience": (int, 3, "epochs without a better validation loss before stopping"),
    "learning_rate": (float, 3e-3, "Adam learning rate"),
    "sectors": (int, 4, "azimuthal sectors per event: sub-graphs per training step"),
    "pos_weight": (float, None, "weight of true edges in the BCE (default: false/true ratio)"),
    "seed": (int, 0, "random seed"),
}
LOSS_KEYS = ("q_min", "noise_weight", "min_pt")


def _add_options(parser: argparse.ArgumentParser, options: dict) -> None:
    for name, (kind, default, text) in options.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default,
                            help=f"{text} (default: %(default)s)")


def _add_model(parser: argparse.ArgumentParser) -> None:
    from trackrec.models.registry import MODEL_KINDS

    parser.add_argument("--model", required=True, choices=MODEL_KINDS, help="model kind")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where to run (cuda without CUDA falls back to cpu with a warning)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    _add_options(parser, MODEL_OPTIONS)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the GNN subcommands to ``trackrec``."""
    train = subparsers.add_parser(
        "train-gnn", help="train a GNN (edge classifier or object condensation) on hit graphs",
        description="Train a GNN on training events, validate each epoch, stop early, and "
        "write the best weights with their provenance, the loss curve (CSV) and its plot. "
        "Resumable: --state keeps the last finished epoch.")
    _add_model(train)
    _add_options(train, TRAINING_OPTIONS)
    train.add_argument("--train-hits", nargs="+", required=True, help="hits tables (training)")
    train.add_argument("--train-graphs", nargs="+", required=True, help="graph tables (training)")
    train.add_argument("--val-hits", nargs="*", default=[],
                       help="hits tables (validation; none: validate on the training events)")
    train.add_argument("--val-graphs", nargs="*", default=[], help="graph tables (validation)")
    train.add_argument("--out", required=True, help="model weights to write (.pt, + .json)")
    train.add_argument("--curve", required=True, help="loss curve CSV to write")
    train.add_argument("--plot", help="loss curve PNG to write")
    train.add_argument("--state", help="resume state file (kept between runs)")
    train.add_argument("--data-provenance", default="{}",
                       help="JSON object describing the data source (stored in the provenance)")
    train.add_argument("--max-seconds", type=float, help="stop after the epoch that passes this")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)

    infer = subparsers.add_parser(
        "infer-gnn", help="run a trained GNN on one event's graph",
        description="Write edge scores (edge classifiers: edge_scores table) or per-hit "
        "clustering coordinates and beta (condensation: hit_condensation table).")
    _add_model(infer)
    infer.add_argument("--checkpoint", required=True, help="model weights (.pt with .json)")
    infer.add_argument("--hits", required=True, help="hits table")
    infer.add_argument("--graph", required=True, help="graph table")
    infer.add_argument("--out", required=True, help="scores table to write")
    infer.set_defaults(handler=run_infer)

    evaluate = subparsers.add_parser(
        "evaluate-edges", help="edge metrics (AUC, efficiency, purity) of one event's scores")
    evaluate.add_argument("--hits", required=True)
    evaluate.add_argument("--particles", required=True)
    evaluate.add_argument("--scores", required=True, help="edge_scores table")
    evaluate.add_argument("--out", required=True, help="JSON to write")
    evaluate.add_argument("--working-point", type=float, default=0.5, help="score cut")
    evaluate.add_argument("--pt-threshold", type=float, default=0.9,
                          help="pT of particles of interest (GeV)")
    evaluate.set_defaults(handler=run_evaluate_edges)

    summary = subparsers.add_parser(
        "summarise-gnn", help="the models section of the report: sizes and edge metrics")
    summary.add_argument("--checkpoints", nargs="+", required=True,
                         help="model files (their provenance names the kind)")
    summary.add_argument("--edge-metrics", nargs="*", default=[],
                         help="per-event evaluate-edges JSONs, in folders named after the model")
    summary.add_argument("--working-point", type=float, default=0.5)
    summary.add_argument("--out", required=True, help="JSON to write ({'models': {...}})")
    summary.set_defaults(handler=run_summary)


def _model_section(args: argparse.Namespace) -> tuple[dict, dict]:
    """(architecture, loss settings) of the chosen model from the options."""
    from trackrec.errors import TrackrecError
    from trackrec.models.registry import architecture

    given = {k: getattr(args, k) for k in MODEL_OPTIONS if getattr(args, k) is not None}
    arch = architecture(args.model, given)
    loss = {k: given[k] for k in LOSS_KEYS} if args.model == "condensation" else {}
    for key, value in arch.items():
        if value <= 0:
            raise TrackrecError(f"gnn.{args.model}.{key} must be > 0, got {value}")
    return arch, loss


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))


def _read_events(hits: list[str], graphs: list[str], what: str):
    from trackrec.errors import TrackrecError
    from trackrec.models.data import read_graph_event

    if len(hits) != len(graphs):
        raise TrackrecError(f"{len(hits)} {what} hits tables but {len(graphs)} graph tables")
    return [read_graph_event(h, g, Path(h).stem) for h, g in zip(hits, graphs)]


def run_train(args: argparse.Namespace) -> None:
    from trackrec.errors import TrackrecError
    from trackrec.io.checkpoint import model_provenance, save_torch_model
    from trackrec.models.data import Normalisation
    from trackrec.models.layers import count_parameters
    from trackrec.models.registry import build_model, model_features, resolve_device
    from trackrec.models.train import TrainingParams, train_model, write_curve

    arch, loss = _model_section(args)
    params = TrainingParams(**{k: getattr(args, k) for k in TRAINING_OPTIONS})
    params.validate()
    try:
        data = json.loads(args.data_provenance)
    except json.JSONDecodeError as err:
        raise TrackrecError(f"--data-provenance is not JSON ({err})") from None
    _set_threads(args.threads)
    device = resolve_device(args.device)
    train_events = _read_events(args.train_hits, args.train_graphs, "training")
    val_events = _read_events(args.val_hits, args.val_graphs, "validation")
    if not val_events:
        print("no validation events: validating (and stopping early) on the training events",
              file=sys.stderr)
    norm = Normalisation.measure(train_events)
    n_params = count_parameters(build_model(args.model, arch))
    config = {args.model: {**arch, **loss}, "training": {
        k: getattr(args, k) for k in TRAINING_OPTIONS}}
    print(f"{args.model}: {n_params} parameters, {len(train_events)} training events "
          f"({sum(e.n_edges for e in train_events)} edges), {len(val_events)} validation, "
          f"device {device}, {args.threads} threads", file=sys.stderr, flush=True)

    def save(result) -> None:
        provenance = model_provenance(
            kind=f"gnn_{args.model}", config=config, features=model_features(args.model),
            normalisation=norm.record(), train_events=[e.event for e in train_events],
            val_events=[e.event for e in val_events], data=data,
            metrics={"best_epoch": result.best_epoch, "val_loss": result.best_val_loss,
                     **result.best_metrics, "epochs_run": result.epochs_run},
            train_seconds=result.seconds, extra={"n_params": n_params, "device": device})
        save_torch_model(args.out, result.weights, provenance)

    started = time.perf_counter()
    result = train_model(args.model, arch, params, train_events, val_events or train_events,
                         norm, loss=loss,
                         device=device, state_path=args.state, on_improvement=save,
                         progress=not args.quiet, max_seconds=args.max_seconds)
    save(result)
    write_curve(result.curve, args.curve, args.plot, f"{args.model} ({n_params} parameters)")
    print(f"best epoch {result.best_epoch}: val loss {result.best_val_loss:.5g} "
          f"({time.perf_counter() - started:.0f} s this run)", file=sys.stderr)


def run_infer(args: argparse.Namespace) -> None:
    from trackrec.io.parquet import write_table
    from trackrec.models.data import read_graph_event
    from trackrec.models.infer import load_model, predict
    from trackrec.models.registry import EDGE_CLASSIFIERS, resolve_device

    arch, _ = _model_section(args)
    _set_threads(args.threads)
    device = resolve_device(args.device)
    model, norm, _ = load_model(args.checkpoint, args.model, arch, device)
    event = read_graph_event(args.hits, args.graph)
    frame = predict(model, args.model, event, norm, device)
    table = "edge_scores" if args.model in EDGE_CLASSIFIERS else "hit_condensation"
    write_table(frame, args.out, table)


def run_evaluate_edges(args: argparse.Namespace) -> None:
    from trackrec.io.jsonfile import write_json
    from trackrec.io.parquet import read_table
    from trackrec.metrics.edges import HITS_COLUMNS, PARTICLE_COLUMNS, edge_metrics

    hits = read_table(args.hits, "hits", columns=list(HITS_COLUMNS))
    particles = read_table(args.particles, "particles", columns=list(PARTICLE_COLUMNS))
    scores = read_table(args.scores, "edge_scores")
    metrics = edge_metrics(scores["src"].to_numpy(), scores["dst"].to_numpy(),
                           scores["score"].to_numpy(), hits, particles,
                           threshold=args.working_point, pt_threshold=args.pt_threshold)
    write_json(args.out, metrics, indent=2)  # strict JSON: undefined ratios are null


def run_summary(args: argparse.Namespace) -> None:
    from trackrec.io.checkpoint import read_provenance
    from trackrec.io.jsonfile import write_json
    from trackrec.models.metrics import models_section

    facts, names = {}, {}
    for path in args.checkpoints:
        provenance = read_provenance(path)
        name = provenance["kind"].removeprefix("gnn_")
        names[name] = path
        facts[name] = {"kind": provenance["kind"], "n_params": provenance.get("n_params"),
                       "checkpoint": Path(path).name,
                       "val_metrics": provenance.get("metrics", {})}
    per_event: dict[str, list] = {}
    for path in args.edge_metrics:
        per_event.setdefault(Path(path).parent.name, []).append(json.loads(Path(path).read_text()))
    section = models_section(facts, per_event, args.working_point)
    write_json(args.out, {"models": section}, indent=2)  # strict JSON: std of 1 event is null
