"""Suppression hygiene (issue 18): unused and unknown suppressions, bare noqa, --add-noqa, reasons."""

from __future__ import annotations

import ast
import os
import shutil

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES

from archlint.cli import cli

SUPPRESSIONS = FIXTURES / "adoption" / "suppressions"
LEGACY = FIXTURES / "adoption" / "legacy_app"


def copy(source, tmp_path):
    root = tmp_path / source.name
    shutil.copytree(source, root)
    (root / ".git").mkdir()
    return root


def check(root, *args):
    # Concise paths are relative to the current directory: run from the project root.
    here = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["check", str(root), "--format", "concise", *args], catch_exceptions=False)
    finally:
        os.chdir(here)
    return result.exit_code, [line for line in result.stdout.splitlines() if line.strip()], result.stderr


def codes(lines):
    return sorted(line.split(" ", 2)[1] for line in lines)


def test_bare_noqa_silences_archlint_only_when_configured(tmp_path):
    root = copy(SUPPRESSIONS, tmp_path)
    _, out, _ = check(root)
    assert any(line.startswith("app/main.py:17:") and " AL420 " in line for line in out)
    config = root / "pyproject.toml"
    config.write_text(config.read_text() + "respect-bare-noqa = true\n")
    _, out, _ = check(root)
    assert not any(line.startswith("app/main.py:17:") for line in out)


def test_bad_respect_bare_noqa_value_is_a_config_error(tmp_path):
    root = copy(SUPPRESSIONS, tmp_path)
    config = root / "pyproject.toml"
    config.write_text(config.read_text() + 'respect-bare-noqa = "yes"\n')
    code, _, err = check(root)
    assert code == 2 and "respect-bare-noqa" in err and len(err.splitlines()) == 1


def test_fix_removes_every_unused_suppression_and_nothing_else(tmp_path):
    root = copy(SUPPRESSIONS, tmp_path)
    main = root / "app" / "main.py"
    before = main.read_text()
    code, out, err = check(root, "--fix")
    after = main.read_text()
    ast.parse(after)
    assert "AL002" not in codes(out) and codes(out) == ["AL101", "AL420", "AL420"]
    assert "fixed 4 finding(s)" in err
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert len(removed) == 4
    # The suppressions that work, other tools' codes and reasons stay as they were.
    for kept in (
        "# archlint: ignore[AL101] -- the legacy clients call /items",
        "# noqa: AL420",
        'NAME = "x"  # noqa: E501',
        "LIMIT = 10  # noqa: E501",
        "# archlint: ignore[AL601] -- S17",
    ):
        assert kept in after
    assert "# archlint: ignore  #" not in after


def test_a_partial_selection_does_not_judge_blanket_suppressions(tmp_path):
    root = copy(SUPPRESSIONS, tmp_path)
    _, out, _ = check(root, "--select", "AL002,AL420")
    assert not any(line.startswith("app/main.py:42:") for line in out)  # the `# archlint: ignore` line
    assert any(line.startswith("app/main.py:38:") and " AL002 " in line for line in out)


def test_add_noqa_silences_every_finding(tmp_path):
    root = copy(LEGACY, tmp_path)
    schemas = root / "app" / "schemas.py"
    # A finding whose first line ends inside a multi-line string cannot take a comment there.
    schemas.write_text(
        schemas.read_text().replace(
            'regex="^[a-z]+$")',
            'regex="""^[a-z]+\n$""")',
        )
    )
    code, out, _ = check(root)
    assert code == 1 and len(out) == 21
    code, out, err = check(root, "--add-noqa")
    assert code == 0 and "added 20 suppression comment(s)" in err  # 21 findings on 20 lines
    for path in root.rglob("*.py"):
        ast.parse(path.read_text())
    assert "-- TODO: reason" in (root / "app" / "api" / "users.py").read_text()
    assert '$""")  # expect: AL225  # archlint: ignore[AL225] -- TODO: reason\n' in schemas.read_text()
    assert check(root)[:2] == (0, [])
    assert "added 0 suppression comment(s)" in check(root, "--add-noqa")[2]


def test_add_noqa_extends_an_existing_directive(tmp_path):
    root = copy(LEGACY, tmp_path)
    users = root / "app" / "api" / "users.py"
    users.write_text(
        users.read_text().replace(
            "def create_user(body: UserIn, db: dict = Depends(get_db)) -> UserOut:  # expect: AL420",
            "def create_user(body: UserIn, db: dict = Depends(get_db)) -> UserOut:  # archlint: ignore[AL110] -- x",
        )
    )
    check(root, "--add-noqa")
    assert "-> UserOut:  # archlint: ignore[AL110, AL420] -- x\n" in users.read_text()


@pytest.mark.parametrize(
    ("comment", "reported"),
    [
        ("# archlint: ignore[AL420]", True),
        ("# noqa: AL420", True),
        ("# archlint: ignore[AL420] -- TODO: reason", False),
        ("# archlint: ignore[AL420] -- kept until the v2 clients are gone", False),
        ("# noqa: E501", False),
    ],
)
def test_a_pack_can_require_reasons(tmp_path, comment, reported):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.archlint]\nselect = ["S18"]\nextend-select = ["AL003"]\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "deps.py").write_text(
        "from fastapi import Depends\n\n\ndef get_db():\n    return {}\n\n\n"
        f"def get_user(db: dict = Depends(get_db)) -> dict:  {comment}\n    return db\n"
    )
    _, out, _ = check(tmp_path)
    assert ("AL003" in codes(out)) is reported
