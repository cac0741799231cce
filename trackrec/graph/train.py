"""Training the hit embedding on sampled detector sectors, and the k scan on validation events.

Full pileup-200 events (~100,000 hits) are too large for quick steps on a CPU, and the kNN
graph only needs the embedding to separate hits that are close in the detector, so each
step embeds the hits of one random sector (a window in eta and phi around a random hit):

* positive pairs: hits of one particle of interest (pT above ``pt_min``) at most
  ``positive_span`` hits apart along the particle (in order of distance from the origin);
* negative pairs: each hit's ``negatives_k`` nearest latent neighbours (hard negatives, found
  with cKDTree on the current embedding, no gradient) that belong to another particle or are
  noise, plus as many random pairs of the sector as it has hits.

The loop checkpoints every ``checkpoint_every`` steps to a resume file (model, optimiser,
step; the sampling is seeded per step) and stops after ``steps`` steps or ``max_minutes``.
:func:`k_scan` then measures segment50, edge efficiency, purity and edges per hit on the
validation events for each k.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trackrec.errors import TrackrecError
from trackrec.graph.edges import distance_from_origin, orient_and_deduplicate
from trackrec.graph.knn import knn_edges, knn_neighbours
from trackrec.metrics.edges import edge_metrics

FEATURES = ("r", "phi_cos", "phi_sin", "z", "eta", "n_cells", "charge", "extent_u", "extent_v")
"""Per-hit inputs of the embedding (the hits table's columns; phi as its cosine and sine)."""


@dataclass(frozen=True)
class EmbeddingConfig:
    """Hyperparameters of the embedding and its training (config section ``graph.embedding``)."""

    hidden: int = 128
    depth: int = 4
    out_dim: int = 12
    loss: str = "hinge"
    repulsive_weight: float = 1.0
    tau: float = 0.1
    lr: float = 2e-3
    steps: int = 4000
    max_minutes: float = 40.0
    sector_phi: float = 0.8
    sector_eta: float = 1.2
    positive_span: int = 3
    negatives_k: int = 12
    radius: float = 1.0
    k_scan: tuple[int, ...] = (2, 4, 6, 8, 12, 16, 20, 25, 30)
    target_segment50: float = 0.97
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.loss not in ("hinge", "infonce"):
            raise TrackrecError(f"embedding loss must be hinge or infonce, not {self.loss!r}")
        if min(self.hidden, self.depth, self.out_dim, self.steps, self.negatives_k) < 1:
            raise TrackrecError("embedding hidden, depth, out_dim, steps, negatives_k must be >= 1")
        if not self.k_scan or min(self.k_scan) < 1:
            raise TrackrecError("embedding k_scan needs at least one k >= 1")

    def record(self) -> dict:
        out = asdict(self)
        out.pop("extra")
        out["k_scan"] = list(self.k_scan)
        return out


def hit_features(hits: pd.DataFrame) -> np.ndarray:
    """The raw :data:`FEATURES` of each hit, ``[n_hits, len(FEATURES)]`` float64."""
    needed = ["r", "phi", "z", "eta", "n_cells", "charge", "extent_u", "extent_v"]
    missing = [c for c in needed if c not in hits.columns]
    if missing:
        raise TrackrecError(f"hits table lacks column(s) {', '.join(missing)} (embedding "
                            "features; ingest the event with its cells file)")
    phi = hits["phi"].to_numpy(np.float64)
    columns = {
        "phi_cos": np.cos(phi), "phi_sin": np.sin(phi),
        **{c: hits[c].to_numpy(np.float64) for c in needed if c != "phi"},
    }
    return np.stack([columns[f] for f in FEATURES], axis=1)


@dataclass
class EventSample:
    """One training event in memory: normalised features and the truth the losses need."""

    x: np.ndarray  # [n, F] float32, normalised
    particle: np.ndarray  # [n] int64, 0 for noise
    of_interest: np.ndarray  # [n] bool: hit of a particle of interest
    eta: np.ndarray
    phi: np.ndarray
    order: np.ndarray  # [n] distance from the origin, for positives along the particle


def particles_of_interest(particles: pd.DataFrame, pt_min: float, max_abs_eta: float = 4.0
                          ) -> np.ndarray:
    """particle_id of the reconstructable particles above ``pt_min`` within ``max_abs_eta``."""
    mask = (particles["reconstructable"].to_numpy(bool)
            & (particles["pt"].to_numpy(np.float64) > pt_min)
            & (np.abs(particles["eta"].to_numpy(np.float64)) < max_abs_eta))
    return particles["particle_id"].to_numpy()[mask]


def event_sample(hits: pd.DataFrame, particles: pd.DataFrame, mean: np.ndarray,
                 std: np.ndarray, pt_min: float) -> EventSample:
    pid = hits["particle_id"].to_numpy(np.int64)
    return EventSample(
        x=((hit_features(hits) - mean) / std).astype(np.float32),
        particle=pid,
        of_interest=np.isin(pid, particles_of_interest(particles, pt_min)) & (pid != 0),
        eta=hits["eta"].to_numpy(np.float64),
        phi=hits["phi"].to_numpy(np.float64),
        order=distance_from_origin(hits),
    )


def sector(sample: EventSample, rng: np.random.Generator, width_phi: float, width_eta: float
           ) -> np.ndarray:
    """Rows of the hits in a window of ``width_eta`` x ``width_phi`` around a random hit."""
    centre = rng.integers(len(sample.eta))
    dphi = (sample.phi - sample.phi[centre] + np.pi) % (2 * np.pi) - np.pi
    inside = (np.abs(dphi) < width_phi / 2) & (np.abs(sample.eta - sample.eta[centre]) < width_eta / 2)
    return np.flatnonzero(inside)


def positive_pairs(particle: np.ndarray, of_interest: np.ndarray, order: np.ndarray, span: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of hits of one particle of interest at most ``span`` apart along the particle."""
    rows = np.flatnonzero(of_interest)
    rows = rows[np.lexsort((order[rows], particle[rows]))]
    first, second = [], []
    for offset in range(1, span + 1):
        same = particle[rows[offset:]] == particle[rows[:-offset]]
        first.append(rows[:-offset][same])
        second.append(rows[offset:][same])
    return np.concatenate(first), np.concatenate(second)


def is_negative(particle: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pairs of different particles, or with a noise hit (never a hit with itself)."""
    return ((particle[u] != particle[v]) | (particle[u] == 0)) & (u != v)


def build_model(config: EmbeddingConfig, in_dim: int):
    from trackrec.graph.embedding import ResidualMLP

    return ResidualMLP(in_dim=in_dim, hidden=config.hidden, depth=config.depth,
                       out_dim=config.out_dim)


def _training_step(model, optimiser, sample: EventSample, config: EmbeddingConfig,
                   rng: np.random.Generator) -> dict[str, float]:
    import torch

    from trackrec.graph.embedding import hinge_loss, info_nce_loss

    rows = sector(sample, rng, config.sector_phi, config.sector_eta)
    if len(rows) <= config.negatives_k + 1:
        return {}
    particle = sample.particle[rows]
    h = model(torch.from_numpy(sample.x[rows]))
    k = config.negatives_k
    index, _ = knn_neighbours(h.detach().numpy(), k, math.inf)
    pos = positive_pairs(particle, sample.of_interest[rows], sample.order[rows],
                         config.positive_span)
    pos_t = (torch.from_numpy(pos[0]), torch.from_numpy(pos[1]))
    if config.loss == "hinge":
        u, v = knn_edges(index, np.zeros(index.shape), k)[:2]
        random_u = rng.integers(len(rows), size=len(rows))
        random_v = rng.integers(len(rows), size=len(rows))
        u, v = np.concatenate([u, random_u]), np.concatenate([v, random_v])
        neg = is_negative(particle, u, v)
        loss, parts = hinge_loss(h, pos_t, (torch.from_numpy(u[neg]), torch.from_numpy(v[neg])),
                                 repulsive_weight=config.repulsive_weight)
    else:
        negative = is_negative(particle, np.repeat(np.arange(len(rows)), k), index.ravel())
        loss, parts = info_nce_loss(h, pos_t, torch.from_numpy(index),
                                    torch.from_numpy(negative.reshape(index.shape)),
                                    tau=config.tau)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return {"loss": float(loss.detach()), **parts, "hits": float(len(rows)), "positives": float(len(pos[0]))}


def embed(model, x: np.ndarray, batch: int = 65536) -> np.ndarray:
    """Latent points of normalised features ``x`` (no gradient), float32."""
    import torch

    with torch.no_grad():
        parts = [model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch], np.float32)))
                 for i in range(0, len(x), batch)]
    return torch.cat(parts).numpy() if parts else np.empty((0, model.output.out_features))


def latent_graph(points: np.ndarray, hits: pd.DataFrame, k: int, radius: float, workers: int = 1,
                 neighbours: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges (oriented, each once) to each hit's k nearest latent neighbours within radius."""
    index, distance = neighbours or knn_neighbours(points, k, radius, workers=workers)
    src, dst, _ = knn_edges(index, distance, k)
    src, dst = orient_and_deduplicate(src, dst, distance_from_origin(hits))
    latent = np.linalg.norm(points[src].astype(np.float64) - points[dst], axis=1)
    return src, dst, latent


def k_scan(model, events: Sequence[tuple[pd.DataFrame, pd.DataFrame]], mean: np.ndarray,
           std: np.ndarray, config: EmbeddingConfig, *, pt_min: float, workers: int = 1
           ) -> list[dict[str, float]]:
    """Mean edge metrics over ``events`` for each k of ``config.k_scan``."""
    rows: dict[int, list[dict[str, float]]] = {k: [] for k in config.k_scan}
    for hits, particles in events:
        points = embed(model, ((hit_features(hits) - mean) / std).astype(np.float32))
        neighbours = knn_neighbours(points, max(config.k_scan), config.radius, workers=workers)
        for k in config.k_scan:
            src, dst, latent = latent_graph(points, hits, k, config.radius, neighbours=neighbours)
            m = edge_metrics(src, dst, 1.0 / (1.0 + latent), hits, particles, threshold=0.0,
                             pt_threshold=pt_min)
            rows[k].append({"segment50": m["segment50"], "edge_eff": m["edge_eff_total"],
                            "edge_purity": m["edge_purity_pt"],
                            "edges_per_hit": m["edges_per_hit"]})
    return [{"k": float(k), **{key: float(np.nanmean([r[key] for r in rows[k]]))
                               for key in rows[k][0]}} for k in config.k_scan if rows[k]]


def choose_k(scan: list[dict[str, float]], target: float) -> int:
    """The smallest k reaching ``target`` segment50; the best k when none does."""
    for row in scan:
        if row["segment50"] >= target:
            return int(row["k"])
    return int(max(scan, key=lambda row: row["segment50"])["k"])


RESUMABLE_CHANGES = ("steps", "max_minutes", "radius", "k_scan", "target_segment50")
"""Settings that may change between a training and its resumption: a longer run, or the
graph settings applied after training (a finished training then only redoes the k scan)."""


def _same_training(stored: object, config: EmbeddingConfig) -> bool:
    """Whether a resume file's config (its repr) differs from ``config`` only in
    :data:`RESUMABLE_CHANGES`."""
    import ast

    try:
        record = ast.literal_eval(stored) if isinstance(stored, str) else None
    except (ValueError, SyntaxError):
        return False
    if not isinstance(record, dict):
        return False
    current = config.record()
    for key in RESUMABLE_CHANGES:
        record.pop(key, None)
        current.pop(key, None)
    return record == current


def train_embedding(
    train: Sequence[EventSample],
    config: EmbeddingConfig,
    *,
    resume_path: Path | None,
    log: Callable[[str], None] = print,
    validate: Callable[[object], float] | None = None,
    validate_every: int = 500,
    checkpoint_every: int = 100,
):
    """Train (or resume) the embedding; returns ``(model, steps_done, seconds)``."""
    import torch

    config.validate()
    torch.manual_seed(config.seed)
    model = build_model(config, train[0].x.shape[1])
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-5)
    step, seconds = 0, 0.0
    if resume_path is not None and resume_path.exists():
        state = torch.load(resume_path, map_location="cpu", weights_only=True)
        if not _same_training(state.get("config"), config):
            log(f"resume file {resume_path} is for another config: starting afresh")
        else:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            step, seconds = int(state["step"]), float(state["seconds"])
            log(f"resumed at step {step} ({seconds / 60:.1f} min trained)")

    def save() -> None:
        if resume_path is not None:
            resume_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = resume_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                        "step": step, "seconds": seconds, "config": repr(config.record())}, tmp)
            tmp.replace(resume_path)

    running: dict[str, float] = {}
    start = time.perf_counter() - seconds
    while step < config.steps and (time.perf_counter() - start) < config.max_minutes * 60:
        for group in optimiser.param_groups:  # cosine decay, a function of the step alone
            group["lr"] = config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / config.steps)))
        rng = np.random.default_rng([config.seed, step])
        model.train()
        parts = _training_step(model, optimiser, train[rng.integers(len(train))], config, rng)
        for key, value in parts.items():
            running[key] = running.get(key, 0.0) + value
        running["n"] = running.get("n", 0) + 1
        step += 1
        seconds = time.perf_counter() - start
        if step % checkpoint_every == 0 or step == config.steps:
            n = running.pop("n", 1)
            log(f"step {step} {seconds / 60:.1f} min " + " ".join(
                f"{key} {value / n:.4g}" for key, value in running.items()))
            running = {}
            save()
        if validate is not None and step % validate_every == 0:
            model.eval()
            log(f"step {step} validation segment50 {validate(model):.4f}")
    save()
    model.eval()
    return model, step, seconds
