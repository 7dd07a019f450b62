"""The plain data every stage shares: severities, spans, findings, rule metadata.

Nothing here imports another archlint module, so every layer may depend on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple


class Severity(enum.IntEnum):
    """How bad a finding is. Ordered: a run fails on findings at or above ``--fail-on``."""

    NOTE = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a severity (expected error, warning or note)") from None


class Span(NamedTuple):
    """A region of a file: 1-based lines, 1-based columns in UTF-16 code units.

    ``end_column`` is exclusive (the column after the last character), as in SARIF.

    A named tuple rather than a frozen dataclass: a warm run unpickles a few hundred thousand
    of them from the facts cache (about three times faster than a dataclass's ``__setstate__``),
    and a tuple hashes in C (a span is part of every expression's hash). Two spans are equal
    exactly when their four numbers are; code must not compare a span with a plain tuple.
    """

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int = 1) -> Span:
        return cls(line, column, line, column + 1)

    def contains(self, inner: Span) -> bool:
        """Whether ``inner`` lies within this span (a span contains itself)."""
        return (self.line, self.column) <= (inner.line, inner.column) and (inner.end_line, inner.end_column) <= (
            self.end_line,
            self.end_column,
        )


@dataclass(frozen=True, slots=True)
class Related:
    """A secondary location that explains a finding (e.g. a route made unversioned)."""

    path: str
    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``span`` of a file (end exclusive; an empty span inserts) with ``content``."""

    span: Span
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    """How to fix a finding: edits of the finding's file, safe or unsafe as in Ruff.

    A safe fix keeps the program's meaning (and is applied by ``--fix``); an
    unsafe one may change behaviour or drop comments and is applied only with
    ``--unsafe-fixes``.
    """

    message: str
    edits: tuple[Edit, ...]
    applicability: str = "safe"  # "safe" or "unsafe"

    @property
    def safe(self) -> bool:
        return self.applicability == "safe"


@dataclass(slots=True)
class Finding:
    """One violation (or note) reported by a rule.

    ``path`` is POSIX and relative to the report root (git's top level when there
    is one, else the directory of the configuration file). ``standard`` is None
    for engine findings such as parse errors.
    """

    rule_id: str
    message: str
    path: str
    span: Span
    severity: Severity
    standard: str | None = None
    related: tuple[Related, ...] = ()
    #: Stable across lines shifting; filled in by the engine before reporting.
    fingerprint: str = ""
    #: Against a baseline (SARIF ``baselineState``): "new", "unchanged" or "absent"; "" without one.
    baseline_state: str = ""
    #: A fix the rule offers (``--fix``, ``--diff``, SARIF ``fixes``), when there is one.
    fix: Fix | None = None

    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.column, self.rule_id, self.message)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What reporters and ``archlint explain`` know about a rule."""

    id: str
    name: str  # PascalCase
    standard: str | None
    severity: Severity
    summary: str  # one sentence, ends with a period
    what: str = ""
    why: str = ""
    example: str = ""
    use_instead: str = ""
    options: str = ""  # markdown list of options with their effective values
    precision: str = "high"  # SARIF/GitHub precision: very-high, high, medium, low
    security_severity: float | None = None  # CVSS-like 0.0-10.0 for security rules
    tags: tuple[str, ...] = ()
    help_uri: str = ""

    def help_markdown(self) -> str:
        parts = [f"## What it does\n{self.what or self.summary}"]
        if self.why:
            parts.append(f"## Why is this bad?\n{self.why}")
        if self.example:
            parts.append(f"## Example\n```python\n{self.example.rstrip()}\n```")
        if self.use_instead:
            parts.append(f"## Use instead\n```python\n{self.use_instead.rstrip()}\n```")
        parts.append(f"## Options\n{self.options or 'None.'}")
        return "\n\n".join(parts) + "\n"

    def help_text(self) -> str:
        parts = [f"What it does:\n{self.what or self.summary}"]
        if self.why:
            parts.append(f"Why is this bad?\n{self.why}")
        if self.example:
            parts.append(f"Example:\n{self.example.rstrip()}")
        if self.use_instead:
            parts.append(f"Use instead:\n{self.use_instead.rstrip()}")
        parts.append(f"Options:\n{self.options or 'None.'}")
        return "\n\n".join(parts) + "\n"


@dataclass(slots=True)
class Report:
    """Everything a reporter needs: findings in order plus the rules that ran."""

    findings: list[Finding]
    rules: list[RuleInfo]
    #: Absolute directory that finding paths are relative to (SARIF's %SRCROOT%).
    root: Path
    files_checked: int = 0
    #: Files left out because they declare themselves generated (the pack's ``include-generated``).
    files_generated: int = 0
    tool_version: str = ""
    information_uri: str = "https://github.com/archlint/archlint"
    extra: dict = field(default_factory=dict)
    #: With a baseline: findings it accepts (not in ``findings``, not failing the run) and its
    #: entries this run no longer finds (fixed), for SARIF's ``baselineState``.
    unchanged: list[Finding] = field(default_factory=list)
    absent: list[Finding] = field(default_factory=list)


def fast_pickling(namespace: dict) -> None:
    """Give the frozen, slotted dataclasses of a module a ``__setstate__`` over their field names.

    The one ``dataclasses`` adds looks the fields up again for every object
    (``fields(self)``), which made loading a warm cache's facts several times
    slower than reading them. The state is the same (the values in field order).
    """
    for obj in list(namespace.values()):
        params = getattr(obj, "__dataclass_params__", None)
        if not isinstance(obj, type) or params is None or not params.frozen or "__slots__" not in vars(obj):
            continue
        if obj.__module__ != namespace.get("__name__"):
            continue
        names = tuple(f.name for f in fields(obj))
        obj.__getstate__ = _getstate(names)  # type: ignore[attr-defined]
        obj.__setstate__ = _setstate(obj, names)  # type: ignore[attr-defined]


def _getstate(names: tuple[str, ...]):
    def __getstate__(self) -> list:
        return [getattr(self, name) for name in names]

    return __getstate__


def _setstate(cls: type, names: tuple[str, ...]):
    """Each field set through its slot's descriptor, one statement per field: three times faster than
    ``object.__setattr__`` in a loop, on the few hundred thousand objects of a warm run's facts.

    The function is generated (as ``dataclasses`` generates ``__init__``): the values are read by
    position and the descriptors are bound as defaults, so no name is looked up per object.
    """
    setters = {f"_set_{i}": getattr(cls, name).__set__ for i, name in enumerate(names)}
    lines = [f"    _set_{i}(self, state[{i}])" for i in range(len(names))] or ["    pass"]
    defaults = "".join(f", {key}={key}" for key in setters)
    source = f"def __setstate__(self, state{defaults}):\n" + "\n".join(lines) + "\n"
    scope: dict[str, object] = {}
    exec(compile(source, f"<archlint {cls.__qualname__}.__setstate__>", "exec"), dict(setters), scope)
    return scope["__setstate__"]


def utf16_to_index(lines: list[str], line: int, column: int) -> int:
    """Character offset on a 1-based line of a 1-based UTF-16 column (a span's column, as LSP and SARIF count)."""
    if not 0 < line <= len(lines):
        return max(column - 1, 0)
    units = column - 1
    for index, char in enumerate(lines[line - 1]):
        if units <= 0:
            return index
        units -= 2 if ord(char) > 0xFFFF else 1
    return len(lines[line - 1])


fast_pickling(globals())
