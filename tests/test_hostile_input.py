"""Hostile repositories (issue 21): one bad file is one finding, nothing outside the project is read,
no input grows without bound, and no file name or message can break or inject into an output format.

Every project here is generated in tmp_path; each test is the minimal shape of one attack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sarif_check import validate_sarif

from archlint.cli import cli
from archlint.fsio import ReadRefused, read_bytes

FORMATS = ("text", "concise", "json", "sarif", "github")
#: A finding every checked Python file gives under this selection: `import openai` (AL630).
FLAGGED = "import openai\n"
CONFIG = '[tool.archlint]\nselect = ["AL0", "AL630"]\n'
CONCISE = re.compile(r"^(.+?):(\d+):(\d+): ([A-Z][A-Z0-9]*\d+) (.*)$")


def project(root: Path, files: dict[str, str] | None = None, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def check(root: Path, *args: str):
    """Run `archlint check` in-process from the project root (concise paths are relative to the current directory);
    internal errors are turned into exit 2 by the CLI itself."""
    here = os.getcwd()
    os.chdir(root if root.is_dir() else root.parent)
    try:
        return CliRunner().invoke(cli, ["check", str(root), *args])
    finally:
        os.chdir(here)


def concise(result) -> list[tuple[str, str, str]]:
    out = []
    for line in result.stdout.splitlines():
        m = CONCISE.match(line)
        assert m, f"not a concise line: {line!r}"
        out.append((m.group(1), m.group(4), re.sub(r"^\[(error|warning|note)\] ", "", m.group(5))))
    return out


def assert_clean_exit(result) -> None:
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    assert "internal error" not in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- #
# Special files
# --------------------------------------------------------------------------- #


def test_a_fifo_named_like_python_is_one_finding_and_never_read(tmp_path):
    root = project(tmp_path / "p", {"ok.py": FLAGGED})
    os.mkfifo(root / "x.py")
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    assert ("x.py", "AL001", "The file cannot be read: it is a FIFO, not a regular file.") in concise(result)
    assert ("ok.py", "AL630") in {(p, r) for p, r, _ in concise(result)}


def test_a_link_to_a_device_is_not_read(tmp_path):
    root = project(tmp_path / "p")
    (root / "z.py").symlink_to("/dev/zero")
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    # /dev/zero is outside the project: refused before it is ever opened.
    assert concise(result) == [("z.py", "AL001", "The file cannot be read: it is a symbolic link to a file outside the project.")]


def test_a_device_inside_the_project_is_refused_as_not_regular(tmp_path):
    # The reader itself, with the device's directory as the root: never opened, never read.
    with pytest.raises(ReadRefused, match="character device, not a regular file"):
        read_bytes("/dev/zero", root="/dev", limit=None)


def test_a_link_loop_is_one_finding(tmp_path):
    root = project(tmp_path / "p", {"ok.py": FLAGGED})
    (root / "self.py").symlink_to("self.py")
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    assert ("self.py", "AL001", "The file cannot be read: it is a symbolic link loop.") in concise(result)


def test_a_link_inside_the_project_is_followed(tmp_path):
    root = project(tmp_path / "p", {"real/mod.py": FLAGGED})
    (root / "alias.py").symlink_to(root / "real" / "mod.py")
    result = check(root, "--format", "concise")
    assert {(p, r) for p, r, _ in concise(result)} == {("alias.py", "AL630"), ("real/mod.py", "AL630")}


def test_nothing_outside_the_project_is_read_through_a_link(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    root = project(tmp_path / "p")
    (root / "passwd.py").symlink_to(secret)
    for fmt in FORMATS:
        result = check(root, "--format", fmt, "--no-color")
        assert_clean_exit(result)
        assert "root:x:0:0" not in result.output, fmt


def test_an_oversized_file_is_skipped_with_the_limit_named(tmp_path):
    config = CONFIG + "[tool.archlint.limits]\nfile-size = 100\n"
    root = project(tmp_path / "p", {"big.py": FLAGGED + "x = 1\n" * 50, "small.py": FLAGGED}, config)
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    found = concise(result)
    assert ("small.py", "AL630") in {(p, r) for p, r, _ in found}
    [(path, rule, message)] = [f for f in found if f[0] == "big.py"]
    assert (rule, message) == (
        "AL001",
        "The file was skipped: it is larger than the size limit (314 bytes > 100); [limits] file-size sets the limit.",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_an_unreadable_file_directory_and_gitignore_are_findings(tmp_path):
    root = project(tmp_path / "p", {"ok.py": FLAGGED, "locked/inner.py": FLAGGED, "secret.py": FLAGGED, ".gitignore": "ok.py\n"})
    (root / "locked").chmod(0)
    (root / "secret.py").chmod(0)
    (root / ".gitignore").chmod(0)
    try:
        result = check(root, "--format", "concise")
    finally:
        for p in ("locked", "secret.py", ".gitignore"):
            (root / p).chmod(0o755)
    assert_clean_exit(result)
    rules = {(p, r) for p, r, _ in concise(result)}
    assert {("locked", "AL001"), ("secret.py", "AL001"), (".gitignore", "AL001"), ("ok.py", "AL630")} <= rules


def test_an_unlistable_directory_is_one_finding(tmp_path, monkeypatch):
    # The same as above for root, who can list any directory: the walk's listing fails as it would for a user.
    root = project(tmp_path / "p", {"ok.py": FLAGGED, "locked/inner.py": FLAGGED})
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    assert (
        "locked",
        "AL001",
        "The directory cannot be listed (permission denied), so none of its files were checked.",
    ) in concise(result)
    assert ("ok.py", "AL630") in {(p, r) for p, r, _ in concise(result)}


def test_an_unreadable_gitignore_is_one_finding(tmp_path, monkeypatch):
    root = project(tmp_path / "p", {"ok.py": FLAGGED, ".gitignore": "ok.py\n"})
    (root / ".gitignore").unlink()
    (root / ".gitignore").symlink_to("/etc/hostname")  # outside the project: not read
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    found = concise(result)
    assert (".gitignore", "AL001") in {(p, r) for p, r, _ in found}
    assert ("ok.py", "AL630") in {(p, r) for p, r, _ in found}


def test_a_path_longer_than_path_max_is_one_finding(tmp_path):
    root = project(tmp_path / "p", {"ok.py": FLAGGED})
    fd = os.open(root, os.O_RDONLY)
    name = "d" * 250
    try:
        for _ in range(20):  # 20 x 251 bytes: past PATH_MAX (4096) on Linux
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("deep.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as handle:
            handle.write(FLAGGED)
    finally:
        os.close(fd)
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    found = concise(result)
    assert ("ok.py", "AL630") in {(p, r) for p, r, _ in found}
    long = [f for f in found if f[0].startswith("d" * 250)]
    assert long and all(rule == "AL001" and "longer than the system allows" in msg for _, rule, msg in long)


# --------------------------------------------------------------------------- #
# OpenAPI documents
# --------------------------------------------------------------------------- #

OPENAPI_CONFIG = '[tool.archlint]\nselect = ["AL7"]\n'
HEAD = 'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths: {}\n'


def test_an_openapi_fifo_and_a_link_out_are_findings(tmp_path):
    root = project(tmp_path / "p", config=OPENAPI_CONFIG)
    os.mkfifo(root / "openapi.json")
    (root / "api").mkdir()
    (root / "api" / "openapi.yaml").symlink_to("/etc/passwd")
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    assert concise(result) == [
        (
            "api/openapi.yaml",
            "AL702",
            "The OpenAPI document cannot be read: it is a symbolic link to a file outside the project.",
        ),
        ("openapi.json", "AL702", "The OpenAPI document cannot be read: it is a FIFO, not a regular file."),
    ]


def test_a_configured_document_outside_the_project_is_not_read(tmp_path):
    config = OPENAPI_CONFIG + 'openapi = ["../../../../../../../../etc/passwd"]\n'
    root = project(tmp_path / "p", config=config)
    result = check(root, "--format", "text", "--no-color")
    assert_clean_exit(result)
    assert "root:" not in result.output
    [(path, rule, message)] = concise(check(root, "--format", "concise"))
    assert (path, rule) == ("pyproject.toml", "AL702") and "outside the project, so it was not read" in message


def test_the_operator_may_name_a_document_anywhere(tmp_path):
    outside = tmp_path / "elsewhere" / "openapi.yaml"
    outside.parent.mkdir()
    outside.write_text(HEAD.replace("3.1.0", "3.0.3"), encoding="utf-8")
    root = project(tmp_path / "p", config=OPENAPI_CONFIG)
    result = check(root, "--openapi", str(outside), "--format", "concise")
    # Outside the current directory, concise paths are absolute (as Ruff prints them).
    assert (str(outside), "AL703") in {(p, r) for p, r, _ in concise(result)}


@pytest.mark.parametrize(
    "body, message",
    [
        ("x-loop: &x [*x]\n", "a YAML alias refers to a node that contains it (a cycle)"),
        ("x-map: &m {a: *m}\n", "a YAML alias refers to a node that contains it (a cycle)"),
    ],
)
def test_a_recursive_yaml_alias_is_skipped(tmp_path, body, message):
    root = project(tmp_path / "p", {"openapi.yaml": HEAD + body}, OPENAPI_CONFIG)
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    assert concise(result) == [("openapi.yaml", "AL702", f"The document was skipped: {message}.")]


def _alias_bomb() -> str:
    text = HEAD + 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def test_an_alias_bomb_is_skipped_at_the_node_limit(tmp_path):
    bomb = _alias_bomb()
    assert len(bomb) < 1700  # 9**9 nodes once expanded
    root = project(tmp_path / "p", {"openapi.yaml": bomb}, OPENAPI_CONFIG)
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    [(path, rule, message)] = concise(result)
    assert (path, rule) == ("openapi.yaml", "AL702")
    assert "expands to more than 1,000,000 nodes" in message and "[limits] openapi-nodes" in message


def test_document_limits_come_from_the_configuration(tmp_path):
    doc = json.dumps({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "x": ["a"] * 50})
    config = OPENAPI_CONFIG + "[tool.archlint.limits]\nopenapi-size = 100\n"
    root = project(tmp_path / "p", {"openapi.json": doc}, config)
    [(_, rule, message)] = concise(check(root, "--format", "concise"))
    assert rule == "AL702" and "skipped" in message and "[limits] openapi-size" in message
    config = OPENAPI_CONFIG + "[tool.archlint.limits]\nopenapi-nodes = 20\n"
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    [(_, rule, message)] = concise(check(root, "--format", "concise"))
    assert rule == "AL702" and "more than 20 nodes" in message
    deep = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    node = deep
    for _ in range(70):
        node["x-n"] = {}
        node = node["x-n"]
    (root / "openapi.json").write_text(json.dumps(deep), encoding="utf-8")
    (root / "pyproject.toml").write_text(OPENAPI_CONFIG, encoding="utf-8")
    [(_, rule, message)] = concise(check(root, "--format", "concise"))
    assert rule == "AL702" and "deeper than 64 levels" in message


def test_a_huge_integer_and_a_lone_surrogate_crash_no_format(tmp_path):
    text = (
        '{"openapi": "3.1.0", "info": {"title": "t\\ud800", "version": "1", "x-n": ' + "9" * 5000 + "},"
        ' "paths": {"/a\\ud800": {"get": {"responses": {"200": {"description": "ok"}}}}}}'
    )
    root = project(tmp_path / "p", {"openapi.json": text}, OPENAPI_CONFIG)
    for fmt in FORMATS:
        result = check(root, "--format", fmt, "--no-color")
        assert_clean_exit(result)
        assert result.exit_code == 1
        if fmt == "sarif":
            validate_sarif(result.stdout)
        if fmt in ("json", "sarif"):
            json.loads(result.stdout)
    lines = concise(check(root, "--format", "concise"))
    assert ("openapi.json", "AL710", "The path `/a\\ud800` is not versioned: paths must match `^/api/v[0-9]+(/|$)`.") in lines


# --------------------------------------------------------------------------- #
# Names and messages in every format
# --------------------------------------------------------------------------- #


def _bytes_project(tmp_path: Path) -> Path:
    root = project(tmp_path / "p")
    # os.fsencode of the str name gives back the raw bytes: caf\xe9 is not UTF-8.
    with open(os.path.join(os.fsencode(root), b"caf\xe9.py"), "w", encoding="utf-8") as handle:
        handle.write(FLAGGED)
    return root


def test_a_non_utf8_file_name_is_escaped_in_every_format(tmp_path):
    root = _bytes_project(tmp_path)
    for fmt in FORMATS:
        result = check(root, "--format", fmt, "--no-color")
        assert result.exit_code == 1, (fmt, result.output)
        shown = {"json": "caf\\\\xe9.py", "sarif": "caf%E9.py"}.get(fmt, "caf\\xe9.py")
        assert shown in result.stdout, fmt
        if fmt == "sarif":
            validate_sarif(result.stdout)
            log = json.loads(result.stdout)
            uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri == "caf%E9.py"  # the file's own bytes, percent-encoded
        if fmt == "json":
            assert json.loads(result.stdout)["findings"][0]["path"] == "caf\\xe9.py"


INJECTION = "a\n::error file=README.md,line=1::injected\nb.py"


def test_a_newline_in_a_file_name_cannot_inject_a_workflow_command(tmp_path):
    root = project(tmp_path / "p", {INJECTION: FLAGGED})
    for fmt in ("text", "concise", "github"):
        result = check(root, "--format", fmt, "--no-color")
        assert result.exit_code == 1
        for line in result.stdout.splitlines():
            assert not line.startswith("::error file=README.md"), (fmt, line)
    assert concise(check(root, "--format", "concise"))[0][0] == "a\\n::error file=README.md,line=1::injected\\nb.py"


def test_terminal_sequences_and_binary_files_never_reach_the_terminal(tmp_path):
    root = project(tmp_path / "p", {"esc.py": "import openai  # \x1b[2J\x1b]0;owned\x07 \u202e\n"})
    (root / "font.py").write_bytes(b"\x00\x01binary\x1b[31m\nimport openai\n")
    result = check(root, "--format", "text", "--no-color")
    assert_clean_exit(result)
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "1 | import openai  # \\x1b[2J\\x1b]0;owned\\x07 \\u202e" in out
    assert "  |        ^^^^^^" in out  # the caret still under `openai`
    # The binary file gets its finding (it parses as no Python: AL001) but never a code frame.
    assert "binary" not in out


def test_the_subprocess_run_prints_escaped_names(tmp_path):
    root = _bytes_project(tmp_path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "archlint", "check", str(root), "--format", "text"], capture_output=True, env=env, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    assert b"caf\\xe9.py:1:8: AL630" in proc.stdout
    assert proc.stderr == b""


def test_a_special_configuration_file_is_one_line_and_exit_2(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "app.py").write_text(FLAGGED, encoding="utf-8")
    os.mkfifo(root / "pyproject.toml")
    result = check(root, "--format", "concise")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"archlint: error: {root / 'pyproject.toml'}: cannot be read: it is a FIFO, not a regular file"
    ]


def test_a_fifo_gitignore_is_one_finding(tmp_path):
    root = project(tmp_path / "p", {"ok.py": FLAGGED})
    os.mkfifo(root / ".gitignore")
    result = check(root, "--format", "concise")
    assert_clean_exit(result)
    assert (
        ".gitignore",
        "AL001",
        "The .gitignore cannot be read (it is a FIFO, not a regular file), so its patterns were not applied.",
    ) in concise(result)


def test_inventory_reads_no_special_document(tmp_path):
    root = project(tmp_path / "p", {"app.py": "from fastapi import FastAPI\napp = FastAPI()\n"})
    os.mkfifo(root / "openapi.json")
    result = CliRunner().invoke(cli, ["inventory", str(root)])
    assert result.exit_code == 0, result.output
    [doc] = (
        json.loads(result.stdout)["documentation"]["openapi_documents"]
        if "openapi_documents" in json.loads(result.stdout)["documentation"]
        else [None]
    )
    assert doc is None or "error" in doc
