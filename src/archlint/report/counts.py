"""``--statistics``: how many findings each rule reported, as Ruff's ``--statistics`` prints them.

Text: one line per rule, ``count<TAB>code<TAB>[severity] Name``, the most
frequent first; JSON: a list of ``{"code", "name", "severity", "count"}``.
"""

from __future__ import annotations

import json
from collections import Counter

from archlint.model import Report


def rows(report: Report) -> list[dict]:
    counts = Counter(f.rule_id for f in report.findings)
    severity = {f.rule_id: f.severity.label for f in report.findings}
    names = {r.id: r.name for r in report.rules}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"code": code, "name": names.get(code, ""), "severity": severity[code], "count": n} for code, n in ordered]


def render(report: Report, *, as_json: bool = False) -> str:
    table = rows(report)
    if as_json:
        return json.dumps(table, indent=2) + "\n"
    if not table:
        return ""
    count_width = max(len(str(r["count"])) for r in table)
    code_width = max(len(r["code"]) for r in table)
    return "".join(f"{r['count']:>{count_width}}\t{r['code']:<{code_width}}\t[{r['severity']}] {r['name']}\n" for r in table)
