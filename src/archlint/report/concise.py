"""One line per finding, ``path:line:col: RULE message``: for editors and grep.

The lines match the usual problem-matcher pattern
``^(.+?):(\\d+):(\\d+): ([A-Z][A-Z0-9]*\\d+) (.*)$``; nothing else is printed,
so a clean run produces no output at all.
"""

from __future__ import annotations

from archlint.model import Finding, Report
from archlint.report import escape


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    return "".join(f"{_line(f)}\n" for f in findings)


def _line(f: Finding) -> str:
    return f"{escape.line(f.path)}:{f.span.line}:{f.span.column}: {f.rule_id} {fold(f.message)}"


def fold(message: str) -> str:
    """Join a multi-line message into one line, one space between the parts (control characters escaped)."""
    return escape.line(" ".join(part.strip() for part in message.split("\n") if part.strip()))
