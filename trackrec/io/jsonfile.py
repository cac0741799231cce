"""Strict JSON files: summaries and report sections as every stage writes and reads them.

JSON has no NaN or infinity: :func:`json_ready` turns them into ``null`` (and numpy scalars
into Python numbers), recursively, so a file written by :func:`write_json` is read by any
strict parser; :func:`read_json` names the file and the problem in one line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from trackrec.errors import InputError
from trackrec.io.atomic import atomic_output


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None and numpy scalars as Python ones."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path: str | Path, value: Any, *, indent: int = 1, sort_keys: bool = True) -> None:
    """Write ``json_ready(value)`` atomically (nothing at ``path`` if anything fails)."""
    text = json.dumps(json_ready(value), indent=indent, sort_keys=sort_keys, allow_nan=False)
    with atomic_output(path) as tmp:
        tmp.write_text(text + "\n")


def read_json(path: str | Path) -> Any:
    """The JSON value in ``path``; a missing or malformed file is an :class:`InputError`."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err.msg}, line {err.lineno})") from None
