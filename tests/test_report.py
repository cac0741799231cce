"""The report: sums over events, efficiency curves, failures, and the files it writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trackrec.cli import main
from trackrec.errors import InputError
from trackrec.report.build import build_summary
from trackrec.report.summary import benchmark_stage, read_metrics_file

BENCHMARK_HEADER = (
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
)


def write_metrics(root: Path, method: str, event: str, values: dict) -> Path:
    path = root / "metrics" / method / f"{event}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    return path


def write_benchmark(root: Path, stage: str, event: str, seconds: float, rss: float) -> Path:
    path = root / "benchmarks" / stage / f"{event}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCHMARK_HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t0\n")
    return path


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    # event A: 3 of 4 particles in pT bin [0.9, 1.2) found (DM), 1 perfectly;
    # event B: 1 of 2 found, 0 perfectly -> summed 4/6 and 1/6.
    write_metrics(
        tmp_path,
        "dbscan",
        "event000000001",
        {
            "trackml_score": 0.5,
            "n_tracks": 10,
            "count_pt_0.9_1.2_particles": 4,
            "count_pt_0.9_1.2_dm": 3,
            "count_pt_0.9_1.2_perfect": 1,
        },
    )
    write_metrics(
        tmp_path,
        "dbscan",
        "event000000002",
        {
            "trackml_score": 0.7,
            "n_tracks": 20,
            "eff_dm_pt0.9": None,
            "count_pt_0.9_1.2_particles": 2,
            "count_pt_0.9_1.2_dm": 1,
            "count_pt_0.9_1.2_perfect": 0,
        },
    )
    write_benchmark(tmp_path, "ingest", "event000000001", 1.0, 100.0)
    write_benchmark(tmp_path, "ingest", "event000000002", 3.0, 300.0)
    return tmp_path


def test_summary_statistics(run_dir: Path) -> None:
    summary, curves = build_summary(
        sorted(run_dir.glob("metrics/*/*.json")),
        sorted(run_dir.glob("benchmarks/*/*.tsv")),
        ["event000000001", "event000000002", "event000000003"],
    )
    score = summary["methods"]["dbscan"]["trackml_score"]
    assert (
        score["mean"] == pytest.approx(0.6)
        and score["std"] == pytest.approx(0.1)
        and score["n"] == 2
    )
    # a null metric is not counted
    assert summary["methods"]["dbscan"]["eff_dm_pt0.9"]["n"] == 0
    assert summary["stages"]["ingest"] == {"s_per_event": 2.0, "max_rss_mb": 300.0, "n": 2}
    assert summary["failed_events"] == [
        {"method": "dbscan", "event": "event000000003", "reason": "no metrics file"}
    ]
    row = curves.iloc[0]
    assert (row["var"], row["lo"], row["hi"], row["n_particles"]) == ("pt", 0.9, 1.2, 6)
    assert row["eff_dm"] == pytest.approx(4 / 6)
    assert row["eff_perfect"] == pytest.approx(1 / 6)
    assert row["err_dm"] == pytest.approx(math.sqrt((4 / 6) * (2 / 6) / 6))


def test_report_command_writes_everything(run_dir: Path) -> None:
    assert main(["report", "--results-dir", str(run_dir)]) == 0
    report = run_dir / "report"
    for name in (
        "summary.json",
        "summary.csv",
        "report.html",
        "efficiency_vs_pt.png",
        "efficiency_vs_eta.png",
        "fake_duplicate_vs_pt.png",
        "fake_duplicate_vs_eta.png",
        "events.png",
        "stages.png",
    ):
        assert (report / name).stat().st_size > 0, name
    summary = json.loads((report / "summary.json").read_text())
    assert set(summary) >= {"methods", "stages", "failed_events"}
    assert summary["per_event_scores"]["dbscan"] == {"event000000001": 0.5, "event000000002": 0.7}
    assert summary["methods"]["dbscan"]["eff_dm_pt0.9"]["mean"] is None  # NaN -> null
    html = (report / "report.html").read_text()
    assert "dbscan" in html and html.count("data:image/png;base64,") == 6
    csv_lines = (report / "summary.csv").read_text().splitlines()
    assert csv_lines[0] == "section,name,metric,mean,std,n"
    assert any(line.startswith("stage,ingest,s_per_event,2.0") for line in csv_lines)


def test_bad_metrics_file_is_one_line_error(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_metrics(run_dir, "dbscan", "event000000009", {})
    bad.write_text("{not json")
    with pytest.raises(InputError, match="event000000009.json: not valid JSON"):
        read_metrics_file(bad)
    assert main(["report", "--results-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "event000000009.json" in err
    assert not (run_dir / "report" / "summary.json").exists()


def write_plan(root: Path, events: list[str], methods: list[str], **metrics: object) -> Path:
    """A plan file as `trackrec plan` writes it, for the keys the report reads."""
    path = root / "plan.json"
    config = {"data": {"source": "simulate"}, "metrics": metrics}
    plan = {
        "trackrec_version": "0",
        "run": root.name,
        "splits": {"train": [], "val": [], "test": events},
        "source_of": dict.fromkeys(events, "simulate"),
        "scored_test_events": events,
        "methods": methods,
        "config": config,
    }
    path.write_text(json.dumps(plan))
    return path


def test_results_dir_lists_events_missing_from_the_plan(run_dir: Path) -> None:
    # The plan expects three events of two methods; dbscan has metrics for two, gnn for none.
    events = ["event000000001", "event000000002", "event000000003"]
    write_plan(run_dir, events, ["dbscan", "gnn"])
    assert main(["report", "--results-dir", str(run_dir)]) == 0
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    missing = [(f["method"], f["event"]) for f in summary["failed_events"]]
    assert missing == [("dbscan", "event000000003")] + [("gnn", e) for e in events]
    assert all(f["reason"] == "no metrics file" for f in summary["failed_events"])
    assert summary["events"] == events
    html = (run_dir / "report" / "report.html").read_text()
    assert "event000000003" in html


def test_without_a_plan_nothing_can_be_missing(run_dir: Path) -> None:
    assert main(["report", "--results-dir", str(run_dir)]) == 0
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["failed_events"] == []


def test_bad_plan_file_is_one_line_error(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    (run_dir / "plan.json").write_text('{"run": "x"}')
    assert main(["report", "--results-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "plan.json: not a trackrec plan file: no splits, source_of, "
        "scored_test_events, methods, config"
    )
    assert not (run_dir / "report").exists()


def test_benchmark_stage_from_path() -> None:
    assert benchmark_stage("r/run/benchmarks/evaluate/dbscan/event000000001.tsv") == "evaluate"
    assert benchmark_stage("r/run/benchmarks/ingest/event000000001.tsv") == "ingest"


def wilson_by_scan(k: int, n: int, z: float = 1.0) -> tuple[float, float]:
    """The Wilson interval from its definition: every p with |k/n - p| <= z sqrt(p(1-p)/n)."""
    import numpy as np

    p = np.linspace(0, 1, 200_001)
    inside = np.abs(k / n - p) <= z * np.sqrt(p * (1 - p) / n)
    return float(p[inside].min()), float(p[inside].max())


@pytest.mark.parametrize(("k", "n"), [(0, 1), (6, 6), (3, 7), (40, 50), (0, 1000)])
def test_wilson_interval_matches_its_definition(k: int, n: int) -> None:
    from trackrec.report.summary import wilson_interval

    lo, hi = wilson_interval(k, n)
    expected = wilson_by_scan(k, n)
    assert (float(lo), float(hi)) == pytest.approx(expected, abs=2e-5)
    assert 0 <= lo <= k / n <= hi <= 1
    assert math.isnan(wilson_interval(0, 0)[0])


def test_binned_fake_and_duplicate_rates_sum_over_events(tmp_path: Path) -> None:
    # event 1: 4 selected tracks in the bin, 1 fake; 5 majority-matched tracks of 4 particles
    # event 2: 6 selected tracks, 3 fake; 2 majority tracks of 2 particles
    # -> fake 4/10, duplicate (7 - 6)/7; a version string in a metrics file is ignored
    for event, counts in (
        ("event000000001", (4, 1, 5, 4)),
        ("event000000002", (6, 3, 2, 2)),
    ):
        kinds = ("tracks", "fake_tracks", "majority_tracks", "majority_particles")
        values = {f"count_pt_0.9_1.2_{k}": v for k, v in zip(kinds, counts)}
        values |= {"trackml_score": 0.5, "trackrec_version": "0.1.0"}
        write_metrics(tmp_path, "m", event, values)
    summary, curves = build_summary(sorted(tmp_path.glob("metrics/*/*.json")), [])
    row = curves.iloc[0]
    assert row["n_tracks"] == 10 and row["fake_rate"] == pytest.approx(0.4)
    assert row["duplicate_rate"] == pytest.approx(1 / 7)
    assert (row["fake_rate_lo"], row["fake_rate_hi"]) == pytest.approx(
        wilson_by_scan(4, 10), abs=2e-5
    )
    assert set(summary["methods"]["m"]) == {"trackml_score"}


def test_settings_without_a_plan_come_from_the_metric_keys(tmp_path: Path) -> None:
    write_metrics(
        tmp_path, "m", "event000000001", {"eff_dm_pt0.5": 0.5, "eff_dm_pt1.2": 0.4, "x": 1}
    )
    summary, _ = build_summary(sorted(tmp_path.glob("metrics/*/*.json")), [])
    assert summary["settings"]["pt_thresholds"] == [0.5, 1.2]
    assert summary["settings"]["headline_pt"] == 1.2  # nearest to 0.9
    assert summary["settings"]["max_abs_eta"] is None
    assert "No plan file" in summary["provenance"]["summary"][0]


def test_report_follows_the_plan_config(run_dir: Path) -> None:
    write_metrics(
        run_dir, "dbscan", "event000000001", {"trackml_score": 0.5, "fake_rate_pt2": 0.25}
    )
    write_plan(
        run_dir,
        ["event000000001"],
        ["dbscan"],
        pt_thresholds=[2.0, 3.0],
        max_abs_eta=2.5,
        min_track_hits=5,
    )
    assert main(["report", "--results-dir", str(run_dir)]) == 0
    html = (run_dir / "report" / "report.html").read_text()
    assert "fake rate, p<sub>T</sub> ≥ 2 GeV" in html and "0.250 ± 0.000" in html
    assert "|η| &lt; 2.5" in html and "tracks per event (≥ 5 hits)" in html
    assert "≥ 0.9 GeV</td>" not in html and "|η| &lt; 4" not in html


def test_mixed_metrics_versions_are_named_with_a_warning(run_dir: Path) -> None:
    from trackrec import __version__

    path = run_dir / "metrics" / "dbscan" / "event000000001.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"trackrec_version": "0.0.1"}))
    assert main(["report", "--results-dir", str(run_dir)]) == 0
    summary = json.loads((run_dir / "report" / "summary.json").read_text())
    assert summary["metrics_versions"] == {"0.0.1": 1, "unknown": 1}
    assert summary["trackrec_version"] == __version__
    page = (run_dir / "report" / "report.html").read_text()
    assert "Metrics made by trackrec 0.0.1 (1 files), unknown (1 files)" in page
    assert "Warning: metrics of another trackrec version are mixed in" in page


def test_report_with_one_output_under_a_file_writes_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = write_metrics(tmp_path, "dbscan", "event000000001", {"trackml_score": 0.5})
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = tmp_path / "report"
    argv = ["report", "--metrics", str(metrics), "--summary-json", str(out / "summary.json")]
    assert main([*argv, "--html", str(blocker / "report.html")]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and f"{blocker}: not a directory" in line, line
    assert not out.exists() or not any(out.iterdir())
    # per-file options put a file elsewhere; the page links to the summary files from there
    elsewhere = tmp_path / "pages" / "page.html"
    assert main([*argv, "--html", str(elsewhere)]) == 0
    assert '<a href="../report/summary.json">' in elsewhere.read_text()
    assert (out / "efficiency_vs_pt.png").exists() and not (out / "report.html").exists()
