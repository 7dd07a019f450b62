"""Run archlint on fixture projects and compare with their ``# expect: RULE`` comments.

A fixture project is a directory under tests/fixtures/ with its own
pyproject.toml or archlint.toml. Every line that should carry a finding says
so with ``# expect: AL101`` (several: ``# expect: AL101, AL102``); the
comparison is exact, so a missing finding and an extra finding both fail.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from archlint.engine import Overrides, RunResult, run

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>AL\d{3}(?:\s*,\s*AL\d{3})*)")
TEXT_SUFFIXES = {".py", ".pyi", ".yaml", ".yml", ".toml", ".cfg", ".txt", ".md"}


def fixture_projects() -> list[Path]:
    """Every fixture project (nested projects inside a project are their own)."""
    found = []
    for config in sorted(FIXTURES.rglob("*")):
        if config.name in ("pyproject.toml", "archlint.toml") and config.is_file():
            found.append(config.parent)
    return found


def expectations(project: Path, report_root: Path) -> Counter:
    """(path relative to report_root, line, rule) for every expect comment in the project."""
    expected: Counter = Counter()
    nested = {p for p in fixture_projects() if p != project and project in p.parents}
    for path in sorted(project.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        if any(n in path.parents for n in nested):
            continue
        rel = os.path.relpath(path, report_root).replace(os.sep, "/")
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in re.split(r"\s*,\s*", match.group("codes")):
                    expected[(rel, number, code)] += 1
    return expected


def actual(result: RunResult) -> Counter:
    return Counter((f.path, f.span.line, f.rule_id) for f in result.report.findings)


def run_fixture(project: Path, **overrides) -> RunResult:
    return run([project], Overrides(**overrides))


def describe(diff: Counter) -> str:
    return "\n".join(f"  {path}:{line}: {rule}" for (path, line, rule) in sorted(diff.elements()))
