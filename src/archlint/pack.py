"""Policy packs: every number and list of the standards, as data.

A pack is a TOML file (the default ships as ``archlint.packs/backend-architect.toml``,
the repository's ``rules/`` folder). Rules declare their options as typed
dataclasses with no defaults, so a value can only come from a pack or from
the user's configuration; this module loads, merges and converts them.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_PACK = "backend-architect"
PACK_KEYS = {"pack", "extends", "analysis", "rules", "standards"}
ANALYSIS_KEYS = {"exclude", "framework-modules"}
RULE_KEYS = {"enabled", "severity"}


class ConfigError(Exception):
    """A bad pack or configuration: one line naming the file and the key."""


def option(doc: str) -> Any:
    """Declare a rule option: its value comes from the pack, its doc from here."""
    return field(metadata={"doc": doc})


@dataclass(slots=True)
class Pack:
    name: str
    source: str  # where it was loaded from (for messages)
    data: dict[str, Any]

    @property
    def exclude(self) -> list[str]:
        return list(self.data.get("analysis", {}).get("exclude", []))

    @property
    def framework_modules(self) -> list[str]:
        """Top-level module names of frameworks: a project copy of one is not the application."""
        return list(self.data.get("analysis", {}).get("framework-modules", []))

    def standard(self, standard: str) -> dict[str, Any]:
        return dict(self.data.get("standards", {}).get(standard, {}))

    def rule(self, rule_id: str) -> dict[str, Any]:
        return dict(self.data.get("rules", {}).get(rule_id, {}))


def _packs_dir() -> Any:
    """The built-in packs, shipped as the ``archlint.packs`` package (the repository's ``rules/``)."""
    return resources.files("archlint.packs")


def builtin_packs() -> list[str]:
    return sorted(p.name[:-5] for p in _packs_dir().iterdir() if p.name.endswith(".toml"))


def _read_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None


def load_pack(ref: str | None, base_dir: Path | None = None, _depth: int = 0) -> Pack:
    """A pack by built-in name or by path (relative to ``base_dir``), ``extends`` applied."""
    ref = ref or DEFAULT_PACK
    if _depth > 8:
        raise ConfigError(f"{ref}: pack 'extends' chain is too deep")
    if ref in builtin_packs():
        text = _packs_dir().joinpath(f"{ref}.toml").read_text(encoding="utf-8")
        source = f"pack '{ref}'"
    else:
        path = Path(ref)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            known = ", ".join(builtin_packs())
            raise ConfigError(f"pack '{ref}' is neither a built-in pack ({known}) nor a file")
        text = path.read_text(encoding="utf-8")
        source = str(path)
        base_dir = path.parent
    data = _read_toml(text, source)
    unknown = sorted(set(data) - PACK_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key '{unknown[0]}' (expected one of {', '.join(sorted(PACK_KEYS))})")
    for key in sorted(set(data.get("analysis", {})) - ANALYSIS_KEYS):
        raise ConfigError(f"{source}: [analysis] unknown key '{key}'")
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise ConfigError(f"{source}: 'extends' must be a pack name or path")
        base = load_pack(parent, base_dir, _depth + 1)
        data = deep_merge(base.data, data)
    name = str(data.get("pack", {}).get("name", ref))
    return Pack(name=name, source=source, data=data)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- #
# Typed options
# --------------------------------------------------------------------------- #


def option_fields(options_cls: type | None) -> dict[str, dataclasses.Field]:
    """TOML key (dashes) -> dataclass field."""
    if options_cls is None:
        return {}
    return {f.name.replace("_", "-"): f for f in dataclasses.fields(options_cls)}


def build_options(options_cls: type | None, values: dict[str, tuple[Any, str]], missing_source: str) -> Any:
    """Convert merged TOML values into the options dataclass; missing or bad values are errors.

    ``values`` maps each key to (value, where it was set) so an error names the right file.
    """
    if options_cls is None:
        return None
    hints = typing.get_type_hints(options_cls)
    kwargs: dict[str, Any] = {}
    for key, fld in option_fields(options_cls).items():
        if key not in values:
            raise ConfigError(f"{missing_source}: option '{key}' has no value (the pack must define it)")
        value, where = values[key]
        kwargs[fld.name] = convert(hints[fld.name], value, f"{where}: option '{key}'")
    return options_cls(**kwargs)


def convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is re.Pattern or origin is re.Pattern:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a regular expression string")
        try:
            return re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{where} is not a valid regular expression: {exc}") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        item_type = args[0] if args else str
        return tuple(convert(item_type, v, where) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table")
        key_type, value_type = args if args else (str, Any)
        return {convert(key_type, k, where): convert(value_type, v, where) for k, v in value.items()}
    if tp is Any:
        return value
    if typing.get_origin(tp) is typing.Union or type(tp).__name__ == "UnionType":
        errors = []
        for candidate in args:
            if candidate is type(None) and value is None:
                return None
            try:
                return convert(candidate, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where} has a bad value")
    raise ConfigError(f"{where}: unsupported option type {tp!r}")  # pragma: no cover


def format_value(value: Any) -> str:
    if isinstance(value, re.Pattern):
        return f"`{value.pattern}`"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else str(value)
