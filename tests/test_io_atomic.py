"""Atomic outputs: all or nothing, no temporary file left, ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trackrec.io.atomic import atomic_output, atomic_outputs


def test_success_renames_with_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    old = os.umask(0o022)
    try:
        with atomic_output(target) as tmp:
            assert tmp.parent == target.parent and not target.exists()
            tmp.write_text("done")
    finally:
        os.umask(old)
    assert target.read_text() == "done"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failure_leaves_target_untouched_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("users' data")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("stage failed")
    assert target.read_text() == "users' data"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_several_outputs_appear_together_or_not_at_all(tmp_path: Path) -> None:
    paths = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(ValueError), atomic_outputs(paths) as tmps:
        tmps[0].write_text("a")
        raise ValueError("second failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_outputs(paths) as tmps:
        for tmp in tmps:
            tmp.write_text(tmp.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
