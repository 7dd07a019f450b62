"""Policy packs: every number and list of the standards, as data.

A pack is a TOML file (the default ships as ``archlint.packs/backend-architect.toml``,
the repository's ``rules/`` folder). Rules declare their options as typed
dataclasses with no defaults, so a value can only come from a pack or from
the user's configuration; this module loads, merges and converts them.
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
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
PACK_KEYS = {"pack", "extends", "analysis", "limits", "rules", "standards"}
ANALYSIS_KEYS = {"exclude", "framework-modules", "include-generated", "generated-markers", "health-probes"}
#: ``[limits]``: the most a run reads or builds for one input (see :class:`Limits`).
LIMIT_KEYS = {
    "file-size": "file_size",
    "openapi-size": "openapi_size",
    "openapi-nodes": "openapi_nodes",
    "openapi-depth": "openapi_depth",
    "nesting-depth": "nesting_depth",
    "expression-terms": "expression_terms",
}


class ConfigError(Exception):
    """A bad pack or configuration: one line naming the file and the key."""


@dataclass(slots=True)
class Limits:
    """Bounds on the cost of one input; past one, the input is reported as skipped.

    The values come from the pack's ``[limits]`` (and ``[tool.archlint.limits]``);
    these defaults apply only to a pack that extends none and sets none.
    """

    #: Bytes of one Python file (or any file a rule reads to show a code frame).
    file_size: int = 1024 * 1024
    #: Bytes of one OpenAPI document.
    openapi_size: int = 8 * 1024 * 1024
    #: Nodes of one OpenAPI document once YAML aliases are expanded (an alias bomb stops here).
    openapi_nodes: int = 1_000_000
    #: Nesting depth of one OpenAPI document.
    openapi_depth: int = 64
    #: Bracket nesting of one Python file (CPython's own limit is 200; LibCST crashes near 2,000).
    nesting_depth: int = 200
    #: Terms chained by operators in one Python expression (LibCST crashes near 10,000, O(n^2) before).
    expression_terms: int = 500


def limits_from(table: Any, where: str, base: Limits | None = None) -> Limits:
    """``[limits]`` -> :class:`Limits` (starting from ``base``); a bad key or value is a ConfigError."""
    limits = Limits() if base is None else dataclasses.replace(base)
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    for key, value in table.items():
        attr = LIMIT_KEYS.get(key)
        if attr is None:
            raise ConfigError(f"{where} unknown key '{key}' (expected one of {', '.join(sorted(LIMIT_KEYS))})")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where} key '{key}' must be a positive integer, not {value!r}")
        setattr(limits, attr, value)
    return limits


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

    @property
    def include_generated(self) -> bool:
        """Whether files that declare themselves generated are analysed like any other."""
        return bool(self.data.get("analysis", {}).get("include-generated", False))

    @property
    def generated_markers(self) -> list[re.Pattern[str]]:
        """Patterns that, on a line of a file's leading comments or docstring, declare it generated."""
        return [re.compile(p) for p in self.data.get("analysis", {}).get("generated-markers", [])]

    @property
    def health_probes(self) -> tuple[str, ...]:
        """Full paths (fnmatch globs, lower case) of health and liveness probes: unversioned and public (S1, S7, S4)."""
        return tuple(self.data.get("analysis", {}).get("health-probes", ()))

    @property
    def limits(self) -> Limits:
        return limits_from(self.data.get("limits", {}), f"{self.source}: [limits]")

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


def load_pack(
    ref: str | None, base_dir: Path | None = None, _depth: int = 0, *, root: Path | None = None, named_in: str | None = None
) -> Pack:
    """A pack by built-in name or by path (relative to ``base_dir``), ``extends`` applied.

    ``root``: when the reference comes from the repository (a configuration file, a pack's
    ``extends``), the pack file must be inside it; ``--pack`` on the command line passes None.
    ``named_in``: the file that names the pack, for messages.
    """
    from archlint.fsio import read_text

    ref = ref or DEFAULT_PACK
    where = f"{named_in}: " if named_in else ""
    if _depth > 8:
        raise ConfigError(f"{where}pack '{ref}': 'extends' chain is too deep")
    if ref in builtin_packs():
        text = _packs_dir().joinpath(f"{ref}.toml").read_text(encoding="utf-8")
        source = f"pack '{ref}'"
    else:
        path = Path(ref)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            known = ", ".join(builtin_packs())
            key = "'extends'" if _depth else "key 'pack'"
            raise ConfigError(f"{where}{key}: pack '{ref}' is neither a built-in pack ({known}) nor a file")
        try:
            text = read_text(path, root=root, limit=_PACK_LIMIT)
        except OSError as exc:
            raise ConfigError(f"{path}: the pack cannot be read: {exc.strerror}") from None
        source = str(path)
        base_dir = path.parent
    data = _validated(text, source)
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise ConfigError(f"{source}: 'extends' must be a pack name or path")
        base = load_pack(parent, base_dir, _depth + 1, root=root, named_in=source)
        data = deep_merge(base.data, data)
    name = str(data.get("pack", {}).get("name", ref))
    return Pack(name=name, source=source, data=data)


_PACK_LIMIT = 1024 * 1024


def _validated(text: str, source: str) -> dict[str, Any]:
    """The pack file's table, checked; parsed once per text (an editor or a hook run loads the same pack
    again and again), and handed out as a fresh copy each time, which the caller may change."""
    return pickle.loads(_validated_pickle(text, source))


@functools.lru_cache(maxsize=32)
def _validated_pickle(text: str, source: str) -> bytes:
    data = _read_toml(text, source)
    unknown = sorted(set(data) - PACK_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key '{unknown[0]}' (expected one of {', '.join(sorted(PACK_KEYS))})")
    for table in ("analysis", "limits", "rules", "standards", "pack"):
        if table in data and not isinstance(data[table], dict):
            raise ConfigError(f"{source}: '{table}' must be a table ([{table}])")
    for key in sorted(set(data.get("analysis", {})) - ANALYSIS_KEYS):
        raise ConfigError(f"{source}: [analysis] unknown key '{key}'")
    exclude = data.get("analysis", {}).get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
        raise ConfigError(f"{source}: [analysis] key 'exclude' must be a list of strings")
    limits_from(data.get("limits", {}), f"{source}: [limits]")
    for table in ("rules", "standards"):
        for name, value in data.get(table, {}).items():
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{table}] key '{name}' must be a table ([{table}.{name}])")
    for rule_id, table in data.get("rules", {}).items():
        _check_rule_table(table, f"{source}: [rules.{rule_id}]")
    analysis = data.get("analysis", {})
    if "include-generated" in analysis and not isinstance(analysis["include-generated"], bool):
        raise ConfigError(f"{source}: [analysis] include-generated must be true or false")
    markers = analysis.get("generated-markers", [])
    wrong = ConfigError(f"{source}: [analysis] generated-markers must be a list of regular expressions")
    if not isinstance(markers, list) or not all(isinstance(pattern, str) for pattern in markers):
        raise wrong
    for pattern in markers:
        try:
            re.compile(pattern)
        except re.error:
            raise wrong from None
    return pickle.dumps(data)


def _check_rule_table(table: dict[str, Any], where: str) -> None:
    """``enabled`` is a boolean and ``severity`` a known level (other keys are checked against the rule)."""
    if "enabled" in table and not isinstance(table["enabled"], bool):
        raise ConfigError(f"{where} key 'enabled' must be true or false, not {table['enabled']!r}")
    if "severity" in table:
        from archlint.model import Severity

        value = table["severity"]
        try:
            if not isinstance(value, str):
                raise ValueError(f"must be a string, not {value!r}")
            Severity.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{where} key 'severity': {exc}") from None


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
    return dict(_option_fields(options_cls))


@functools.cache
def _option_fields(options_cls: type) -> tuple[tuple[str, dataclasses.Field], ...]:
    return tuple((f.name.replace("_", "-"), f) for f in dataclasses.fields(options_cls))


@functools.cache
def _type_hints(options_cls: type) -> dict[str, Any]:
    """The options class's resolved annotations (resolving them is most of a run's start-up: once per class)."""
    return typing.get_type_hints(options_cls)


#: Options built from the same values (and sources, which errors name) are the same frozen object: a run
#: builds every rule's options to check the configuration (a few hundred conversions, a tenth of a small
#: project's check), and the language server and the tests run many checks in one process.
_BUILT: dict[tuple[type, str, str], Any] = {}
_BUILT_MAX = 2048


def build_options(options_cls: type | None, values: dict[str, tuple[Any, str]], missing_source: str) -> Any:
    """Convert merged TOML values into the options dataclass; missing or bad values are errors.

    ``values`` maps each key to (value, where it was set) so an error names the right file.
    """
    if options_cls is None:
        return None
    key = (options_cls, missing_source, repr(values))  # TOML values: their repr tells them apart
    built = _BUILT.get(key)
    if built is None:
        built = _build_options(options_cls, values, missing_source)
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        _BUILT[key] = built
    return built


def _build_options(options_cls: type, values: dict[str, tuple[Any, str]], missing_source: str) -> Any:
    hints = _type_hints(options_cls)
    kwargs: dict[str, Any] = {}
    for key, fld in _option_fields(options_cls):
        if key not in values:
            raise ConfigError(f"{missing_source}: option '{key}' has no value (the pack must define it)")
        value, where = values[key]
        kwargs[fld.name] = convert(hints[fld.name], value, f"{where}: option '{key}'")
    return options_cls(**kwargs)


def convert(tp: Any, value: Any, where: str) -> Any:
    if tp is str and isinstance(value, str):  # the common case (word lists): no type introspection
        return value
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
        if item_type is str and all(isinstance(v, str) for v in value):
            return tuple(value)
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
