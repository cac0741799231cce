"""Strict JSON files: NaN, infinities and numpy scalars, and one-line read errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from trackrec.errors import InputError
from trackrec.io.jsonfile import json_ready, read_json, write_json


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_written_file_is_strict_json_with_nulls(tmp_path: Path) -> None:
    value = {"a": [1.5, math.nan, (np.float32(2.5), np.int64(3))], "b": {"c": -math.inf},
             "d": np.float64(math.nan), "e": True, "f": "x"}  # fmt: skip
    path = tmp_path / "out" / "x.json"
    write_json(path, value)
    assert _strict(path.read_text()) == {
        "a": [1.5, None, [2.5, 3]], "b": {"c": None}, "d": None, "e": True, "f": "x"
    }
    assert json_ready(np.int64(3)) == 3 and type(json_ready(np.int64(3))) is int


@pytest.mark.parametrize(("text", "problem"), [(None, "no such file"), ("{", "not valid JSON")])
def test_read_errors_name_the_file(tmp_path: Path, text: str | None, problem: str) -> None:
    path = tmp_path / "x.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=problem) as err:
        read_json(path)
    assert str(err.value).startswith(f"{path}: ")
