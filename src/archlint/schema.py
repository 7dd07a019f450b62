"""JSON Schemas of ``[tool.archlint]`` (and ``archlint.toml``) and of policy packs, generated from the code.

The keys come from ``config.CONFIG_KEYS`` and ``pack.PACK_KEYS``; each
standard's options, their types and their documentation from the rules'
option dataclasses, so the schemas cannot drift from what the loader accepts.
The generated files ship in the package (``archlint/schemas/config.schema.json``
and ``pack.schema.json``) for editors' TOML plug-ins; ``python
scripts/update_schemas.py`` rewrites them and a test checks they are current.
"""

from __future__ import annotations

import json
import re
import typing
from typing import Any

from archlint.checks import all_rules
from archlint.config import CONFIG_KEYS
from archlint.pack import PACK_KEYS, option_fields

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"  # what TOML plug-ins (taplo) read
BASE_URI = "https://github.com/archlint/archlint/blob/main/src/archlint/schemas/"
_CODES = {
    "type": "array",
    "items": {"type": "string", "pattern": "^(ALL|AL[0-9]{0,3}|S[0-9]{1,2})$"},
    "description": "Rule codes (AL101), prefixes (AL1), standards (S1) or ALL.",
}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_SEVERITY = {"enum": ["error", "warning", "note"]}


def config_schema() -> dict:
    """``[tool.archlint]`` as the loader (``config.load_config``) accepts it."""
    known: dict[str, dict] = {
        "pack": {"type": "string", "description": "A built-in pack name or a TOML file relative to this file."},
        "select": {**_CODES, "description": "Only these rules: codes, prefixes (AL1), standards (S1) or ALL."},
        "extend-select": {**_CODES, "description": "Rules to turn on besides the selection (also rules the pack leaves off)."},
        "ignore": {**_CODES, "description": "Rules to turn off."},
        "exclude": {**_STRINGS, "description": "Paths left out of the analysis (gitignore syntax), added to the pack's."},
        "respect-gitignore": {"type": "boolean", "description": "Honour .gitignore files (default true)."},
        "per-file-ignores": {
            "type": "object",
            "additionalProperties": _CODES,
            "description": "Glob (gitignore syntax) = the rules ignored in the files it matches.",
        },
        "fail-on": {**_SEVERITY, "description": "Lowest severity that fails the run (default warning)."},
        "src": {**_STRINGS, "description": "Source roots for module names (default: inferred)."},
        "openapi": {
            **_STRINGS,
            "description": "OpenAPI documents to check, relative to the project root "
            "(default: discover openapi.json/.yaml/.yml).",
        },
        "standards": _standards(),
        "rules": _rules(),
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": BASE_URI + "config.schema.json",
        "title": "archlint configuration: [tool.archlint] in pyproject.toml, or archlint.toml",
        "type": "object",
        "additionalProperties": False,
        "properties": {key: known.get(key, {}) for key in sorted(CONFIG_KEYS)},
        "definitions": _definitions(),
    }


def pack_schema() -> dict:
    """A policy pack (``rules/backend-architect.toml`` or a user's pack that ``extends`` it)."""
    known: dict[str, dict] = {
        "pack": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "profile": {"type": "string"}},
            "description": "The pack's name and what it holds projects to.",
        },
        "extends": {"type": "string", "description": "A built-in pack name or a pack file this one changes."},
        "analysis": {
            "type": "object",
            "description": "What every rule's analysis includes (other keys are checked by the loader).",
            "properties": {"exclude": {**_STRINGS, "description": "Paths left out of every rule's analysis (gitignore syntax)."}},
        },
        "standards": _standards(),
        "rules": _rules(),
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": BASE_URI + "pack.schema.json",
        "title": "archlint policy pack",
        "type": "object",
        "additionalProperties": False,
        "properties": {key: known.get(key, {}) for key in sorted(PACK_KEYS)},
        "definitions": _definitions(),
    }


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _standard_options() -> dict[str, dict[str, dict]]:
    """Standard -> option key -> schema, from every rule's options dataclass."""
    out: dict[str, dict[str, dict]] = {}
    for rule in all_rules():
        if not rule.standard or rule.Options is None:
            continue
        hints = typing.get_type_hints(rule.Options)
        table = out.setdefault(rule.standard, {})
        for key, fld in option_fields(rule.Options).items():
            schema = _type_schema(hints[fld.name])
            doc = fld.metadata.get("doc")
            table[key] = {**schema, "description": doc} if doc else schema
    return {std: dict(sorted(opts.items())) for std, opts in sorted(out.items(), key=lambda kv: int(kv[0][1:]))}


def _definitions() -> dict:
    """One definition per standard: its options (a rule's table references its standard's)."""
    return {
        std: {"type": "object", "additionalProperties": False, "properties": options}
        for std, options in _standard_options().items()
    }


def _standards() -> dict:
    return {
        "type": "object",
        "description": "Options of each standard (S1..S24), overriding the pack's.",
        "propertyNames": {"pattern": "^S[0-9]{1,2}$"},
        "properties": {std: {"$ref": f"#/definitions/{std}"} for std in _standard_options()},
        "additionalProperties": False,
    }


def _rules() -> dict:
    """Per rule: enabled and severity, plus its standard's options (checked by the loader, listed here)."""
    options = _standard_options()
    properties = {}
    for rule in all_rules():
        entry: dict = {
            "type": "object",
            "description": f"{rule.name}: {rule.summary()}",
            "properties": {
                "enabled": {"type": "boolean", "description": "Turn the rule on or off."},
                "severity": {**_SEVERITY, "description": "The rule's severity."},
            },
        }
        if rule.standard in options:
            entry["properties"].update(
                {key: {"$ref": f"#/definitions/{rule.standard}/properties/{key}"} for key in options[rule.standard]}
            )
        entry["additionalProperties"] = False
        properties[rule.id] = entry
    return {
        "type": "object",
        "description": "Per rule: enabled, severity, or any option of its standard.",
        "propertyNames": {"pattern": "^AL[0-9]{3}$"},
        "properties": properties,
    }


def _type_schema(tp: Any) -> dict:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is re.Pattern or origin is re.Pattern:
        return {"type": "string", "format": "regex"}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(args[0] if args else str)}
    if origin is dict:
        value = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": _type_schema(value)}
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        choices = [{"type": "null"} if a is type(None) else _type_schema(a) for a in args]
        return {"anyOf": choices}
    return {}
