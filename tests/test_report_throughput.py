"""The TrackML throughput-phase score of a method's chain."""

from __future__ import annotations

import math

import pytest

from trackrec.errors import TrackrecError
from trackrec.report.throughput import (
    benchmark_stage_path,
    chain_throughput,
    parse_chain,
    throughput_score,
)


def test_throughput_score_formula() -> None:
    # by hand: sqrt(ln(1 + 600/600) * 0.5^2) = 0.5 sqrt(ln 2); sqrt(ln 601) * 0.4
    assert throughput_score(1.0, 600.0) == pytest.approx(0.5 * 0.8325546111576977)
    assert throughput_score(0.9, 1.0) == pytest.approx(0.4 * 2.529544)
    assert throughput_score(0.5, 1.0) == 0.0 and throughput_score(0.3, 1.0) == 0.0
    assert math.isnan(throughput_score(math.nan, 1.0))
    assert math.isnan(throughput_score(0.9, 0.0))


def test_chain_sums_stage_means() -> None:
    seconds = {"ingest": [1.0, 3.0], "infer_gnn/interaction_network": [4.0], "track_x": [0.5]}
    methods = {"x": {"trackml_score": {"mean": 0.9, "std": 0.0, "n": 2}}}
    got = chain_throughput({"x": ["ingest", "infer_gnn/interaction_network", "track_x"]},
                           seconds, methods)["x"]
    assert got["seconds_per_event"] == 6.5
    assert got["throughput_score"] == pytest.approx(math.sqrt(math.log(1 + 600 / 6.5)) * 0.4)
    missing = chain_throughput({"x": ["ingest", "build_graph"]}, seconds, methods)["x"]
    assert missing["missing_stages"] == ["build_graph"]
    assert math.isnan(missing["throughput_score"])


def test_stage_paths_and_chain_options() -> None:
    assert benchmark_stage_path("r/benchmarks/infer_gnn/euclidnet/event000001000.tsv") == (
        "infer_gnn/euclidnet")
    assert benchmark_stage_path("r/benchmarks/ingest/event000001000.tsv") == "ingest"
    assert parse_chain("gnn_ec=ingest,track_gnn_ec") == ("gnn_ec", ["ingest", "track_gnn_ec"])
    with pytest.raises(TrackrecError, match="METHOD=STAGE"):
        parse_chain("gnn_ec")


def test_report_command_adds_the_throughput_section(tmp_path) -> None:
    import json

    from test_report import write_benchmark, write_metrics

    from trackrec.cli import main

    for event, score in (("event000000001", 0.8), ("event000000002", 0.9)):
        write_metrics(tmp_path, "dbscan", event, {"trackml_score": score})
        write_benchmark(tmp_path, "ingest", event, 1.0, 100.0)
        write_benchmark(tmp_path, "track_dbscan", event, 3.0, 100.0)
    write_benchmark(tmp_path, "infer_gnn/x", "event000000001", 99.0, 100.0)  # not in the chain
    assert main(["report", "--results-dir", str(tmp_path),
                 "--chain", "dbscan=ingest,track_dbscan"]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    got = summary["throughput"]["dbscan"]
    assert got["seconds_per_event"] == 4.0
    assert got["throughput_score"] == pytest.approx(math.sqrt(math.log(1 + 150)) * 0.35)
    assert "TrackML throughput score" in (tmp_path / "report" / "report.html").read_text()
    assert any(s["title"] == "TrackML throughput score" for s in summary["sections"])
