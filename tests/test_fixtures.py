"""Every fixture project: findings equal the ``# expect:`` comments, exactly; the full diagnostics equal the snapshot."""

from __future__ import annotations

import os
import warnings
from collections import Counter

import pytest
from fixture_harness import (
    FIXTURES,
    UPDATE_SNAPSHOTS,
    actual,
    assert_snapshot,
    describe,
    expectations,
    fixture_projects,
    joined_rules,
    run_fixture,
)
from sarif_check import validate_sarif

from archlint.report import render

PROJECTS = fixture_projects()


@pytest.mark.parametrize("project", PROJECTS, ids=[str(p.relative_to(FIXTURES)) for p in PROJECTS])
def test_fixture_project(project):
    result = run_fixture(project)
    name = f"fixtures/{project.relative_to(FIXTURES).as_posix()}"
    if os.environ.get(UPDATE_SNAPSHOTS) == "1":
        assert_snapshot(name, result, project)  # written first: the comparison below then shows what is new
    expected = expectations(project, result.report.root)
    joined = joined_rules(name, result, {rule for (_path, _line, rule) in expected})
    if joined:
        warnings.warn(
            f"{name}: {', '.join(sorted(joined))} joined the fixture's selection after its snapshot; "
            "their findings are not compared until `pytest --update-snapshots` records them",
            stacklevel=1,
        )
    got = Counter({k: n for k, n in actual(result).items() if k[2] not in joined})
    missing, extra = expected - got, got - expected
    messages = {(f.path, f.span.line, f.rule_id): f.message for f in result.report.findings}
    assert not missing and not extra, (
        f"missing findings:\n{describe(missing)}\nunexpected findings:\n{describe(extra)}\n"
        + "\n".join(f"  {k[0]}:{k[1]}: {k[2]} {messages[k]}" for k in extra)
    )
    validate_sarif(render(result.report, "sarif"))
    assert_snapshot(name, result, project, ignore=joined)


def test_fixture_projects_are_found():
    names = {str(p.relative_to(FIXTURES)) for p in PROJECTS}
    assert "s01/settings_chain" in names
