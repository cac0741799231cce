"""Learned graph construction: losses and kNN against slow references, training, checkpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from trackrec.cli import main
from trackrec.graph.embedding import ResidualMLP, hinge_loss, info_nce_loss
from trackrec.graph.knn import knn_edges, knn_neighbours, knn_neighbours_torch
from trackrec.graph.train import (
    EmbeddingConfig,
    choose_k,
    event_sample,
    hit_features,
    k_scan,
    positive_pairs,
    train_embedding,
)
from trackrec.io import build_hits_table, build_particles_table, read_table
from trackrec.io.parquet import write_table

torch.set_num_threads(1)


def simulated(event_id: int, pileup: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    from trackrec.simulate import build_detector, simulate_event

    tables = simulate_event(build_detector(), event_id=event_id, pileup=pileup, seed=5)
    hits = build_hits_table(tables["hits"], tables["cells"], truth=tables["truth"],
                            particles=tables["particles"])
    return hits, build_particles_table(tables["particles"], tables["truth"], tables["hits"])


def test_residual_mlp_shapes_and_residual_path() -> None:
    model = ResidualMLP(in_dim=3, hidden=8, depth=2, out_dim=4)
    assert model(torch.zeros(5, 3)).shape == (5, 4)
    for block in model.blocks:  # a block whose output is zero leaves z unchanged
        torch.nn.init.zeros_(block[1].weight)
        torch.nn.init.zeros_(block[1].bias)
    x = torch.randn(6, 3)
    assert torch.allclose(model(x), model.output(model.input(x)))
    with pytest.raises(ValueError):
        ResidualMLP(in_dim=3, depth=0)


def test_hinge_loss_by_hand() -> None:
    h = torch.tensor([[0.0, 0.0], [0.3, 0.4], [2.0, 0.0], [0.0, 0.5]])
    pos = (torch.tensor([0]), torch.tensor([1]))  # d2 = 0.25
    neg = (torch.tensor([0, 0]), torch.tensor([2, 3]))  # d2 = 4 (beyond margin), 0.25
    loss, parts = hinge_loss(h, pos, neg, repulsive_weight=2.0)
    assert parts["attractive"] == pytest.approx(0.25)
    assert parts["repulsive"] == pytest.approx((0.0 + 0.75) / 2)
    assert float(loss) == pytest.approx(0.25 + 2.0 * 0.375)


def test_info_nce_equals_a_slow_loop() -> None:
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(6, 3, generator=gen)
    candidates = torch.tensor([[1, 2, 3], [0, 2, 5], [0, 1, 4], [4, 5, 0], [3, 2, 1], [0, 1, 2]])
    negative = torch.tensor([[False, True, True], [False, True, False], [True, True, True],
                             [True, False, False], [True, True, True], [True, True, True]])
    anchors, positives = torch.tensor([0, 1, 3]), torch.tensor([1, 0, 5])
    tau = 0.5
    loss, _ = info_nce_loss(h, (anchors, positives), candidates, negative, tau=tau)
    terms = []
    for a, p in zip(anchors.tolist(), positives.tolist()):
        sim_pos = math.exp(-float(((h[a] - h[p]) ** 2).sum()) / tau)
        sim_neg = sum(math.exp(-float(((h[a] - h[c]) ** 2).sum()) / tau)
                      for c, n in zip(candidates[a].tolist(), negative[a].tolist()) if n)
        terms.append(-math.log(sim_pos / (sim_pos + sim_neg)))
    assert float(loss) == pytest.approx(np.mean(terms), rel=1e-5)


def test_knn_within_radius_equals_brute_force() -> None:
    rng = np.random.default_rng(1)
    points = rng.normal(size=(300, 4))
    k, radius = 5, 1.2
    index, distance = knn_neighbours(points, k, radius)
    full = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.fill_diagonal(full, np.inf)
    for i in range(len(points)):
        expect = [j for j in np.argsort(full[i], kind="stable")[:k] if full[i, j] <= radius]
        got = index[i][index[i] < len(points)].tolist()
        assert got == expect
        assert np.allclose(distance[i][: len(got)], full[i, expect])
    src, dst, _ = knn_edges(index, distance, 2)
    assert len(src) == int((index[:, :2] < len(points)).sum())
    assert (src != dst).all()


def test_positive_pairs_equal_brute_force() -> None:
    particle = np.array([3, 1, 3, 0, 3, 1, 2, 3])
    interest = particle != 2
    order = np.array([4.0, 1.0, 1.0, 0.0, 2.0, 5.0, 1.0, 3.0])
    first, second = positive_pairs(particle, interest, order, span=2)
    got = {tuple(sorted(p)) for p in zip(first.tolist(), second.tolist())}
    expect = set()
    for pid in (1, 3):  # noise (0) is no particle; particle 2 is not of interest
        rows = sorted(np.flatnonzero(particle == pid), key=lambda r: order[r])
        for i in range(len(rows)):
            for j in range(i + 1, min(i + 3, len(rows))):
                expect.add(tuple(sorted((rows[i], rows[j]))))
    assert got == expect


def test_choose_k() -> None:
    scan = [{"k": 2.0, "segment50": 0.5}, {"k": 4.0, "segment50": 0.98},
            {"k": 8.0, "segment50": 0.99}]
    assert choose_k(scan, 0.97) == 4
    assert choose_k(scan, 0.995) == 8


@pytest.fixture(scope="module")
def tiny_events() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    return [simulated(500 + i, 5) for i in range(3)]


def test_training_separates_particles(tiny_events, tmp_path: Path) -> None:
    """After a short training, segment50 at small k beats the untrained embedding's."""
    train, val = tiny_events[:2], tiny_events[2:]
    stacked = np.concatenate([hit_features(h) for h, _ in train])
    mean, std = stacked.mean(0), stacked.std(0)
    samples = [event_sample(h, p, mean, std, 0.9) for h, p in train]
    config = EmbeddingConfig(hidden=32, depth=2, out_dim=6, steps=200, sector_phi=2.0,
                             sector_eta=3.0, k_scan=(4,), radius=10.0)
    untrained, _, _ = train_embedding(samples, EmbeddingConfig(**{**config.record(), "steps": 1,
                                                                  "k_scan": (4,)}),
                                      resume_path=None, log=lambda line: None)
    before = k_scan(untrained, val, mean, std, config, pt_min=0.9)[0]["segment50"]
    resume = tmp_path / "resume.pt"
    model, steps, _ = train_embedding(samples, config, resume_path=resume, log=lambda line: None)
    after = k_scan(model, val, mean, std, config, pt_min=0.9)[0]["segment50"]
    assert steps == 200 and resume.exists()
    assert after > before + 0.2, (before, after)
    # resuming a finished training does no more steps and gives the same weights
    again, steps_again, _ = train_embedding(samples, config, resume_path=resume,
                                            log=lambda line: None)
    assert steps_again == 200
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_train_build_and_refuse_a_mismatch(tiny_events, tmp_path: Path, capsys) -> None:
    paths = []
    for i, (hits, particles) in enumerate(tiny_events):
        h, p = tmp_path / f"event00000000{i}-hits.parquet", tmp_path / f"event00000000{i}-p.parquet"
        write_table(hits, h, "hits")
        write_table(particles, p, "particles")
        paths.append((h, p))
    model = tmp_path / "emb.pt"
    assert main(["train-embedding", "--hits", str(paths[0][0]), "--particles", str(paths[0][1]),
                 "--val-hits", str(paths[1][0]), "--val-particles", str(paths[1][1]),
                 "--out", str(model), "--steps", "20", "--hidden", "16", "--depth", "1",
                 "--k-scan", "2", "5"]) == 0
    provenance = json.loads(model.with_suffix(".json").read_text())
    assert provenance["metrics"]["k"] in (2, 5)
    assert [row["k"] for row in provenance["metrics"]["k_scan"]] == [2, 5]
    graph = tmp_path / "graph.parquet"
    assert main(["build-graph", "--hits", str(paths[2][0]), "--model", str(model),
                 "--out", str(graph), "--k", "3"]) == 0
    edges = read_table(graph, "graph")
    assert len(edges) > 0 and np.isfinite(edges["latent_distance"]).all()
    assert (edges["src"] != edges["dst"]).all()
    capsys.readouterr()
    # a model made for another minimum pT is refused, naming the setting; nothing is written
    other = tmp_path / "other.parquet"
    assert main(["build-graph", "--hits", str(paths[2][0]), "--model", str(model),
                 "--out", str(other), "--pt-min", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "config.pt_min" in err and len(err.strip().splitlines()) == 1
    assert not other.exists()
    # weights that do not fit the recorded architecture are refused
    provenance["architecture"]["hidden"] = 32
    model.with_suffix(".json").write_text(json.dumps(provenance))
    assert main(["build-graph", "--hits", str(paths[2][0]), "--model", str(model),
                 "--out", str(other)]) == 2
    assert "do not fit the architecture" in capsys.readouterr().err


def test_a_longer_run_resumes_but_another_model_starts_afresh(tiny_events, tmp_path: Path) -> None:
    hits, particles = tiny_events[0]
    features = hit_features(hits)
    samples = [event_sample(hits, particles, features.mean(0), features.std(0) + 1e-9, 0.9)]
    config = EmbeddingConfig(hidden=8, depth=1, out_dim=3, steps=5, sector_phi=2.0, sector_eta=3.0)
    resume = tmp_path / "resume.pt"
    lines: list[str] = []
    train_embedding(samples, config, resume_path=resume, log=lines.append)
    longer = EmbeddingConfig(**{**config.record(), "k_scan": config.k_scan, "steps": 8,
                                "max_minutes": 5.0})
    _, steps, _ = train_embedding(samples, longer, resume_path=resume, log=lines.append)
    assert steps == 8 and any("resumed at step 5" in line for line in lines)
    wider = EmbeddingConfig(**{**config.record(), "k_scan": config.k_scan, "hidden": 16})
    _, steps, _ = train_embedding(samples, wider, resume_path=resume, log=lines.append)
    assert steps == 5 and "another config" in lines[-2]


def test_chunked_torch_knn_equals_the_kd_tree() -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(size=(500, 3))
    index, distance = knn_neighbours(points, 6, 0.9)
    t_index, t_distance = knn_neighbours_torch(torch.from_numpy(points), 6, 0.9, chunk=64)
    assert np.array_equal(index, t_index)
    assert np.allclose(distance, t_distance, rtol=1e-5, atol=1e-5)  # float32 distances
