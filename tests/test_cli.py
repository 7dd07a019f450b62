"""The command line through click's runner, and once as a real installed subprocess."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES
from sarif_check import validate_sarif

from archlint import __version__
from archlint.checks.s01_versioned_routes import UnversionedRoute
from archlint.cli import cli

CONCISE = re.compile(r"^(.+?):(\d+):(\d+): ([A-Z][A-Z0-9]*\d+) (.*)$")

UNVERSIONED = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/users")
async def list_users() -> list[str]:
    \"\"\"List users.\"\"\"
    return []
"""

VERSIONED = UNVERSIONED.replace('"/users"', '"/api/v1/users"')
#: These tests exercise the CLI and engine on S1; other standards would report the bare app.
ONLY_S1 = '[tool.archlint]\nselect = ["S1", "AL001"]\n'


def make_project(root: Path, files: dict[str, str], config: str = ONLY_S1) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    for rel, code in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"), encoding="utf-8")
    return root


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


@pytest.fixture
def chain(tmp_path):
    """A copy of the S1 settings-chain fixture (outside any git repository)."""
    dest = tmp_path / "chain"
    shutil.copytree(FIXTURES / "s01" / "settings_chain", dest)
    return dest


# ------------------------------------------------------------------ commands
def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_rules_lists_every_rule_with_standard_and_severity():
    result = invoke("rules")
    assert result.exit_code == 0
    line = next(l for l in result.output.splitlines() if l.startswith("AL101"))
    assert "UnversionedRoute" in line and "S1" in line and "error" in line


def test_explain_prints_the_rule_docs_sections():
    result = invoke("explain", "AL101")
    assert result.exit_code == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options"):
        assert heading in result.output
    assert "route-pattern" in result.output and "^/api/v[0-9]+(/|$)" in result.output
    assert "# expect" not in result.output


def test_explain_unknown_rule_exits_2():
    result = CliRunner().invoke(cli, ["explain", "AL999"])
    assert result.exit_code == 2
    assert "unknown rule" in result.output


# --------------------------------------------------------------- exit codes
def test_clean_project_exits_0(tmp_path):
    make_project(tmp_path, {"app/main.py": VERSIONED})
    result = invoke("check", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "All checks passed" in result.output


def test_findings_exit_1_and_exit_zero(chain):
    assert invoke("check", str(chain)).exit_code == 1
    assert invoke("check", str(chain), "--exit-zero").exit_code == 0


def test_notes_never_fail_by_default(chain):
    result = invoke("check", str(chain), "--select", "AL102", "--format", "concise")
    assert result.exit_code == 0
    assert "AL102" in result.output
    assert invoke("check", str(chain), "--select", "AL102", "--fail-on", "note").exit_code == 1


def test_missing_path_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("[tool.archlint]\nbogus = 1\n", "unknown key 'bogus'"),
        ("[tool.archlint]\nselect = 'XYZ'\n", "'XYZ' is not a rule code"),
        ("[tool.archlint]\nfail-on = 'fatal'\n", "fail-on"),
        ("[tool.archlint.standards.S1]\nroute-pattern = '['\n", "route-pattern"),
        ("[tool.archlint.standards.S1]\nroute-patern = '^/v1'\n", "unknown option 'route-patern'"),
        ("[tool.archlint.rules.AL101]\nseverity = 'loud'\n", "severity"),
        ("[tool.archlint]\npack = 'missing-pack.toml'\n", "missing-pack.toml"),
        ("[tool.archlint\n", "invalid TOML"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(tmp_path, config, needle):
    make_project(tmp_path, {"app/main.py": VERSIONED}, config)
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert needle in lines[0] and "pyproject.toml" in lines[0] or "missing-pack" in needle, lines[0]


def test_internal_error_exits_2_without_traceback(chain, monkeypatch):
    def boom(self, project):
        raise ValueError("kaboom")

    monkeypatch.setattr(UnversionedRoute, "check", boom)
    result = CliRunner().invoke(cli, ["check", str(chain), "--format", "concise"])
    assert result.exit_code == 2
    assert "internal error" in result.output and "kaboom" in result.output and "AL101" in result.output
    assert "Traceback" not in result.output
    # The other rules still report: AL102's note about the unresolvable prefix is there.
    assert any(" AL102 " in line for line in result.output.splitlines())
    debug = CliRunner().invoke(cli, ["--debug", "check", str(chain), "--format", "concise"])
    assert debug.exit_code == 2 and "Traceback" in debug.output
    sarif = CliRunner().invoke(cli, ["check", str(chain), "--format", "sarif"])
    doc = json.loads(sarif.stdout)
    validate_sarif(doc)
    (invocation,) = doc["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "kaboom" in invocation["toolExecutionNotifications"][0]["message"]["text"]


# ------------------------------------------------------- options reach rules
def test_overriding_a_pack_number_changes_the_verdict(chain):
    before = invoke("check", str(chain), "--format", "concise")
    assert "/legacy" in before.output
    pyproject = chain / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.archlint.standards.S1]\nroute-pattern = "^/(api/v[0-9]+|legacy)(/|$)"\n'
    )
    after = invoke("check", str(chain), "--format", "concise")
    assert "/legacy" not in after.output
    assert "/version" in after.output


def test_rule_severity_override(chain):
    (chain / "pyproject.toml").write_text(ONLY_S1 + '[tool.archlint.rules.AL101]\nseverity = "note"\n')
    result = invoke("check", str(chain), "--format", "json")
    data = json.loads(result.output)
    assert {f["severity"] for f in data["findings"] if f["rule"] == "AL101"} == {"note"}
    assert result.exit_code == 0


def test_select_and_ignore(chain):
    only = invoke("check", str(chain), "--select", "AL102", "--format", "concise").output
    assert "AL101" not in only and "AL102" in only
    ignored = invoke("check", str(chain), "--ignore", "S1", "--format", "concise")
    assert ignored.output == "" and ignored.exit_code == 0


def test_user_pack_extends_the_default(tmp_path):
    make_project(
        tmp_path,
        {
            "app/main.py": UNVERSIONED,
            "policy.toml": 'extends = "backend-architect"\n[standards.S1]\nroute-pattern = "^/users"\n',
        },
        ONLY_S1 + 'pack = "policy.toml"\n',
    )
    assert invoke("check", str(tmp_path)).exit_code == 0


# ------------------------------------------------------------ suppressions
@pytest.mark.parametrize(
    "comment",
    ["# archlint: ignore[AL101] -- legacy clients", "# noqa: AL101", "# archlint: ignore"],
)
def test_suppression_on_the_reported_line(tmp_path, comment):
    code = UNVERSIONED.replace('@app.get("/users")', f'@app.get("/users")  {comment}')
    make_project(tmp_path, {"app/main.py": code})
    assert invoke("check", str(tmp_path)).exit_code == 0


def test_a_bare_noqa_silences_archlint_only_when_configured(tmp_path):
    # Issue 18: a bare `noqa` comment is Ruff's or flake8's; `respect-bare-noqa = true` restores the old behaviour.
    code = UNVERSIONED.replace('@app.get("/users")', '@app.get("/users")  # noqa')
    make_project(tmp_path, {"app/main.py": code})
    assert invoke("check", str(tmp_path)).exit_code == 1
    make_project(tmp_path, {"app/main.py": code}, ONLY_S1 + "respect-bare-noqa = true\n")
    assert invoke("check", str(tmp_path)).exit_code == 0


def test_suppression_on_the_def_line_of_a_decorated_handler(tmp_path):
    code = UNVERSIONED.replace("-> list[str]:", "-> list[str]:  # archlint: ignore[AL101]")
    make_project(tmp_path, {"app/main.py": code})
    assert invoke("check", str(tmp_path)).exit_code == 0


def test_suppression_of_another_rule_does_not_hide(tmp_path):
    code = UNVERSIONED.replace('@app.get("/users")', '@app.get("/users")  # noqa: E501, AL102')
    make_project(tmp_path, {"app/main.py": code})
    assert invoke("check", str(tmp_path)).exit_code == 1


def test_per_file_ignores(tmp_path):
    make_project(
        tmp_path, {"app/main.py": UNVERSIONED}, ONLY_S1 + '[tool.archlint.per-file-ignores]\n"app/main.py" = ["AL101"]\n'
    )
    assert invoke("check", str(tmp_path)).exit_code == 0


# ---------------------------------------------------------- files and parsing
def test_parse_error_is_one_finding_and_other_files_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_project(
        tmp_path,
        {
            "app/main.py": UNVERSIONED,
            "app/broken.py": "def broken(:\n    pass\n",
            "app/new_syntax.py": "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
        },
    )
    result = invoke("check", str(tmp_path), "--format", "concise")
    lines = result.output.splitlines()
    assert any(l.startswith("app/broken.py:1:") and " AL001 " in l for l in lines)
    assert any(l.startswith("app/main.py:") and " AL101 " in l for l in lines)
    assert not any("new_syntax" in l for l in lines)
    assert len(lines) == 2


def test_exclude_and_gitignore(tmp_path):
    make_project(
        tmp_path,
        {"app/main.py": VERSIONED, "legacy/old.py": UNVERSIONED, "generated/gen.py": UNVERSIONED, ".gitignore": "generated/\n"},
        ONLY_S1 + 'exclude = ["legacy/"]\n',
    )
    assert invoke("check", str(tmp_path)).exit_code == 0


def test_pack_excludes_tests_and_migrations(tmp_path):
    make_project(
        tmp_path,
        {"app/main.py": VERSIONED, "tests/test_x.py": UNVERSIONED, "alembic/versions/001.py": UNVERSIONED},
    )
    assert invoke("check", str(tmp_path)).exit_code == 0


def test_non_python_paths_are_not_errors(tmp_path):
    make_project(tmp_path, {"app/main.py": VERSIONED, "frontend/app.ts": "export {}\n"})
    assert invoke("check", str(tmp_path / "frontend" / "app.ts"), str(tmp_path / "app")).exit_code == 0


def test_only_given_paths_are_reported_but_the_whole_project_is_indexed(chain):
    # The include chain lives in main.py; a run on routes/ alone reports nothing there,
    # and a run on main.py alone still resolves prefixes defined in core/config.py.
    routes_only = invoke("check", str(chain / "backend/app/api"), "--format", "concise")
    assert routes_only.exit_code == 0 and routes_only.output == ""
    main_only = invoke("check", str(chain / "backend/app/main.py"), "--format", "concise")
    assert main_only.output.count("AL101") == 2


# ------------------------------------------------------------------ outputs
def test_concise_lines_match_the_problem_matcher(chain, monkeypatch):
    monkeypatch.chdir(chain)
    result = invoke("check", str(chain), "--format", "concise")
    lines = result.output.splitlines()
    assert lines and all(CONCISE.match(l) for l in lines)
    assert all(l.startswith("backend/app/") for l in lines)
    # The README's matcher, as written there, reads file, line, column, severity, code and message.
    matcher = readme_problem_matcher()
    pattern = matcher["pattern"]
    regexp = re.compile(pattern["regexp"])
    read = [regexp.match(l) for l in lines]
    assert all(read)
    assert {m.group(pattern["severity"]) for m in read} == {"error", "note"}
    assert {m.group(pattern["code"]) for m in read} == {"AL101", "AL102"}
    first = read[0]
    assert (chain / first.group(pattern["file"])).is_file()
    assert int(first.group(pattern["line"])) >= 1 and int(first.group(pattern["column"])) >= 1
    assert not first.group(pattern["message"]).startswith("[")
    # From a subdirectory, paths are relative to it (as Ruff prints them); elsewhere they are absolute.
    monkeypatch.chdir(chain / "backend")
    assert all(l.startswith("app/") for l in invoke("check", ".", "--format", "concise").output.splitlines())
    monkeypatch.chdir(chain.parent)
    assert invoke("check", str(chain), "--format", "concise").output.startswith("chain/backend/app/")


def readme_problem_matcher() -> dict:
    """The problemMatcher of the README's VS Code task (the JSON block under "VS Code problem matcher")."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### VS Code problem matcher", 1)[1]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    (task,) = json.loads(block)["tasks"]
    return task["problemMatcher"]


def test_several_outputs_at_once(chain, tmp_path):
    sarif = tmp_path / "out" / "archlint.sarif"
    sarif.parent.mkdir()
    result = invoke("check", str(chain), "--format", "concise", "--sarif-output", str(sarif))
    assert result.exit_code == 1
    assert all(CONCISE.match(l) for l in result.output.splitlines())
    doc = json.loads(sarif.read_text())
    validate_sarif(doc)
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    assert {r["ruleId"] for r in run["results"]} == {"AL101", "AL102"}
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"backend/app/main.py"}


def test_sarif_when_clean_has_results(tmp_path):
    make_project(tmp_path, {"app/main.py": VERSIONED})
    result = invoke("check", str(tmp_path), "--format", "sarif")
    doc = json.loads(result.output)
    validate_sarif(doc)
    assert doc["runs"][0]["results"] == []


def test_output_file_and_github_format(chain, tmp_path):
    out = tmp_path / "annotations.txt"
    result = invoke("check", str(chain), "--format", "github", "--output", str(out))
    assert result.output == ""
    text = out.read_text()
    assert text.startswith("::error file=backend/app/main.py,line=10,col=1,")
    assert "::notice file=" in text


def test_text_colour_follows_tty_and_no_color(chain):
    plain = invoke("check", str(chain))
    assert "\x1b[" not in plain.output and "backend/app/main.py" in plain.output
    forced = invoke("check", str(chain), "--color")
    assert "\x1b[" in forced.output
    assert "\x1b[" not in invoke("check", str(chain), env={"NO_COLOR": "1", "FORCE_COLOR": "1"}).output


def test_explicit_colour_option_beats_the_environment(chain):
    assert "\x1b[" in invoke("check", str(chain), "--color", env={"NO_COLOR": "1"}).output
    assert "\x1b[" in invoke("check", str(chain), "--color", env={"TERM": "dumb"}).output
    assert "\x1b[" not in invoke("check", str(chain), "--no-color", env={"FORCE_COLOR": "1"}).output


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, True),
        ({"TERM": "dumb"}, False),
        ({"NO_COLOR": "1"}, False),
        ({"TERM": "dumb", "FORCE_COLOR": "1"}, True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        ({"TERM": "xterm-256color"}, True),
    ],
)
def test_default_colour_on_a_terminal(monkeypatch, env, expected):
    from archlint.cli import _color

    class Terminal:
        def isatty(self) -> bool:
            return True

    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _color(Terminal()) is expected


def test_paths_are_relative_to_the_git_root(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    make_project(repo / "backend", {"app/main.py": UNVERSIONED})
    monkeypatch.chdir(tmp_path)
    result = invoke("check", str(repo / "backend"), "--format", "json")
    assert json.loads(result.output)["findings"][0]["path"] == "backend/app/main.py"
    # concise paths are relative to the current directory instead
    result = invoke("check", str(repo / "backend"), "--format", "concise")
    assert result.output.startswith("repo/backend/app/main.py:6:2: AL101 [error] ")


# --------------------------------------------------------- real subprocess
def test_installed_console_script(chain):
    exe = Path(sys.executable).parent / "archlint"
    if not exe.exists():
        exe = shutil.which("archlint")
    assert exe, "the archlint console script is installed with the package"
    proc = subprocess.run([str(exe), "check", str(chain), "--format", "concise"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert all(CONCISE.match(l) for l in proc.stdout.splitlines())
    bad = subprocess.run([str(exe), "check", str(chain / "missing")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize("code", ["AL122", "AL124"])
def test_explain_tells_what_a_plain_check_does(code, tmp_path):
    """`explain` says whether the default pack runs the rule, and a plain check on its own example agrees."""
    from test_rule_examples import write_example

    from archlint.checks import rule_by_id
    from archlint.engine import Overrides, run

    rule = rule_by_id(code)
    write_example(rule.INVALID[0], tmp_path)
    reported = any(f.rule_id == code for f in run([tmp_path], Overrides()).report.findings)
    text = invoke("explain", code, "--config", str(tmp_path / "pyproject.toml")).output
    assert ("Enabled: on" in text) is reported
    assert ("Enabled: off" in text) is not reported
    if reported:  # the docs must not claim otherwise
        assert "Off in the default pack" not in text
