"""Autofix (issue 18): every rule's FIXES examples, and --fix / --diff / --unsafe-fixes / SARIF fixes."""

from __future__ import annotations

import inspect
import json
import shutil

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES
from sarif_check import validate_sarif

from archlint.autofix import attach_fixes, fix_project
from archlint.checks import all_rules
from archlint.cli import cli
from archlint.engine import Overrides, run

#: Many small projects of their own (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("own_facts_cache")

FIX_CASES = [pytest.param(rule, i, id=f"{rule.id}-fix-{i}") for rule in all_rules() for i in range(len(rule.FIXES))]


def write(files, root):
    files = {"app/main.py": files} if isinstance(files, str) else files
    (root / "pyproject.toml").write_text("[tool.archlint]\n", encoding="utf-8")
    for rel, code in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(inspect.cleandoc(code) + "\n", encoding="utf-8")


def read(files, root):
    names = ["app/main.py"] if isinstance(files, str) else list(files)
    return {name: (root / name).read_text(encoding="utf-8") for name in names}


def expected(files):
    files = {"app/main.py": files} if isinstance(files, str) else files
    return {name: inspect.cleandoc(code) + "\n" for name, code in files.items()}


def overrides_for(rule):
    return Overrides(select=[rule.id], **getattr(rule, "EXAMPLE_OVERRIDES", {}))


@pytest.mark.parametrize(("rule", "index"), FIX_CASES)
def test_fix_example(rule, index, tmp_path):
    # (before, after) or (before, after, "safe"/"unsafe"): a fix's own safety when it differs from the rule's.
    before, after, *safety = rule.FIXES[index]
    safe = (safety[0] if safety else rule.fix_applicability) == "safe"
    write(before, tmp_path)
    assert any(f.rule_id == rule.id for f in run([tmp_path], overrides_for(rule)).report.findings), (
        f"{rule.id}: the fix example's 'before' has no finding"
    )
    # Without --unsafe-fixes, a safe fix is applied and an unsafe one is not.
    fix_project([tmp_path], overrides_for(rule), unsafe=False)
    assert read(after, tmp_path) == (expected(after) if safe else expected(before))
    write(before, tmp_path)
    outcome = fix_project([tmp_path], overrides_for(rule), unsafe=True)
    assert read(after, tmp_path) == expected(after)
    # An example whose 'after' equals its 'before' is a trap: a finding the fix must leave alone.
    assert (bool(outcome.applied) != (expected(before) == expected(after))) and not outcome.rejected
    # Fixed means clean for the rule (the first example of a rule is wholly fixable; later ones may hold
    # traps the fix must leave alone), no fix is left over, and fixing again changes nothing.
    left = [f for f in outcome.result.report.findings if f.rule_id == rule.id]
    if index == 0:
        assert not left
    attach_fixes(outcome.result)
    assert not [f for f in left if f.fix is not None]
    again = fix_project([tmp_path], overrides_for(rule), unsafe=True)
    assert again.applied == [] and read(after, tmp_path) == expected(after)


def test_every_fixable_rule_documents_its_fix():
    for rule in all_rules():
        if rule.FIXES:
            assert rule.fix_message.endswith("."), rule.id
            assert rule.fix_applicability in ("safe", "unsafe"), rule.id


LEGACY = FIXTURES / "adoption" / "legacy_app"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "legacy_app"
    shutil.copytree(LEGACY, root)
    (root / ".git").mkdir()
    return root


def snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_diff_writes_nothing_and_exits_1(project):
    before = snapshot(project)
    result = CliRunner().invoke(cli, ["check", str(project), "--diff", "--select", "AL002"])
    assert result.exit_code == 0 and result.stdout == ""
    (project / "app" / "deps.py").write_text(
        (project / "app" / "deps.py").read_text() + "VERSION = 1  # archlint: ignore[AL420]\n"
    )
    before = snapshot(project)
    result = CliRunner().invoke(cli, ["check", str(project), "--diff", "--extend-select", "AL002"])
    assert result.exit_code == 1
    assert "--- a/app/deps.py" in result.stdout and "-VERSION = 1  # archlint: ignore[AL420]" in result.stdout
    assert "+VERSION = 1\n" in result.stdout
    assert snapshot(project) == before


def test_fix_removes_unused_suppressions_and_reports_the_rest(project):
    deps = project / "app" / "deps.py"
    deps.write_text(deps.read_text() + "VERSION = 1  # archlint: ignore[AL420, AL999] -- old  # noqa: E501\n")
    result = CliRunner().invoke(
        cli, ["check", str(project), "--fix", "--show-fixes", "--format", "concise", "--extend-select", "AL002"]
    )
    assert deps.read_text().endswith("VERSION = 1  # noqa: E501\n")
    assert "app/deps.py:" in result.stderr and "AL002" in result.stderr
    assert result.exit_code == 1 and "AL002" not in result.stdout  # the other findings remain


def test_sarif_carries_fixes(project):
    deps = project / "app" / "deps.py"
    deps.write_text(deps.read_text() + "VERSION = 1  # archlint: ignore[AL420]\n")
    result = CliRunner().invoke(cli, ["check", str(project), "--format", "sarif", "--extend-select", "AL002"])
    sarif = json.loads(result.stdout)
    validate_sarif(sarif)
    fixed = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AL002"]
    assert len(fixed) == 1
    change = fixed[0]["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "app/deps.py"
    assert change["replacements"][0]["insertedContent"]["text"] == ""


def test_a_fix_that_breaks_the_file_is_never_written(project, monkeypatch):
    from archlint.checks.al0_suppressions import UnusedSuppression
    from archlint.model import Edit, Fix, Span

    deps = project / "app" / "deps.py"
    deps.write_text(deps.read_text() + "VERSION = 1  # archlint: ignore[AL420]\n")
    original_check = UnusedSuppression.check

    def broken(self, project):
        for finding in original_check(self, project):
            finding.fix = Fix("Break it.", (Edit(Span(finding.span.line, 1, finding.span.line, 1), "def ("),))
            yield finding

    monkeypatch.setattr(UnusedSuppression, "check", broken)
    before = deps.read_text()
    outcome = fix_project([project], Overrides(select=["AL002", "AL420"]))
    assert deps.read_text() == before
    assert outcome.applied == [] and len(outcome.rejected) == 1
