"""The noise-filter commands chained on tiny simulated events: train, filter, report;
refusals (mismatched config, missing columns, no truth for the oracle) are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trackrec.cli import main
from trackrec.io.parquet import read_table

GBDT = {"model": "gbdt", "max_poi_loss": 0.01, "features": ["hit", "shape", "context"],
        "gbdt": {"max_iter": 20, "learning_rate": 0.2, "max_leaf_nodes": 15,
                 "l2_regularization": 0.0, "seed": 0}}  # fmt: skip
MLP = {"model": "mlp", "max_poi_loss": 0.01, "features": ["hit", "context"],
       "mlp": {"hidden": 16, "blocks": 1, "epochs": 2, "batch_size": 512,
               "learning_rate": 0.003, "seed": 0}}  # fmt: skip


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Three simulated pileup-5 events, ingested with the simulated detector."""
    folder = tmp_path_factory.mktemp("noise_events")
    assert main(["simulate", "--out", str(folder), "--events", "3", "--pileup", "5",
                 "--seed", "11", "--first-event-id", "2000"]) == 0  # fmt: skip
    out = {}
    for number in (2000, 2001, 2002):
        name = f"event{number:09d}"
        hits, particles = folder / f"{name}-hits.parquet", folder / f"{name}-particles.parquet"
        assert main(["ingest", str(folder / name), "--hits", str(hits), "--particles",
                     str(particles), "--detectors", str(folder / "detectors.csv.gz")]) == 0  # fmt: skip
        out[name] = (hits, particles)
    return out


def train(events, config: dict, out: Path) -> int:
    (th, tp), (vh, vp) = events["event000002000"], events["event000002001"]
    return main(["train-noise-filter", "--train-hits", str(th), "--train-particles", str(tp),
                 "--val-hits", str(vh), "--val-particles", str(vp), "--config",
                 json.dumps(config), "--threads", "1", "--out", str(out)])  # fmt: skip


def run_filter(events, config: dict, folder: Path, model: Path | None = None) -> int:
    hits, particles = events["event000002002"]
    args = ["filter-noise", "--hits", str(hits), "--particles", str(particles), "--config",
            json.dumps(config), "--out", str(folder / "kept.parquet"), "--metrics",
            str(folder / "m.json"), "--histograms", str(folder / "h.json")]  # fmt: skip
    return main(args + (["--model", str(model)] if model else []))


@pytest.fixture(scope="module")
def gbdt_model(events, tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("gbdt") / "noise_filter_gbdt.npz"
    assert train(events, GBDT, model) == 0
    return model


def test_trained_trees_filter_an_event(events, gbdt_model, tmp_path) -> None:
    provenance = json.loads(gbdt_model.with_suffix(".json").read_text())
    assert provenance["kind"] == "noise_filter"
    assert provenance["training"]["train_events"] == ["event000002000"]
    assert provenance["training"]["val_events"] == ["event000002001"]
    assert provenance["metrics"]["good_hit_loss_pt0.9"] <= 0.01  # the working point holds
    assert run_filter(events, GBDT, tmp_path, gbdt_model) == 0
    kept = read_table(tmp_path / "kept.parquet", "filtered")
    hits = read_table(events["event000002002"][0], "hits")
    metrics = json.loads((tmp_path / "m.json").read_text())
    # the metrics count what the table holds: removed noise = noise hits not kept
    noise_kept = int((kept["particle_id"] == 0).sum())
    assert metrics["noise_removed_frac"] == pytest.approx(1 - noise_kept / (hits["particle_id"] == 0).sum())
    assert metrics["n_kept"] == len(kept) < len(hits)
    assert (kept["noise_score"] <= provenance["threshold"]).all()
    assert metrics["noise_auc"] > 0.75 and metrics["noise_removed_frac"] > 0.2
    assert set(kept["hit_id"]) <= set(hits["hit_id"])


def test_off_keeps_every_hit_and_oracle_removes_exactly_the_noise(events, tmp_path) -> None:
    assert run_filter(events, {"model": "off"}, tmp_path) == 0
    hits = read_table(events["event000002002"][0], "hits")
    assert len(read_table(tmp_path / "kept.parquet", "filtered")) == len(hits)
    assert json.loads((tmp_path / "m.json").read_text())["noise_removed_frac"] == 0
    assert run_filter(events, {"model": "oracle"}, tmp_path) == 0
    kept = read_table(tmp_path / "kept.parquet", "filtered")
    assert (kept["particle_id"] != 0).all() and len(kept) == (hits["particle_id"] != 0).sum()
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["noise_removed_frac"] == 1 and metrics["good_hit_loss_all"] == 0
    assert metrics["noise_auc"] == 1


def test_model_of_other_settings_is_refused_naming_them(events, gbdt_model, tmp_path, capsys) -> None:
    other = {**GBDT, "max_poi_loss": 0.02}
    assert run_filter(events, other, tmp_path, gbdt_model) == 2
    err = capsys.readouterr().err.strip()
    assert "config.max_poi_loss" in err and "0.01" in err and "0.02" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "kept.parquet").exists()


def test_event_without_cells_is_refused_naming_the_columns(events, gbdt_model, tmp_path, capsys) -> None:
    from trackrec.io.parquet import write_table

    hits = read_table(events["event000002002"][0], "hits").drop(
        columns=["n_cells", "charge", "extent_u", "extent_v"])
    no_cells = tmp_path / "no_cells.parquet"
    write_table(hits, no_cells, "hits")
    args = ["filter-noise", "--hits", str(no_cells), "--model", str(gbdt_model), "--config",
            json.dumps(GBDT), "--out", str(tmp_path / "k.parquet"), "--metrics",
            str(tmp_path / "m.json"), "--histograms", str(tmp_path / "h.json")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no_cells.parquet" in err and "n_cells" in err
    assert not any(p.name.startswith(("k.", "m.", "h.")) for p in tmp_path.iterdir())


def test_report_writes_summary_and_roc(events, gbdt_model, tmp_path) -> None:
    assert run_filter(events, GBDT, tmp_path, gbdt_model) == 0
    summary, plot = tmp_path / "summary.json", tmp_path / "roc.png"
    assert main(["report-noise-filter", "--metrics", str(tmp_path / "m.json"), "--histograms",
                 str(tmp_path / "h.json"), "--model", str(gbdt_model), "--config",
                 json.dumps(GBDT), "--summary-json", str(summary), "--plot-roc", str(plot)]) == 0  # fmt: skip
    got = json.loads(summary.read_text())
    event = json.loads((tmp_path / "m.json").read_text())
    assert got["mean"]["noise_removed_frac"] == pytest.approx(event["noise_removed_frac"])
    assert got["model_provenance"]["threshold"] > 0
    roc = got["roc"]
    assert np.all(np.diff(roc["noise_removed"]) >= 0)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_mlp_trains_deterministically_and_filters(events, tmp_path) -> None:
    one, two = tmp_path / "a" / "noise_filter_mlp.pt", tmp_path / "b" / "noise_filter_mlp.pt"
    assert train(events, MLP, one) == 0 and train(events, MLP, two) == 0
    import torch

    first, second = (torch.load(p, weights_only=True) for p in (one, two))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert run_filter(events, MLP, tmp_path, one) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["noise_auc"] > 0.7


def test_interrupted_mlp_training_resumes_to_the_same_weights(events, tmp_path, monkeypatch,
                                                              capsys) -> None:  # fmt: skip
    import torch

    import trackrec.noise.stage as stage

    whole = tmp_path / "whole" / "noise_filter_mlp.pt"
    assert train(events, MLP, whole) == 0
    broken = tmp_path / "broken" / "noise_filter_mlp.pt"
    real_progress = stage._progress

    def interrupt(message: str) -> None:
        real_progress(message)
        if message.startswith("epoch 1/"):
            raise KeyboardInterrupt

    monkeypatch.setattr(stage, "_progress", interrupt)
    assert train(events, MLP, broken) == 130
    assert not broken.exists() and broken.with_suffix(".partial.pt").exists()
    monkeypatch.setattr(stage, "_progress", real_progress)
    capsys.readouterr()
    assert train(events, MLP, broken) == 0
    assert "resuming after epoch 1" in capsys.readouterr().err
    assert not broken.with_suffix(".partial.pt").exists()
    first, second = (torch.load(p, weights_only=True) for p in (whole, broken))
    assert all(torch.allclose(first[k], second[k], atol=1e-6) for k in first)
