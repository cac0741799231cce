"""The Snakemake workflow end to end: lint, dry run, config errors, complete runs, reruns.

Two complete runs on tiny data (session fixtures): simulated low-pileup events, and the real
TrackML sample through ``data.source: trackml``.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from trackrec.io.parquet import read_table

from external_tracker import write_submission
from workflow_helpers import config_args, job_counts, snakemake

TINY_SIMULATION = {
    "source": "simulate",
    "simulate": {"n_events": 3, "first_event_id": 1000, "pileup": 2, "seed": 7},
    "split": {"train": [1000], "val": [], "test": [1001, 1002]},
}


def trackml_data(sample_dir: Path) -> dict:
    return {
        "source": "trackml",
        "trackml_dir": str(sample_dir),
        "split": {"train": 0, "val": 0, "test": 1.0},
    }


def test_lint() -> None:
    result = snakemake("--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dry_run_of_default_config_schedules_every_stage(tmp_path: Path) -> None:
    result = snakemake("-n", "--config", f"results={tmp_path}")
    assert result.returncode == 0, result.stderr
    # default: 6 simulated events, split 3/1/2; the GNNs train on the graphs of 4 of them
    assert job_counts(result.stdout) == {
        "all": 1,
        "build_graph": 6,
        "evaluate": 6,  # 3 methods x 2 test events
        "evaluate_graph": 2,
        "graph_cuts": 1,
        "fit_summary": 1,
        "fit_tracks": 6,
        "filter_noise": 6,  # every event: graphs of the training events too
        "ingest": 6,
        "plan_file": 1,
        "report": 1,
        "report_graph": 1,
        "report_section": 3,
        "simulate_detector": 1,
        "simulate_event": 6,
        "track_dbscan_baseline": 2,
        "track_gnn_ec": 2,
        "track_gnn_oc": 2,
        "scan_oc_dbscan": 1,  # DBSCAN of gnn_oc scanned on the validation event
        "train_gnn": 3,
        "infer_gnn": 7,  # 3 models x 2 test events, and condensation on the validation event
        "evaluate_edges": 4,
        "summarise_gnn": 1,
        "report_noise_filter": 1,
        "train_noise_filter": 1,
    }


def test_dry_run_with_the_ckf_method_fits_both_methods(tmp_path: Path) -> None:
    result = snakemake("-n", "--config", f"results={tmp_path}",
                       'tracking={"methods": ["dbscan_baseline", "ckf"]}')  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["track_ckf"] == 2 and counts["track_dbscan_baseline"] == 2
    assert counts["evaluate"] == 4 and counts["fit_tracks"] == 4 and counts["fit_summary"] == 1


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ('tracking={"dbscan_baseline": {"epss": 0.1}}', "epss"),
        ('data={"simulate": {"pileup": "lots"}}', "pileup"),
        ('data={"source": "tevatron"}', "source"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path: Path, override: str, named: str) -> None:
    result = snakemake("-n", "--config", f"results={tmp_path}", override)
    assert result.returncode != 0
    # snakemake prints workflow errors on stdout
    assert named in result.stdout + result.stderr
    assert not any(tmp_path.iterdir())


def test_missing_trackml_folder_is_named(tmp_path: Path) -> None:
    data = {"source": "trackml", "trackml_dir": str(tmp_path / "nowhere")}
    result = snakemake("-n", *config_args(tmp_path, data))
    assert result.returncode != 0
    assert "nowhere: data.trackml_dir is not a folder" in result.stdout + result.stderr


def test_no_test_events_stops_before_any_job(tmp_path: Path) -> None:
    # the lists take every event: the default test fraction (0.33) finds none left
    data = dict(TINY_SIMULATION, split={"train": [1000, 1001], "val": [1002]})
    result = snakemake("-n", *config_args(tmp_path, data))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "trackrec: error: data.split: no test events (train 2, val 1, test 0)" in output
    assert "data.split.test" in output and 'File "' not in output  # no traceback
    assert not any(tmp_path.iterdir())


def test_explicit_test_zero_runs_without_test_events(tmp_path: Path) -> None:
    data = dict(TINY_SIMULATION, split={"train": [1000, 1001], "val": [1002], "test": 0})
    result = snakemake("-n", *config_args(tmp_path, data))
    assert result.returncode == 0, result.stdout[-2000:]
    assert job_counts(result.stdout) == {
        "all": 1, "ingest": 3, "plan_file": 1, "simulate_detector": 1, "simulate_event": 3
    }


def test_test_events_without_truth_get_tracks_but_no_metrics(
    tmp_path: Path, sample_dir: Path
) -> None:
    folder = tmp_path / "test_events"
    folder.mkdir()
    for part in ("hits", "cells"):  # a TrackML test event has no particles and no truth
        (folder / f"event000000001-{part}.csv.gz").symlink_to(
            sample_dir / f"event000000001-{part}.csv.gz"
        )
    data = {
        "source": "trackml",
        "trackml_dir": str(folder),
        "split": {"train": 0, "val": 0, "test": 1.0},
    }
    # no training events: the noise filter is the shipped model
    result = snakemake("-n", *config_args(tmp_path / "results", data, models={"source": "pretrained"}))
    assert result.returncode == 0, result.stdout[-2000:]
    # shipped models: noise filter and graph cuts (npz), the three GNNs (pt); no metrics
    assert job_counts(result.stdout) == {
        "all": 1,
        "build_graph": 1,
        "filter_noise": 1,
        "fit_tracks": 3,
        "infer_gnn": 3,
        "ingest": 1,
        "install_pretrained_npz": 2,
        "install_pretrained_pt": 3,
        "plan_file": 1,
        "track_dbscan_baseline": 1,
        "track_gnn_ec": 1,
        "track_gnn_oc": 1,
    }
    # training the filter without training events is a one-line error before any job
    result = snakemake("-n", *config_args(tmp_path / "results", data))
    assert result.returncode != 0
    assert "data.split gives none; use models.source: pretrained" in result.stdout + result.stderr


def test_train_on_simulated_events_evaluate_on_trackml(tmp_path: Path, sample_dir: Path) -> None:
    data = {
        "source": "simulate",
        "simulate": {"n_events": 4, "first_event_id": 1000, "pileup": 2, "seed": 1},
        "split": {"train": 0.75, "val": 0.25, "test": 0},
        "eval_source": "trackml",
        "trackml_dir": str(sample_dir),
    }
    result = snakemake("-n", *config_args(tmp_path, data))
    assert result.returncode == 0, result.stdout[-2000:]
    # 4 simulated training/validation events are simulated and ingested; the one TrackML
    # event is ingested (with the real detector) and is the only event tracked and scored
    assert job_counts(result.stdout) == {
        "all": 1,
        "build_graph": 5,
        "evaluate": 3,
        "evaluate_graph": 1,
        "graph_cuts": 1,
        "fit_summary": 1,
        "fit_tracks": 3,
        "filter_noise": 5,
        "ingest": 5,
        "plan_file": 1,
        "report": 1,
        "report_graph": 1,
        "report_section": 3,
        "simulate_detector": 1,
        "simulate_event": 4,
        "track_dbscan_baseline": 1,
        "track_gnn_ec": 1,
        "track_gnn_oc": 1,
        "scan_oc_dbscan": 1,
        "train_gnn": 3,
        "infer_gnn": 4,
        "evaluate_edges": 2,
        "summarise_gnn": 1,
        "report_noise_filter": 1,
        "train_noise_filter": 1,
    }
    assert "event000000001" in result.stdout
    assert str(sample_dir / "detectors.csv.gz") in result.stdout


@pytest.fixture(scope="session")
def simulated_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a results folder with spaces in its name: every path in every job's command is quoted
    results = tmp_path_factory.mktemp("simulated") / "my results"
    result = snakemake("--cores", "2", *config_args(results, TINY_SIMULATION))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return results


@pytest.fixture(scope="session")
def trackml_run(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    """The README's real-data command on a folder holding one real event (default split
    fractions of config/trackml.yaml: the one event is the test event), in a folder and with
    a detector file whose paths have spaces."""
    results = tmp_path_factory.mktemp("trackml")
    folder = results / "one event"  # a data folder with a space in its name
    folder.mkdir()
    for name in [f"event000000001-{p}.csv.gz" for p in ("hits", "cells", "particles", "truth")]:
        (folder / name).symlink_to(sample_dir / name)
    (results / "my detectors.csv.gz").symlink_to(sample_dir / "detectors.csv.gz")
    data = {"trackml_dir": str(folder), "detectors": str(results / "my detectors.csv.gz")}
    result = snakemake(
        "--cores", "2", "--configfile", "config/trackml.yaml", *config_args(results, data, models={"source": "pretrained"})
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return results


def _check_run_layout(run: Path, events: list[str], truth_events: list[str]) -> dict:
    for event in events:
        assert read_table(run / "hits" / f"{event}.parquet", "hits").shape[0] > 0
    for event in truth_events:
        tracks = read_table(run / "tracks" / "dbscan_baseline" / f"{event}.parquet", "tracks")
        hits = read_table(run / "hits" / f"{event}.parquet", "hits", columns=["hit_id"])
        assert sorted(tracks["hit_id"]) == sorted(hits["hit_id"])
        metrics = json.loads((run / "metrics" / "dbscan_baseline" / f"{event}.json").read_text())
        assert 0 < metrics["trackml_score"] <= 1
        assert {"eff_dm_pt0.9", "eff_perfect_pt0.9", "fake_rate_pt0.9", "n_tracks"} <= set(metrics)
    plan = json.loads((run / "plan.json").read_text())
    assert plan["scored_test_events"] == truth_events and set(plan["splits"]["test"]) >= set(
        truth_events
    )
    summary = json.loads((run / "report" / "summary.json").read_text())
    score = summary["methods"]["dbscan_baseline"]["trackml_score"]
    assert score["n"] == len(truth_events) and 0 < score["mean"] <= 1
    assert summary["failed_events"] == []
    assert {"ingest", "track_dbscan_baseline", "evaluate"} <= set(summary["stages"])
    for stage in summary["stages"].values():
        assert stage["s_per_event"] > 0
    assert (run / "report" / "summary.csv").read_text().startswith("section,name,metric")
    assert "data:image/png;base64," in (run / "report" / "report.html").read_text()
    for stage in ("ingest", "track_dbscan_baseline"):
        assert (run / "logs" / stage / f"{truth_events[0]}.log").exists()
    return summary


def test_simulated_run_is_complete(simulated_run: Path) -> None:
    run = simulated_run / "default"
    events = ["event000001000", "event000001001", "event000001002"]
    summary = _check_run_layout(run, events, events[1:])
    assert "simulate_event" in summary["stages"]
    assert (run / "simulated" / "detectors.csv.gz").exists()
    # the GNN methods beside the baseline: tracks of every hit the noise filter kept (the
    # removed ones count as tracks of their own in the metrics), scored, with chain times
    for method in ("gnn_ec", "gnn_oc"):
        for event in events[1:]:
            tracks = read_table(run / "tracks" / method / f"{event}.parquet", "tracks")
            hits = read_table(run / "filtered" / f"{event}.parquet", "filtered", columns=["hit_id"])
            assert sorted(tracks["hit_id"]) == sorted(hits["hit_id"])
        assert summary["methods"][method]["trackml_score"]["n"] == 2
        assert summary["throughput"][method]["missing_stages"] == []
        assert summary["throughput"][method]["seconds_per_event"] > 0


# each stage's section in report.html: its title and the alt texts of its plots
STAGE_SECTIONS = {
    "Track fit (Kalman filter)": ["fit resolution vs pt", "fit resolution vs eta"],
    "Graph construction": ["segment50 vs edges"],
    "GNN models": [f"gnn {m} curve" for m in ("interaction network", "euclidnet", "condensation")],
}


def _section_html(page: str, title: str) -> str:
    """The part of the page from the section's heading to the next heading of its level."""
    start = page.index(f"<h2>{title}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start : end if end >= 0 else len(page)]


def test_simulated_run_reports_every_stage(simulated_run: Path) -> None:
    report = simulated_run / "default" / "report"
    page = (report / "report.html").read_text()
    for title, images in STAGE_SECTIONS.items():
        part = _section_html(page, title)
        for alt in images:
            assert f'alt="{alt}" src="data:image/png;base64,' in part, (title, alt)
    summary = json.loads((report / "summary.json").read_text())
    assert [s["title"] for s in summary["sections"]] == [*STAGE_SECTIONS, "TrackML throughput score"]
    # issue #11: the models entry, from the GNN stage's own summary
    stage = json.loads((report / "models.json").read_text())["models"]
    assert set(summary["models"]) == {"interaction_network", "euclidnet", "condensation"}
    for name, entry in summary["models"].items():
        assert entry["n_params"] == stage[name]["n_params"] > 0
        edge_keys = {"edge_auc", "edge_eff", "edge_purity"} if name != "condensation" else set()
        assert set(entry) == {"n_params"} | edge_keys
        for key in edge_keys:
            assert set(entry[key]) == {"mean", "std", "n"}
            assert entry[key]["n"] == stage[name][key]["n"] and 0 < entry[key]["n"] <= 2
            assert entry[key]["mean"] == pytest.approx(stage[name][key]["mean"])
            assert 0 <= entry[key]["mean"] <= 1


def _check_noise_filter(run: Path, events: list[str]) -> dict:
    for event in events:
        kept = read_table(run / "filtered" / f"{event}.parquet", "filtered")
        hits = read_table(run / "hits" / f"{event}.parquet", "hits", columns=["hit_id"])
        metrics = json.loads((run / "noise_filter" / "metrics" / f"{event}.json").read_text())
        assert metrics["n_kept"] == len(kept) < len(hits)
        assert {"noise_auc", "noise_removed_frac", "good_hit_loss_pt0.9", "good_hit_loss_all"} <= set(metrics)
    summary = json.loads((run / "noise_filter" / "report" / "summary.json").read_text())
    assert summary["n_events"] == len(events) and summary["model"] == "gbdt"
    assert (run / "noise_filter" / "report" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((run / "models" / "noise_filter_gbdt.json").read_text())["kind"] == "noise_filter"
    return summary


def test_simulated_run_filters_noise(simulated_run: Path) -> None:
    summary = _check_noise_filter(simulated_run / "default", ["event000001001", "event000001002"])
    assert summary["mean"]["noise_auc"] > 0.8
    # no validation events in this run: the working point comes from the training event
    provenance = json.loads((simulated_run / "default" / "models" / "noise_filter_gbdt.json").read_text())
    assert provenance["working_point_events"] == "train"
    assert provenance["training"]["train_events"] == ["event000001000"]


def test_shipped_noise_filter_on_the_real_sample(trackml_run: Path) -> None:
    """The shipped model (trained on simulated events only) on the real sample event.

    It separates noise (AUC 0.84) but its working point does not transfer: the sample's
    luminous region is 49 mm long (sigma_z), the simulation's and the real full events'
    5.5 mm, so its tracks fail the 20 mm z0 window of the context features (README).
    """
    summary = _check_noise_filter(trackml_run / "trackml", ["event000000001"])
    assert summary["mean"]["noise_auc"] > 0.8
    assert summary["mean"]["noise_removed_frac"] > 0.5


def test_trackml_run_is_complete(trackml_run: Path) -> None:
    summary = _check_run_layout(trackml_run / "trackml", ["event000000001"], ["event000000001"])
    assert "simulate_event" not in summary["stages"]
    # no training events: the shipped models run, and their stages have sections (no
    # training curves: nothing was trained)
    assert [s["title"] for s in summary["sections"]] == [
        "Track fit (Kalman filter)", "Graph construction", "GNN models",
        "TrackML throughput score",
    ]
    assert set(summary["models"]) == {"interaction_network", "euclidnet", "condensation"}
    page = (trackml_run / "trackml" / "report" / "report.html").read_text()
    assert 'alt="fit resolution vs eta"' in _section_html(page, "Track fit (Kalman filter)")


def test_nothing_to_do_after_a_complete_run(simulated_run: Path) -> None:
    result = snakemake("-n", *config_args(simulated_run, TINY_SIMULATION))
    assert result.returncode == 0
    assert job_counts(result.stdout) == {}


def test_tracking_edit_reruns_only_downstream(simulated_run: Path) -> None:
    edited = {"dbscan_baseline": {"eps": 0.0075}}
    result = snakemake("-n", *config_args(simulated_run, TINY_SIMULATION, tracking=edited))
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout) == {
        "all": 1,
        "evaluate": 2,
        "fit_summary": 1,
        "fit_tracks": 2,
        "report": 1,
        "report_section": 1,
        "track_dbscan_baseline": 2,
    }


def test_metrics_edit_rewrites_the_plan_and_the_report(simulated_run: Path) -> None:
    edited = {"pt_thresholds": [0.5, 1.0], "max_abs_eta": 2.5, "min_track_hits": 3}
    result = snakemake("-n", *config_args(simulated_run, TINY_SIMULATION, metrics=edited))
    assert result.returncode == 0, result.stderr
    # the graph metrics take metrics.max_abs_eta too: they, the graph summary and its section
    assert job_counts(result.stdout) == {
        "all": 1, "evaluate": 6, "evaluate_graph": 2, "plan_file": 1, "report": 1,
        "report_graph": 1, "report_section": 1,
    }


def test_snakemake_report_collects_the_plots(simulated_run: Path, tmp_path: Path) -> None:
    archive = tmp_path / "report.zip"
    result = snakemake("--report", str(archive), *config_args(simulated_run, TINY_SIMULATION))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    names = zipfile.ZipFile(archive).namelist()
    for plot in ("efficiency_vs_pt.png", "fake_duplicate_vs_eta.png", "events.png", "stages.png"):
        assert any(name.endswith(plot) for name in names), plot


def test_external_tracker_is_scored_and_reported_like_ours(
    simulated_run: Path, tmp_path: Path
) -> None:
    """Another program's submissions of our own DBSCAN tracks (challenge CSV, rows shuffled,
    track ids changed) score exactly as our tracks; an event it skipped is a failed event."""
    results = tmp_path / "results"
    shutil.copytree(simulated_run, results)  # leave the shared run as it is
    run = results / "default"
    ours = {
        number: read_table(run / "tracks" / "dbscan_baseline" / f"event{number:09d}.parquet", "tracks")
        for number in (1001, 1002)
    }
    write_submission(ours, tmp_path / "challenge.csv")  # one file, event_id column
    (tmp_path / "ckf").mkdir()
    write_submission({1001: ours[1001]}, tmp_path / "ckf" / "1001.csv.gz", event_id_column=False)
    external = {
        "challenge": str(tmp_path / "challenge.csv"),
        "their_ckf": f"{tmp_path}/ckf/{{event_id}}.csv.gz",  # no file for 1002
    }
    args = config_args(results, TINY_SIMULATION, tracking={"external": external})
    dry = snakemake("-n", *args)
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    # (the copy has no Snakemake record of the plan file's params, so it is not rewritten;
    # the report adds the methods that have metrics to the plan's)
    assert job_counts(dry.stdout) == {
        "all": 1, "evaluate": 3, "fit_summary": 1, "fit_tracks": 3, "import_tracks": 3, "report": 1, "report_section": 1
    }
    result = snakemake("--cores", "2", *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    for method, event in (("challenge", 1001), ("challenge", 1002), ("their_ckf", 1001)):
        got = json.loads((run / "metrics" / method / f"event{event:09d}.json").read_text())
        direct = json.loads((run / "metrics" / "dbscan_baseline" / f"event{event:09d}.json").read_text())
        assert set(got) == set(direct)
        for key, value in direct.items():
            if isinstance(value, str):  # trackrec_version, trackrec_config: the same
                assert got[key] == value, (method, key)
            else:
                assert got[key] == pytest.approx(value, rel=1e-12, nan_ok=True), (method, key)
    summary = json.loads((run / "report" / "summary.json").read_text())
    assert set(summary["methods"]) == {"dbscan_baseline", "gnn_ec", "gnn_oc", "challenge",
                                       "their_ckf"}
    assert summary["failed_events"] == [
        {"method": "their_ckf", "event": "event000001002", "reason": "no metrics file"}
    ]
    assert "import_tracks" in summary["stages"]
    assert "their_ckf" in (run / "report" / "report.html").read_text()

    # when the tracker delivers the missing event, only that event's jobs and the report run
    write_submission({1002: ours[1002]}, tmp_path / "ckf" / "1002.csv.gz", event_id_column=False)
    dry = snakemake("-n", *args)
    assert job_counts(dry.stdout) == {
        "all": 1, "evaluate": 1, "fit_summary": 1, "fit_tracks": 1, "import_tracks": 1, "report": 1, "report_section": 1
    }
    # a rewritten file is imported and scored again (a mere touch is not: Snakemake compares
    # the content of small inputs)
    challenge = pd.read_csv(tmp_path / "challenge.csv")
    challenge.iloc[::-1].to_csv(tmp_path / "challenge.csv", index=False)
    dry = snakemake("-n", *args)
    assert job_counts(dry.stdout) == {
        "all": 1, "evaluate": 3, "fit_summary": 1, "fit_tracks": 3, "import_tracks": 3, "report": 1, "report_section": 1
    }


@pytest.mark.parametrize(
    ("external", "named"),
    [
        ({"dbscan_baseline": "x_{event}.csv"}, "dbscan_baseline is a built-in method"),
        (
            {"mine": "/nowhere/x_{event}.csv"},
            "tracking.external.mine: no tracks for any test event",
        ),
    ],
)
def test_bad_external_method_stops_before_any_job(
    tmp_path: Path, external: dict, named: str
) -> None:
    result = snakemake(
        "-n", *config_args(tmp_path, TINY_SIMULATION, tracking={"external": external})
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "trackrec: error: tracking.external." in output and named in output
    assert 'File "' not in output  # no traceback


def test_every_path_in_a_shell_command_is_quoted() -> None:
    """{input.x:q}, {output.x:q}, {log:q}: a path with a space stays one word. Only the
    ``options`` params are left bare: they are option strings quoted word by word."""
    import re

    from conftest import REPO_ROOT

    bare = []
    for rules in sorted((REPO_ROOT / "rules").glob("*.smk")):
        for placeholder in re.findall(r"\{([a-z_.]+)\}", rules.read_text()):
            if placeholder.split(".")[0] in ("input", "output", "log", "params"):
                if placeholder != "params.options":
                    bare.append(f"{rules.name}: {{{placeholder}}}")
    assert bare == []


def test_slurm_jobs_get_as_many_cpus_as_their_threads(tmp_path: Path) -> None:
    """The slurm profile asks for cpus_per_task = the rule's threads: the DBSCAN rule's 4
    threads reach sbatch as 4 CPUs (and --threads 4), the single-threaded rules 1 CPU."""
    import re

    # a dry run caps threads at --cores (a real SLURM run does not): give it enough
    result = snakemake("-n", "--profile", "slurm", "--cores", "8", *config_args(tmp_path, TINY_SIMULATION))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    jobs = re.findall(r"rule (\w+):.*?resources: ([^\n]*)\n(?:Shell command: ([^\n]*))?", result.stdout, re.S)
    cpus = {rule: re.search(r"cpus_per_task=(\d+)", res).group(1) for rule, res, _ in jobs}
    assert cpus["track_dbscan_baseline"] == "4"
    assert {cpus[r] for r in ("ingest", "evaluate", "simulate_event")} == {"1"}
    dbscan = [shell for rule, _, shell in jobs if rule == "track_dbscan_baseline"]
    assert dbscan and all("--threads 4" in shell for shell in dbscan)


def test_shipped_graph_cuts_build_graphs_of_a_run_without_training(
    tmp_path: Path, sample_dir: Path
) -> None:
    models = {"source": "pretrained"}
    result = snakemake("-n", *config_args(tmp_path, trackml_data(sample_dir), models=models))
    assert result.returncode == 0, result.stdout[-2000:]
    counts = job_counts(result.stdout)
    assert {k: counts.get(k) for k in ("install_pretrained_npz", "build_graph", "evaluate_graph",
                                       "report_graph")} == {
        "install_pretrained_npz": 2, "build_graph": 1, "evaluate_graph": 1, "report_graph": 1
    }
    # the shipped models' stages have report sections too (no training curves to show)
    assert counts["report_section"] == 3
    assert "segment50_vs_edges.png" in result.stdout and "_curve.png" not in result.stdout
