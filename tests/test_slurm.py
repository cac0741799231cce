"""The workflow on a real SLURM cluster through ``snakemake --profile slurm``.

Needs a running cluster (``bash .ci/slurm-up.sh`` starts a single-node one with a fake GPU);
skipped without one, except where ``TRACKREC_REQUIRE_SLURM=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import REPO_ROOT
from workflow_helpers import config_args, probe_workflow, snakemake

# these tests are about SLURM and failures, not the learned stages: keep the runs small
# (no noise-filter training, hence no graph or GNN stages without training events)
NOISE_OFF = {"model": "off"}

pytestmark = pytest.mark.slurm


def _cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return state.returncode == 0 and "idle" in state.stdout


@pytest.fixture(scope="module")
def cluster() -> None:
    if not _cluster_up():
        if os.environ.get("TRACKREC_REQUIRE_SLURM") == "1":
            pytest.fail("TRACKREC_REQUIRE_SLURM=1 but no idle SLURM cluster answers sinfo")
        pytest.skip("no SLURM cluster (start one with: bash .ci/slurm-up.sh)")


def test_profile_runs_the_workflow_on_slurm(
    cluster: None, tmp_path: Path, sample_dir: Path
) -> None:
    data = {
        "source": "trackml",
        "trackml_dir": str(sample_dir),
        "split": {"train": 0, "val": 0, "test": 1.0},
    }
    # site settings live outside tracked files: a workflow profile overriding the slurm one
    site = tmp_path / "site"
    site.mkdir()
    (site / "config.yaml").write_text(
        "default-resources:\n  slurm_partition: \"'debug'\"\n  runtime: 7\n  mem_mb: 1200\n"
    )
    result = snakemake(
        "--profile",
        "slurm",
        "--workflow-profile",
        str(site),
        # the test cluster answers quickly; the profile's defaults suit a real one
        "--slurm-init-seconds-before-status-checks",
        "8",
        "--latency-wait",
        "5",
        # the DBSCAN rule's 4 threads are 4 CPUs per task; the test node may have only 2
        "--max-threads",
        "2",
        *config_args(tmp_path, data, noise_filter=NOISE_OFF),
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", output)
    # the event's ingest, track building, fit and evaluate ran as one group job, then the
    # fit summary and the report (the plan file is a local rule)
    assert len(job_ids) == 3, output[-4000:]
    assert "group_events" in output, output[-4000:]
    for job_id in job_ids:
        details = subprocess.run(
            ["scontrol", "show", "job", job_id], capture_output=True, text=True
        ).stdout
        # no stage of this workflow is GPU-hungry yet: none may hold a GPU
        assert "TRES=cpu=" in details and "gres/gpu" not in details, details
        # the site profile's partition, time limit and memory reached sbatch; a group job
        # gets the time of its stages one after another (run on one core)
        limit = int(re.search(r"TimeLimit=00:(\d\d):00", details).group(1))
        assert limit % 7 == 0 and (limit > 7) == ("group_events" in details), details
        assert "Partition=debug" in details, details
        assert "mem=1200M" in details and "NumCPUs=1" in details, details
    summary = json.loads((tmp_path / "default" / "report" / "summary.json").read_text())
    assert summary["methods"]["dbscan_baseline"]["trackml_score"]["n"] == 1


def site_profile(folder: Path) -> Path:
    """A workflow profile with this cluster's partition and small limits."""
    folder.mkdir()
    (folder / "config.yaml").write_text(
        "default-resources:\n  slurm_partition: \"'debug'\"\n  runtime: 7\n  mem_mb: 1200\n"
    )
    return folder


FAST_STATUS = ("--slurm-init-seconds-before-status-checks", "8", "--latency-wait", "5")


def slurm_job(job_id: str) -> str:
    return subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True
    ).stdout


def test_gpu_rules_get_a_gpu_and_cpu_rules_none(cluster: None, tmp_path: Path) -> None:
    snakefile = probe_workflow(tmp_path)
    result = snakemake(
        "--executor", "slurm", "--jobs", "2", "--snakefile", str(snakefile),
        "--directory", str(tmp_path), "--workflow-profile", str(site_profile(tmp_path / "site")),
        "--slurm-status-command", "squeue", *FAST_STATUS,
        "--config", 'resources={"device": "cuda"}',
        timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    jobs = dict(re.findall(r"SLURM jobid (\d+) \(log: \S*/rule_(\w+)/", output))
    assert sorted(jobs.values()) == ["cpu_probe", "gpu_probe"], output[-4000:]
    for job_id, rule in jobs.items():
        details = slurm_job(job_id)
        # sbatch --gpus=1 for the GPU rule only
        assert ("TresPerJob=gres:gpu:1" in details) == (rule == "gpu_probe"), details
        assert rule == "gpu_probe" or "gres" not in details, details
    # the GPU job was given the (fake) GPU; the CPU job none
    assert (tmp_path / "probe" / "gpu.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=0"
    assert (tmp_path / "probe" / "cpu.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=unset"


def read_results(run: Path) -> dict[str, object]:
    """Every hits, tracks and metrics output of a run, as comparable values."""
    found: dict[str, object] = {}
    for path in sorted(run.glob("hits/*.parquet")) + sorted(run.glob("tracks/*/*.parquet")):
        found[str(path.relative_to(run))] = pq.read_table(path).to_pandas()
    for path in sorted(run.glob("metrics/*/*.json")):
        found[str(path.relative_to(run))] = json.loads(path.read_text())
    return found


def test_cancelled_job_is_retried_and_results_match_a_local_run(
    cluster: None, tmp_path: Path
) -> None:
    data = {
        "source": "simulate",
        "simulate": {"n_events": 2, "first_event_id": 3000, "pileup": 2, "seed": 3},
        "split": {"train": 0, "val": 0, "test": 1.0},
    }
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [
        sys.executable, "-m", "snakemake", "--profile", "slurm",
        "--workflow-profile", str(site_profile(tmp_path / "site")), *FAST_STATUS,
        "--group-components", "events=2", *config_args(tmp_path / "slurm", data, noise_filter=NOISE_OFF),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    # cancel the group job of the two events mid-run: once it has simulated one of them
    simulated = tmp_path / "slurm" / "default" / "simulated"
    cancelled = None
    deadline = time.monotonic() + 300
    while cancelled is None and time.monotonic() < deadline and process.poll() is None:
        queue = subprocess.run(
            ["squeue", "-h", "-o", "%i %T %k"], capture_output=True, text=True
        ).stdout.split("\n")
        started = any(simulated.glob("event*-hits.csv.gz"))
        for line in queue:
            words = line.split()
            if started and len(words) == 3 and words[1] == "RUNNING" and "events" in words[2]:
                cancelled = words[0]
                subprocess.run(["scancel", cancelled], check=True)
                break
        time.sleep(0.2)
    output, _ = process.communicate(timeout=600)
    assert cancelled is not None, output[-4000:]
    assert process.returncode == 0, output[-4000:]
    assert "JobState=CANCELLED" in slurm_job(cancelled)
    assert "Trying to restart job" in output, output[-4000:]

    local = snakemake("--cores", "2", *config_args(tmp_path / "local", data, noise_filter=NOISE_OFF))
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    on_slurm = read_results(tmp_path / "slurm" / "default")
    on_laptop = read_results(tmp_path / "local" / "default")
    assert sorted(on_slurm) == sorted(on_laptop) and len(on_slurm) == 6
    for name, value in on_laptop.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(on_slurm[name], value)
        else:
            assert on_slurm[name] == value, name
