"""`--changed-since` never runs a command the repository's own git configuration names (issue 21)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from archlint.cli import cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def hostile_repo(tmp_path):
    """A repository whose .git/config runs commands: an fsmonitor hook, a clean filter, a textconv, an external diff."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.archlint]\nselect = ["AL630"]\n', encoding="utf-8")
    (root / "app.py").write_text("x = 1\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "config", "user.email", "a@example.com")
    git(root, "config", "user.name", "a")
    git(root, "add", ".")
    git(root, "commit", "-qm", "init")
    hook = root / "evil.sh"
    hook.write_text(f"#!/bin/sh\ntouch {tmp_path}/marker-$1\ncat\n", encoding="utf-8")
    hook.chmod(0o755)
    git(root, "config", "core.fsmonitor", f"{hook} fsmonitor")
    git(root, "config", "filter.evil.clean", f"{hook} clean")
    git(root, "config", "filter.evil.process", f"{hook} process")
    git(root, "config", "diff.evil.textconv", f"{hook} textconv")
    git(root, "config", "diff.external", f"{hook} external")
    (root / ".gitattributes").write_text("*.py filter=evil diff=evil\n", encoding="utf-8")
    (root / "app.py").write_text("import openai\n", encoding="utf-8")  # modified after the commit
    (root / "new.py").write_text("import openai\n", encoding="utf-8")  # untracked
    return root


def markers(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.glob("marker-*"))


def test_the_repository_config_is_hostile_for_plain_git(hostile_repo):
    # The trap works: git as the repository configures it runs the hooks.
    subprocess.run(["git", "status"], cwd=hostile_repo, capture_output=True)
    subprocess.run(["git", "diff"], cwd=hostile_repo, capture_output=True)
    assert "marker-fsmonitor" in markers(hostile_repo)
    assert set(markers(hostile_repo)) & {"marker-clean", "marker-process", "marker-external", "marker-textconv"}


def test_changed_since_runs_none_of_the_repository_commands(hostile_repo, monkeypatch):
    monkeypatch.chdir(hostile_repo)
    result = CliRunner().invoke(cli, ["check", "--changed-since", "HEAD", "--format", "concise"])
    assert result.exit_code == 1, result.output
    assert {line.split(":")[0] for line in result.stdout.splitlines()} == {"app.py", "new.py"}
    assert markers(hostile_repo) == []
