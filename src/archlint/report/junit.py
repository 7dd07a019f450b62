"""JUnit XML, for CI systems that show test reports (GitLab ``artifacts:reports:junit``, Jenkins, Azure).

One ``<testsuite>`` per file with findings, one ``<testcase>`` per finding
holding a ``<failure>`` whose ``type`` is the severity; a clean run is one
passing test case. It validates against the JUnit schema Jenkins' xUnit
plugin reads (tests/schemas/junit-10.xsd).
"""

from __future__ import annotations

import re
from itertools import groupby
from xml.etree import ElementTree as ET

from archlint.model import Finding, Report

#: Characters XML 1.0 cannot hold at all, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(report: Report) -> str:
    findings = sorted(report.findings, key=Finding.sort_key)
    suites = ET.Element("testsuites", name="archlint", tests=str(max(len(findings), 1)), failures=str(len(findings)), errors="0")
    if not findings:
        suite = ET.SubElement(suites, "testsuite", name="archlint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="No problems found", classname="archlint")
    for path, group in groupby(findings, key=lambda f: f.path):
        items = list(group)
        suite = ET.SubElement(
            suites, "testsuite", name=_text(path), tests=str(len(items)), failures=str(len(items)), errors="0", file=_text(path)
        )
        for f in items:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{f.rule_id} at {f.span.line}:{f.span.column}",
                classname=_text(path),
                file=_text(path),
                line=str(f.span.line),
            )
            failure = ET.SubElement(
                case, "failure", message=_text(f.message.splitlines()[0] if f.message else ""), type=f.severity.label
            )
            failure.text = _text(f"{f.path}:{f.span.line}:{f.span.column}: {f.rule_id} [{f.severity.label}] {f.message}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _text(value: str) -> str:
    """``value`` with the characters XML cannot hold written as ``\\xNN`` (the rest ElementTree escapes)."""
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", value)
