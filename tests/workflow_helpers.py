"""Running the Snakemake workflow from tests: command lines and dry-run job tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT


def snakemake(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run snakemake from the repository root with this interpreter's environment."""
    env = dict(os.environ)
    # jobs call `trackrec`: make sure this interpreter's scripts folder comes first
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def config_args(results: Path, data: dict, **sections: dict) -> list[str]:
    """``--config`` arguments: results root plus whole sections as JSON."""
    words = [f"results={results}", f"data={json.dumps(data)}"]
    words += [f"{name}={json.dumps(value)}" for name, value in sections.items()]
    return ["--config", *words]


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The ``Job stats`` table of a dry run as {rule: count} (without the total)."""
    lines = dry_run_output.splitlines()
    if "Job stats:" not in lines:
        return {}
    counts = {}
    for line in lines[lines.index("Job stats:") + 3 :]:
        words = line.split()
        if len(words) != 2 or words[0] == "total":
            break
        counts[words[0]] = int(words[1])
    return counts


def cluster_jobs(dry_run_output: str) -> list[str]:
    """The jobs a dry run would submit to a cluster: ``group:<name>`` per group job and the
    rule name of every job outside groups, except the target rule ``all`` (run locally)."""
    jobs = []
    for line in dry_run_output.splitlines():
        if "] Group job " in line:
            jobs.append("group:" + line.split("] Group job ", 1)[1].split()[0])
        elif line.startswith("rule ") and line.endswith(":") and line != "rule all:":
            jobs.append(line[len("rule ") : -1])
    return jobs
