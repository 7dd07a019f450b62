"""A plain JSON document of the findings, for scripts and other tools."""

from __future__ import annotations

import json

from archlint import __version__
from archlint.model import Finding, Related, Report, Severity, Span
from archlint.report.escape import text


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    doc = {
        "tool": {"name": "archlint", "version": report.tool_version or __version__},
        "root": text(str(report.root)),
        "summary": {
            "files": report.files_checked,
            "generated_files_skipped": report.files_generated,
            "errors": _count(findings, Severity.ERROR),
            "warnings": _count(findings, Severity.WARNING),
            "notes": _count(findings, Severity.NOTE),
        },
        "findings": [_finding(f) for f in findings],
    }
    return json.dumps(doc, indent=2) + "\n"


def _count(findings: list[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity == severity)


def _span(span: Span) -> dict:
    return {
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _finding(f: Finding) -> dict:
    return {
        "rule": f.rule_id,
        "standard": f.standard,
        "severity": f.severity.label,
        "message": text(f.message),
        "path": text(f.path),
        **_span(f.span),
        "fingerprint": f.fingerprint,
        "related": [_related(r) for r in f.related],
    }


def _related(r: Related) -> dict:
    return {"path": text(r.path), **_span(r.span), "message": text(r.message)}
