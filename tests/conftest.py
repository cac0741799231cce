"""Shared fixtures: paths to the real sample event in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$TRACKREC_SHARED_DATA``."""
    return Path(os.environ.get("TRACKREC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The real sub-sampled TrackML event (skips when shared/ is absent)."""
    path = shared_data_dir() / "trackml_sample"
    if not (path / "event000000001-hits.csv.gz").exists():
        pytest.skip(f"real TrackML sample not found at {path}")
    return path


@pytest.fixture(scope="session")
def sample_prefix(sample_dir: Path) -> Path:
    return sample_dir / "event000000001"


@pytest.fixture(scope="session")
def detectors_path(sample_dir: Path) -> Path:
    return sample_dir / "detectors.csv.gz"
