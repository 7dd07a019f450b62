"""The output formats, each checked precisely on hand-built reports."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sarif_check import validate_sarif

from archlint import __version__
from archlint.model import Finding, Related, Report, RuleInfo, Severity, Span
from archlint.report import FORMATS, render, write_atomic
from archlint.report.concise import PATTERN as CONCISE_PATTERN

MAIN = "app/main.py"
MAIN_SOURCE = 'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/users")\ndef users():\n\treturn db.query()\n'
ODD = "ünï dir/my file.py"  # non-ASCII with a space: must be percent-encoded in SARIF
ODD_SOURCE = 'token = "😀é" + "hunter2"\n'  # 😀 is two UTF-16 code units and two cells wide

CONCISE_RE = re.compile(r"^(.+?):(\d+):(\d+): ([A-Z][A-Z0-9]*\d+) (.*)$")

RULES = [
    RuleInfo(
        id="S1",
        name="UnversionedRoute",
        standard="S1",
        severity=Severity.ERROR,
        summary="Routes must live under a versioned prefix.",
        what="Flags routes registered outside /v1, /v2, ...",
        why="Clients break when unversioned routes change.",
        tags=("api",),
    ),
    RuleInfo(
        id="S2",
        name="DatabaseInHandler",
        standard="S4",
        severity=Severity.WARNING,
        summary="Handlers must not query the database directly.",
        precision="medium",
        help_uri="https://example.com/rules/s2",
    ),
    RuleInfo(
        id="SEC1",
        name="HardcodedSecret",
        standard="S9",
        severity=Severity.ERROR,
        summary="Secrets must not be hard-coded.",
        security_severity=7.5,
        tags=("secrets",),
    ),
]


def make_findings() -> list[Finding]:
    return [
        Finding(
            "SEC1",
            "Hard-coded secret",
            ODD,
            Span(1, 17, 1, 26),
            Severity.ERROR,
            "S9",
            fingerprint="fp-sec1",
        ),
        Finding(
            "S2",
            "Handler queries the database directly.\nMove the query into a repository.",
            MAIN,
            Span(5, 2, 5, 8),
            Severity.WARNING,
            "S4",
        ),
        Finding(
            "S1",
            "Route /users is not versioned",
            MAIN,
            Span(3, 1, 3, 19),
            Severity.ERROR,
            "S1",
            related=(Related(MAIN, Span(2, 1, 2, 4), "App created without a version prefix"),),
            fingerprint="fp-s1",
        ),
        # X9 is not among report.rules: every format must still cope.
        Finding("X9", "Import cycle", MAIN, Span(1, 6, 2, 4), Severity.NOTE),
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / MAIN).write_text(MAIN_SOURCE, encoding="utf-8")
    (tmp_path / "ünï dir").mkdir()
    (tmp_path / ODD).write_text(ODD_SOURCE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def report(root: Path) -> Report:
    return Report(findings=make_findings(), rules=list(RULES), root=root, files_checked=12)


@pytest.fixture
def empty(root: Path) -> Report:
    return Report(findings=[], rules=list(RULES), root=root, files_checked=12)


def test_formats_and_unknown_format(report: Report) -> None:
    assert FORMATS == ("text", "concise", "json", "sarif", "github", "gitlab", "junit")
    for fmt in FORMATS:
        assert render(report, fmt).endswith("\n")
    with pytest.raises(ValueError, match="xml"):
        render(report, "xml")


# -- text --------------------------------------------------------------------

EXPECTED_TEXT = """\
app/main.py:1:6: X9 [note] Import cycle
  |
1 | from fastapi import FastAPI
  |      ^^^^^^^^^^^^^^^^^^^^^^
  | ... (continues to line 2)

app/main.py:3:1: S1 [error] Route /users is not versioned
  |
3 | @app.get("/users")
  | ^^^^^^^^^^^^^^^^^^
  = related: app/main.py:2:1: App created without a version prefix

app/main.py:5:2: S2 [warning] Handler queries the database directly.
    Move the query into a repository.
  |
5 |     return db.query()
  |     ^^^^^^

ünï dir/my file.py:1:17: SEC1 [error] Hard-coded secret
  |
1 | token = "😀é" + "hunter2"
  |                 ^^^^^^^^^

Found 4 problems (2 errors, 1 warning, 1 note) in 12 files.
"""


def test_text_frames_and_summary(report: Report) -> None:
    out = render(report, "text")
    assert out == EXPECTED_TEXT
    assert "\x1b" not in out


def test_text_carets_sit_under_the_span_despite_wide_and_astral_characters(report: Report) -> None:
    lines = render(report, "text").splitlines()
    source = lines.index('1 | token = "😀é" + "hunter2"')
    carets = lines[source + 1]
    # 😀 takes two terminal cells, so the carets start one cell later than the character index.
    assert carets.index("^") - len("  | ") == len('token = "😀é" + ') + 1
    assert carets.count("^") == len('"hunter2"')


def test_text_color_only_when_asked(report: Report) -> None:
    colored = render(report, "text", color=True)
    assert "\x1b[31m[error]\x1b[0m" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == EXPECTED_TEXT


def test_text_skips_the_frame_of_an_unreadable_file(report: Report) -> None:
    report.findings = [Finding("S1", "Gone", "missing.py", Span.point(3), Severity.ERROR, "S1")]
    report.files_checked = 1
    assert render(report, "text") == "missing.py:3:1: S1 [error] Gone\n\nFound 1 problem (1 error) in 1 file.\n"


def test_text_clean_summary(empty: Report) -> None:
    assert render(empty, "text") == "All checks passed (12 files).\n"
    empty.files_checked = 1
    assert render(empty, "text") == "All checks passed (1 file).\n"


def test_text_point_at_end_of_line_gets_one_caret(root: Path) -> None:
    finding = Finding("S1", "Here", MAIN, Span.point(4, 13), Severity.NOTE, "S1")
    out = render(Report([finding], RULES, root, files_checked=1), "text")
    assert "4 | def users():\n  |             ^\n" in out
    assert out.endswith("Found 1 problem (1 note) in 1 file.\n")


# -- concise -----------------------------------------------------------------


def test_concise_lines(report: Report) -> None:
    out = render(report, "concise")
    assert out.splitlines() == [
        "app/main.py:1:6: X9 [note] Import cycle",
        "app/main.py:3:1: S1 [error] Route /users is not versioned",
        "app/main.py:5:2: S2 [warning] Handler queries the database directly. Move the query into a repository.",
        "ünï dir/my file.py:1:17: SEC1 [error] Hard-coded secret",
    ]
    for line in out.splitlines():
        match = CONCISE_RE.match(line)
        assert match, line
    assert CONCISE_RE.match(out.splitlines()[-1]).groups() == (ODD, "1", "17", "SEC1", "[error] Hard-coded secret")
    # The README's problem-matcher pattern reads the severity too.
    matcher = re.compile(CONCISE_PATTERN)
    assert [matcher.match(line).group(5) for line in out.splitlines()] == ["note", "error", "warning", "error"]
    assert matcher.match(out.splitlines()[-1]).group(6) == "Hard-coded secret"


def test_concise_paths_are_relative_to_the_current_directory(report: Report, root: Path) -> None:
    """As Ruff prints them: relative under the current directory, absolute elsewhere."""
    inside = render(report, "concise", cwd=root / "app").splitlines()
    assert inside[0].startswith("main.py:1:6: X9 [note] ")
    assert inside[-1].startswith(f"{(root / ODD).as_posix()}:1:17: SEC1 ")
    assert render(report, "concise", cwd=root).splitlines()[0].startswith("app/main.py:1:6: ")


def test_concise_is_silent_when_clean(empty: Report) -> None:
    assert render(empty, "concise") == ""


# -- github ------------------------------------------------------------------


def test_github_commands(report: Report) -> None:
    assert render(report, "github").splitlines() == [
        "::notice file=app/main.py,line=1,col=6,endLine=2,endColumn=4,title=X9::Import cycle",
        "::error file=app/main.py,line=3,col=1,endLine=3,endColumn=19,title=S1::Route /users is not versioned",
        "::warning file=app/main.py,line=5,col=2,endLine=5,endColumn=8,title=S2::"
        "Handler queries the database directly.%0AMove the query into a repository.",
        "::error file=ünï dir/my file.py,line=1,col=17,endLine=1,endColumn=26,title=SEC1::Hard-coded secret",
    ]


def test_github_escaping(root: Path) -> None:
    finding = Finding("S1", "100% wrong:\r\nsee a,b", "odd:name,1%.py", Span(1, 2, 3, 4), Severity.ERROR)
    out = render(Report([finding], [], root), "github")
    assert out == ("::error file=odd%3Aname%2C1%25.py,line=1,col=2,endLine=3,endColumn=4,title=S1::100%25 wrong:%0D%0Asee a,b\n")


def test_github_is_silent_when_clean(empty: Report) -> None:
    assert render(empty, "github") == ""


# -- json --------------------------------------------------------------------


def test_json_document(report: Report) -> None:
    text = render(report, "json")
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert doc["tool"] == {"name": "archlint", "version": __version__}
    assert doc["root"] == str(report.root)
    assert doc["summary"] == {"files": 12, "generated_files_skipped": 0, "errors": 2, "warnings": 1, "notes": 1}
    assert [f["rule"] for f in doc["findings"]] == ["X9", "S1", "S2", "SEC1"]
    assert doc["findings"][1] == {
        "rule": "S1",
        "standard": "S1",
        "severity": "error",
        "message": "Route /users is not versioned",
        "path": MAIN,
        "line": 3,
        "column": 1,
        "end_line": 3,
        "end_column": 19,
        "fingerprint": "fp-s1",
        "related": [
            {
                "path": MAIN,
                "line": 2,
                "column": 1,
                "end_line": 2,
                "end_column": 4,
                "message": "App created without a version prefix",
            }
        ],
    }
    assert doc["findings"][0]["standard"] is None


def test_json_round_trips_every_finding(report: Report) -> None:
    doc = json.loads(render(report, "json"))
    rebuilt = [
        Finding(
            rule_id=f["rule"],
            message=f["message"],
            path=f["path"],
            span=Span(f["line"], f["column"], f["end_line"], f["end_column"]),
            severity=Severity.parse(f["severity"]),
            standard=f["standard"],
            related=tuple(
                Related(r["path"], Span(r["line"], r["column"], r["end_line"], r["end_column"]), r["message"])
                for r in f["related"]
            ),
            fingerprint=f["fingerprint"],
        )
        for f in doc["findings"]
    ]
    assert rebuilt == sorted(report.findings, key=Finding.sort_key)


def test_json_when_clean(empty: Report) -> None:
    doc = json.loads(render(empty, "json"))
    assert doc["findings"] == []
    assert doc["summary"] == {"files": 12, "generated_files_skipped": 0, "errors": 0, "warnings": 0, "notes": 0}


# -- sarif -------------------------------------------------------------------


def _sarif(report: Report) -> dict:
    text = render(report, "sarif")
    assert text.endswith("}\n")
    validate_sarif(text, strict=True)
    return json.loads(text)


def test_sarif_log_and_run(report: Report) -> None:
    log = _sarif(report)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "archlint"
    assert driver["version"] == driver["semanticVersion"] == __version__
    assert driver["informationUri"] == report.information_uri
    assert run["columnKind"] == "utf16CodeUnits"
    assert run["invocations"] == [{"executionSuccessful": True}]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    assert Path(unquote(urlparse(base).path)) == report.root


def test_sarif_rules(report: Report) -> None:
    rules = _sarif(report)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["S1", "S2", "SEC1", "X9"]
    s1, s2, sec1, x9 = rules
    assert s1 == {
        "id": "S1",
        "name": "UnversionedRoute",
        "shortDescription": {"text": "Routes must live under a versioned prefix."},
        "fullDescription": {"text": "Flags routes registered outside /v1, /v2, ..."},
        "help": {"text": RULES[0].help_text(), "markdown": RULES[0].help_markdown()},
        "helpUri": "https://github.com/archlint/archlint#s1",
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["api", "S1"], "precision": "high", "standard": "S1"},
    }
    assert s2["helpUri"] == "https://example.com/rules/s2"
    assert s2["defaultConfiguration"] == {"level": "warning"}
    assert s2["properties"] == {"tags": ["S4"], "precision": "medium", "standard": "S4"}
    assert sec1["properties"] == {
        "tags": ["secrets", "S9", "security"],
        "precision": "high",
        "standard": "S9",
        "security-severity": "7.5",
    }
    assert "security-severity" not in s1["properties"] and "security-severity" not in s2["properties"]
    # The stand-in for the rule missing from report.rules.
    assert x9["id"] == "X9" and x9["name"] == "RuleX9"
    assert x9["defaultConfiguration"] == {"level": "note"}
    assert "security-severity" not in x9["properties"]


def test_sarif_results(report: Report) -> None:
    run = _sarif(report)["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["X9", "S1", "S2", "SEC1"]
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"].endswith(".")
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    x9, s1, s2, sec1 = results
    assert x9["level"] == "note" and "partialFingerprints" not in x9
    assert x9["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1,
        "startColumn": 6,
        "endLine": 2,
        "endColumn": 4,
    }
    assert s1["message"] == {"text": "Route /users is not versioned."}
    assert s1["partialFingerprints"] == {"archlint/v2": "fp-s1"}
    assert s1["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "app/main.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 2, "startColumn": 1, "endLine": 2, "endColumn": 4},
            },
            "message": {"text": "App created without a version prefix."},
        }
    ]
    assert s2["level"] == "warning"
    assert s2["message"]["text"] == "Handler queries the database directly.\nMove the query into a repository."
    assert sec1["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "%C3%BCn%C3%AF%20dir/my%20file.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1, "startColumn": 17, "endLine": 1, "endColumn": 26},
    }
    assert sec1["partialFingerprints"] == {"archlint/v2": "fp-sec1"}


def test_sarif_when_clean_still_has_results_and_rules(empty: Report) -> None:
    run = _sarif(empty)["runs"][0]
    assert run["results"] == []
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["S1", "S2", "SEC1"]


def test_sarif_with_no_rules_at_all(root: Path) -> None:
    run = _sarif(Report([], [], root))["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


def test_sarif_regions_never_run_backwards(root: Path) -> None:
    odd = Finding("S1", "", MAIN, Span(3, 5, 3, 2), Severity.ERROR, "S1")
    (result,) = _sarif(Report([odd], RULES, root))["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3,
        "startColumn": 5,
        "endLine": 3,
        "endColumn": 5,
    }
    assert result["message"]["text"].endswith(".")


def test_validate_sarif_reports_every_schema_error() -> None:
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"message": {}}]}], "x": 1}
    with pytest.raises(AssertionError) as info:
        validate_sarif(broken)
    text = str(info.value)
    assert "'x' was unexpected" in text
    assert "'name' is a required property" in text
    assert "/runs/0/results/0/message" in text


# -- write_atomic ------------------------------------------------------------


def test_write_atomic_replaces_the_file(tmp_path: Path, report: Report) -> None:
    target = tmp_path / "out.sarif"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, render(report, "sarif"))
    assert json.loads(target.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["out.sarif"]


def test_write_atomic_keeps_the_old_file_when_rendering_raises(
    tmp_path: Path, report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archlint.report.sarif as sarif

    target = tmp_path / "out.sarif"
    target.write_text("previous run", encoding="utf-8")

    def boom(_report: Report) -> str:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(sarif, "render", boom)
    with pytest.raises(RuntimeError):
        write_atomic(target, render(report, "sarif"))
    assert target.read_text(encoding="utf-8") == "previous run"
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["out.sarif"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_write_atomic_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "out.sarif"
    target.write_text("previous run", encoding="utf-8")

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new content that never lands")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["out.sarif"]


def test_write_atomic_creates_a_new_file_with_exact_text(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    write_atomic(str(target), "ünï\r\nline\n")
    assert target.read_bytes() == "ünï\r\nline\n".encode()
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_validate_sarif_runs_the_multitool_github_rules() -> None:
    import sarif_check

    if sarif_check.find_multitool() is None:
        pytest.skip("SARIF multitool not installed")
    # Schema-valid, but GitHub code scanning needs tool.driver.rules (multitool rule GH1018).
    no_rules = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x", "version": "1.0", "informationUri": "https://x.test"}}, "results": []}],
    }
    with pytest.raises(AssertionError, match="GH1018"):
        validate_sarif(no_rules)
