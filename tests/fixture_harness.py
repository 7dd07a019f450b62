"""Run archlint on fixture projects and compare with their ``# expect: RULE`` comments.

A fixture project is a directory under tests/fixtures/ with its own
pyproject.toml or archlint.toml. Every line that should carry a finding says
so with ``# expect: AL101`` (several: ``# expect: AL101, AL102``); the
comparison is exact, so a missing finding and an extra finding both fail.

Files that cannot carry comments (JSON OpenAPI documents) list their findings
in an ``expect.txt`` sidecar in any folder of the project, one
``PATH:LINE: AL701`` a line (several codes: ``AL701, AL704``), PATH relative
to the sidecar's folder; blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from archlint.engine import Overrides, RunResult, run

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>AL\d{3}(?:\s*,\s*AL\d{3})*)")
SIDECAR = "expect.txt"
SIDECAR_LINE = re.compile(r"^(?P<path>[^:#\s][^:]*):(?P<line>\d+):\s*(?P<codes>AL\d{3}(?:\s*,\s*AL\d{3})*)\s*$")
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
        if path.name == SIDECAR:
            expected.update(_sidecar(path, report_root))
            continue
        rel = os.path.relpath(path, report_root).replace(os.sep, "/")
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in re.split(r"\s*,\s*", match.group("codes")):
                    expected[(rel, number, code)] += 1
    return expected


def _sidecar(sidecar: Path, report_root: Path) -> Counter:
    expected: Counter = Counter()
    for number, line in enumerate(sidecar.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = SIDECAR_LINE.match(line.strip())
        if match is None:
            raise ValueError(f"{sidecar}:{number}: expected PATH:LINE: ALnnn, got {line!r}")
        rel = os.path.relpath(sidecar.parent / match.group("path"), report_root).replace(os.sep, "/")
        for code in re.split(r"\s*,\s*", match.group("codes")):
            expected[(rel, int(match.group("line")), code)] += 1
    return expected


def actual(result: RunResult) -> Counter:
    return Counter((f.path, f.span.line, f.rule_id) for f in result.report.findings)


def run_fixture(project: Path, **overrides) -> RunResult:
    return run([project], Overrides(**overrides))


def describe(diff: Counter) -> str:
    return "\n".join(f"  {path}:{line}: {rule}" for (path, line, rule) in sorted(diff.elements()))
