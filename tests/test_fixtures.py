"""Every fixture project: findings equal the ``# expect:`` comments, exactly."""

from __future__ import annotations

import pytest
from fixture_harness import FIXTURES, actual, describe, expectations, fixture_projects, run_fixture
from sarif_check import validate_sarif

from archlint.report import render

PROJECTS = fixture_projects()


@pytest.mark.parametrize("project", PROJECTS, ids=[str(p.relative_to(FIXTURES)) for p in PROJECTS])
def test_fixture_project(project):
    result = run_fixture(project)
    expected = expectations(project, result.report.root)
    got = actual(result)
    missing, extra = expected - got, got - expected
    messages = {(f.path, f.span.line, f.rule_id): f.message for f in result.report.findings}
    assert not missing and not extra, (
        f"missing findings:\n{describe(missing)}\nunexpected findings:\n{describe(extra)}\n"
        + "\n".join(f"  {k[0]}:{k[1]}: {k[2]} {messages[k]}" for k in extra)
    )
    validate_sarif(render(result.report, "sarif"))


def test_fixture_projects_are_found():
    names = {str(p.relative_to(FIXTURES)) for p in PROJECTS}
    assert "s01/settings_chain" in names
