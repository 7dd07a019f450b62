"""Baselines (issue 18): accept today's findings, report only new ones, whatever moves around them."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES
from sarif_check import validate_sarif

from archlint.cli import cli

LEGACY = FIXTURES / "adoption" / "legacy_app"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "legacy_app"
    shutil.copytree(LEGACY, root)
    (root / ".git").mkdir()  # the report root: paths in the baseline are relative to it
    return root


def check(root, *args):
    result = CliRunner().invoke(cli, ["check", str(root), "--format", "concise", *args], catch_exceptions=False)
    return result.exit_code, [line for line in result.stdout.splitlines() if line.strip()]


def shift_and_reformat(path, *, extra=""):
    """Every line moves down, quotes and wrapping change: what a formatter and an edit above do."""
    text = path.read_text(encoding="utf-8")
    text = text.replace('"', "'").replace("(get_user)", "(\n    get_user,\n)")
    path.write_text("# A comment added above.\nimport logging\n\nlog = logging.getLogger()\n" + text + extra, encoding="utf-8")


def test_round_trip_reports_only_the_new_violation_in_a_shifted_file(project, monkeypatch):
    monkeypatch.chdir(project)  # concise paths are relative to the current directory, as Ruff prints them
    code, before = check(project)
    assert code == 1 and len(before) == 21
    baseline = project / "archlint-baseline.json"
    code, out = check(project, "--write-baseline", str(baseline))
    assert code == 0 and out == []
    assert len(json.loads(baseline.read_text())["findings"]) == 21
    assert check(project, "--baseline", str(baseline)) == (0, [])

    users = project / "app" / "api" / "users.py"
    shift_and_reformat(
        users,
        extra=(
            "\n\n@router.get('/{user_id}/name')\n"
            "def read_name(user_id: int, user: str = Depends(get_user)) -> str:\n"
            "    '''Read a name.'''\n"
            "    return user\n"
        ),
    )
    code, out = check(project, "--baseline", str(baseline))
    assert code == 1
    assert len(out) == 1 and out[0].startswith("app/api/users.py:38:41:") and " AL420 [warning] `user` of `read_name`" in out[0]


def test_fingerprints_survive_moves_and_reformatting_but_not_a_change_of_the_code(project):
    baseline = project / "b.json"
    check(project, "--write-baseline", str(baseline))
    items = project / "app" / "api" / "items.py"
    shift_and_reformat(items)
    assert check(project, "--baseline", str(baseline)) == (0, [])
    # The finding's own code changes: reported again (and the old one is gone from the run).
    items.write_text(items.read_text().replace("item.copy()", "item.copy(deep=True)"))
    code, out = check(project, "--baseline", str(baseline))
    assert code == 1 and [line.split(" ", 2)[1] for line in out] == ["AL223"]
    assert "items.py" in out[0] and "`.copy()`" in out[0]


def test_same_code_in_another_definition_is_a_new_finding(project):
    baseline = project / "b.json"
    check(project, "--write-baseline", str(baseline))
    deps = project / "app" / "deps.py"
    deps.write_text(deps.read_text() + "\n\ndef get_admin(token: str = Depends(get_token)) -> str:\n    return token\n")
    code, out = check(project, "--baseline", str(baseline))
    assert code == 1 and len(out) == 1 and "`token` of `get_admin`" in out[0]


def test_a_fixed_finding_leaves_silently_and_prune_drops_it(project):
    baseline = project / "b.json"
    check(project, "--write-baseline", str(baseline))
    users = project / "app" / "api" / "users.py"
    users.write_text(users.read_text().replace("data = body.dict()", "data = body.model_dump()"))
    assert check(project, "--baseline", str(baseline)) == (0, [])
    result = CliRunner().invoke(cli, ["check", str(project), "--format", "sarif", "--baseline", str(baseline)])
    sarif = json.loads(result.stdout)
    validate_sarif(sarif)
    states = [r.get("baselineState") for r in sarif["runs"][0]["results"]]
    assert states.count("absent") == 1 and states.count("unchanged") == 20 and "new" not in states
    absent = next(r for r in sarif["runs"][0]["results"] if r["baselineState"] == "absent")
    assert absent["ruleId"] == "AL223" and absent["kind"] == "pass"
    unchanged = next(r for r in sarif["runs"][0]["results"] if r["baselineState"] == "unchanged")
    assert unchanged["suppressions"][0]["kind"] == "external"

    assert check(project, "--baseline", str(baseline), "--prune-baseline")[0] == 0
    entries = json.loads(baseline.read_text())["findings"]
    assert len(entries) == 20 and not any(e["rule"] == "AL223" and e["line"] == 18 for e in entries)


def test_sarif_marks_new_results(project):
    baseline = project / "b.json"
    check(project, "--write-baseline", str(baseline))
    deps = project / "app" / "deps.py"
    deps.write_text(deps.read_text() + "\n\ndef get_admin(token: str = Depends(get_token)) -> str:\n    return token\n")
    result = CliRunner().invoke(cli, ["check", str(project), "--format", "sarif", "--baseline", str(baseline)])
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    validate_sarif(sarif)
    new = [r for r in sarif["runs"][0]["results"] if r["baselineState"] == "new"]
    assert len(new) == 1 and "suppressions" not in new[0]


def test_baseline_from_the_configuration(project):
    config = project / "pyproject.toml"
    check(project, "--write-baseline", str(project / "debt.json"))
    config.write_text(config.read_text() + 'baseline = "debt.json"\n')
    assert check(project) == (0, [])


def test_partial_runs_keep_the_rest_of_the_baseline(project):
    baseline = project / "b.json"
    check(project, "--write-baseline", str(baseline))
    # A run over one directory or one rule neither reports the rest as fixed nor drops it.
    check(project / "app" / "api", "--baseline", str(baseline), "--prune-baseline")
    check(project, "--select", "AL420", "--write-baseline", str(baseline))
    assert len(json.loads(baseline.read_text())["findings"]) == 21


@pytest.mark.parametrize("content", ["{", "[]", '{"version": 99, "findings": []}'])
def test_unreadable_baseline_is_a_usage_error(project, content):
    baseline = project / "b.json"
    baseline.write_text(content)
    result = CliRunner().invoke(cli, ["check", str(project), "--baseline", str(baseline)])
    assert result.exit_code == 2
    assert result.stderr.startswith("archlint: error: ") and len(result.stderr.splitlines()) == 1


def test_missing_baseline_is_a_usage_error(project):
    result = CliRunner().invoke(cli, ["check", str(project), "--baseline", str(project / "nope.json")])
    assert result.exit_code == 2 and "baseline file does not exist" in result.stderr


def test_fingerprints_are_computed_only_for_outputs_that_show_them_and_a_cached_answer_gets_them_later(project):
    from archlint.engine import Overrides, run

    without = run([project], Overrides(fingerprints=False, no_cache=True)).report.findings
    assert without and all(f.fingerprint == "" for f in without)  # concise, text, github, junit: not read

    def fingerprints(*args):
        result = CliRunner().invoke(cli, ["check", str(project), "--format", "json", *args], catch_exceptions=False)
        return [(f["path"], f["line"], f["rule"], f["fingerprint"]) for f in json.loads(result.stdout)["findings"]]

    expected = fingerprints("--no-cache")
    assert len(expected) == 21 and all(len(f[3]) == 32 for f in expected)
    # A concise run stores its answer (without fingerprints) in the results cache; a JSON run reuses it.
    assert check(project)[0] == 1
    assert fingerprints() == expected
    assert fingerprints() == expected
