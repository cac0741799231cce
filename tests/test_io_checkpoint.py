"""Model files: round trips, refusal of mismatched or unsafe models, installation."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from trackrec.cli import main
from trackrec.errors import InputError
from trackrec.io.checkpoint import (
    install_model,
    load_array_model,
    load_torch_model,
    model_provenance,
    provenance_path,
    save_array_model,
    save_torch_model,
)


def _provenance(**config):
    return model_provenance(
        kind="mlp", config={"hidden": 16, **config}, features=["r", "phi", "z"],
        normalisation={"mean": [1, 2, 3], "std": [1, 1, 1]}, train_events=["event000001000"],
        val_events=["event000001001"], data={"source": "simulate", "seed": 1},
        metrics={"auc": 0.9}, train_seconds=1.5)


def test_torch_round_trip_and_mismatch(tmp_path):
    path = tmp_path / "m.pt"
    layer = torch.nn.Linear(3, 2)
    save_torch_model(path, layer.state_dict(), _provenance())
    weights, prov = load_torch_model(path, expected={"kind": "mlp", "features": ("r", "phi", "z"),
                                                      "config.hidden": 16})
    assert torch.equal(weights["weight"], layer.weight.detach())
    assert prov["training"]["train_events"] == ["event000001000"]
    with pytest.raises(InputError, match=r"config.hidden is 16 in the model but 32 in the config"):
        load_torch_model(path, expected={"config.hidden": 32})
    with pytest.raises(InputError, match=r"features is \['r', 'phi', 'z'\] in the model"):
        load_torch_model(path, expected={"features": ["r", "z"]})
    with pytest.raises(InputError, match="config.depth is nothing"):
        load_torch_model(path, expected={"config.depth": 2})


def test_torch_file_with_code_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(pickle.dumps({"weight": print}))
    provenance_path(path).write_text(json.dumps(_provenance()))
    with pytest.raises(InputError, match="not a loadable torch weights file"):
        load_torch_model(path)


def test_array_round_trip_and_object_arrays_refused(tmp_path):
    path = tmp_path / "t.npz"
    save_array_model(path, {"a": np.arange(5), "b": np.eye(2)}, _provenance())
    arrays, _ = load_array_model(path, expected={"kind": "mlp"})
    assert np.array_equal(arrays["a"], np.arange(5))
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(InputError, match="not a loadable .npz model file"):
        load_array_model(path)


def test_missing_or_bad_provenance(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(InputError, match="provenance file of the model is missing"):
        load_array_model(path)
    provenance_path(path).write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_array_model(path)
    provenance_path(path).write_text("{}")
    with pytest.raises(InputError, match="no 'kind'"):
        load_array_model(path)


def test_install_model_command(tmp_path, capsys):
    source = tmp_path / "shipped" / "m.npz"
    source.parent.mkdir()
    save_array_model(source, {"a": np.arange(3)}, _provenance())
    target = tmp_path / "run" / "models" / "m.npz"
    assert main(["install-model", "--model", str(source), "--out", str(target)]) == 0
    assert target.read_bytes() == source.read_bytes()
    assert json.loads(provenance_path(target).read_text()) == json.loads(
        provenance_path(source).read_text())
    provenance_path(source).unlink()
    other = tmp_path / "run" / "models" / "n.npz"
    assert main(["install-model", "--model", str(source), "--out", str(other)]) == 2
    assert "provenance file of the model is missing" in capsys.readouterr().err
    assert not other.exists()
    with pytest.raises(InputError, match="target suffix"):
        install_model(target, tmp_path / "x.pt")
