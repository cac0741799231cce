"""The workflow config: nested --config strings get the schema's types; the schema rejects typos."""

from __future__ import annotations

import copy
import re

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


def _workflow_text() -> str:
    files = [REPO_ROOT / "Snakefile", *sorted((REPO_ROOT / "rules").glob("*.smk"))]
    return "\n".join(path.read_text() for path in files)


def test_every_config_section_has_a_reader_or_says_it_has_none() -> None:
    """No dead ends: each top-level key is read by the workflow, or its schema description
    says that no stage reads it yet (and which stages will)."""
    workflow = _workflow_text()
    for key, prop in SCHEMA["properties"].items():
        read = f'config["{key}"]' in workflow or f"config['{key}']" in workflow
        if not read:
            assert "No stage reads" in prop.get("description", ""), key
    assert set(DEFAULT) == set(SCHEMA["properties"])


def test_pyproject_markers_name_files_that_exist() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    markers = pyproject.split("markers = [", 1)[1].split("]", 1)[0]
    named = re.findall(r"[\w.-]*/[\w./-]+\.\w+", markers)
    assert ".ci/slurm-up.sh" in named
    for path in named:
        assert (REPO_ROOT / path).is_file(), path


def test_readme_names_only_documents_that_exist() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for name in sorted(set(re.findall(r"[\w./-]+\.md\b", readme))):
        assert (REPO_ROOT / name).is_file(), f"README.md names {name}, which is not in the repository"
