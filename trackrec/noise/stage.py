"""The noise filter's file-to-file steps: train a model, filter one event, summarise a run.

The config section ``noise_filter`` (``config/config.yaml``) says which model to use, the
allowed loss of particle-of-interest hits at the working point, the feature groups and each
model's hyperparameters. A trained model is ``NAME.npz`` (trees) or ``NAME.pt`` (MLP) plus
``NAME.json`` (provenance, :mod:`trackrec.io.checkpoint`) holding the feature list and
their cuts, the normalisation, the threshold and the config section; a model that does not
match the config is refused naming the setting.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trackrec.errors import InputError, TrackrecError
from trackrec.io.checkpoint import (
    load_array_model,
    load_torch_model,
    model_provenance,
    save_array_model,
    save_torch_model,
)
from trackrec.io.parquet import read_table
from trackrec.noise import filter as nf
from trackrec.noise.features import (
    ContextParams,
    check_columns,
    compute_features,
    feature_names,
)

KIND = "noise_filter"


def relevant_config(section: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a trained model must share with the config that uses it."""
    model = section["model"]
    return {
        "model": model,
        "max_poi_loss": section["max_poi_loss"],
        "features": list(section["features"]),
        model: dict(section.get(model, {})),
    }


def noise_model_file(folder: str, model: str) -> str | None:
    """``<folder>/noise_filter_<model>.npz|.pt`` for a learned model; None for off/oracle."""
    if model not in nf.LEARNED_MODELS:
        return None
    return f"{folder}/noise_filter_{model}{nf.MODEL_SUFFIX[model]}"


def expected_provenance(section: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted provenance keys a model must have to be used with this config section."""
    expected = {"kind": KIND, "context_params": ContextParams().as_dict(),
                "features": feature_names(section["features"])}  # fmt: skip
    # the settings that change what the filter does; hyperparameters only change how it was
    # trained (recorded in the provenance; with models.source: train a change retrains)
    for key in ("model", "max_poi_loss", "features"):
        expected[f"config.{key}"] = relevant_config(section)[key]
    return expected


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_event(hits_path: str | Path, particles_path: str | Path | None
               ) -> tuple[pd.DataFrame, pd.DataFrame | None]:  # fmt: skip
    hits = read_table(hits_path, "hits")
    particles = read_table(particles_path, "particles") if particles_path else None
    return hits, particles


def event_features(hits: pd.DataFrame, groups: Sequence[str], path: str | Path) -> np.ndarray:
    """Features of one event; a missing column is an error naming the file and the column."""
    try:
        check_columns(hits, groups)
        return compute_features(hits, groups)
    except TrackrecError as err:
        raise InputError(path, str(err)) from None


def _labelled(hits_path: str | Path, particles_path: str | Path, groups: Sequence[str]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    hits, particles = load_event(hits_path, particles_path)
    try:
        noise, poi = nf.hit_labels(hits, particles)
    except TrackrecError as err:
        raise InputError(hits_path, f"{err} (training and validation events need truth)") from None
    return event_features(hits, groups, hits_path), noise, poi


def _event_name(path: str | Path) -> str:
    """``.../event000001000.parquet`` (or ``event000001000-hits.parquet``) -> the event id."""
    found = re.search(r"event\d{9}", Path(path).name)
    return found.group(0) if found else Path(path).name.split(".")[0]


@dataclass
class Scorer:
    """A loaded noise model: features in, P(noise) out."""

    kind: str
    groups: list[str]
    threshold: float
    arrays: dict[str, np.ndarray] | None = None
    mlp: Any = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def scores(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "gbdt":
            from trackrec.noise.models import gbdt_predict_proba

            return gbdt_predict_proba(self.arrays, x)
        from trackrec.noise.models import mlp_predict_proba

        return mlp_predict_proba(self.mlp, x, self.mean, self.std)


def load_scorer(path: str | Path, section: Mapping[str, Any]) -> Scorer:
    """The model at ``path``, refused unless its provenance matches the config section."""
    model = section["model"]
    if Path(path).suffix != nf.MODEL_SUFFIX[model]:
        raise InputError(path, f"a {model} noise model is a {nf.MODEL_SUFFIX[model]} file")
    expected = expected_provenance(section)
    if model == "gbdt":
        arrays, prov = load_array_model(path, expected=expected)
        scorer = Scorer("gbdt", list(section["features"]), float(prov["threshold"]), arrays=arrays)
        try:  # a truncated or foreign array set: one line, not a numba error later
            from trackrec.noise.models import gbdt_predict_proba

            gbdt_predict_proba(arrays, np.zeros((1, len(prov["features"]))))
        except (ValueError, IndexError) as err:
            raise InputError(path, f"not a usable tree model ({err})") from None
        return scorer
    from trackrec.noise.models import make_mlp

    weights, prov = load_torch_model(path, expected=expected)
    cfg = prov["config"]["mlp"]
    net = make_mlp(len(prov["features"]), hidden=int(cfg["hidden"]), blocks=int(cfg["blocks"]))
    try:
        net.load_state_dict(weights)
    except RuntimeError as err:
        raise InputError(path, f"weights do not fit the MLP of the provenance ({err})") from None
    norm = prov["normalisation"]
    return Scorer("mlp", list(section["features"]), float(prov["threshold"]), mlp=net,
                  mean=np.asarray(norm["mean"]), std=np.asarray(norm["std"]))  # fmt: skip


def train_noise_filter(*, train: Sequence[tuple[str, str]], val: Sequence[tuple[str, str]],
                       out: str | Path, section: Mapping[str, Any], data: Mapping[str, Any],
                       threads: int = 2) -> dict[str, Any]:  # fmt: skip
    """Train the configured model on ``train`` (hits, particles) files, choose the working
    point on ``val``, and write the model with its provenance. Returns the provenance."""
    model = section["model"]
    if model not in nf.LEARNED_MODELS:
        raise TrackrecError(f"noise_filter.model {model!r} is not trained (learned: "
                            f"{', '.join(nf.LEARNED_MODELS)})")  # fmt: skip
    if Path(out).suffix != nf.MODEL_SUFFIX[model]:
        raise TrackrecError(f"{out}: a {model} noise model is a {nf.MODEL_SUFFIX[model]} file")
    if not train:
        raise TrackrecError("the noise filter needs training events")
    working_point_on = "val"
    if not val:  # a run without validation events: the working point comes from training
        _progress("warning: no validation events; the working point is chosen on the "
                  "training events (optimistic)")
        val, working_point_on = train, "train"
    groups = list(section["features"])
    names = feature_names(groups)
    start = time.time()
    parts = []
    for k, (h, p) in enumerate(train):
        parts.append(_labelled(h, p, groups))
        _progress(f"features: training event {k + 1}/{len(train)} ({_event_name(h)})")
    x = np.concatenate([q[0] for q in parts])
    y = np.concatenate([q[1] for q in parts])
    vparts = []
    for k, (h, p) in enumerate(val):
        vparts.append(_labelled(h, p, groups))
        _progress(f"features: validation event {k + 1}/{len(val)} ({_event_name(h)})")
    xv = np.concatenate([q[0] for q in vparts])
    yv = np.concatenate([q[1] for q in vparts])
    pv = np.concatenate([q[2] for q in vparts])
    _progress(f"training {model} on {len(y)} hits ({y.mean():.1%} noise)")
    hp = dict(section[model])
    normalisation = None
    if model == "gbdt":
        from trackrec.noise.models import export_gbdt, fit_gbdt, gbdt_predict_proba

        fitted = fit_gbdt(x, y, max_iter=int(hp["max_iter"]),
                          learning_rate=float(hp["learning_rate"]),
                          max_leaf_nodes=int(hp["max_leaf_nodes"]),
                          l2_regularization=float(hp["l2_regularization"]),
                          seed=int(hp["seed"]), threads=threads)  # fmt: skip
        arrays = export_gbdt(fitted)
        val_scores = gbdt_predict_proba(arrays, xv)
    else:
        import torch

        from trackrec.noise.models import mlp_predict_proba, standardisation, train_mlp

        torch.set_num_threads(threads)
        mean, std = standardisation(x)
        normalisation = {"mean": mean.tolist(), "std": std.tolist()}

        # resumable: the state after each epoch goes to NAME.partial.pt (with the settings
        # it belongs to); a rerun with the same settings and events continues from it
        partial = Path(out).with_suffix(".partial.pt")
        settings = relevant_config(section)
        settings["mlp"] = {k: v for k, v in settings["mlp"].items() if k != "epochs"}
        key = json.dumps({"config": settings, "train": [str(h) for h, _ in train]},
                         sort_keys=True)  # fmt: skip
        state = None
        if partial.exists():
            saved = torch.load(partial, map_location="cpu", weights_only=True)
            if isinstance(saved, dict) and saved.get("key") == key:
                state = saved
                _progress(f"resuming after epoch {int(saved['epoch'])} from {partial}")

        def report(epoch: int, state: dict, loss: float) -> None:
            from trackrec.io.atomic import atomic_output

            with atomic_output(partial) as tmp:
                torch.save({**state, "key": key}, tmp)
            _progress(f"epoch {epoch}/{hp['epochs']}: loss {loss:.4f}")

        net = train_mlp((x - mean) / std, y, hidden=int(hp["hidden"]), blocks=int(hp["blocks"]),
                        epochs=int(hp["epochs"]), batch_size=int(hp["batch_size"]),
                        learning_rate=float(hp["learning_rate"]), seed=int(hp["seed"]),
                        state=state, on_epoch=report)  # fmt: skip
        val_scores = mlp_predict_proba(net, xv, mean, std)
    threshold = nf.choose_threshold(val_scores[pv], float(section["max_poi_loss"]))
    metrics = nf.filter_metrics(val_scores, threshold, yv, pv)
    _progress("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    provenance = model_provenance(
        kind=KIND, config=relevant_config(section), features=names,
        normalisation=normalisation,
        train_events=[_event_name(h) for h, _ in train],
        val_events=[_event_name(h) for h, _ in val] if working_point_on == "val" else [],
        data=data,
        metrics={**metrics, "val_hits": int(len(yv)), "val_noise_hits": int(yv.sum()),
                 "train_hits": int(len(y))},
        train_seconds=time.time() - start,
        extra={"threshold": threshold, "context_params": ContextParams().as_dict(),
               "model": model, "working_point_events": working_point_on},
    )  # fmt: skip
    if model == "gbdt":
        save_array_model(out, arrays, provenance)
    else:
        save_torch_model(out, net.state_dict(), provenance)
        partial.unlink(missing_ok=True)
    return provenance


def filter_event(hits: pd.DataFrame, particles: pd.DataFrame | None, section: Mapping[str, Any],
                 scorer: Scorer | None, hits_path: str | Path
                 ) -> tuple[pd.DataFrame, dict[str, Any], dict[str, list] | None]:  # fmt: skip
    """The kept hits (with ``noise_score``), the event's metrics and score histograms."""
    model = section["model"]
    start = time.time()
    truth = particles is not None and "particle_id" in hits.columns and not (
        particles.empty and (hits["particle_id"].to_numpy() != 0).any())
    if model == "off":
        scores, threshold = np.zeros(len(hits)), 0.5
    elif model == "oracle":
        if "noise" not in hits.columns:
            raise InputError(hits_path, "noise_filter.model oracle needs truth (the noise "
                                        "column); this event has none")  # fmt: skip
        scores, threshold = hits["noise"].to_numpy(bool).astype(np.float64), 0.5
    else:
        assert scorer is not None
        scores, threshold = scorer.scores(event_features(hits, scorer.groups, hits_path)), \
            scorer.threshold
    seconds = time.time() - start
    keep = scores <= threshold
    kept = hits.loc[keep].copy()
    kept["noise_score"] = scores[keep].astype(np.float32)
    metrics: dict[str, Any] = {"n_hits": len(hits), "n_kept": int(keep.sum()),
                               "threshold": threshold, "filter_seconds": seconds}  # fmt: skip
    hist = None
    if truth:
        try:
            noise, poi = nf.hit_labels(hits, particles)
        except TrackrecError as err:
            raise InputError(hits_path, str(err)) from None
        metrics.update(nf.filter_metrics(scores, threshold, noise, poi))
        metrics["n_noise"] = int(noise.sum())
        metrics["n_poi"] = int(poi.sum())
        hist = nf.score_histograms(scores, noise, poi)
    else:
        metrics.update({k: None for k in ("noise_auc", "noise_removed_frac",
                                          "good_hit_loss_pt0.9", "good_hit_loss_all")})  # fmt: skip
    return kept, metrics, hist


def read_section(text: str) -> dict[str, Any]:
    """The ``noise_filter`` config section given as JSON on the command line."""
    try:
        section = json.loads(text)
    except json.JSONDecodeError as err:
        raise TrackrecError(f"--config is not valid JSON ({err})") from None
    if not isinstance(section, dict) or section.get("model") not in nf.MODELS:
        raise TrackrecError(f"--config needs model: one of {', '.join(nf.MODELS)}")
    section.setdefault("features", ["hit", "shape", "context"])
    section.setdefault("max_poi_loss", 0.005)
    return section
