"""One line per finding, ``path:line:col: RULE [severity] message``: for editors, problem matchers and grep.

Paths are relative to the current directory when the file is under it (as
Ruff prints them, so a terminal or an editor opens them from where the
command ran), absolute otherwise; ``/`` separators, 1-based UTF-16 columns.
The severity is ``error``, ``warning`` or ``note``, so one pattern reads every
field (README, "VS Code problem matcher")::

    ^(.+?):(\\d+):(\\d+): ([A-Z][A-Z0-9]*\\d+) \\[(error|warning|note)\\] (.*)$

Nothing else is printed, so a clean run produces no output at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from archlint.model import Finding, Report
from archlint.report import escape

PATTERN = r"^(.+?):(\d+):(\d+): ([A-Z][A-Z0-9]*\d+) \[(error|warning|note)\] (.*)$"


def render(report: Report, *, cwd: Path | None = None) -> str:
    """``cwd``: the directory paths are shown relative to (None: relative to the report root)."""
    findings = sorted(report.findings, key=Finding.sort_key)
    shown: dict[str, str] = {}
    lines = []
    for f in findings:
        if f.path not in shown:
            shown[f.path] = display_path(report.root, f.path, cwd)
        lines.append(f"{shown[f.path]}:{f.span.line}:{f.span.column}: {f.rule_id} [{f.severity.label}] {fold(f.message)}\n")
    return "".join(lines)


def display_path(root: Path, path: str, cwd: Path | None) -> str:
    """``path`` (relative to ``root``) as Ruff shows it: relative to ``cwd`` under it, else absolute (escaped)."""
    if cwd is None:
        return escape.line(path)
    absolute = Path(os.path.normpath(root / path))
    try:
        shown = absolute.relative_to(Path(os.path.normpath(cwd))).as_posix()
    except ValueError:
        shown = absolute.as_posix()
    return escape.line(shown)


def fold(message: str) -> str:
    """Join a multi-line message into one line, one space between the parts (control characters escaped)."""
    return escape.line(" ".join(part.strip() for part in message.split("\n") if part.strip()))
