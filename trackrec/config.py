"""Workflow config helpers: give ``--config`` overrides the types the schema asks for.

Snakemake parses a nested ``--config 'data={"split": {"train": 0}}'`` with YAML's base
loader, which turns every nested scalar into a string (``"0"``). Before validation the
Snakefile walks the config beside its JSON schema and turns such strings back into the
number, boolean or null the schema expects, so every key can be overridden on the command
line with the natural syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

_PYTHON_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def load_schema(path: str | Path) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def reserved_method_names(schema: Mapping[str, Any]) -> list[str]:
    """Names an external method may not take: the built-in methods and the tracking keys."""
    tracking = schema["properties"]["tracking"]["properties"]
    return sorted(set(tracking["methods"]["items"]["enum"]) | set(tracking))


def coerce_config_strings(config: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Convert, in place, string leaves of ``config`` to the scalar types ``schema`` allows."""
    defs = schema.get("$defs", {})
    for key, value in list(config.items()):
        sub = schema.get("properties", {}).get(key)
        if sub is not None:
            config[key] = _coerce(value, sub, defs)


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        merged = dict(defs[ref.split("/")[-1]])
        merged.update({k: v for k, v in schema.items() if k != "$ref"})
        return merged
    return schema


def _branches(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    schema = _resolve(schema, defs)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return [b for alt in alternatives for b in _branches(alt, defs)]
    return [schema]


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    if "const" in schema:
        types.add("const")
    return types


def _coerce(value: Any, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    branches = _branches(schema, defs)
    if isinstance(value, dict):
        for branch in branches:
            if "properties" in branch:
                return {
                    k: _coerce(v, branch["properties"][k], defs) if k in branch["properties"] else v
                    for k, v in value.items()
                }
        return value
    if isinstance(value, list):
        for branch in branches:
            if "items" in branch:
                return [_coerce(v, branch["items"], defs) for v in value]
        return value
    if not isinstance(value, str):
        return value
    if any(b.get("const") == value for b in branches):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    for branch in branches:
        for type_name in _types(branch):
            check = _PYTHON_TYPES.get(type_name)
            if check is not None and check(parsed):
                return (
                    float(parsed)
                    if type_name == "number"
                    and isinstance(parsed, int)
                    and "integer" not in _types(branch)
                    else parsed
                )
    return value
