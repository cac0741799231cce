"""Every output says which trackrec made it, and with which settings (issue 7): Parquet tables
in their metadata, metrics JSON in two string keys, the report in summary.json and its page,
which warns when its metrics come from several versions."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from trackrec.cli import main
from trackrec.report.build import ReportOutputs, build_summary, write_report

# the installed distribution's version (from pyproject.toml), not the package's constant
INSTALLED = importlib.metadata.version("trackrec")


def _metadata(path: Path) -> dict[str, str]:
    raw = pq.read_schema(path).metadata
    return {k.decode(): v.decode() for k, v in raw.items()}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, sample_prefix: Path, detectors_path: Path) -> dict:
    folder = tmp_path_factory.mktemp("versions")
    paths = {name: folder / f"{name}.parquet" for name in ("hits", "particles", "tracks", "imported")}
    paths["metrics"] = folder / "metrics" / "dbscan_baseline" / "event000000001.json"
    assert main(["ingest", str(sample_prefix), "--hits", str(paths["hits"]), "--particles",
                 str(paths["particles"]), "--detectors", str(detectors_path)]) == 0
    assert main(["track-dbscan", "--hits", str(paths["hits"]), "--out", str(paths["tracks"]),
                 "--curvature-steps", "3", "--eps", "0.007"]) == 0
    assert main(["import-tracks", "--submission", str(paths["tracks"]), "--hits",
                 str(paths["hits"]), "--out", str(paths["imported"])]) == 0
    assert main(["evaluate", "--hits", str(paths["hits"]), "--particles", str(paths["particles"]),
                 "--tracks", str(paths["tracks"]), "--out", str(paths["metrics"]),
                 "--pt-thresholds", "0.9"]) == 0
    return paths


def test_tables_record_version_and_settings(outputs: dict, detectors_path: Path) -> None:
    for name in ("hits", "particles"):
        meta = _metadata(outputs[name])
        assert meta["trackrec.version"] == INSTALLED
        assert json.loads(meta["trackrec.config"]) == {"data": {"detectors": str(detectors_path)}}
    meta = _metadata(outputs["tracks"])
    assert meta["trackrec.version"] == INSTALLED
    dbscan = json.loads(meta["trackrec.config"])["tracking"]["dbscan_baseline"]
    assert dbscan["curvature_steps"] == 3 and dbscan["eps"] == 0.007
    imported = json.loads(_metadata(outputs["imported"])["trackrec.config"])
    assert imported == {"submission": str(outputs["tracks"]), "event": None}


def test_metrics_record_version_and_settings_as_strings(outputs: dict) -> None:
    metrics = json.loads(outputs["metrics"].read_text())
    assert metrics["trackrec_version"] == INSTALLED
    config = metrics["trackrec_config"]
    assert isinstance(config, str)  # a consumer of the numeric keys skips string values
    assert json.loads(config) == {
        "metrics": {"pt_thresholds": [0.9], "max_abs_eta": 4.0, "min_track_hits": 3}
    }


def test_report_names_versions_and_warns_when_mixed(outputs: dict, tmp_path: Path) -> None:
    old = tmp_path / "metrics" / "dbscan_baseline" / "event000000002.json"
    old.parent.mkdir(parents=True)
    values = json.loads(outputs["metrics"].read_text())
    values["trackrec_version"] = "0.0.1"
    old.write_text(json.dumps(values))

    summary, curves = build_summary([outputs["metrics"]], [])
    assert summary["trackrec_version"] == INSTALLED
    assert summary["metrics_versions"] == {INSTALLED: 1}
    report = ReportOutputs.in_folder(tmp_path / "one")
    write_report(summary, curves, report, "one version")
    page = report.html.read_text()
    assert f"trackrec {INSTALLED}" in page and "Warning" not in page
    from PIL import Image

    with Image.open(report.events) as plot:
        assert plot.text["Software"] == f"trackrec {INSTALLED}"
    assert json.loads(report.summary_json.read_text())["trackrec_version"] == INSTALLED

    summary, curves = build_summary([outputs["metrics"], old], [])
    assert summary["metrics_versions"] == {"0.0.1": 1, INSTALLED: 1}
    report = ReportOutputs.in_folder(tmp_path / "two")
    write_report(summary, curves, report, "two versions")
    assert "Warning: metrics of another trackrec version" in report.html.read_text()


def test_prepared_geometry_records_the_version(tmp_path: Path) -> None:
    import numpy as np

    geometry = tmp_path / "geometry.npz"
    assert main(["simulate-detector", "--out", str(tmp_path / "d.csv.gz"),
                 "--geometry", str(geometry)]) == 0
    with np.load(geometry, allow_pickle=False) as data:
        assert str(data["trackrec_version"]) == INSTALLED
