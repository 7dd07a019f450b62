"""``[tool.archlint]`` (or ``archlint.toml``) -> a validated ``Config``.

Every error names the file and the key, on one line; the CLI exits 2 with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archlint.model import Severity
from archlint.pack import ConfigError, Pack, _read_toml, build_options, load_pack, option_fields

CONFIG_KEYS = {
    "pack",
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "respect-gitignore",
    "per-file-ignores",
    "fail-on",
    "src",
    "standards",
    "rules",
    "openapi",
}
_SELECTOR = re.compile(r"^(ALL|AL\d{0,3}|S\d{1,2})$")


@dataclass(slots=True)
class Config:
    root: Path  # the project root: the configuration file's directory
    source: str  # the file the configuration came from, or "defaults"
    pack: Pack
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    respect_gitignore: bool = True
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    fail_on: Severity = Severity.WARNING
    src: list[str] = field(default_factory=list)
    standards: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: OpenAPI documents to check (relative to the project root); none: discover openapi.json/.yaml/.yml.
    openapi: list[str] = field(default_factory=list)


def find_config(start: Path) -> tuple[Path | None, Path]:
    """The nearest configuration upward, and the project root (the configuration's directory).

    As Ruff does: an ``archlint.toml`` always counts; a ``pyproject.toml``
    counts only when it has a ``[tool.archlint]`` table, so a backend's own
    pyproject.toml does not hide the repository root's configuration. The
    search stops at the repository root (the directory holding ``.git``).
    Without a configuration, the root is the nearest directory with a
    ``pyproject.toml``, else the git top level, else the start directory.
    """
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    nearest_project: Path | None = None
    for directory in (here, *here.parents):
        candidate = directory / "archlint.toml"
        if candidate.is_file():
            return candidate, directory
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            if _has_archlint_table(candidate):
                return candidate, directory
            nearest_project = nearest_project or directory
        if (directory / ".git").exists():
            return None, nearest_project or directory
    return None, nearest_project or here


def _has_archlint_table(path: Path) -> bool:
    """Whether a pyproject.toml has ``[tool.archlint]`` (one that cannot be parsed counts: its error is reported)."""
    try:
        data = _read_toml(path.read_text(encoding="utf-8"), str(path))
    except (ConfigError, OSError, UnicodeDecodeError):
        return True
    tool = data.get("tool")
    return isinstance(tool, dict) and "archlint" in tool


def git_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def load_config(path: Path | None, root: Path, *, pack_override: str | None = None) -> Config:
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = path.name if path.parent == root else str(path)
        data = _read_toml(path.read_text(encoding="utf-8"), str(path))
        if path.name == "archlint.toml":
            raw = data.get("tool", {}).get("archlint", data)
        else:
            raw = data.get("tool", {}).get("archlint", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: [tool.archlint] must be a table")
    section = "[tool.archlint]"
    for key in raw:
        if key not in CONFIG_KEYS:
            raise ConfigError(f"{source}: {section} unknown key '{key}'")
    pack = load_pack(pack_override or _string(raw, "pack", source, None), root)
    config = Config(root=root, source=source, pack=pack)
    config.select = _codes(raw, "select", source) if "select" in raw else None
    config.extend_select = _codes(raw, "extend-select", source) or []
    config.ignore = _codes(raw, "ignore", source) or []
    config.exclude = _strings(raw, "exclude", source)
    config.src = _strings(raw, "src", source)
    config.openapi = _strings(raw, "openapi", source)
    if "respect-gitignore" in raw:
        if not isinstance(raw["respect-gitignore"], bool):
            raise ConfigError(f"{source}: {section} key 'respect-gitignore' must be true or false")
        config.respect_gitignore = raw["respect-gitignore"]
    if "fail-on" in raw:
        try:
            config.fail_on = Severity.parse(str(raw["fail-on"]))
        except ValueError as exc:
            raise ConfigError(f"{source}: {section} key 'fail-on': {exc}") from None
    pfi = raw.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{source}: {section} key 'per-file-ignores' must be a table of glob = [codes]")
    for glob, codes in pfi.items():
        config.per_file_ignores[glob] = _codes({"x": codes}, "x", source, f"per-file-ignores.\"{glob}\"") or []
    for table in ("standards", "rules"):
        value = raw.get(table, {})
        if not isinstance(value, dict) or any(not isinstance(v, dict) for v in value.values()):
            raise ConfigError(f"{source}: {section} key '{table}' must be a table of tables")
    config.standards = raw.get("standards", {})
    config.rules = raw.get("rules", {})
    return config


def _string(raw: dict, key: str, source: str, default: str | None) -> str | None:
    if key not in raw:
        return default
    if not isinstance(raw[key], str):
        raise ConfigError(f"{source}: [tool.archlint] key '{key}' must be a string")
    return raw[key]


def _strings(raw: dict, key: str, source: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [tool.archlint] key '{key}' must be a list of strings")
    return value


def _codes(raw: dict, key: str, source: str, label: str | None = None) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: [tool.archlint] key '{label or key}' must be a list of rule codes")
    out = [v.strip().upper() for v in value]
    for code in out:
        if not _SELECTOR.match(code):
            raise ConfigError(
                f"{source}: [tool.archlint] key '{label or key}': '{code}' is not a rule code, prefix or standard "
                "(e.g. AL101, AL1, S1, ALL)"
            )
    return out


def selector_matches(selector: str, rule_id: str, standard: str | None) -> bool:
    return selector == "ALL" or rule_id.startswith(selector) or selector == standard


def rule_settings(config: Config, rule_cls) -> tuple[bool, Severity, Any]:
    """Whether a rule is enabled, its severity and its typed options, from pack and config."""
    source = config.pack.source
    pack_rule = config.pack.rule(rule_cls.id)
    user_rule = dict(config.rules.get(rule_cls.id, {}))
    fields = option_fields(rule_cls.Options)
    for where, table in ((source, pack_rule), (config.source, user_rule)):
        for key in table:
            if key not in fields and key not in ("enabled", "severity"):
                raise ConfigError(f"{where}: [rules.{rule_cls.id}] unknown key '{key}'")
    enabled = bool(user_rule.pop("enabled", pack_rule.pop("enabled", True)))
    severity = rule_cls.severity
    severity_text = user_rule.pop("severity", pack_rule.pop("severity", None))
    if severity_text is not None:
        try:
            severity = Severity.parse(str(severity_text))
        except ValueError as exc:
            raise ConfigError(f"{config.source}: [rules.{rule_cls.id}] key 'severity': {exc}") from None
    values: dict[str, tuple[Any, str]] = {}
    std = rule_cls.standard
    layers = [
        (config.pack.standard(std) if std else {}, f"{source} [standards.{std}]"),
        (config.standards.get(std, {}) if std else {}, f"{config.source} [tool.archlint.standards.{std}]"),
        (pack_rule, f"{source} [rules.{rule_cls.id}]"),
        (user_rule, f"{config.source} [tool.archlint.rules.{rule_cls.id}]"),
    ]
    for table, where in layers:
        values.update({key: (value, where) for key, value in table.items()})
    options = build_options(rule_cls.Options, values, f"{source} [standards.{std}]")
    return enabled, severity, options


def validate_standard_tables(config: Config, rules) -> None:
    """Unknown option keys in the pack's or the user's [standards.SN] are errors."""
    declared: dict[str, set[str]] = {}
    for rule in rules:
        if rule.standard:
            declared.setdefault(rule.standard, set()).update(option_fields(rule.Options))
    tables = [(config.pack.source, config.pack.data.get("standards", {})), (config.source, config.standards)]
    for where, standards in tables:
        for standard, values in standards.items():
            if not re.fullmatch(r"S\d{1,2}", standard):
                raise ConfigError(f"{where}: [standards] unknown standard '{standard}' (expected S1..S24)")
            for key in values:
                if key not in declared.get(standard, set()):
                    raise ConfigError(f"{where}: [standards.{standard}] unknown option '{key}'")
