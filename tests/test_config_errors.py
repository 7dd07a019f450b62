"""Every configuration or usage mistake: exit 2, ONE line on stderr, naming the file and the key (issue 21).

The table is the minimal shape of each mistake; the expected fragments are what a user needs to fix
it: the file (``pyproject.toml`` or the pack), the key, and the TOML line where tomllib gives one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archlint.cli import cli

GOOD = "from fastapi import FastAPI\napp = FastAPI()\n"
PACK_HEADER = 'extends = "backend-architect"\n'

#: (id, pyproject.toml text (bytes allowed), extra files, extra CLI args, fragments the one line must contain)
CASES = [
    ("tool-not-a-table", "tool = 5\n", {}, [], ["pyproject.toml", "'tool'", "must be a table"]),
    ("archlint-not-a-table", "[tool]\narchlint = 5\n", {}, [], ["pyproject.toml", "'tool.archlint'", "must be a table"]),
    ("not-utf8", b'[tool.archlint]\nselect = ["\xff"]\n', {}, [], ["pyproject.toml", "not UTF-8"]),
    ("bad-toml", "[tool.archlint]\nselect = ]\n", {}, [], ["pyproject.toml", "invalid TOML", "line 2"]),
    ("unknown-key", "[tool.archlint]\nselects = []\n", {}, [], ["pyproject.toml", "unknown key 'selects'"]),
    ("select-not-list", "[tool.archlint]\nselect = 5\n", {}, [], ["pyproject.toml", "'select'", "list of rule codes"]),
    (
        "select-unknown-code",
        '[tool.archlint]\nselect = ["AL999"]\n',
        {},
        [],
        ["pyproject.toml", "'select'", "'AL999' matches no rule"],
    ),
    ("select-not-a-code", '[tool.archlint]\nselect = ["E501"]\n', {}, [], ["pyproject.toml", "'select'", "'E501'"]),
    (
        "enabled-string",
        '[tool.archlint.rules.AL101]\nenabled = "no"\n',
        {},
        [],
        ["pyproject.toml", "rules.AL101", "'enabled'", "true or false"],
    ),
    ("enabled-int", "[tool.archlint.rules.AL101]\nenabled = 0\n", {}, [], ["pyproject.toml", "rules.AL101", "'enabled'"]),
    (
        "severity-unknown",
        '[tool.archlint.rules.AL101]\nseverity = "fatal"\n',
        {},
        [],
        ["pyproject.toml", "rules.AL101", "'severity'", "'fatal'"],
    ),
    (
        "severity-not-string",
        "[tool.archlint.rules.AL101]\nseverity = 1\n",
        {},
        [],
        ["pyproject.toml", "rules.AL101", "'severity'"],
    ),
    ("rule-unknown", "[tool.archlint.rules.AL999]\nenabled = false\n", {}, [], ["pyproject.toml", "unknown rule 'AL999'"]),
    (
        "rule-option-unknown",
        "[tool.archlint.rules.AL101]\nnope = 1\n",
        {},
        [],
        ["pyproject.toml", "rules.AL101", "unknown key 'nope'"],
    ),
    ("rule-not-table", "[tool.archlint.rules]\nAL101 = 5\n", {}, [], ["pyproject.toml", "'rules.AL101'", "must be a table"]),
    (
        "rule-twice",
        "[tool.archlint.rules.AL101]\nenabled = false\n[tool.archlint.rules.al101]\nenabled = true\n",
        {},
        [],
        ["pyproject.toml", "'al101' is given twice"],
    ),
    ("fail-on-int", "[tool.archlint]\nfail-on = 3\n", {}, [], ["pyproject.toml", "'fail-on'"]),
    ("fail-on-unknown", '[tool.archlint]\nfail-on = "fatal"\n', {}, [], ["pyproject.toml", "'fail-on'", "'fatal'"]),
    ("gitignore-string", '[tool.archlint]\nrespect-gitignore = "yes"\n', {}, [], ["pyproject.toml", "'respect-gitignore'"]),
    ("exclude-string", '[tool.archlint]\nexclude = "legacy/"\n', {}, [], ["pyproject.toml", "'exclude'", "list of strings"]),
    ("src-ints", "[tool.archlint]\nsrc = [1]\n", {}, [], ["pyproject.toml", "'src'", "list of strings"]),
    ("openapi-string", '[tool.archlint]\nopenapi = "openapi.json"\n', {}, [], ["pyproject.toml", "'openapi'"]),
    ("pfi-not-table", "[tool.archlint]\nper-file-ignores = 5\n", {}, [], ["pyproject.toml", "'per-file-ignores'"]),
    (
        "pfi-bad-code",
        '[tool.archlint.per-file-ignores]\n"a.py" = ["X1"]\n',
        {},
        [],
        ["pyproject.toml", 'per-file-ignores."a.py"', "'X1'"],
    ),
    ("standards-not-table", "[tool.archlint]\nstandards = 5\n", {}, [], ["pyproject.toml", "'standards'"]),
    ("standard-unknown-option", "[tool.archlint.standards.S1]\nnope = 1\n", {}, [], ["pyproject.toml", "standards.S1", "'nope'"]),
    (
        "standard-bad-regex",
        '[tool.archlint.standards.S1]\nroute-pattern = "("\n',
        {},
        [],
        ["pyproject.toml", "'route-pattern'", "regular expression"],
    ),
    (
        "standard-wrong-type",
        "[tool.archlint.standards.S13]\nauth-limits = 5\n",
        {},
        [],
        ["pyproject.toml", "'auth-limits'", "table"],
    ),
    (
        "limits-negative",
        "[tool.archlint.limits]\nfile-size = -1\n",
        {},
        [],
        ["pyproject.toml", "'limits'", "'file-size'", "positive integer"],
    ),
    (
        "limits-unknown",
        "[tool.archlint.limits]\nfile-sise = 10\n",
        {},
        [],
        ["pyproject.toml", "'limits'", "unknown key 'file-sise'"],
    ),
    ("limits-bool", "[tool.archlint.limits]\nopenapi-nodes = true\n", {}, [], ["pyproject.toml", "'openapi-nodes'"]),
    ("pack-missing", '[tool.archlint]\npack = "nope.toml"\n', {}, [], ["pyproject.toml", "'pack'", "'nope.toml'"]),
    ("pack-not-string", "[tool.archlint]\npack = 5\n", {}, [], ["pyproject.toml", "'pack'", "string"]),
    (
        "pack-outside",
        '[tool.archlint]\npack = "../outside.toml"\n',
        {"../outside.toml": PACK_HEADER},
        [],
        ["outside.toml", "outside the project"],
    ),
    # An error inside the pack names the pack, not pyproject.toml.
    (
        "pack-bad-severity",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": PACK_HEADER + '[rules.AL101]\nseverity = "loud"\n'},
        [],
        ["team.toml", "rules.AL101", "'severity'"],
    ),
    (
        "pack-bad-enabled",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": PACK_HEADER + '[rules.AL101]\nenabled = "no"\n'},
        [],
        ["team.toml", "rules.AL101", "'enabled'"],
    ),
    (
        "pack-bad-toml",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": "extends = \n"},
        [],
        ["team.toml", "invalid TOML", "line 1"],
    ),
    (
        "pack-unknown-key",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": PACK_HEADER + "colour = 1\n"},
        [],
        ["team.toml", "unknown key 'colour'"],
    ),
    (
        "pack-bad-limits",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": PACK_HEADER + "[limits]\nfile-size = 0\n"},
        [],
        ["team.toml", "[limits]", "'file-size'"],
    ),
    (
        "pack-bad-exclude",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": PACK_HEADER + "[analysis]\nexclude = 1\n"},
        [],
        ["team.toml", "[analysis]", "'exclude'"],
    ),
    (
        "pack-bad-option",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": PACK_HEADER + "[standards.S1]\nroute-pattern = 5\n"},
        [],
        ["team.toml", "'route-pattern'"],
    ),
    (
        "pack-extends-missing",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": 'extends = "gone.toml"\n'},
        [],
        ["team.toml", "'extends'", "'gone.toml'"],
    ),
    (
        "pack-not-utf8",
        '[tool.archlint]\npack = "team.toml"\n',
        {"team.toml": b'extends = "\xff"\n'},
        [],
        ["team.toml", "not UTF-8"],
    ),
    # Command-line mistakes: one line too.
    ("output-missing-dir", "[tool.archlint]\n", {}, ["--output", "no/such/dir/out.txt"], ["--output", "does not exist"]),
    (
        "sarif-output-missing-dir",
        "[tool.archlint]\n",
        {},
        ["--sarif-output", "no/dir/x.sarif"],
        ["--sarif-output", "does not exist"],
    ),
    ("unknown-option", "[tool.archlint]\n", {}, ["--frobnicate"], ["No such option", "--frobnicate", "archlint check --help"]),
    ("bad-format", "[tool.archlint]\n", {}, ["--format", "xml"], ["'xml'", "--format"]),
    ("cli-select-unknown", "[tool.archlint]\n", {}, ["--select", "AL999"], ["--select", "'AL999' matches no rule"]),
    ("bad-jobs", "[tool.archlint]\n", {}, ["--jobs", "0"], ["--jobs"]),
    ("missing-path", "[tool.archlint]\n", {}, ["does-not-exist"], ["does-not-exist", "does not exist"]),
    ("bad-pack-option", "[tool.archlint]\n", {}, ["--pack", "nope"], ["--pack", "'nope'"]),
]


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name, config, files, args, fragments", CASES, ids=[c[0] for c in CASES])
def test_each_bad_configuration_is_one_line_naming_file_and_key(tmp_path, monkeypatch, name, config, files, args, fragments):
    root = tmp_path / "project"
    _write(root / "pyproject.toml", config)
    _write(root / "app" / "main.py", GOOD)
    for rel, text in files.items():
        _write(root / rel, text)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["check", *(args if "missing-path" == name else [".", *args])])
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    [line] = lines
    assert line.startswith("archlint: error: "), line
    assert "internal error" not in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert result.stdout == ""


def test_lower_case_rule_tables_are_normalised(tmp_path, monkeypatch):
    """`[rules.al101]` means AL101 (codes are case-insensitive everywhere): not silently ignored."""
    root = tmp_path / "project"
    _write(
        root / "app" / "main.py",
        'from fastapi import FastAPI\napp = FastAPI()\n\n\n@app.get("/users")\n'
        'async def users() -> list[str]:\n    """Users."""\n    return []\n',
    )
    _write(root / "pyproject.toml", '[tool.archlint]\nselect = ["S1"]\n')
    monkeypatch.chdir(root)
    assert "AL101" in CliRunner().invoke(cli, ["check", ".", "--format", "concise"]).stdout
    _write(root / "pyproject.toml", '[tool.archlint]\nselect = ["S1"]\n[tool.archlint.rules.al101]\nenabled = false\n')
    result = CliRunner().invoke(cli, ["check", ".", "--format", "concise"])
    assert result.exit_code == 0 and "AL101" not in result.stdout


def test_usage_errors_of_every_command_are_one_line():
    for args in (["frobnicate"], ["rules", "--format", "xml"], ["explain"], ["inventory", "--nope"], ["--nope"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, args
        assert len(result.stderr.splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("archlint: error: ")


# --------------------------------------------------------------------------- #
# Signals and a closed standard output: real processes, real signals
# --------------------------------------------------------------------------- #

#: Runs archlint's console entry point after installing one hook (given as Python source).
RUNNER = """
import os, signal, sys
{hook}
from archlint.cli import main
sys.argv = ["archlint", *sys.argv[1:]]
main()
"""


def _run(hook: str, args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    code = RUNNER.format(hook=textwrap.dedent(hook))
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120, **kwargs
    )


@pytest.fixture
def small(tmp_path):
    _write(tmp_path / "pyproject.toml", '[tool.archlint]\nselect = ["AL630"]\n')
    _write(tmp_path / "app.py", "import openai\n")
    return tmp_path


def test_ctrl_c_exits_130_with_one_line(small):
    # A process started in the background inherits SIGINT ignored (POSIX job control), and Python then
    # installs no KeyboardInterrupt handler: give the child the handler a terminal's process has.
    hook = """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import archlint.engine as engine
    def run(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("SIGINT was not delivered")
    engine.run = run
    """
    proc = _run(hook, ["check", "."], small)
    assert proc.returncode == 130
    assert proc.stderr == "archlint: interrupted\n"
    assert "Aborted" not in proc.stdout + proc.stderr


def test_sigterm_during_the_final_write_leaves_no_temporary_file(small):
    # The signal arrives while the SARIF is written: after the text is in the temporary file, before the rename.
    hook = """
    real_fsync = os.fsync
    def fsync(fd):
        real_fsync(fd)
        os.kill(os.getpid(), signal.SIGTERM)
    os.fsync = fsync
    """
    proc = _run(hook, ["check", ".", "--sarif-output", "out.sarif", "--format", "concise"], small)
    assert proc.returncode == 143, proc.stderr
    assert proc.stderr == "archlint: terminated\n"
    assert sorted(p.name for p in small.iterdir()) == ["app.py", "pyproject.toml"]


def test_a_closed_stdout_does_not_exit_as_complete(small):
    # The reader of the pipe is gone before archlint writes: the run must not look like a clean or a normal one.
    read, write = os.pipe()
    os.close(read)
    code = RUNNER.format(hook="")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, "check", ".", "--format", "concise"],
            cwd=small,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "archlint: error: standard output was closed before the report was written in full\n"


def test_archlint_alone_prints_the_help():
    result = CliRunner().invoke(cli, [])
    assert result.exit_code in (0, 2)
    assert "[OPTIONS] COMMAND [ARGS]" in result.output and "\\n" not in result.output
