"""Failures at scale: bad events, killed runs and why events failed.

A corrupt event among good ones fails only its own jobs; ``--keep-going`` finishes the rest
and the partial report says why each failed event failed, from its logs. A run killed with
all its jobs resumes and reruns only what had not finished; a killed writer leaves nothing
that looks finished. (A cancelled SLURM job is in ``test_slurm.py``.)
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from trackrec.report.failures import explain_failures, failure_reasons, log_error

from conftest import REPO_ROOT
from workflow_helpers import config_args, job_counts, snakemake

# these tests are about SLURM and failures, not the learned stages: keep the runs small
# (no noise-filter training, hence no graph or GNN stages without training events)
NOISE_OFF = {"model": "off"}

# --- reasons from logs -----------------------------------------------------------------


def test_log_error_is_the_commands_error_line() -> None:
    log = "reading hits\ntrackrec ingest: error: a/event000000002-hits.csv.gz: missing column 'z'\n"
    assert (
        log_error(log) == "trackrec ingest: error: a/event000000002-hits.csv.gz: missing column 'z'"
    )


def test_log_error_of_a_traceback_is_its_last_line() -> None:
    log = 'Traceback (most recent call last):\n  File "x.py", line 1\nMemoryError: out of memory\n'
    assert log_error(log) == "MemoryError: out of memory"


def test_log_without_error_is_no_failure() -> None:
    assert log_error("wrote tracks of 3 events\n") is None
    assert log_error("") is None


def test_failure_reasons_from_a_log_folder(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "ingest").mkdir(parents=True)
    (logs / "evaluate" / "dbscan_baseline").mkdir(parents=True)
    (logs / "ingest" / "event000000001.log").write_text("done\n")
    (logs / "ingest" / "event000000002.log").write_text(
        "trackrec ingest: error: x-hits.csv.gz: cannot read file (Truncated compressed stream)\n"
    )
    (logs / "evaluate" / "dbscan_baseline" / "event000000003.log").write_text(
        "trackrec evaluate: error: t.parquet: hit id 7 given twice\n"
    )
    (logs / "report.log").write_text("trackrec report: error: not an event log\n")
    reasons = failure_reasons(logs)
    assert reasons == {
        "event000000002": "ingest: trackrec ingest: error: x-hits.csv.gz: cannot read file "
        "(Truncated compressed stream)",
        "event000000003": "evaluate/dbscan_baseline: trackrec evaluate: error: t.parquet: "
        "hit id 7 given twice",
    }
    assert failure_reasons(logs, ["event000000003"]) == {
        "event000000003": reasons["event000000003"]
    }
    assert failure_reasons(tmp_path / "absent") == {}
    failed = [
        {"method": "m", "event": "event000000002", "reason": "no metrics file"},
        {"method": "m", "event": "event000000009", "reason": "no metrics file"},
    ]
    assert explain_failures(failed, reasons) == [
        {"method": "m", "event": "event000000002", "reason": reasons["event000000002"]},
        failed[1],
    ]


def test_report_by_hand_lists_failed_events_from_the_logs(tmp_path: Path) -> None:
    from trackrec.cli import main

    for event in ("event000000001", "event000000002"):
        path = tmp_path / "metrics" / "dbscan_baseline" / f"{event}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"trackml_score": 0.5, "n_tracks": 3}))
    (tmp_path / "logs" / "ingest").mkdir(parents=True)
    (tmp_path / "logs" / "ingest" / "event000000001.log").write_text("")
    (tmp_path / "logs" / "ingest" / "event000000003.log").write_text(
        "trackrec ingest: error: e3-hits.csv: missing column 'z'\n"
    )
    assert main(["report", "--results-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["events"] == ["event000000001", "event000000002", "event000000003"]
    assert summary["failed_events"] == [
        {
            "method": "dbscan_baseline",
            "event": "event000000003",
            "reason": "ingest: trackrec ingest: error: e3-hits.csv: missing column 'z'",
        }
    ]


# --- a killed writer -------------------------------------------------------------------

_KILLED_WRITER = """
import os, signal, sys
from trackrec.io.atomic import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    with open(tmp, "w") as handle:
        handle.write("half of it")
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_writer_killed_mid_write_leaves_no_output(tmp_path: Path) -> None:
    target = tmp_path / "tracks.parquet"
    result = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(target)])
    assert result.returncode == -signal.SIGKILL
    # what a killed job leaves is a hidden temporary, never the output Snakemake looks for
    assert not target.exists()
    assert all(p.name.startswith(".tracks.parquet.") for p in tmp_path.iterdir())


# --- one bad event among good ones -----------------------------------------------------

BAD_EVENTS = {
    "event000000002": "cannot read file (Truncated compressed stream)",
    "event000000003": "missing column 'z'",
    "event000000004": "malformed row: Expected 7 columns, got 1: garbage!!",
}


def corrupt_trackml_folder(sample_dir: Path, folder: Path) -> None:
    """Five copies of the real sample event: 1 and 5 intact, 2-4 with a broken hits file."""
    folder.mkdir()
    shutil.copy(sample_dir / "detectors.csv.gz", folder)
    for number in range(1, 6):
        for part in ("hits", "cells", "particles", "truth"):
            target = folder / f"event{number:09d}-{part}.csv.gz"
            shutil.copy(sample_dir / f"event000000001-{part}.csv.gz", target)
            target.chmod(0o644)
    hits = gzip.decompress((sample_dir / "event000000001-hits.csv.gz").read_bytes())
    packed = gzip.compress(hits)
    (folder / "event000000002-hits.csv.gz").write_bytes(packed[: len(packed) // 2])
    frame = pd.read_csv(folder / "event000000001-hits.csv.gz")
    frame.drop(columns="z").to_csv(folder / "event000000003-hits.csv.gz", index=False)
    lines = hits.decode().splitlines()
    garbage = [*lines[:300], "garbage!!", *lines[300:]]
    (folder / "event000000004-hits.csv.gz").write_bytes(gzip.compress("\n".join(garbage).encode()))


@pytest.mark.slow
def test_bad_events_fail_alone_and_the_report_says_why(tmp_path: Path, sample_dir: Path) -> None:
    folder = tmp_path / "events"
    corrupt_trackml_folder(sample_dir, folder)
    data = {
        "source": "trackml",
        "trackml_dir": str(folder),
        "split": {"train": 0, "val": 0, "test": 1.0},
    }
    result = snakemake("--cores", "2", "--keep-going", *config_args(tmp_path, data, noise_filter=NOISE_OFF))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    run = tmp_path / "default"
    # the good events went all the way; the bad ones stopped at ingest with one line each
    for event in ("event000000001", "event000000005"):
        assert (run / "metrics" / "dbscan_baseline" / f"{event}.json").is_file(), output[-3000:]
    for event, problem in BAD_EVENTS.items():
        assert not (run / "hits" / f"{event}.parquet").exists()
        assert not (run / "tracks" / "dbscan_baseline" / f"{event}.parquet").exists()
        log = (run / "logs" / "ingest" / f"{event}.log").read_text().strip()
        hits_file = folder / f"{event}-hits.csv.gz"
        assert log == f"trackrec ingest: error: {hits_file}: {problem}"
        assert f"trackrec: {event} failed: ingest: {log}" in output
    # the partial report: the good events' metrics, the bad ones listed with their reason
    summary = json.loads((run / "report" / "partial" / "summary.json").read_text())
    assert summary["methods"]["dbscan_baseline"]["trackml_score"]["n"] == 2
    failed = {f["event"]: f["reason"] for f in summary["failed_events"]}
    assert sorted(failed) == sorted(BAD_EVENTS)
    for event, problem in BAD_EVENTS.items():
        assert failed[event].startswith("ingest: trackrec ingest: error: ")
        assert failed[event].endswith(problem)
    html = (run / "report" / "partial" / "report.html").read_text()
    assert "missing column &#x27;z&#x27;" in html
    # the workflow's own report is for complete runs only
    assert not (run / "report" / "summary.json").exists()


# --- a killed run resumes ----------------------------------------------------------------

RESUMED = {
    "source": "simulate",
    "simulate": {"n_events": 4, "first_event_id": 2000, "pileup": 2, "seed": 5},
    "split": {"train": 0, "val": 0, "test": 1.0},
}


def outputs_of(run: Path) -> dict[str, int]:
    """Every output file of a run (not logs or benchmarks) with its modification time."""
    return {
        str(p.relative_to(run)): p.stat().st_mtime_ns
        for folder in ("simulated", "hits", "particles", "tracks", "fitted", "metrics")
        for p in (run / folder).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.mark.slow
def test_killed_run_resumes_with_only_unfinished_work(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, "-m", "snakemake", "--cores", "1", *config_args(tmp_path, RESUMED, noise_filter=NOISE_OFF)]
    run = tmp_path / "default"
    # snakemake and its running job are killed together, as when the session or node dies
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while len(list((run / "hits").glob("*.parquet"))) < 2 and time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = outputs_of(run)
    assert 2 <= sum(k.startswith("hits/") for k in before) < 4, before
    # every output present is whole: a killed job leaves only hidden temporaries
    for name in before:
        if name.endswith(".parquet"):
            pq.read_table(run / name)

    # Snakemake names the outputs of the job it saw running (finished or not: it cannot
    # know) as incomplete and asks for --rerun-incomplete, which the slurm profile sets
    check = snakemake("-n", *config_args(tmp_path, RESUMED, noise_filter=NOISE_OFF))
    incomplete = set()
    if check.returncode != 0:
        assert "IncompleteFilesException" in check.stdout + check.stderr, check.stdout[-3000:]
        text = (check.stdout + check.stderr).split("Incomplete files:", 1)[1]
        incomplete = {
            str(Path(line.strip()).relative_to(run))
            for line in text.splitlines()
            if line.strip().startswith(str(run))
        }
    assert len({Path(k).stem for k in incomplete}) <= 1, incomplete  # one job ran (--cores 1)
    finished = {k: v for k, v in before.items() if k not in incomplete}

    # what a rerun plans: exactly the jobs whose outputs are missing or incomplete
    plan = snakemake("-n", "--rerun-incomplete", *config_args(tmp_path, RESUMED, noise_filter=NOISE_OFF))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    missing = {
        rule: 4 - sum(k.startswith(folder) and k.endswith(suffix) for k in finished)
        for rule, folder, suffix in (
            ("simulate_event", "simulated/event", "-hits.csv.gz"),
            ("ingest", "hits/", ""),
            ("track_dbscan_baseline", "tracks/", ""),
            ("evaluate", "metrics/", ""),
            ("fit_tracks", "fitted/", ""),
        )
    }
    missing["plan_file"] = int("plan.json" not in finished)
    # the run's summaries come last: never finished before the kill
    summaries = {"fit_summary": 1, "report_section": 1, "report": 1, "all": 1}
    expected = {rule: n for rule, n in missing.items() if n} | summaries
    assert job_counts(plan.stdout) == expected, plan.stdout[-3000:]

    # the killed run left its lock: the user removes it (Snakemake says how), then reruns
    unlock = snakemake("--unlock", *config_args(tmp_path, RESUMED, noise_filter=NOISE_OFF))
    assert unlock.returncode == 0, unlock.stdout + unlock.stderr
    resumed = snakemake("--cores", "2", "--rerun-incomplete", *config_args(tmp_path, RESUMED, noise_filter=NOISE_OFF))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    after = outputs_of(run)
    # nothing that had finished ran again, and the run is complete
    assert {k: after[k] for k in finished} == finished
    assert sum(k.startswith("metrics/") for k in after) == 4
    assert (run / "report" / "summary.json").is_file()
