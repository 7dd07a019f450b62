"""The pre-commit hook as users run it: `pre-commit try-repo` against this repository.

pre-commit installs archlint from a copy of this repository (its
.pre-commit-hooks.yaml, pyproject.toml, src/ and rules/) into its own
virtualenv, once for the module, and runs the hook on a git repository made
from the S19 monorepo fixture: `--all-files` is a full check (no frontend file
is a change), a staged change is held to S19's boundaries, and on pre-push the
pushed range is the change. It runs under CI=true or ARCHLINT_SLOW_TESTS=1
(.ci/run sets it).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_harness import FIXTURES
from source_copy import source_copy

REPO = Path(__file__).resolve().parents[1]
MONOREPO = FIXTURES / "s19" / "monorepo"
APP = "frontend/src/App.tsx"
AI_SERVICE = "backend/app/services/ai_service.py"
MIGRATION = "backend/alembic/versions/0002_add_items.py"
FINDING = re.compile(r"^(\S+):\d+:\d+: (AL\d{3}) ", re.MULTILINE)

pytestmark = [
    pytest.mark.skipif(
        shutil.which("git") is None or importlib.util.find_spec("pre_commit") is None,
        reason="needs git and pre-commit (in the test extras)",
    ),
    pytest.mark.skipif(
        os.environ.get("CI") != "true" and not os.environ.get("ARCHLINT_SLOW_TESTS"),
        reason="pre-commit installs archlint into a fresh virtualenv (minutes): runs under CI=true or "
        "ARCHLINT_SLOW_TESTS=1 (.ci/run sets it)",
    ),
]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """A committed copy of what pre-commit installs from this repository, and a pre-commit home for its env."""
    base = tmp_path_factory.mktemp("hook")
    copy = source_copy(base / "archlint")
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "hook")
    return copy, git(copy, "rev-parse", "HEAD"), base / "pre-commit-home"


@pytest.fixture
def project(tmp_path):
    """The monorepo at a first commit without the AI service and the second migration."""
    root = tmp_path / "monorepo"
    shutil.copytree(MONOREPO, root)
    held = tmp_path / "ai_service.py"
    shutil.move(root / AI_SERVICE, held)
    (root / MIGRATION).unlink()
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root, held


def try_repo(hook_repo, cwd: Path, *args: str) -> tuple[int, set[tuple[str, str]], str]:
    copy, rev, home = hook_repo
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRE_COMMIT")}
    env.update(GIT_ENV, PRE_COMMIT_HOME=str(home), NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(copy), "archlint", "--ref", rev, "--color", "never", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1) or "hook id: archlint" not in output and proc.returncode:
        if "Could not find a version" in output and not os.environ.get("CI"):
            pytest.skip("no package index reachable to install the hook's environment")
        raise AssertionError(output)
    return proc.returncode, set(FINDING.findall(output)), output


def test_all_files_is_a_full_check_and_a_staged_change_is_held_to_the_boundaries(hook_repo, project):
    root, held = project
    # --all-files on a clean index: every file is passed, none is a change.
    code, found, output = try_repo(hook_repo, root, "--all-files")
    assert found == set(), output
    assert code == 0, output
    assert "archlint" in output and "Passed" in output

    # A staged change to the frontend and an LLM import: exactly those are reported.
    (root / APP).write_text("export const staged = true;\n", encoding="utf-8")
    shutil.copy(held, root / AI_SERVICE)
    git(root, "add", "-A")
    (root / "frontend/src/app.css").write_text("body { color: red; }\n", encoding="utf-8")  # unstaged: stashed
    code, found, output = try_repo(hook_repo, root)
    assert found == {(APP, "AL620"), (AI_SERVICE, "AL630")}, output
    assert code == 1

    # --all-files with that change staged: a full check, and the staged frontend file is still the change.
    code, found, output = try_repo(hook_repo, root, "--all-files")
    assert found == {(APP, "AL620"), (AI_SERVICE, "AL630")}, output

    # pre-push: the pushed range is the change, whatever is staged.
    git(root, "commit", "-q", "-m", "frontend and AI")
    git(root, "checkout", "--", "frontend/src/app.css")
    base = git(root, "rev-parse", "HEAD")
    shutil.copy(MONOREPO / MIGRATION, root / MIGRATION)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "migration")
    code, found, output = try_repo(hook_repo, root, "--hook-stage", "pre-push", "--from-ref", base, "--to-ref", "HEAD")
    assert found == {(MIGRATION, "AL620")}, output
    assert code == 1
