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

import functools
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from archlint.engine import Overrides, RunResult, run
from archlint.report import concise

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = Path(__file__).parent / "snapshots"
#: ``pytest --update-snapshots`` sets it too (conftest.py).
UPDATE_SNAPSHOTS = "ARCHLINT_UPDATE_SNAPSHOTS"
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>AL\d{3}(?:\s*,\s*AL\d{3})*)")
SIDECAR = "expect.txt"
SIDECAR_LINE = re.compile(r"^(?P<path>[^:#\s][^:]*):(?P<line>\d+):\s*(?P<codes>AL\d{3}(?:\s*,\s*AL\d{3})*)\s*$")
TEXT_SUFFIXES = {".py", ".pyi", ".yaml", ".yml", ".toml", ".cfg", ".txt", ".md"}


def fixture_projects() -> list[Path]:
    """Every fixture project (nested projects inside a project are their own)."""
    return list(_fixture_projects())


@functools.cache
def _fixture_projects() -> tuple[Path, ...]:
    """Walked once a session (tests never write under tests/fixtures/: they copy a fixture first)."""
    found = []
    for config in sorted(FIXTURES.rglob("*")):
        if config.name in ("pyproject.toml", "archlint.toml") and config.is_file():
            found.append(config.parent)
    return tuple(found)


def expectations(project: Path, report_root: Path) -> Counter:
    """(path relative to report_root, line, rule) for every expect comment in the project."""
    expected: Counter = Counter()
    inside = str(project) + os.sep
    nested = {p for p in fixture_projects() if str(p).startswith(inside)}  # (a rule example's project is in none)
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


def findings(result: RunResult) -> list[tuple]:
    """Everything a report says about each finding."""
    return [
        (f.rule_id, f.path, f.span, f.message, f.severity, f.standard, f.related, f.fingerprint) for f in result.report.findings
    ]


def run_fixture(project: Path, **overrides) -> RunResult:
    return run([project], Overrides(**overrides))


def describe(diff: Counter) -> str:
    return "\n".join(f"  {path}:{line}: {rule}" for (path, line, rule) in sorted(diff.elements()))


RULES_HEADER = "# rules: "


def snapshot_rules(name: str) -> set[str] | None:
    """The rules that ran when ``tests/snapshots/<name>.txt`` was written (None: no snapshot yet)."""
    path = SNAPSHOTS / f"{name}.txt"
    if not path.is_file():
        return None
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    return set(first[len(RULES_HEADER) :].split()) if first.startswith(RULES_HEADER) else None


def joined_rules(name: str, result: RunResult, mentioned: set[str]) -> set[str]:
    """Rules that ran now but not when the snapshot was written, and that no ``# expect:`` of the fixture names.

    A rule that joins a standard a fixture selects is new to the fixture: its findings there are left out of
    the comparisons (with a warning) until ``pytest --update-snapshots`` records it; from then on they are
    compared exactly like every other rule's (CONTRIBUTING, "Adding a rule").
    """
    known = snapshot_rules(name)
    if known is None or os.environ.get(UPDATE_SNAPSHOTS) == "1":
        return set()
    return {r.id for r in result.report.rules} - known - mentioned


#: AL701 relays openapi-spec-validator's (jsonschema's) own wording, which changes between their versions
#: (quotes, how candidates are listed): the snapshot pins where and that, not the library's phrasing.
_VALIDATOR_TEXT = re.compile(r"(AL701 \[\w+\] The document is not valid OpenAPI [\d.]+: ).*")


def _stable(line: str) -> str:
    return _VALIDATOR_TEXT.sub(r"\1<validator message>", line)


def assert_snapshot(name: str, result: RunResult, project: Path, *, ignore: Iterable[str] = ()) -> None:
    """The run's full concise output (``path:line:col: CODE [severity] message``) equals ``tests/snapshots/<name>.txt``.

    The file's first line lists the rules that ran. With ``ARCHLINT_UPDATE_SNAPSHOTS=1`` (or ``pytest
    --update-snapshots``) the file is written instead: review ``git diff tests/snapshots`` before committing.
    Findings of the ``ignore`` rules (``joined_rules``) are left out.
    """
    lines = [
        _stable(line) for line in concise.render(result.report, cwd=project).splitlines(True)
    ]  # paths relative to the project
    header = RULES_HEADER + " ".join(sorted(r.id for r in result.report.rules)) + "\n"
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get(UPDATE_SNAPSHOTS) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        text = header + "".join(lines)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {path.relative_to(SNAPSHOTS.parent)}: run pytest --update-snapshots"
    expected = path.read_text(encoding="utf-8").splitlines(True)[1:]
    left_out = set(ignore)
    now = [line for line in lines if (m := CODE.match(line)) is None or m.group(1) not in left_out]
    if now != expected:
        import difflib

        diff = "".join(difflib.unified_diff(expected, now, "snapshot", "now"))
        raise AssertionError(f"{path.relative_to(SNAPSHOTS.parent)} differs (pytest --update-snapshots rewrites it):\n{diff}")


CODE = re.compile(r"^.+?:\d+:\d+: (AL\d{3}) \[")
