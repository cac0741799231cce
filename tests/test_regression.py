"""Regression guards: the DBSCAN baseline's TrackML score through the workflow's commands.

Each test runs the stages a workflow run chains (``simulate`` for the simulated event,
``ingest``, ``track-dbscan``, ``evaluate``) and checks the score against a floor a little
under the figure measured when the guard was written, so that a regression in any of those
stages (the reader, the hit table, the simulator, the clustering, the score) fails a test.
A change that lowers the score on purpose must lower the floor in the same commit and say so.

Measured (issue 7, trackrec 0.1.0): the real sample 0.5478; the simulated event below 0.5443.
"""

from __future__ import annotations

import json
from pathlib import Path

from trackrec.cli import main

REAL_SAMPLE_FLOOR = 0.54
SIMULATED_FLOOR = 0.535
# the simulated event: an event depends only on (seed, event id, pileup)
SIMULATED = {"seed": 42, "first_event_id": 1000, "pileup": 10}


def _dbscan_metrics(prefix: Path, detectors: Path, folder: Path) -> dict:
    hits, particles = folder / "hits.parquet", folder / "particles.parquet"
    tracks, metrics = folder / "tracks.parquet", folder / "metrics.json"
    assert main(["ingest", str(prefix), "--hits", str(hits), "--particles", str(particles),
                 "--detectors", str(detectors)]) == 0
    assert main(["track-dbscan", "--hits", str(hits), "--out", str(tracks), "--threads", "2"]) == 0
    assert main(["evaluate", "--hits", str(hits), "--particles", str(particles),
                 "--tracks", str(tracks), "--out", str(metrics)]) == 0
    return json.loads(metrics.read_text())


def test_dbscan_score_on_the_real_sample(
    sample_prefix: Path, detectors_path: Path, tmp_path: Path
) -> None:
    metrics = _dbscan_metrics(sample_prefix, detectors_path, tmp_path)
    assert metrics["trackml_score"] >= REAL_SAMPLE_FLOOR, metrics["trackml_score"]
    assert metrics["trackml_score"] < 1


def test_dbscan_score_on_a_fixed_simulated_event(tmp_path: Path) -> None:
    sim = tmp_path / "simulated"
    assert main(["simulate", "--out", str(sim), "--events", "1",
                 *(f"--{k.replace('_', '-')}={v}" for k, v in SIMULATED.items())]) == 0
    event = sim / f"event{SIMULATED['first_event_id']:09d}"
    metrics = _dbscan_metrics(event, sim / "detectors.csv.gz", tmp_path)
    assert metrics["n_hits"] > 5000  # the event is the pileup-10 one the floor was set on
    assert metrics["trackml_score"] >= SIMULATED_FLOOR, metrics["trackml_score"]
    assert metrics["trackml_score"] < 1
