"""Report sections made from the stages' summaries (fit, graph, GNN models), on hand-made
summaries, and the ``models`` entry they put into ``summary.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_report import write_metrics

from trackrec.cli import main
from trackrec.errors import TrackrecError
from trackrec.report.build import ReportOutputs, build_summary, write_report
from trackrec.report.sections import load_section_file
from trackrec.report.stage_sections import fit_section, graph_section, models_section

PNG = bytes.fromhex(  # PNG-like bytes: the report embeds an image file as it is
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

FIT_SUMMARY = {
    "description": "Kalman fit resolutions per method.",
    "eta_min_pt": 0.9,
    "methods": {
        "dbscan": {
            "n_tracks": 10, "n_fitted": 9, "n_matched": 7, "fit_failure_rate": 0.1,
            "charge_misid_rate": 0.0, "median_chi2_ndf": 1.2, "rel_pt_vs_pt": [],
            "pulls": {p: {"mean": 0.0, "pruned_rms": w, "n_kept": 7, "n": 7}
                      for p, w in zip(("d0", "z0", "phi", "theta", "qopt"),
                                      (1.1, 0.9, 1.0, 1.3, None))},
        },
    },
}  # fmt: skip

GRAPH_SUMMARY = {
    "n_events": 2,
    "mean": {"edges_per_hit": 6.5, "segment50_pt0.9": 0.95},
    "goals": {"segment50_pt0.9": {"goal": ">= 0.97", "value": 0.95, "met": False},
              "edges_per_hit": {"goal": "< 30", "value": 6.5, "met": True},
              "build_s_per_event": {"goal": "< 2", "value": None, "met": None}},
    "model": {"kind": "graph_cuts", "train_events": ["event000001000"]},
    "events": {},
}  # fmt: skip

MODELS_SUMMARY = {
    "models": {
        "interaction_network": {
            "kind": "gnn_interaction_network", "n_params": 1234, "checkpoint": "x.pt",
            "val_metrics": {"val_loss": 0.2}, "working_point": 0.5,
            "edge_auc": {"mean": 0.98, "std": 0.01, "n": 2},
            "edge_eff": {"mean": 0.9, "std": 0.02, "n": 2},
            "edge_purity": {"mean": 0.8, "std": float("nan"), "n": 1},
            "edge_purity_pt": {"mean": 0.7, "std": 0.1, "n": 2},
        },
        "condensation": {"kind": "gnn_condensation", "n_params": 99, "checkpoint": "c.pt"},
    }
}  # fmt: skip


def write_section(tmp_path: Path, section: dict, name: str = "section.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(section, allow_nan=False))
    return path


def test_fit_section_has_one_row_per_method_with_its_pulls(tmp_path: Path) -> None:
    section = load_section_file(write_section(tmp_path, fit_section(FIT_SUMMARY)))
    assert section.title == "Track fit (Kalman filter)"
    row = dict(zip(section.columns, section.rows[0]))
    assert row["method"] == "dbscan"
    assert (row["tracks"], row["fitted"], row["matched"]) == (10, 9, 7)
    assert row["fit failure rate"] == 0.1 and row["median χ²/ndf"] == 1.2
    assert [row[f"pull RMS {p}"] for p in ("d0", "z0", "phi", "theta")] == [1.1, 0.9, 1.0, 1.3]
    assert math.isnan(row["pull RMS qopt"])  # null stays undefined


def test_graph_section_shows_the_goals_and_means(tmp_path: Path) -> None:
    section = load_section_file(write_section(tmp_path, graph_section(GRAPH_SUMMARY)))
    assert section.metrics == {"edges_per_hit": 6.5, "segment50_pt0.9": 0.95}
    goals = {row[0]: row[1:] for row in section.rows}
    assert goals["segment50_pt0.9"] == [">= 0.97", 0.95, "no"]
    assert goals["edges_per_hit"] == ["< 30", 6.5, "yes"]
    assert goals["build_s_per_event"][2] == "n/a"
    assert "graph_cuts model (derived from 1 training event)" in section.text


def test_models_section_gives_summary_json_its_models_entry(tmp_path: Path) -> None:
    (tmp_path / "curve.png").write_bytes(PNG)
    path = write_section(tmp_path, models_section(MODELS_SUMMARY, ["curve.png"]))
    section = load_section_file(path)
    assert section.images == [tmp_path / "curve.png"]
    assert section.metrics["interaction_network: edge ROC AUC"] == {
        "mean": 0.98, "std": 0.01, "n": 2
    }
    metrics = write_metrics(tmp_path, "dbscan", "event000000001", {"trackml_score": 0.5})
    summary, curves = build_summary([metrics], [], sections=[section])
    # issue #11: per model n_params; per edge classifier AUC, efficiency, purity (mean, std, n)
    assert summary["models"] == {
        "interaction_network": {
            "n_params": 1234,
            "edge_auc": {"mean": 0.98, "std": 0.01, "n": 2},
            "edge_eff": {"mean": 0.9, "std": 0.02, "n": 2},
            "edge_purity": {"mean": 0.8, "std": None, "n": 1},
        },
        "condensation": {"n_params": 99},
    }
    outputs = ReportOutputs.in_folder(tmp_path / "report")
    write_report(summary, curves, outputs, "t", sections=[section])
    written = json.loads(outputs.summary_json.read_text())
    assert written["models"]["interaction_network"]["edge_purity"]["std"] is None
    page = outputs.html.read_text()
    assert "<h2>GNN models</h2>" in page and 'alt="curve"' in page


def test_a_section_cannot_replace_a_report_key(tmp_path: Path) -> None:
    section = load_section_file(
        write_section(tmp_path, {"title": "X", "summary": {"methods": {}}})
    )
    metrics = write_metrics(tmp_path, "dbscan", "event000000001", {"trackml_score": 0.5})
    with pytest.raises(TrackrecError, match="report section 'X': summary.json already has 'methods'"):
        build_summary([metrics], [], sections=[section])


@pytest.mark.parametrize("kind", ["fit", "graph", "models"])
def test_report_section_command_refuses_another_stage_summary(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture
) -> None:
    summary = write_section(tmp_path, {"n_events": 1}, "summary.json")
    out = tmp_path / "sections" / f"{kind}.json"
    code = main(["report-section", "--kind", kind, "--summary", str(summary), "--out", str(out)])
    assert code == 2
    assert f"{summary}: not a " in capsys.readouterr().err
    assert not out.exists()


def test_report_section_command_writes_images_relative_to_the_section(tmp_path: Path) -> None:
    summary = write_section(tmp_path, FIT_SUMMARY, "fit_summary.json")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "fit_resolution_vs_pt.png").write_bytes(PNG)
    out = tmp_path / "sections" / "fit.json"
    code = main(["report-section", "--kind", "fit", "--summary", str(summary),
                 "--images", str(tmp_path / "plots" / "fit_resolution_vs_pt.png"),
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    assert json.loads(out.read_text())["images"] == ["../plots/fit_resolution_vs_pt.png"]
    assert load_section_file(out).images[0].resolve() == (
        tmp_path / "plots" / "fit_resolution_vs_pt.png"
    )
