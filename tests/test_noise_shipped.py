"""The shipped noise models fit the code and the default config: same features, same
context cuts, same working-point setting (a feature change without retraining fails here)."""

from __future__ import annotations

import pytest
import yaml

from trackrec.noise.stage import load_scorer, noise_model_file

from conftest import REPO_ROOT


@pytest.mark.parametrize("model", ["gbdt", "mlp"])
def test_shipped_model_loads_with_the_default_config(model: str) -> None:
    section = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())["noise_filter"]
    section = {**section, "model": model}
    path = noise_model_file(str(REPO_ROOT / "models"), model)
    scorer = load_scorer(path, section)
    assert 0 < scorer.threshold < 1
