"""Numeric options: bounded, refused in one line, and bounded as the config schema says."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from trackrec.cli import build_parser, main
from trackrec.options import integer, real
from trackrec.tracking.dbscan import DbscanParams

from conftest import REPO_ROOT

SCHEMA = yaml.safe_load((REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_bounded_numbers() -> None:
    assert integer(minimum=1)("3") == 3
    assert real(exclusive_minimum=0)("1e-3") == 0.001
    for number, text in (
        (integer(minimum=1), "0"),
        (integer(minimum=1), "1.5"),
        (integer(minimum=0, maximum=9), "10"),
        (real(minimum=0), "-5"),
        (real(minimum=0), "nan"),
        (real(minimum=0), "inf"),
        (real(exclusive_minimum=0), "0"),
        (real(), "lots"),
    ):
        with pytest.raises(argparse.ArgumentTypeError):
            number(text)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["evaluate", "--pt-thresholds", "-5"], "argument --pt-thresholds: must be >= 0, not -5"),
        (["evaluate", "--pt-thresholds", "0.9", "nan"], "must be a finite number, not nan"),
        (["evaluate", "--max-abs-eta", "0"], "argument --max-abs-eta: must be > 0, not 0"),
        (["evaluate", "--min-track-hits", "-1"], "argument --min-track-hits: must be >= 1"),
        (["track-dbscan", "--eps", "-0.1"], "argument --eps: must be > 0, not -0.1"),
        (["track-dbscan", "--curvature-steps", "0"], "argument --curvature-steps: must be >= 1"),
        (["track-dbscan", "--max-curvature=-1e-4"], "argument --max-curvature: must be >= 0"),
        (["track-dbscan", "--min-samples", "2.5"], "argument --min-samples: not an integer"),
        (["simulate", "--pileup", "-10"], "argument --pileup: must be >= 0, not -10"),
        (["simulate", "--events", "0"], "argument --events: must be >= 1, not 0"),
        (["simulate", "--seed", "-1"], "argument --seed: must be >= 0, not -1"),
        (["simulate", "--first-event-id", "1000000000"], "must be <= 999999999"),
    ],
)
def test_nonsense_numbers_are_refused_in_one_line(
    argv: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"trackrec {argv[0]}: error: "), err
    assert named in err
    assert not any(tmp_path.iterdir())


def _actions(command: str) -> dict[str, argparse.Action]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {a.dest: a for a in sub.choices[command]._actions}


def _schema_bounds(prop: dict) -> tuple[str, float | None, float | None, float | None]:
    prop = prop.get("items", prop)  # a list option: its items' bounds
    return (
        prop["type"],
        prop.get("minimum"),
        prop.get("exclusiveMinimum"),
        prop.get("maximum"),
    )


def _cli_bounds(action: argparse.Action) -> tuple[str, float | None, float | None, float | None]:
    number = action.type
    kind = "integer" if number.kind is int else "number"
    return kind, number.minimum, number.exclusive_minimum, number.maximum


# config keys whose values the workflow passes to a command as options
_SIMULATE_OPTIONS = {"n_events": "events", "first_event_id": "first_event_id",
                     "pileup": "pileup", "seed": "seed"}


def _config_options() -> list[tuple[str, dict, str, str]]:
    """(key, schema property, command, option dest) for every numeric config key."""
    props = SCHEMA["properties"]
    found = []
    for key, prop in props["tracking"]["properties"]["dbscan_baseline"]["properties"].items():
        found.append((f"tracking.dbscan_baseline.{key}", prop, "track-dbscan", key))
    gnn_ec = props["tracking"]["properties"]["gnn_ec"]["properties"]
    found.append(("tracking.gnn_ec.score_cut", gnn_ec["score_cut"], "build-tracks-edges",
                  "score_cut"))
    gnn_oc = props["tracking"]["properties"]["gnn_oc"]["properties"]
    for key in ("eps_grid", "min_samples_grid", "beta_min"):
        found.append((f"tracking.gnn_oc.{key}", gnn_oc[key], "scan-oc-dbscan", key))
    for key in ("eps", "min_samples", "beta_min"):
        found.append((f"tracking.gnn_oc.{key}", gnn_oc[key], "build-tracks-oc", key))
    for key, prop in props["metrics"]["properties"].items():
        found.append((f"metrics.{key}", prop, "evaluate", key))
    for key, prop in props["data"]["properties"]["simulate"]["properties"].items():
        found.append((f"data.simulate.{key}", prop, "simulate", _SIMULATE_OPTIONS[key]))
    return found


@pytest.mark.parametrize(("key", "prop", "command", "dest"), _config_options())
def test_schema_and_command_line_agree(key: str, prop: dict, command: str, dest: str) -> None:
    action = _actions(command)[dest]
    assert _schema_bounds(prop) == _cli_bounds(action), key
    # and the defaults: the schema's is the command's
    default = action.default if key != "data.simulate.n_events" else None
    if key.startswith(("tracking.", "metrics.")):
        assert prop["default"] == default, key


def test_every_dbscan_parameter_is_an_option_and_checked() -> None:
    actions = _actions("track-dbscan")
    schema = SCHEMA["properties"]["tracking"]["properties"]["dbscan_baseline"]["properties"]
    params = {f for f in DbscanParams.__dataclass_fields__}
    assert params <= set(actions) and params == set(schema)
    with pytest.raises(ValueError, match="z_scale must be > 0, not -1"):
        DbscanParams(z_scale=-1).validate()
