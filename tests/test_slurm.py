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
from pathlib import Path

import pytest

from workflow_helpers import config_args, snakemake

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
        *config_args(tmp_path, data),
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", output)
    # the event's ingest, track building and evaluate ran as one group job, then the report
    assert len(job_ids) == 2, output[-4000:]
    assert "group_events_evaluate_ingest_track_dbscan_baseline" in output, output[-4000:]
    for job_id in job_ids:
        details = subprocess.run(
            ["scontrol", "show", "job", job_id], capture_output=True, text=True
        ).stdout
        # no stage of this workflow is GPU-hungry yet: none may hold a GPU
        assert "TRES=cpu=" in details and "gres/gpu" not in details, details
        # the site profile's partition, time limit and memory reached sbatch
        assert "Partition=debug" in details and "TimeLimit=00:07:00" in details, details
        assert "mem=1200M" in details, details
    summary = json.loads((tmp_path / "default" / "report" / "summary.json").read_text())
    assert summary["methods"]["dbscan_baseline"]["trackml_score"]["n"] == 1
