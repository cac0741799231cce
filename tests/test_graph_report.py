"""report-graph: means and goals from hand-made metrics, the plot, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trackrec.cli import main
from trackrec.graph.report import summarise


def test_means_and_goals_by_hand() -> None:
    metrics = {
        "event000000001": {"segment50_pt0.9": 0.96, "edges_per_hit": 10.0},
        "event000000002": {"segment50_pt0.9": 1.0, "edges_per_hit": 20.0},
        "event000000003": {"segment50_pt0.9": None, "edges_per_hit": 60.0},  # no particles
    }
    benchmarks = [{"s": 1.0, "max_rss_mb": 100.0}, {"s": 2.0, "max_rss_mb": 300.0}]
    summary = summarise(metrics, None, benchmarks)
    assert summary["mean"]["segment50_pt0.9"] == pytest.approx(0.98)
    assert summary["mean"]["edges_per_hit"] == pytest.approx(30.0)
    assert summary["goals"]["segment50_pt0.9"]["met"] is True
    assert summary["goals"]["edges_per_hit"]["met"] is False  # 30 is not below 30
    assert summary["goals"]["build_s_per_event"]["value"] == pytest.approx(1.5)
    assert summary["goals"]["build_max_rss_mb"]["value"] == 300.0
    assert summary["n_events"] == 3


def test_command_writes_json_and_plot(tmp_path: Path, capsys) -> None:
    files = []
    for i, (s50, eph) in enumerate([(0.99, 7.0), (0.98, 8.0)]):
        path = tmp_path / f"event00000000{i}.json"
        path.write_text(json.dumps({"segment50_pt0.9": s50, "edges_per_hit": eph}))
        files.append(str(path))
    bench = tmp_path / "b.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t250.0\n")
    summary, plot = tmp_path / "out" / "summary.json", tmp_path / "out" / "plot.png"
    assert main(["report-graph", "--metrics", *files, "--benchmarks", str(bench),
                 "--summary", str(summary), "--plot", str(plot)]) == 0
    record = json.loads(summary.read_text())
    assert record["events"]["event000000000"]["edges_per_hit"] == 7.0
    assert record["goals"]["build_s_per_event"]["met"] is True
    assert plot.read_bytes()[:4] == b"\x89PNG"
    broken = tmp_path / "event000000009.json"
    broken.write_text("{")
    assert main(["report-graph", "--metrics", str(broken), "--summary", str(tmp_path / "s2.json"),
                 "--plot", str(tmp_path / "p2.png")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "s2.json").exists()
