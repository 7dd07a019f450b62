"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

The log validates against the OASIS schema and passes Microsoft's SARIF
multitool (``validate --rule-kind "Sarif;Ghas"``). Paths are relative to
``%SRCROOT%``, which ``originalUriBaseIds`` maps to the report root, and
columns are UTF-16 code units, exactly as in the data model.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from archlint import __version__
from archlint.model import Finding, Related, Report, RuleInfo, Severity, Span
from archlint.report.escape import text as _text

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "archlint/v2"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def render(report: Report) -> str:
    return json.dumps(sarif_log(report), indent=2) + "\n"


def sarif_log(report: Report) -> dict:
    findings = sorted([*report.findings, *report.unchanged, *report.absent], key=Finding.sort_key)
    rules = _rules_for(report, findings)
    index = {rule.id: i for i, rule in enumerate(rules)}
    version = report.tool_version or __version__
    driver = {
        "name": "archlint",
        "version": version,
        "semanticVersion": version,
        "informationUri": report.information_uri,
        "rules": [_descriptor(rule, report.information_uri) for rule in rules],
    }
    run = {
        "tool": {"driver": driver},
        "invocations": [_invocation(report)],
        "originalUriBaseIds": {SRCROOT: {"uri": _root_uri(report)}},
        "columnKind": "utf16CodeUnits",
        "results": [_result(f, index[f.rule_id]) for f in findings],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _rules_for(report: Report, findings: list[Finding]) -> list[RuleInfo]:
    """The rules that ran (first of each id), plus a stand-in for any unknown rule a finding names."""
    rules: dict[str, RuleInfo] = {}
    for rule in report.rules:
        rules.setdefault(rule.id, rule)
    for f in findings:
        if f.rule_id not in rules:
            rules[f.rule_id] = RuleInfo(
                id=f.rule_id,
                name=f"Rule{f.rule_id}",
                standard=f.standard,
                severity=f.severity,
                summary=f"Findings reported under rule {f.rule_id}.",
            )
    return list(rules.values())


def _descriptor(rule: RuleInfo, information_uri: str) -> dict:
    tags = list(rule.tags)
    if rule.standard and rule.standard not in tags:
        tags.append(rule.standard)
    properties: dict = {"tags": tags, "precision": rule.precision}
    if rule.standard:
        properties["standard"] = rule.standard
    if rule.security_severity is not None:
        if "security" not in tags:
            tags.append("security")
        properties["security-severity"] = f"{rule.security_severity:.1f}"
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": _sentence(rule.summary)},
        "fullDescription": {"text": _sentence(rule.what or rule.summary)},
        "help": {"text": rule.help_text(), "markdown": rule.help_markdown()},
        "helpUri": rule.help_uri or f"{information_uri}#{rule.id.lower()}",
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": properties,
    }


def _result(f: Finding, rule_index: int) -> dict:
    result = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": _sentence(f.message)},
        "locations": [_location(f.path, f.span)],
    }
    if f.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
    if f.related:
        result["relatedLocations"] = [_related(i, r) for i, r in enumerate(f.related, start=1)]
    if f.fix is not None and f.fix.edits:
        result["fixes"] = [_fix(f)]
    if f.baseline_state:
        result["baselineState"] = f.baseline_state
    if f.baseline_state == "unchanged":
        # Accepted debt: present, but suppressed by the baseline file, so code scanning does not alert on it.
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": "Recorded in the archlint baseline."}
        ]
    elif f.baseline_state == "absent":
        # In the baseline, no longer found: fixed. Reported as a pass at the location the baseline recorded.
        result["kind"] = "pass"
        result["level"] = "none"
    return result


def _fix(f: Finding) -> dict:
    """The finding's fix as SARIF ``artifactChanges`` (code scanning shows them as suggestions)."""
    assert f.fix is not None
    label = "" if f.fix.safe else " (unsafe: it may change behaviour; review it)"
    return {
        "description": {"text": _sentence(f.fix.message.rstrip(".") + label)},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": quote(f.path, safe="/"), "uriBaseId": SRCROOT},
                "replacements": [
                    {"deletedRegion": _region(edit.span), "insertedContent": {"text": edit.content}} for edit in f.fix.edits
                ],
            }
        ],
    }


def _related(location_id: int, related: Related) -> dict:
    return {
        "id": location_id,
        **_location(related.path, related.span),
        "message": {"text": _sentence(related.message)},
    }


def _location(path: str, span: Span) -> dict:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(path), "uriBaseId": SRCROOT},
            "region": _region(span),
        }
    }


def _region(span: Span) -> dict:
    """A full region, made consistent: it never ends before it starts."""
    line = max(span.line, 1)
    column = max(span.column, 1)
    end_line = max(span.end_line, line)
    end_column = max(span.end_column, column if end_line == line else 1)
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _uri(path: str) -> str:
    """A relative URI of the file's bytes: a non-UTF-8 name (``caf\\xe9.py``) is ``caf%E9.py``."""
    try:
        raw = os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate that is no undecodable byte
        raw = _text(path).encode("utf-8")
    return quote(raw, safe="/")


def _root_uri(report: Report) -> str:
    root = report.root.absolute()
    uri = "file://" + _uri(root.as_posix()) if os.name == "posix" else root.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _sentence(text: str) -> str:
    """SARIF wants messages to be complete sentences ending with a period (and valid Unicode)."""
    text = _text(text).strip() or "No description"
    return text if text.endswith(".") else text + "."


def _invocation(report: Report) -> dict:
    """Rule crashes (``report.extra["errors"]``) make the run unsuccessful, with one notification each."""
    errors = report.extra.get("errors", [])
    invocation: dict = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": text if text.endswith(".") else text + "."}} for text in errors
        ]
    return invocation
