"""Shared fixtures: paths to the real TrackML data in ../shared/data.

Tests that need those files skip when they are absent, except in CI (``CI`` set) or with
``TRACKREC_REQUIRE_SHARED_DATA=1``, where a missing file is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FULL_EVENTS = ("event000001001", "event000001003")


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$TRACKREC_SHARED_DATA``."""
    return Path(os.environ.get("TRACKREC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_data_required() -> bool:
    """Whether missing shared data fails the tests (CI) instead of skipping them."""
    return bool(os.environ.get("CI")) or os.environ.get("TRACKREC_REQUIRE_SHARED_DATA") == "1"


def require_files(*paths: Path) -> None:
    """Skip (or fail, in CI) unless every path exists."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        message = f"real TrackML data not found: {', '.join(missing)}"
        if shared_data_required():
            pytest.fail(f"{message} (required: CI or TRACKREC_REQUIRE_SHARED_DATA=1)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The real sub-sampled TrackML event."""
    path = shared_data_dir() / "trackml_sample"
    require_files(path / "event000000001-hits.csv.gz")
    return path


@pytest.fixture(scope="session")
def sample_prefix(sample_dir: Path) -> Path:
    return sample_dir / "event000000001"


@pytest.fixture(scope="session")
def detectors_path(sample_dir: Path) -> Path:
    return sample_dir / "detectors.csv.gz"


@pytest.fixture(scope="session")
def full_event_prefixes() -> list[Path]:
    """The two real full TrackML events (hits and particles files only)."""
    folder = shared_data_dir() / "trackml_full"
    prefixes = [folder / name for name in FULL_EVENTS]
    require_files(*(Path(f"{p}-{kind}.csv.gz") for p in prefixes for kind in ("hits", "particles")))
    return prefixes
