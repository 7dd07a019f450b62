"""A GitHub job summary in Markdown (``$GITHUB_STEP_SUMMARY``), written by ``--format github``.

A heading, the totals, a table of findings by rule and the first findings
with their locations; every cell is escaped so a message cannot break the
table or inject HTML.
"""

from __future__ import annotations

import html

from archlint.model import Finding, Report, Severity
from archlint.report.counts import rows

#: Findings listed one by one; the rest are counted.
LIMIT = 50
_ICON = {"error": "🔴", "warning": "🟡", "note": "🔵"}


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    out = ["## archlint", ""]
    if not findings:
        out += [f"✅ All checks passed ({_plural(report.files_checked, 'file')}).", ""]
        return "\n".join(out) + "\n"
    counts = ", ".join(
        _plural(n, label)
        for severity, label in ((Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.NOTE, "note"))
        if (n := sum(1 for f in findings if f.severity == severity))
    )
    out += [f"Found {_plural(len(findings), 'problem')} ({counts}) in {_plural(report.files_checked, 'file')}.", ""]
    out += ["| Rule | Name | Severity | Count |", "| --- | --- | --- | ---: |"]
    for row in rows(report):
        out.append(f"| `{row['code']}` | {_cell(row['name'])} | {_ICON[row['severity']]} {row['severity']} | {row['count']} |")
    out += ["", "| Location | Rule | Message |", "| --- | --- | --- |"]
    for f in findings[:LIMIT]:
        out.append(f"| `{_code(f.path)}:{f.span.line}:{f.span.column}` | `{f.rule_id}` | {_cell(f.message)} |")
    if len(findings) > LIMIT:
        out += ["", f"… and {len(findings) - LIMIT} more (see the annotations or the SARIF upload)."]
    return "\n".join(out) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _cell(text: str) -> str:
    """One table cell: one line, HTML escaped, pipes and backslashes escaped."""
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")


def _code(text: str) -> str:
    return text.replace("`", "'").replace("|", "\\|")
