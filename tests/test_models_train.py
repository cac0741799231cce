"""GNN training and inference on tiny hand-made events: learning, determinism, resuming,
checkpoint checks, device fallback and the summary section."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from trackrec.errors import InputError  # noqa: E402
from trackrec.metrics.edges import roc_auc  # noqa: E402
from trackrec.models.data import GraphEvent, Normalisation, edge_features  # noqa: E402
from trackrec.models.infer import load_model, predict  # noqa: E402
from trackrec.models.metrics import mean_std_n, models_section  # noqa: E402
from trackrec.models.registry import object_ids, resolve_device  # noqa: E402
from trackrec.models.train import TrainingParams, train_model, write_curve  # noqa: E402

RADII = np.array([40.0, 70.0, 110.0, 160.0, 220.0])
ARCH = {
    "interaction_network": {"hidden": 12, "iterations": 2},
    "euclidnet": {"hidden": 6, "layers": 2, "coordinate_scale": 0.01},
    "condensation": {"hidden": 12, "iterations": 2, "coordinates": 3},
}
OC_LOSS = {"q_min": 0.1, "noise_weight": 1.0, "min_pt": 0.0}


def tiny_event(seed: int, n_particles: int = 25, n_noise: int = 10) -> GraphEvent:
    """Helix-like tracks from the beam line on 5 cylinders, noise hits, and edges between
    hits on adjacent cylinders within a window in phi and z/r (true and false ones)."""
    rng = np.random.default_rng(seed)
    phi0 = rng.uniform(-np.pi, np.pi, n_particles)
    curvature = rng.uniform(-2e-3, 2e-3, n_particles)
    cot = rng.uniform(-1.5, 1.5, n_particles)
    z0 = rng.normal(0, 20, n_particles)
    pid = np.repeat(np.arange(1, n_particles + 1), len(RADII))
    r = np.tile(RADII, n_particles)
    phi = np.repeat(phi0, len(RADII)) + np.repeat(curvature, len(RADII)) * r
    z = np.repeat(z0, len(RADII)) + np.repeat(cot, len(RADII)) * r
    layer = np.tile(np.arange(len(RADII)), n_particles)
    noise_layer = rng.integers(0, len(RADII), n_noise)
    r = np.concatenate([r, RADII[noise_layer]])
    phi = np.concatenate([phi, rng.uniform(-np.pi, np.pi, n_noise)])
    z = np.concatenate([z, rng.uniform(-300, 300, n_noise)])
    layer = np.concatenate([layer, noise_layer])
    pid = np.concatenate([pid, np.zeros(n_noise, dtype=np.int64)])
    xyz = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1).astype(np.float32)
    src, dst = [], []
    for a in range(len(RADII) - 1):
        inner, outer = np.flatnonzero(layer == a), np.flatnonzero(layer == a + 1)
        dphi = np.abs(np.mod(phi[outer][None] - phi[inner][:, None] + np.pi, 2 * np.pi) - np.pi)
        dzr = np.abs(z[outer][None] / r[outer][None] - z[inner][:, None] / r[inner][:, None])
        i, o = np.nonzero((dphi < 0.6) & (dzr < 0.8))
        src.append(inner[i])
        dst.append(outer[o])
    pt = np.where(pid > 0, 1.0, np.nan).astype(np.float32)
    return GraphEvent(event=f"event{seed:09d}", hit_id=np.arange(1, len(r) + 1), xyz=xyz,
                      src=np.concatenate(src), dst=np.concatenate(dst), particle_id=pid, pt=pt)


@pytest.fixture(scope="module")
def events() -> dict[str, list[GraphEvent]]:
    return {"train": [tiny_event(s) for s in (1, 2, 3)], "val": [tiny_event(4)],
            "test": [tiny_event(5)]}


def _train(kind: str, events, epochs: int = 3, **kwargs):
    torch.set_num_threads(1)
    params = TrainingParams(epochs=epochs, patience=10, learning_rate=1e-2, sectors=2, seed=3)
    norm = Normalisation.measure(events["train"])
    loss = OC_LOSS if kind == "condensation" else None
    result = train_model(kind, ARCH[kind], params, events["train"], events["val"], norm,
                         loss=loss, progress=False, **kwargs)
    return result, norm


def test_tiny_event_has_both_edge_classes() -> None:
    labels = tiny_event(1).labels()
    assert 0.05 < labels.mean() < 0.8


@pytest.mark.parametrize("kind", ["interaction_network", "euclidnet"])
def test_edge_classifier_learns_tiny_events(kind: str, events) -> None:
    result, norm = _train(kind, events, epochs=12)
    assert result.curve[-1]["train_loss"] < result.curve[0]["train_loss"]
    from trackrec.models.registry import build_model
    model = build_model(kind, ARCH[kind])
    model.load_state_dict(result.weights)
    model.eval()
    test = events["test"][0]
    scores = predict(model, kind, test, norm)["score"].to_numpy()
    assert roc_auc(test.labels(), scores) > 0.9


def test_condensation_training_lowers_the_loss(events) -> None:
    result, _ = _train("condensation", events, epochs=6)
    assert result.best_val_loss < result.curve[0]["val_loss"]


def test_training_is_deterministic_for_a_seed(events) -> None:
    first, _ = _train("interaction_network", events, epochs=2)
    second, _ = _train("interaction_network", events, epochs=2)
    for key, value in first.weights.items():
        assert torch.equal(value, second.weights[key]), key


def test_resuming_gives_the_uninterrupted_result(events, tmp_path) -> None:
    state = tmp_path / "state.pt"
    straight, _ = _train("interaction_network", events, epochs=3)
    _train("interaction_network", events, epochs=2, state_path=state)
    resumed, _ = _train("interaction_network", events, epochs=3, state_path=state)
    assert len(resumed.curve) == 3
    for key, value in straight.weights.items():
        assert torch.equal(value, resumed.weights[key]), key


def test_a_state_from_other_settings_is_ignored(events, tmp_path, capsys) -> None:
    state = tmp_path / "state.pt"
    _train("interaction_network", events, epochs=1, state_path=state)
    params = TrainingParams(epochs=1, patience=10, learning_rate=5e-3, sectors=2, seed=3)
    train_model("interaction_network", ARCH["interaction_network"], params, events["train"],
                events["val"], Normalisation.measure(events["train"]), state_path=state,
                progress=False)
    assert "made with other settings" in capsys.readouterr().err


def test_early_stopping_stops_after_patience_epochs(events) -> None:
    params = TrainingParams(epochs=30, patience=1, learning_rate=1.0, sectors=1, seed=0)
    result = train_model("interaction_network", ARCH["interaction_network"], params,
                         events["train"], events["val"], Normalisation.measure(events["train"]),
                         progress=False)
    # learning rate 1 diverges: the validation loss stops improving, training stops early
    assert result.epochs_run < 30
    assert result.epochs_run - 1 - result.best_epoch == 1


def test_checkpoint_round_trip_and_mismatch_refusal(events, tmp_path) -> None:
    from trackrec.io.checkpoint import model_provenance, save_torch_model
    from trackrec.models.registry import model_features

    result, norm = _train("euclidnet", events, epochs=1)
    path = tmp_path / "gnn_euclidnet.pt"
    save_torch_model(path, result.weights, model_provenance(
        kind="gnn_euclidnet", config={"euclidnet": ARCH["euclidnet"]},
        features=model_features("euclidnet"), normalisation=norm.record(), train_events=[],
        val_events=[], data={}, metrics={}, train_seconds=0.0))
    model, loaded_norm, _ = load_model(path, "euclidnet", ARCH["euclidnet"])
    assert loaded_norm == norm
    frame = predict(model, "euclidnet", events["test"][0], loaded_norm)
    assert list(frame.columns) == ["src", "dst", "score"]
    assert frame["score"].between(0, 1).all()
    with pytest.raises(InputError, match="config.euclidnet.hidden is 6 in the model but 7"):
        load_model(path, "euclidnet", {**ARCH["euclidnet"], "hidden": 7})
    with pytest.raises(InputError, match="kind is 'gnn_euclidnet'"):
        load_model(path, "interaction_network", ARCH["interaction_network"])


def test_condensation_prediction_has_coordinates_and_beta(events) -> None:
    result, norm = _train("condensation", events, epochs=1)
    from trackrec.models.registry import build_model
    model = build_model("condensation", ARCH["condensation"])
    model.load_state_dict(result.weights)
    frame = predict(model.eval(), "condensation", events["test"][0], norm)
    assert list(frame.columns) == ["hit_id", "beta", "c0", "c1", "c2"]
    assert len(frame) == events["test"][0].n_hits


def test_object_ids_number_particles_and_mark_noise_and_soft_ones() -> None:
    event = tiny_event(1, n_particles=3, n_noise=2)
    event.pt[event.particle_id == 2] = 0.3
    ids = object_ids(event, min_pt=0.5)
    assert set(ids[event.particle_id == 0]) == {-1}
    assert set(ids[event.particle_id == 2]) == {-1}
    assert len(set(ids[event.particle_id == 1])) == 1 and len(set(ids[event.particle_id == 3])) == 1
    assert ids[event.particle_id == 1][0] != ids[event.particle_id == 3][0]


def test_edge_features_by_hand() -> None:
    xyz = np.array([[10.0, 0.0, 5.0], [0.0, -20.0, 25.0]], dtype=np.float32)
    dr, dphi, dz, deta = edge_features(xyz, np.array([0]), np.array([1]))[0]
    assert dr == pytest.approx(10.0)
    assert dphi == pytest.approx(-math.pi / 2)
    assert dz == pytest.approx(20.0)
    assert deta == pytest.approx(math.asinh(25 / 20) - math.asinh(5 / 10), rel=1e-6)


def test_phi_sector_keeps_only_edges_inside() -> None:
    event = tiny_event(2)
    sector = event.phi_sector(0.3, math.pi / 2)
    phi = np.arctan2(sector.xyz[:, 1], sector.xyz[:, 0])
    assert np.all(np.mod(phi - 0.3, 2 * math.pi) < math.pi / 2 + 1e-6)
    assert sector.n_edges > 0
    assert sector.labels().sum() <= event.labels().sum()


def test_cuda_without_cuda_falls_back_to_cpu_with_a_warning(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        assert resolve_device("cuda") == "cpu"
    assert resolve_device("auto") == "cpu"


def test_models_section_statistics() -> None:
    events = [{"edge_roc_auc": 0.9, "edge_eff": 0.8, "edge_purity": 0.7, "edge_purity_pt": 0.6},
              {"edge_roc_auc": 0.95, "edge_eff": 0.9, "edge_purity": float("nan"),
               "edge_purity_pt": 0.7}]
    section = models_section({"euclidnet": {"n_params": 885}, "condensation": {"n_params": 10}},
                             {"euclidnet": events}, 0.5)
    assert section["euclidnet"]["edge_auc"] == pytest.approx(
        {"mean": 0.925, "std": math.sqrt(2 * 0.025 ** 2), "n": 2})
    assert section["euclidnet"]["edge_purity"]["n"] == 1
    assert "edge_auc" not in section["condensation"]
    assert mean_std_n([])["n"] == 0


def test_loss_curve_csv_and_png(tmp_path) -> None:
    curve = [{"epoch": 0, "train_loss": 1.0, "val_loss": 0.9, "val_edge_auc": 0.8, "seconds": 1.0},
             {"epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "val_edge_auc": 0.9, "seconds": 1.0}]
    write_curve(curve, tmp_path / "c.csv", tmp_path / "c.png", "t")
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,val_edge_auc,seconds" and len(lines) == 3
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def _write_tables(event: GraphEvent, folder, name: str):
    """The event as hits, particles and graph tables (as ingest and build-graph write them)."""
    import pandas as pd

    from trackrec.graph.edges import graph_frame
    from trackrec.io.parquet import write_table

    x, y, z = (event.xyz[:, i].astype(np.float64) for i in range(3))
    r = np.hypot(x, y)
    hits = pd.DataFrame({
        "hit_id": event.hit_id, "x": x, "y": y, "z": z, "r": r, "phi": np.arctan2(y, x),
        "eta": np.arcsinh(z / r), "volume_id": 8, "layer_id": 2, "module_id": 1,
        "particle_id": event.particle_id, "pt": event.pt,
    })
    pids = np.unique(event.particle_id[event.particle_id > 0])
    particles = pd.DataFrame({
        "particle_id": pids, "vx": 0.0, "vy": 0.0, "vz": 0.0, "px": 1.0, "py": 0.0, "pz": 0.0,
        "q": 1, "nhits": 5, "pt": 1.0, "eta": 0.0, "vr": 0.0, "n_layers": 5,
        "reconstructable": True,
    })
    paths = {k: folder / f"{name}-{k}.parquet" for k in ("hits", "particles", "graph")}
    write_table(hits, paths["hits"], "hits")
    write_table(particles, paths["particles"], "particles")
    write_table(graph_frame(hits, event.src, event.dst), paths["graph"], "graph")
    return paths


def test_commands_train_infer_evaluate_and_summarise(events, tmp_path, capsys) -> None:
    import json

    from trackrec.cli import main
    from trackrec.io.parquet import read_table

    train = [_write_tables(e, tmp_path, e.event) for e in events["train"][:2]]
    val = _write_tables(events["val"][0], tmp_path, "val")
    test = _write_tables(events["test"][0], tmp_path, "test")
    model = tmp_path / "models" / "gnn_interaction_network.pt"
    arch = ["--hidden", "12", "--iterations", "2"]
    status = main([
        "train-gnn", "--model", "interaction_network", *arch, "--epochs", "2", "--sectors", "2",
        "--learning-rate", "0.01", "--device", "cpu", "--quiet",
        "--train-hits", *(str(p["hits"]) for p in train),
        "--train-graphs", *(str(p["graph"]) for p in train),
        "--val-hits", str(val["hits"]), "--val-graphs", str(val["graph"]),
        "--out", str(model), "--curve", str(tmp_path / "curve.csv"),
        "--plot", str(tmp_path / "curve.png"), "--state", str(tmp_path / "state.pt"),
        "--data-provenance", '{"source": "tiny"}',
    ])
    assert status == 0
    provenance = json.loads(model.with_suffix(".json").read_text())
    assert provenance["kind"] == "gnn_interaction_network"
    assert provenance["config"]["interaction_network"] == {"hidden": 12, "iterations": 2}
    assert provenance["training"]["val_events"] == ["val-hits"]
    assert provenance["training"]["data"] == {"source": "tiny"}
    assert len(provenance["normalisation"]["edge_mean"]) == 4
    assert len((tmp_path / "curve.csv").read_text().splitlines()) == 3

    scores = tmp_path / "scores" / "interaction_network" / "test.parquet"
    assert main(["infer-gnn", "--model", "interaction_network", *arch, "--checkpoint", str(model),
                 "--hits", str(test["hits"]), "--graph", str(test["graph"]),
                 "--out", str(scores)]) == 0
    frame = read_table(scores, "edge_scores")
    assert len(frame) == events["test"][0].n_edges

    metrics = tmp_path / "edge_metrics" / "interaction_network" / "test.json"
    assert main(["evaluate-edges", "--hits", str(test["hits"]), "--particles",
                 str(test["particles"]), "--scores", str(scores), "--out", str(metrics),
                 "--pt-threshold", "0.5"]) == 0
    auc = json.loads(metrics.read_text())["edge_roc_auc"]
    assert auc == pytest.approx(roc_auc(events["test"][0].labels(), frame["score"].to_numpy()))

    summary = tmp_path / "models.json"
    assert main(["summarise-gnn", "--checkpoints", str(model), "--edge-metrics", str(metrics),
                 "--out", str(summary)]) == 0
    section = json.loads(summary.read_text())["models"]["interaction_network"]
    assert section["n_params"] > 0 and section["edge_auc"]["n"] == 1
    assert section["edge_auc"]["mean"] == pytest.approx(auc)
    assert section["edge_auc"]["std"] is None  # one event: undefined, and the file strict JSON

    # a config that does not fit the checkpoint: one line naming the setting, no output
    capsys.readouterr()
    refused = tmp_path / "refused.parquet"
    assert main(["infer-gnn", "--model", "interaction_network", "--hidden", "16",
                 "--iterations", "2", "--checkpoint", str(model), "--hits", str(test["hits"]),
                 "--graph", str(test["graph"]), "--out", str(refused)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "config.interaction_network.hidden is 12" in err
    assert not refused.exists()
    # a graph built on other hits is refused
    from dataclasses import replace
    other = _write_tables(replace(events["test"][0], hit_id=events["test"][0].hit_id + 1000),
                          tmp_path, "other")
    assert main(["infer-gnn", "--model", "interaction_network", *arch, "--checkpoint",
                 str(model), "--hits", str(other["hits"]), "--graph", str(test["graph"]),
                 "--out", str(refused)]) == 2
    assert "graph built on another hits table" in capsys.readouterr().err
    assert not refused.exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", ["interaction_network", "euclidnet", "condensation"])
def test_training_and_inference_on_cuda(kind: str, events) -> None:
    result, norm = _train(kind, events, epochs=1, device="cuda")
    from trackrec.models.registry import build_model
    model = build_model(kind, ARCH[kind])
    model.load_state_dict(result.weights)
    on_gpu = predict(model.to("cuda").eval(), kind, events["test"][0], norm, device="cuda")
    on_cpu = predict(model.to("cpu").eval(), kind, events["test"][0], norm, device="cpu")
    column = "beta" if kind == "condensation" else "score"
    np.testing.assert_allclose(on_gpu[column], on_cpu[column], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["interaction_network", "euclidnet", "condensation"])
def test_shipped_checkpoint_fits_the_default_config(kind: str) -> None:
    """models/gnn_<kind>.pt loads with the embedded config's architecture (pretrained runs)."""
    import yaml

    from trackrec.models.layers import count_parameters
    from trackrec.models.registry import architecture

    from conftest import REPO_ROOT

    path = REPO_ROOT / "models" / f"gnn_{kind}.pt"
    if not path.exists():
        pytest.skip(f"no shipped {path.name}")
    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())["gnn"]
    model, _, provenance = load_model(path, kind, architecture(kind, config[kind]))
    assert path.stat().st_size < 10_000_000
    assert provenance["n_params"] == count_parameters(model)
    assert len(provenance["training"]["train_events"]) > 0
    if kind == "euclidnet":
        assert count_parameters(model) < 1_000
    if kind == "interaction_network":
        assert 5_500 <= count_parameters(model) <= 7_000
