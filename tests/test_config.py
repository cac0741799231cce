"""The workflow config: nested --config strings get the schema's types; the schema rejects typos."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from trackrec.config import coerce_config_strings, load_schema

from conftest import REPO_ROOT

SCHEMA = load_schema(REPO_ROOT / "workflow/schemas/config.schema.yaml")
DEFAULT = yaml.safe_load((REPO_ROOT / "config/config.yaml").read_text())


def test_default_config_is_valid() -> None:
    jsonschema.validate(DEFAULT, SCHEMA)


def test_example_configs_are_valid() -> None:
    for path in sorted((REPO_ROOT / "config").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)


def test_strings_from_the_command_line_get_schema_types() -> None:
    config = copy.deepcopy(DEFAULT)
    config["data"] = {
        "source": "trackml",
        "trackml_dir": "null",
        "events": ["1000", "event000001001"],
        "simulate": {"pileup": "200", "n_events": "3", "seed": "7"},
        "split": {"train": "0", "val": ["1000"], "test": "1"},
    }
    config["tracking"] = {"dbscan_baseline": {"eps": "0.01", "min_samples": "2"}}
    coerce_config_strings(config, SCHEMA)
    assert config["data"]["trackml_dir"] is None
    assert config["data"]["simulate"] == {"pileup": 200, "n_events": 3, "seed": 7}
    assert config["data"]["split"] == {"train": 0, "val": [1000], "test": 1}
    assert config["data"]["source"] == "trackml"
    assert config["tracking"]["dbscan_baseline"] == {"eps": 0.01, "min_samples": 2}
    assert config["data"]["events"] == [1000, "event000001001"]


def test_unparseable_strings_are_left_for_validation_to_name() -> None:
    config = {"data": {"simulate": {"pileup": "lots"}}}
    coerce_config_strings(config, SCHEMA)
    assert config["data"]["simulate"]["pileup"] == "lots"
    with pytest.raises(jsonschema.ValidationError, match="'lots' is not of type 'number'"):
        jsonschema.validate(config, SCHEMA)


def test_typo_is_rejected_naming_the_key() -> None:
    config = copy.deepcopy(DEFAULT)
    config["tracking"]["dbscan_baseline"]["epss"] = 0.1
    with pytest.raises(jsonschema.ValidationError, match="'epss' was unexpected"):
        jsonschema.validate(config, SCHEMA)
