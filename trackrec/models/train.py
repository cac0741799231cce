"""Training a GNN: sub-graph steps on training events, validation each epoch, early stopping.

:func:`train_model` is deterministic for a seed (each epoch reseeds torch and numpy from
``(seed, epoch)``), resumable (after each epoch it writes a state file with the weights, the
optimiser, the best weights so far and the loss curve; a later call with the same
fingerprint continues after the last finished epoch), and keeps the weights of the epoch with
the lowest validation loss.

Each training step is one azimuthal sector of one event (``sectors`` per event and epoch,
covering the event, with a random offset): a sub-graph a ``sectors``-th of the event's size,
so memory and step time stay small at pileup 200 and an epoch still sees every hit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trackrec.errors import TrackrecError
from trackrec.models.data import GraphEvent, Normalisation

CURVE_COLUMNS = ("epoch", "train_loss", "val_loss", "val_edge_auc", "seconds")


@dataclasses.dataclass(frozen=True)
class TrainingParams:
    """The ``gnn.training`` config section."""

    epochs: int = 10
    patience: int = 3
    learning_rate: float = 3e-3
    sectors: int = 4
    pos_weight: float | None = None
    seed: int = 0

    def validate(self) -> None:
        if self.epochs < 1 or self.patience < 1 or self.sectors < 1:
            raise TrackrecError("gnn.training: epochs, patience and sectors must be >= 1")
        if not self.learning_rate > 0:
            raise TrackrecError("gnn.training.learning_rate must be > 0")


@dataclasses.dataclass
class TrainingResult:
    best_epoch: int
    best_val_loss: float
    best_metrics: dict[str, float]
    curve: list[dict[str, float]]
    weights: dict[str, Any]
    seconds: float
    epochs_run: int


def fingerprint(kind: str, arch: Mapping[str, Any], loss: Mapping[str, Any],
                params: TrainingParams, train_events: Sequence[str],
                val_events: Sequence[str]) -> str:
    """What a resumable state must match: model, loss and training settings, and events."""
    record = {"kind": kind, "arch": dict(arch), "loss": dict(loss),
              "training": dataclasses.asdict(params), "train": list(train_events),
              "val": list(val_events)}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _loss_fn(kind: str, loss: Mapping[str, Any], params: TrainingParams) -> Callable:
    from trackrec.models.losses import condensation_loss, weighted_bce

    if kind == "condensation":
        def oc(output, batch):
            coords, beta = output
            total, _, _ = condensation_loss(coords, beta, batch.object_id,
                                            q_min=float(loss["q_min"]),
                                            noise_weight=float(loss["noise_weight"]))
            return total
        return oc

    def bce(output, batch):
        return weighted_bce(output, batch.labels, pos_weight=params.pos_weight)
    return bce


def train_model(
    kind: str,
    arch: Mapping[str, Any],
    params: TrainingParams,
    train_events: Sequence[GraphEvent],
    val_events: Sequence[GraphEvent],
    norm: Normalisation,
    *,
    loss: Mapping[str, Any] | None = None,
    device: str = "cpu",
    state_path: str | Path | None = None,
    on_improvement: Callable[[TrainingResult], None] | None = None,
    progress: bool = True,
    max_seconds: float | None = None,
) -> TrainingResult:
    """Train ``kind``; return the best epoch's weights and the loss curve.

    ``loss`` holds the condensation settings (``q_min``, ``noise_weight``, ``min_pt``).
    ``on_improvement`` is called with the result so far whenever validation improves (to
    write the checkpoint early). ``max_seconds`` stops after the epoch that passes it (the
    state file lets a later call go on).
    """
    import torch
    from tqdm import tqdm

    from trackrec.models.metrics import validation_metrics
    from trackrec.models.registry import build_model, make_batch, run_model

    params.validate()
    loss = dict(loss or {})
    min_pt = float(loss.get("min_pt", 0.0))
    if not train_events or not val_events:
        raise TrackrecError("GNN training needs at least one training and one validation event")
    if any(not e.has_truth for e in (*train_events, *val_events)):
        raise TrackrecError("GNN training events need truth (particle_id in the hits table)")
    print_ = _printer(progress)
    key = fingerprint(kind, arch, loss, params, [e.event for e in train_events],
                      [e.event for e in val_events])
    torch.manual_seed(params.seed)
    model = build_model(kind, arch).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    loss_fn = _loss_fn(kind, loss, params)

    state = _load_state(state_path, key, print_)
    if state is not None:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        curve, best = state["curve"], state["best"]
        best_weights = state["best_weights"]
        start_epoch, bad_epochs = int(state["epoch"]) + 1, int(state["bad_epochs"])
        elapsed = float(state["seconds"])
        print_(f"resuming after epoch {start_epoch - 1} (best epoch {best['epoch']})")
    else:
        curve, best, best_weights = [], {"epoch": -1, "val_loss": math.inf, "metrics": {}}, None
        start_epoch, bad_epochs, elapsed = 0, 0, 0.0

    val_batches = [make_batch(e, norm, device=device, min_pt=min_pt) for e in val_events]
    for epoch in range(start_epoch, params.epochs):
        if bad_epochs >= params.patience:  # a resumed run that had already stopped early
            break
        started = time.perf_counter()
        rng = np.random.default_rng([params.seed, epoch])
        torch.manual_seed(params.seed * 100_003 + epoch)
        width = 2 * math.pi / params.sectors
        steps = [(i, float(rng.uniform(0, width)) + k * width)
                 for i in rng.permutation(len(train_events)) for k in range(params.sectors)]
        model.train()
        losses = []
        bar = tqdm(steps, desc=f"{kind} epoch {epoch}", disable=not progress, file=sys.stderr,
                   mininterval=5.0)
        for event_index, start in bar:
            event = train_events[event_index]
            sub = event.phi_sector(start, width) if params.sectors > 1 else event
            if sub.n_edges == 0:
                continue
            batch = make_batch(sub, norm, device=device, min_pt=min_pt)
            optimiser.zero_grad(set_to_none=True)
            value = loss_fn(run_model(model, kind, batch), batch)
            value.backward()
            optimiser.step()
            losses.append(float(value.detach()))
            bar.set_postfix(loss=f"{np.mean(losses):.4f}", refresh=False)
        model.eval()
        with torch.no_grad():
            metrics = validation_metrics(model, kind, val_batches, loss_fn)
        seconds = time.perf_counter() - started
        elapsed += seconds
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else math.nan,
               "val_loss": metrics["val_loss"], "val_edge_auc": metrics.get("val_edge_auc", math.nan),
               "seconds": seconds}
        curve.append(row)
        print_(" ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row.items()))
        improved = metrics["val_loss"] < best["val_loss"]
        if improved:
            best = {"epoch": epoch, "val_loss": metrics["val_loss"], "metrics": metrics}
            best_weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
        if state_path is not None:
            _save_state(state_path, {
                "fingerprint": key, "epoch": epoch, "bad_epochs": bad_epochs, "seconds": elapsed,
                "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                "best_weights": best_weights, "best": best, "curve": curve,
            })
        result = TrainingResult(best["epoch"], best["val_loss"], dict(best["metrics"]), curve,
                                best_weights, elapsed, len(curve))
        if improved and on_improvement is not None:
            on_improvement(result)
        if bad_epochs >= params.patience:
            print_(f"stopping early after epoch {epoch}: no better validation loss for "
                   f"{bad_epochs} epochs")
            break
        if max_seconds is not None and elapsed >= max_seconds:
            print_(f"stopping after epoch {epoch}: {elapsed:.0f} s >= {max_seconds:.0f} s")
            break
    if best_weights is None:
        raise TrackrecError("GNN training ran no epoch")
    return TrainingResult(best["epoch"], best["val_loss"], dict(best["metrics"]), curve,
                          best_weights, elapsed, len(curve))


def _printer(progress: bool) -> Callable[[str], None]:
    def print_(message: str) -> None:
        print(message, file=sys.stderr, flush=True)
    return print_


def _load_state(path: str | Path | None, key: str, print_: Callable[[str], None]):
    import torch

    if path is None or not Path(path).exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a torn or foreign file: start afresh, say why
        print_(f"ignoring resume state {path}: not loadable ({err})")
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != key:
        print_(f"ignoring resume state {path}: made with other settings or events")
        return None
    return state


def _save_state(path: str | Path, state: dict[str, Any]) -> None:
    import torch

    from trackrec.io.atomic import atomic_output

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def write_curve(curve: Sequence[Mapping[str, float]], csv_path: str | Path,
                png_path: str | Path | None, title: str) -> None:
    """The loss curve as CSV (one row per epoch) and, if asked, a PNG plot."""
    import pandas as pd

    from trackrec.io.atomic import atomic_output

    frame = pd.DataFrame(list(curve), columns=list(CURVE_COLUMNS))
    with atomic_output(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    if png_path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(frame["epoch"], frame["train_loss"], marker="o", label="training")
    ax.plot(frame["epoch"], frame["val_loss"], marker="s", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    with atomic_output(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
