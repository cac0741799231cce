"""The conda environment names the same packages (and lower bounds) as pyproject.toml."""

from __future__ import annotations

import re

import tomllib
import yaml

from conftest import REPO_ROOT

# the workflow engine runs the rules; it is not needed inside the rules' environment
WORKFLOW_ONLY = {"snakemake", "snakemake-executor-plugin-slurm"}
# the same package under another name on conda-forge
CONDA_NAMES = {"torch": "pytorch", "torch-geometric": "pytorch-geometric"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_conda_env_matches_pyproject() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    wanted = {CONDA_NAMES.get(name, name): spec for name, spec in
              (_split(r) for r in pyproject["project"]["dependencies"])}
    for name in WORKFLOW_ONLY:
        wanted.pop(name, None)
    wanted["python"] = pyproject["project"]["requires-python"]
    for env_file in sorted((REPO_ROOT / "envs").glob("*.yaml")):
        env = yaml.safe_load(env_file.read_text())
        conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str) and d != "pip")
        assert conda == wanted, env_file.name
