"""GitHub Actions workflow commands: each finding becomes an inline annotation.

See "Workflow commands for GitHub Actions" (``::error file=...::message``).
"""

from __future__ import annotations

from archlint.model import Finding, Report, Severity
from archlint.report import escape

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    return "".join(f"{_command(f)}\n" for f in findings)


def _command(f: Finding) -> str:
    s = f.span
    props = {
        "file": f.path,
        "line": s.line,
        "col": s.column,
        "endLine": s.end_line,
        "endColumn": s.end_column,
        "title": f.rule_id,
    }
    joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in props.items())
    return f"::{_COMMAND[f.severity]} {joined}::{escape_data(f.message)}"


def escape_data(value: str) -> str:
    """Percent-encode what the runner parses; other control characters are escaped as text."""
    value = escape.controls(value, keep="\r\n")
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")
