"""CI outputs: GitLab Code Quality and JUnit XML validated against their schemas, --statistics,
--stdin-filename and the GitHub job summary, through the command line on fixture projects."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from click.testing import CliRunner
from fixture_harness import FIXTURES

from archlint.cli import cli
from archlint.model import Finding, Report, Severity, Span
from archlint.report import render

SCHEMAS = Path(__file__).resolve().parent / "schemas"
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}  # GitLab's documented values

UNVERSIONED = textwrap.dedent('''
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/users")
    async def list_users() -> list[str]:
        """List users."""
        return []
''').lstrip()


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


@pytest.fixture
def chain(tmp_path, monkeypatch):
    dest = tmp_path / "chain"
    shutil.copytree(FIXTURES / "s01" / "settings_chain", dest)
    monkeypatch.chdir(dest)
    return dest


def json_findings(project: Path, *args: str) -> list[dict]:
    return json.loads(invoke("check", str(project), "--format", "json", *args).output)["findings"]


def validate_gitlab(text: str) -> list[dict]:
    issues = json.loads(text)
    assert isinstance(issues, list)
    schema = json.loads((SCHEMAS / "gitlab-codeclimate.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    for issue in issues:
        validator.validate(issue)
        assert issue["severity"] in GITLAB_SEVERITIES
        assert issue["check_name"] and issue["description"]
        begin = issue["location"]["positions"]["begin"]
        assert begin["line"] >= 1 and begin["column"] >= 1
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints), "GitLab drops issues with a repeated fingerprint"
    return issues


def validate_junit(text: str) -> None:
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(text)


# ---------------------------------------------------------------- GitLab
def test_gitlab_code_quality_validates_and_matches_the_findings(chain):
    result = invoke("check", str(chain), "--format", "gitlab")
    assert result.exit_code == 1
    issues = validate_gitlab(result.output)
    expected = json_findings(chain)
    assert sorted(
        (i["check_name"], i["location"]["path"], i["location"]["positions"]["begin"]["line"]) for i in issues
    ) == sorted((f["rule"], f["path"], f["line"]) for f in expected)
    assert {i["severity"] for i in issues} == {"major", "info"}  # AL101 errors, AL102 notes
    assert all((chain / i["location"]["path"]).is_file() for i in issues)


def test_gitlab_clean_run_is_an_empty_array(tmp_path):
    project = tmp_path / "clean"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.archlint]\nselect = ["S1"]\n')
    (project / "app" / "main.py").write_text(UNVERSIONED.replace('"/users"', '"/api/v1/users"'))
    result = invoke("check", str(project), "--format", "gitlab")
    assert result.exit_code == 0
    assert validate_gitlab(result.output) == []


def test_gitlab_fingerprints_stay_unique_for_identical_findings(tmp_path):
    same = [Finding("AL101", "Same.", "a.py", Span(1, 1, 1, 2), Severity.WARNING, "S1") for _ in range(3)]
    issues = validate_gitlab(render(Report(findings=same, rules=[], root=tmp_path), "gitlab"))
    assert len(issues) == 3 and {i["severity"] for i in issues} == {"minor"}


# ----------------------------------------------------------------- JUnit
def test_junit_validates_and_has_one_failure_per_finding(chain, tmp_path):
    result = invoke("check", str(chain), "--format", "junit", "--output", str(tmp_path / "junit.xml"))
    assert result.exit_code == 1
    text = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    validate_junit(text)
    data = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).to_dict(text)
    cases = [case for suite in data["testsuite"] for case in suite["testcase"]]
    expected = json_findings(chain)
    assert len(cases) == len(expected) == int(data["@failures"])
    assert sorted(case["failure"][0]["@type"] for case in cases) == sorted(f["severity"] for f in expected)


def test_junit_clean_run_and_messages_xml_cannot_hold(tmp_path):
    validate_junit(render(Report(findings=[], rules=[], root=tmp_path), "junit"))
    odd = Finding("AL101", 'Bell \x07 and <tag> & "quotes"\nsecond line', "dir/a&b.py", Span(2, 3, 2, 9), Severity.NOTE, "S1")
    text = render(Report(findings=[odd], rules=[], root=tmp_path), "junit")
    validate_junit(text)
    assert "\\x07" in text and "&lt;tag&gt;" in text


# ------------------------------------------------------------ statistics
def test_statistics_count_findings_by_rule(chain):
    counts = Counter(f["rule"] for f in json_findings(chain))
    result = invoke("check", str(chain), "--statistics")
    assert result.exit_code == 1
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert {code.strip(): int(count) for count, code, _ in lines} == dict(counts)
    assert [int(count) for count, _, _ in lines] == sorted(counts.values(), reverse=True)
    assert any(rest == "[error] UnversionedRoute" for _, code, rest in lines if code.strip() == "AL101")
    as_json = json.loads(invoke("check", str(chain), "--statistics", "--format", "json").output)
    assert {row["code"]: row["count"] for row in as_json} == dict(counts)
    assert {row["code"]: row["name"] for row in as_json}["AL102"] == "UnverifiableRoutePath"


# ---------------------------------------------------------- stdin
@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.archlint]\nselect = ["S1"]\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text(UNVERSIONED.replace('"/users"', '"/api/v1/users"'))
    monkeypatch.chdir(root)
    return root


def test_stdin_is_checked_as_the_named_file(project):
    """The editor's unsaved buffer: the text on stdin replaces the file on disk (which is clean)."""
    assert invoke("check", "app/main.py", "--format", "concise").exit_code == 0
    result = invoke("check", "--stdin-filename", "app/main.py", "--format", "concise", input=UNVERSIONED)
    assert result.exit_code == 1
    assert result.output.startswith("app/main.py:6:2: AL101 [error] ")
    assert len(result.output.splitlines()) == 1


def test_stdin_for_a_new_file_of_the_project(project):
    result = invoke("check", "--stdin-filename", "app/new_routes.py", "--format", "json", input=UNVERSIONED)
    findings = json.loads(result.output)["findings"]
    assert [(f["rule"], f["path"]) for f in findings] == [("AL101", "app/new_routes.py")]
    clean = invoke("check", "--stdin-filename", "app/new_routes.py", input="x = 1\n")
    assert clean.exit_code == 0 and "All checks passed (1 file)." in clean.output


def test_stdin_parse_error_and_usage_errors(project):
    broken = invoke(
        "check", "--stdin-filename", "app/main.py", "--format", "concise", "--extend-select", "AL001", input="def broken(:\n"
    )
    assert broken.output.startswith("app/main.py:1:") and " AL001 " in broken.output
    assert invoke("check", "app", "--stdin-filename", "app/main.py", input="").exit_code == 2
    assert invoke("check", "--stdin-filename", "app/notes.txt", input="").exit_code == 2
    assert invoke("check", "--stdin-filename", "nowhere/x.py", input="").exit_code == 2


# ------------------------------------------------------------ job summary
def test_github_format_appends_a_markdown_job_summary(chain, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    result = invoke("check", str(chain), "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1 and result.output.startswith("::")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n## archlint\n")
    counts = Counter(f["rule"] for f in json_findings(chain))
    for code, n in counts.items():
        assert any(line.startswith(f"| `{code}` |") and line.endswith(f"| {n} |") for line in text.splitlines())
    rows = [line for line in text.splitlines() if line.startswith("| `backend/")]
    assert len(rows) == sum(counts.values())
    # Only --format github writes it.
    before = summary.read_text(encoding="utf-8")
    invoke("check", str(chain), "--format", "concise", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text(encoding="utf-8") == before


def test_job_summary_cells_cannot_break_the_table(tmp_path):
    odd = Finding("AL101", "a | b <script>\nnext", "x.py", Span(1, 1, 1, 2), Severity.ERROR, "S1")
    from archlint.report import summary

    text = summary.render(Report(findings=[odd], rules=[], root=tmp_path, files_checked=1))
    row = next(line for line in text.splitlines() if line.startswith("| `x.py"))
    assert row == "| `x.py:1:1` | `AL101` | a \\| b &lt;script&gt; next |"
    assert "All checks passed (3 files)." in summary.render(Report(findings=[], rules=[], root=tmp_path, files_checked=3))
