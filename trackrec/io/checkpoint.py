"""Trained models on disk: weights plus a provenance JSON, loaded without executing code.

Every learned stage writes its model as two files side by side: the weights (``NAME.pt`` for
torch models, ``NAME.npz`` for array models such as gradient-boosted trees) and
``NAME.json``, the provenance: the model kind, the config section it was trained with, the
features and their normalisation, the training and validation events with their data source,
the trackrec version, validation metrics and training time.

Loading never runs code from the file: torch weights go through
``torch.load(..., weights_only=True)`` and arrays through ``numpy.load(...,
allow_pickle=False)``. A model whose provenance differs from what the caller expects (another
kind, other features, another setting of its config section) is refused with one line naming
the setting and both values.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trackrec import __version__
from trackrec.errors import InputError
from trackrec.io.atomic import atomic_outputs

MODEL_SUFFIXES = (".pt", ".npz")


def provenance_path(model_path: str | Path) -> Path:
    """The provenance JSON beside a model file: ``NAME.pt`` -> ``NAME.json``."""
    return Path(model_path).with_suffix(".json")


def model_provenance(
    *,
    kind: str,
    config: Mapping[str, Any],
    features: Sequence[str],
    normalisation: Mapping[str, Sequence[float]] | None,
    train_events: Sequence[str],
    val_events: Sequence[str],
    data: Mapping[str, Any],
    metrics: Mapping[str, Any],
    train_seconds: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance record of a freshly trained model (JSON-serialisable)."""
    record = {
        "kind": kind,
        "trackrec_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": dict(config),
        "features": list(features),
        "normalisation": None if normalisation is None else {
            k: [float(x) for x in v] for k, v in normalisation.items()
        },
        "training": {
            "train_events": list(train_events),
            "val_events": list(val_events),
            "data": dict(data),
            "seconds": float(train_seconds),
        },
        "metrics": dict(metrics),
    }
    if extra:
        record.update(extra)
    json.dumps(record)  # fail here, not half-way through a write
    return record


def _lookup(record: Mapping[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


class _Missing:
    def __repr__(self) -> str:
        return "nothing (absent)"


_MISSING = _Missing()


def _comparable(value: Any) -> Any:
    """JSON round trip, so tuples equal lists and numpy scalars equal Python numbers."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist()))


def check_provenance(path: str | Path, provenance: Mapping[str, Any],
                     expected: Mapping[str, Any]) -> None:
    """Refuse a model whose provenance differs from ``expected``.

    ``expected`` maps dotted provenance keys (``"kind"``, ``"features"``,
    ``"config.hidden"``) to the values the caller needs; the first difference raises
    :class:`~trackrec.errors.InputError` naming the setting and both values.
    """
    for key, want in expected.items():
        have = _lookup(provenance, key)
        if have is _MISSING or _comparable(have) != _comparable(want):
            raise InputError(path, f"model does not match the config: {key} is {have!r} in "
                                   f"the model but {want!r} in the config")


def read_provenance(model_path: str | Path) -> dict[str, Any]:
    """The provenance JSON of a model file; a one-line error when absent or malformed."""
    path = provenance_path(model_path)
    if not Path(model_path).exists():
        raise InputError(model_path, "no such model file")
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "provenance file of the model is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"provenance is not valid JSON ({err})") from None
    if not isinstance(record, dict) or "kind" not in record:
        raise InputError(path, "provenance has no 'kind' (not a trackrec model)")
    return record


def _write_provenance(tmp: Path, provenance: Mapping[str, Any]) -> None:
    tmp.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")


def save_torch_model(path: str | Path, state_dict: Mapping[str, Any],
                     provenance: Mapping[str, Any]) -> None:
    """Write torch weights and their provenance atomically (both files or neither)."""
    import torch

    weights = {k: v.detach().cpu() for k, v in state_dict.items()}
    with atomic_outputs([path, provenance_path(path)]) as (tmp_weights, tmp_json):
        torch.save(weights, tmp_weights)
        _write_provenance(tmp_json, provenance)


def load_torch_model(path: str | Path, *, expected: Mapping[str, Any] | None = None
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Weights (on the CPU) and provenance of a torch model, checked against ``expected``."""
    import pickle

    import torch

    provenance = read_provenance(path)
    check_provenance(path, provenance, expected or {})
    try:
        weights = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise InputError(path, f"not a loadable torch weights file ({err})") from None
    if not isinstance(weights, dict):
        raise InputError(path, "torch file does not hold a state dict")
    return weights, provenance


def save_array_model(path: str | Path, arrays: Mapping[str, np.ndarray],
                     provenance: Mapping[str, Any]) -> None:
    """Write a model made of plain arrays (``.npz``) and its provenance atomically."""
    with atomic_outputs([path, provenance_path(path)]) as (tmp_weights, tmp_json):
        with open(tmp_weights, "wb") as handle:
            np.savez_compressed(handle, **{k: np.asarray(v) for k, v in arrays.items()})
        _write_provenance(tmp_json, provenance)


def load_array_model(path: str | Path, *, expected: Mapping[str, Any] | None = None
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and provenance of an array model, checked against ``expected``."""
    provenance = read_provenance(path)
    check_provenance(path, provenance, expected or {})
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError) as err:
        raise InputError(path, f"not a loadable .npz model file ({err})") from None
    return arrays, provenance


def install_model(source: str | Path, target: str | Path) -> dict[str, Any]:
    """Copy a shipped model and its provenance into a run (both files or neither)."""
    source, target = Path(source), Path(target)
    if source.suffix not in MODEL_SUFFIXES:
        raise InputError(source, f"not a model file (expected one of {', '.join(MODEL_SUFFIXES)})")
    if target.suffix != source.suffix:
        raise InputError(target, f"target suffix differs from the model's ({source.suffix})")
    provenance = read_provenance(source)
    with atomic_outputs([target, provenance_path(target)]) as (tmp_weights, tmp_json):
        shutil.copyfile(source, tmp_weights)
        _write_provenance(tmp_json, provenance)
    return provenance
