"""models.source: pretrained copies a shipped model and its provenance into the run."""

from __future__ import annotations

import json

import numpy as np

from trackrec.io.checkpoint import model_provenance, save_array_model

from workflow_helpers import snakemake


def test_pretrained_model_is_installed_into_the_run(tmp_path):
    shipped = tmp_path / "shipped models"
    provenance = model_provenance(
        kind="test", config={}, features=["r"], normalisation=None, train_events=[],
        val_events=[], data={}, metrics={}, train_seconds=0.0)
    save_array_model(shipped / "toy.npz", {"a": np.arange(4)}, provenance)
    results = tmp_path / "results"
    target = results / "default" / "models" / "toy.npz"
    models = json.dumps({"source": "pretrained", "pretrained_dir": str(shipped)})
    proc = snakemake("--cores", "1", "--config", f"results={results}", f"models={models}",
                     "--", str(target))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert target.read_bytes() == (shipped / "toy.npz").read_bytes()
    assert json.loads(target.with_suffix(".json").read_text())["kind"] == "test"
    # with models.source: train nothing can make the file
    proc = snakemake("-n", "--config", f"results={tmp_path / 'other'}", "--",
                     str(tmp_path / "other" / "default" / "models" / "toy.npz"))
    assert proc.returncode != 0
