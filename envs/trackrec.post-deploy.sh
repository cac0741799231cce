#!/usr/bin/env bash
# Snakemake runs this inside the freshly built environment, from the workflow's working
# directory (the repository root, where the README runs snakemake): install trackrec itself.
set -euo pipefail
python -m pip install --no-deps -e .
