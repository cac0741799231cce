"""Running at cluster scale without a cluster: GPU requests, job grouping and big dry runs.

The SLURM runs themselves are in ``test_slurm.py``; these check what the workflow would
submit, from dry runs of the ``slurm`` profile (no SLURM needed for a dry run).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from trackrec.plan import gpu_resources

from workflow_helpers import cluster_jobs, config_args, job_counts, probe_workflow, snakemake


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"device": "cuda", "gpu_model": None}, {"gpu": 1}),
        ({"device": "cuda", "gpu_model": "a100"}, {"gpu": 1, "gpu_model": "a100"}),
        ({"device": "auto", "gpu_model": "a100"}, {}),
        ({"device": "cpu", "gpu_model": None}, {}),
    ],
)
def test_only_cuda_asks_for_a_gpu(section: dict, expected: dict) -> None:
    assert gpu_resources(section) == expected


def dry_run_resources(output: str) -> dict[str, str]:
    """``{rule: "resources: ..." line}`` of a dry run's job listing."""
    found, rule = {}, None
    for line in output.splitlines():
        if line.startswith("rule "):
            rule = line[len("rule ") : -1]
        elif line.strip().startswith("resources:") and rule:
            found[rule] = line.strip()
    return found


@pytest.mark.parametrize(
    ("resources", "gpu_request"),
    [
        ({"device": "cuda", "gpu_model": "a100"}, "gpu=1, gpu_model=a100"),
        ({"device": "cuda", "gpu_model": None}, "gpu=1"),
        ({"device": "auto", "gpu_model": "a100"}, None),
    ],
)
def test_gpu_rules_ask_slurm_for_a_gpu_only_with_cuda(
    tmp_path: Path, resources: dict, gpu_request: str | None
) -> None:
    snakefile = probe_workflow(tmp_path)
    result = snakemake(
        "-n", "--executor", "slurm", "--jobs", "2", "--snakefile", str(snakefile),
        "--directory", str(tmp_path), "--config", f"resources={json.dumps(resources)}",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    requested = dry_run_resources(result.stdout)
    assert "gpu" not in requested["cpu_probe"]
    if gpu_request is None:
        assert "gpu" not in requested["gpu_probe"], requested
    else:
        assert requested["gpu_probe"].endswith(gpu_request), requested


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_only_the_gnn_rules_ask_for_a_gpu(tmp_path: Path, device: str) -> None:
    """With cuda, the GNN training and inference jobs ask for a GPU and no other job does;
    with the default device none does."""
    result = snakemake(
        "-n", "--profile", "slurm", *config_args(tmp_path, {"simulate": {"n_events": 3}},
                                                 resources={"device": device}),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = re.findall(
        r"^ *rule (\w+):\n(?: +(?!rule ).*\n)*? +resources: ([^\n]*)", result.stdout, re.M
    )
    assert {rule for rule, _ in jobs} >= {"train_gnn", "infer_gnn", "ingest", "build_graph"}
    asking = {rule for rule, resources in jobs if "gpu=1" in resources}
    assert asking == ({"train_gnn", "infer_gnn"} if device == "cuda" else set()), asking


@pytest.mark.slow
def test_slurm_profile_submits_1000_events_in_at_most_100_jobs(tmp_path: Path) -> None:
    """The classical chain (DBSCAN, graphs, no GNN): the GNN stages are not grouped yet."""
    data = {"simulate": {"n_events": 1000}}
    result = snakemake(
        "-n", "--profile", "slurm",
        *config_args(tmp_path, data, tracking={"methods": ["dbscan_baseline"]},
                     gnn={"models": []}),
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = Counter(cluster_jobs(result.stdout))
    # every per-event job is in a group job: 60 events each, so 17 jobs of ingest and the
    # untrained methods for 1,000 events; the other per-event groups are as coarse
    assert jobs["group:events"] == 17, jobs
    # the rest are the run's few aggregate jobs (training, summaries, report)
    assert sum(n for job, n in jobs.items() if not job.startswith("group:")) <= 15, jobs
    assert sum(jobs.values()) <= 100, jobs
    # and no per-event job was lost on the way: the job table still has all of them
    counts = job_counts(result.stdout)
    assert counts["ingest"] == counts["simulate_event"] == 1000


def test_group_size_is_a_profile_setting(tmp_path: Path) -> None:
    data = {"simulate": {"n_events": 10}, "split": {"train": 0.5, "val": 0, "test": 0.5}}
    result = snakemake(
        "-n", "--profile", "slurm", "--group-components", "events=4",
        *config_args(tmp_path, data),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = Counter(cluster_jobs(result.stdout))
    # 10 events, 4 per job: 3 group jobs
    assert jobs["group:events"] == 3, jobs


def test_without_the_profile_each_event_is_a_group_of_its_own(tmp_path: Path) -> None:
    data = {"simulate": {"n_events": 4}, "split": {"train": 0.5, "val": 0, "test": 0.5}}
    result = snakemake("-n", "--cores", "1", *config_args(tmp_path, data))
    assert result.returncode == 0, result.stdout + result.stderr
    # a dry run shows the groups a cluster would form: one chain of jobs per event
    jobs = Counter(cluster_jobs(result.stdout))
    assert {g: jobs[f"group:{g}"] for g in ("events", "filter", "graphs")} == {
        "events": 4, "filter": 4, "graphs": 4
    }, jobs
