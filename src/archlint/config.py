"""``[tool.archlint]`` (or ``archlint.toml``) -> a validated ``Config``.

Every error names the file and the key, on one line; the CLI exits 2 with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archlint.model import Severity
from archlint.pack import (
    ConfigError,
    Limits,
    Pack,
    _check_rule_table,
    _read_toml,
    build_options,
    limits_from,
    load_pack,
    option_fields,
)

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
    "baseline",
    "respect-bare-noqa",
    "limits",
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
    #: The project's own pytest ``python_files`` patterns (pyproject, pytest.ini, tox.ini, setup.cfg):
    #: the files pytest collects are tests, left out of the analysis like the pack's test paths.
    test_files: list[str] = field(default_factory=list)
    #: Baseline file (relative to the project root) whose findings are accepted; None: no baseline.
    baseline: str | None = None
    #: Whether a bare ``noqa`` comment (Ruff's, flake8's) silences archlint too; by default only a noqa with AL codes does.
    respect_bare_noqa: bool = False
    #: Size and expansion limits: the pack's ``[limits]`` with ``[tool.archlint.limits]`` over them.
    limits: Limits = field(default_factory=Limits)


def find_config(start: Path) -> tuple[Path | None, Path]:
    """The nearest configuration upward, and the project root (the configuration's directory).

    As Ruff does: an ``archlint.toml`` always counts; a ``pyproject.toml``
    counts only when it has a ``[tool.archlint]`` table, so a backend's own
    pyproject.toml does not hide the repository root's configuration. The
    search stops at the repository root (the directory holding ``.git``).
    Without a configuration, the root is the nearest directory with a
    ``pyproject.toml``, else the git top level, else the start directory.
    """
    import os

    start = Path(os.path.realpath(start))
    here = start if start.is_dir() else start.parent
    nearest_project: Path | None = None
    for directory in (here, *here.parents):
        candidate = directory / "archlint.toml"
        if candidate.is_file() or os.path.lexists(candidate):
            # An unreadable or special file is an error to report, not a file to skip.
            return candidate, directory
        candidate = directory / "pyproject.toml"
        if os.path.lexists(candidate):
            if not candidate.is_file() or _has_archlint_table(candidate):
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
    if "tool" not in data:
        return False
    tool = data["tool"]
    # PEP 518 reserves ``tool`` for tables: a pyproject where it is anything else is broken for every tool.
    return not isinstance(tool, dict) or "archlint" in tool


def git_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


_CONFIG_LIMIT = 4 * 1024 * 1024


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML table of a configuration file; unreadable, not UTF-8 or not TOML: ConfigError."""
    from archlint.fsio import read_text

    try:
        # The operator chose this file (or it is the project's own): any regular file, bounded.
        text = read_text(path, root=None, limit=_CONFIG_LIMIT)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    return _read_toml(text, str(path))


def load_config(path: Path | None, root: Path, *, pack_override: str | None = None) -> Config:
    raw: dict[str, Any] = {}
    source = "defaults"
    section = "[tool.archlint]"
    if path is not None:
        source = path.name if path.parent == root else str(path)
        data = read_config_file(path)
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{source}: key 'tool' must be a table ([tool]), not {_kind(tool)}")
        if path.name == "archlint.toml":
            raw = tool.get("archlint", data)
            if raw is data:
                raw = {k: v for k, v in data.items() if k != "tool"}
                section = "archlint.toml"
        else:
            raw = tool.get("archlint", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: key 'tool.archlint' must be a table ([tool.archlint]), not {_kind(raw)}")
    for key in raw:
        if key not in CONFIG_KEYS:
            raise ConfigError(f"{source}: {section} unknown key '{key}' (expected one of {', '.join(sorted(CONFIG_KEYS))})")
    if pack_override:
        pack = load_pack(pack_override, root, named_in="--pack")
    else:
        pack = load_pack(_string(raw, "pack", source, None), root, root=root, named_in=source)
    config = Config(root=root, source=source, pack=pack)
    config.select = _codes(raw, "select", source) if "select" in raw else None
    config.extend_select = _codes(raw, "extend-select", source) or []
    config.ignore = _codes(raw, "ignore", source) or []
    config.exclude = _strings(raw, "exclude", source)
    config.src = _strings(raw, "src", source)
    config.openapi = _strings(raw, "openapi", source)
    config.test_files = pytest_python_files(root)
    config.baseline = _string(raw, "baseline", source, None)
    config.limits = limits_from(raw.get("limits", {}), f"{source}: {section} key 'limits'", pack.limits)
    if "respect-gitignore" in raw:
        if not isinstance(raw["respect-gitignore"], bool):
            raise ConfigError(f"{source}: {section} key 'respect-gitignore' must be true or false")
        config.respect_gitignore = raw["respect-gitignore"]
    if "respect-bare-noqa" in raw:
        if not isinstance(raw["respect-bare-noqa"], bool):
            raise ConfigError(f"{source}: {section} key 'respect-bare-noqa' must be true or false")
        config.respect_bare_noqa = raw["respect-bare-noqa"]
    if "fail-on" in raw:
        try:
            if not isinstance(raw["fail-on"], str):
                raise ValueError(f"must be a string, not {raw['fail-on']!r}")
            config.fail_on = Severity.parse(raw["fail-on"])
        except ValueError as exc:
            raise ConfigError(f"{source}: {section} key 'fail-on': {exc}") from None
    pfi = raw.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{source}: {section} key 'per-file-ignores' must be a table of glob = [codes]")
    for glob, codes in pfi.items():
        config.per_file_ignores[glob] = _codes({"x": codes}, "x", source, f'per-file-ignores."{glob}"') or []
    for table in ("standards", "rules"):
        value = raw.get(table, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {section} key '{table}' must be a table of tables")
        for name, inner in value.items():
            if not isinstance(inner, dict):
                raise ConfigError(f"{source}: {section} key '{table}.{name}' must be a table ([tool.archlint.{table}.{name}])")
    config.standards = _upper_keys(raw.get("standards", {}), source, "standards")
    config.rules = _upper_keys(raw.get("rules", {}), source, "rules")
    for rule_id, rule_table in config.rules.items():
        _check_rule_table(rule_table, f"{source}: [tool.archlint.rules.{rule_id}]")
    return config


def pytest_python_files(root: Path) -> list[str]:
    """The ``python_files`` globs of the project's pytest configuration, in pytest's order of precedence.

    pytest reads the first of pytest.ini, pyproject.toml ([tool.pytest.ini_options]
    or [tool.pytest]), tox.ini ([pytest]) and setup.cfg ([tool:pytest]) that
    configures it. A file that cannot be read configures nothing here: the
    pack's default test patterns still apply.
    """
    import configparser

    for name, section in (
        ("pytest.ini", "pytest"),
        ("pyproject.toml", None),
        ("tox.ini", "pytest"),
        ("setup.cfg", "tool:pytest"),
    ):
        path = root / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if section is None:
            try:
                tool = _read_toml(text, name).get("tool", {})
            except ConfigError:
                continue
            pytest_table = tool.get("pytest", {}) if isinstance(tool, dict) else {}
            if not isinstance(pytest_table, dict) or not pytest_table:
                continue
            ini = pytest_table.get("ini_options", pytest_table)
            value = ini.get("python_files") if isinstance(ini, dict) else None
            if value is None:
                return []
            return [v for v in (value.split() if isinstance(value, str) else value) if isinstance(v, str)]
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source=name)
        except configparser.Error:
            continue
        if not parser.has_section(section):
            continue
        return parser.get(section, "python_files", fallback="").split()
    return []


def _upper_keys(tables: dict[str, Any], source: str, what: str) -> dict[str, Any]:
    """Rule codes and standards are upper case (``al101`` is ``AL101``), as on the command line."""
    out: dict[str, Any] = {}
    for name, table in tables.items():
        key = str(name).strip().upper()
        if key in out:
            raise ConfigError(f"{source}: [tool.archlint.{what}] '{name}' is given twice (codes are case-insensitive)")
        out[key] = table
    return out


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        type(value), type(value).__name__
    )


def _string(raw: dict, key: str, source: str, default: str | None) -> str | None:
    if key not in raw:
        return default
    if not isinstance(raw[key], str):
        raise ConfigError(f"{source}: [tool.archlint] key '{key}' must be a string, not {_kind(raw[key])}")
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
    for where, table in (
        (f"{source}: [rules.{rule_cls.id}]", pack_rule),
        (f"{config.source}: [tool.archlint.rules.{rule_cls.id}]", user_rule),
    ):
        for key in table:
            if key not in fields and key not in ("enabled", "severity"):
                raise ConfigError(f"{where} unknown key '{key}'")
        _check_rule_table(table, where)
    enabled = user_rule.pop("enabled", pack_rule.pop("enabled", True))
    severity = rule_cls.severity
    severity_text = user_rule.pop("severity", pack_rule.pop("severity", None))
    if severity_text is not None:
        severity = Severity.parse(severity_text)
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
    """Unknown option keys in the pack's or the user's [standards.SN] are errors; so are unknown rules."""
    known = {rule.id for rule in rules}
    for where, table, section in (
        (config.pack.source, config.pack.data.get("rules", {}), "[rules]"),
        (config.source, config.rules, "[tool.archlint.rules]"),
    ):
        for rule_id in table:
            if rule_id not in known:
                raise ConfigError(f"{where}: {section} unknown rule '{rule_id}' (see `archlint rules`)")
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
