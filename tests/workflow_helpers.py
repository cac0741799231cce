"""Running the Snakemake workflow from tests: command lines and dry-run job tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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


def probe_workflow(folder: Path) -> Path:
    """A workflow of two probe rules on the repository's config and common.smk, as the
    Snakefile loads them: a GPU rule declared the way GPU stages declare it, and a CPU rule.
    Each writes the CUDA_VISIBLE_DEVICES its job got."""
    snakefile = folder / "Snakefile"
    schema = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
    probe = "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}} > {output:q}"
    snakefile.write_text(
        textwrap.dedent(
            f"""\
            from snakemake.utils import validate
            from trackrec.config import coerce_config_strings, load_schema

            configfile: "{REPO_ROOT / "config" / "config.yaml"}"
            coerce_config_strings(config, load_schema("{schema}"))
            validate(config, "{schema}")
            include: "{REPO_ROOT / "rules" / "common.smk"}"

            rule all:
                input: "probe/gpu.txt", "probe/cpu.txt"

            rule gpu_probe:
                output: "probe/gpu.txt"
                resources: **get_gpu_resources()
                shell: "{probe}"

            rule cpu_probe:
                output: "probe/cpu.txt"
                shell: "{probe}"
            """
        )
    )
    return snakefile
