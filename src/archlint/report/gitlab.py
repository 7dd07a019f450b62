"""GitLab Code Quality: a JSON array of Code Climate issues for ``artifacts:reports:codequality``.

Each finding is one issue: ``check_name`` is the rule id, ``description``
the message, ``severity`` one of GitLab's (``major`` for errors, ``minor`` for
warnings, ``info`` for notes), ``fingerprint`` unique per issue (stable while
the reported line keeps its text) and ``location`` the path relative to the
repository root with 1-based begin/end positions. It validates against
GitLab's own schema (tests/schemas/gitlab-codeclimate.json).
"""

from __future__ import annotations

import hashlib
import json

from archlint.model import Finding, Report, Severity

SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTE: "info"}


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    issues = []
    seen: set[str] = set()
    for f in findings:
        fingerprint = f.fingerprint or _fallback(f)
        while fingerprint in seen:  # GitLab drops issues whose fingerprint repeats
            fingerprint = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
        seen.add(fingerprint)
        issues.append(_issue(f, fingerprint))
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _issue(f: Finding, fingerprint: str) -> dict:
    s = f.span
    end_line = max(s.end_line, s.line)
    return {
        "type": "issue",
        "check_name": f.rule_id,
        "description": " ".join(part.strip() for part in f.message.splitlines() if part.strip()),
        "categories": ["Security"] if f.standard in _SECURITY else ["Style"],
        "severity": SEVERITY[f.severity],
        "fingerprint": fingerprint,
        "location": {
            "path": f.path,
            "positions": {
                "begin": {"line": max(s.line, 1), "column": max(s.column, 1)},
                "end": {"line": end_line, "column": max(s.end_column, 1)},
            },
        },
    }


#: Standards about authentication, secrets, hashing and boundaries of trust.
_SECURITY = {"S5", "S6", "S7", "S13", "S14"}


def _fallback(f: Finding) -> str:
    material = "\0".join((f.rule_id, f.path, str(f.span.line), str(f.span.column), f.message))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
