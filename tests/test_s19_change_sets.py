"""S19 on real change sets: temporary git repositories, pre-commit's file list, --changed-files.

The project is tests/fixtures/s19/monorepo (a backend with a frontend beside
it) turned into a git history: a base commit, then commits that touch the
frontend, add an Alembic migration and import openai in a service.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES

from archlint.changes import ChangedPath, ChangeSet, parse_name_status
from archlint.cli import cli
from archlint.engine import Overrides, run

MONOREPO = FIXTURES / "s19" / "monorepo"
MIGRATION = "backend/alembic/versions/0002_add_items.py"
AI_SERVICE = "backend/app/services/ai_service.py"
APP = "frontend/src/App.tsx"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    """The monorepo at its base commit (no migration 0002, no AI service); returns (path, base sha)."""
    root = tmp_path / "repo"
    shutil.copytree(MONOREPO, root)
    held = tmp_path / "held"
    held.mkdir()
    shutil.move(root / MIGRATION, held / "migration.py")
    shutil.move(root / AI_SERVICE, held / "ai_service.py")
    git(root, "init", "-q", "-b", "main")
    base = commit(root, "base")
    return root, base, held


def boundary_commits(root: Path, held: Path) -> None:
    """The three changes the profile forbids, in two commits, plus an allowed one."""
    (root / APP).write_text("export function App() {\n  return <h1>Items!</h1>;\n}\n", encoding="utf-8")
    shutil.copy(held / "migration.py", root / MIGRATION)
    commit(root, "frontend and a migration")
    shutil.copy(held / "ai_service.py", root / AI_SERVICE)
    with (root / "backend/app/services/item_service.py").open("a", encoding="utf-8") as f:
        f.write("\n\nPAGE_SIZE = 20\n")
    commit(root, "an AI service")


def check(root: Path, *args: str, env: dict | None = None, input: str | None = None):
    """`archlint check ... --format json` run from the repository root: (exit code, {(path, rule)})."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(
            cli,
            ["check", *args, "--format", "json"],
            env=env or {"PRE_COMMIT": None},
            input=input,
            catch_exceptions=False,
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    return result.exit_code, data


def found(data) -> set[tuple[str, str]]:
    return {(f["path"], f["rule"]) for f in data["findings"]}


def ai_import_line() -> int:
    lines = (MONOREPO / AI_SERVICE).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "import" in line and "openai" in line)


# --------------------------------------------------------------- --changed-since
def test_changed_since_reports_exactly_the_frontend_the_migration_and_the_llm_import(repo):
    root, base, held = repo
    boundary_commits(root, held)
    code, data = check(root, "--changed-since", base)
    assert code == 1
    assert found(data) == {(APP, "AL620"), (MIGRATION, "AL620"), (AI_SERVICE, "AL630")}
    by_path = {f["path"]: f for f in data["findings"]}
    assert "frontend-ui-developer" in by_path[APP]["message"]
    assert "database-engineer" in by_path[MIGRATION]["message"]
    assert by_path[AI_SERVICE]["line"] == ai_import_line()


def test_changed_since_counts_staged_unstaged_untracked_renamed_and_deleted_paths(repo):
    root, base, _held = repo
    (root / "frontend/src/app.css").write_text("h1 { color: red; }\n", encoding="utf-8")  # unstaged
    (root / "frontend/src/staged.ts").write_text("export {};\n", encoding="utf-8")
    git(root, "add", "frontend/src/staged.ts")  # staged, new
    (root / "frontend/src/untracked.ts").write_text("export {};\n", encoding="utf-8")  # untracked
    git(root, "rm", "-q", "frontend/package.json")  # deleted
    git(root, "mv", "backend/alembic/versions/0001_init.py", "backend/app/models/legacy_init.py")  # renamed away
    (root / "backend/app/services/item_service.py").write_text("VALUE = 1\n", encoding="utf-8")  # allowed
    (root / "Dockerfile").write_text("FROM python:3.12\n", encoding="utf-8")  # neither list: a note
    (root / ".gitignore").write_text("*.log\n", encoding="utf-8")
    (root / "frontend/debug.log").write_text("ignored by git\n", encoding="utf-8")  # ignored: no change
    code, data = check(root, "--changed-since", "HEAD")
    assert code == 1
    assert found(data) == {
        ("frontend/src/app.css", "AL620"),
        ("frontend/src/staged.ts", "AL620"),
        ("frontend/src/untracked.ts", "AL620"),
        ("frontend/package.json", "AL620"),
        ("backend/alembic/versions/0001_init.py", "AL620"),
        ("Dockerfile", "AL621"),
        (".gitignore", "AL621"),
    }
    messages = {f["path"]: f["message"] for f in data["findings"]}
    assert "(deleted)" in messages["frontend/package.json"]
    assert "renamed to `backend/app/models/legacy_init.py`" in messages["backend/alembic/versions/0001_init.py"]
    notes = [f for f in data["findings"] if f["rule"] == "AL621"]
    assert all(f["severity"] == "note" for f in notes)


def test_changed_since_compares_with_the_merge_base(repo):
    """A branch that moved on after we branched off does not put its changes into ours."""
    root, _base, _held = repo
    git(root, "checkout", "-q", "-b", "feature")
    (root / "backend/app/services/item_service.py").write_text("VALUE = 2\n", encoding="utf-8")
    commit(root, "feature work")
    git(root, "checkout", "-q", "main")
    (root / APP).write_text("export const changedOnMain = true;\n", encoding="utf-8")
    commit(root, "main moves on in the frontend")
    git(root, "checkout", "-q", "feature")
    code, data = check(root, "--changed-since", "main")
    assert code == 0
    assert found(data) == set()


def test_changed_since_from_a_subdirectory_still_sees_the_whole_change(repo):
    root, base, held = repo
    boundary_commits(root, held)
    code, data = check(root / "backend", "--changed-since", base)
    assert found(data) == {(APP, "AL620"), (MIGRATION, "AL620"), (AI_SERVICE, "AL630")}


def test_paths_narrow_the_change_set(repo):
    root, base, held = repo
    boundary_commits(root, held)
    code, data = check(root, "--changed-since", base, "backend")
    assert found(data) == {(MIGRATION, "AL620"), (AI_SERVICE, "AL630")}


def test_changed_since_errors(repo, tmp_path):
    root, _base, _held = repo
    result = CliRunner().invoke(cli, ["check", str(root), "--changed-since", "no-such-ref"])
    assert result.exit_code == 2
    assert "'no-such-ref' is not a commit" in result.output
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    result = CliRunner().invoke(cli, ["check", str(outside), "--changed-since", "HEAD"])
    assert result.exit_code == 2
    assert "needs a git repository" in result.output
    result = CliRunner().invoke(cli, ["check", str(root), "--changed-since", "HEAD", "--changed-files", "x.txt"])
    assert result.exit_code == 2
    assert "give one change set" in result.output


# ------------------------------------------------------------------ pre-commit
def test_pre_commit_file_list_is_a_change_set(repo):
    """pre-commit sets PRE_COMMIT=1 and passes the staged files, relative to the repository root."""
    root, _base, held = repo
    (root / APP).write_text("export const staged = true;\n", encoding="utf-8")
    shutil.copy(held / "migration.py", root / MIGRATION)
    shutil.copy(held / "ai_service.py", root / AI_SERVICE)
    git(root, "add", "-A")
    staged = git(root, "diff", "--staged", "--name-only", "--diff-filter=ACMRTUXB").splitlines()
    assert sorted(staged) == sorted([APP, MIGRATION, AI_SERVICE])
    code, data = check(root, *staged, env=PRE_COMMIT_ENV)
    assert code == 1
    assert found(data) == {(APP, "AL620"), (MIGRATION, "AL620"), (AI_SERVICE, "AL630")}
    assert data["summary"]["files"] == 3


PRE_COMMIT_ENV = {"PRE_COMMIT": "1", "PRE_COMMIT_FROM_REF": None, "PRE_COMMIT_TO_REF": None}


def tracked(root: Path) -> list[str]:
    """What `pre-commit run --all-files` passes: every tracked file."""
    return git(root, "ls-files").splitlines()


def test_pre_commit_all_files_on_a_clean_index_is_a_full_check_not_a_change(repo):
    """--all-files passes every file; nothing is staged, so nothing is a change: no AL620 on the frontend."""
    root, _base, held = repo
    shutil.copy(held / "ai_service.py", root / AI_SERVICE)
    commit(root, "an AI service")
    files = tracked(root)
    assert APP in files and "backend/alembic/versions/0001_init.py" in files
    code, data = check(root, *files, env=PRE_COMMIT_ENV)
    assert found(data) == {(AI_SERVICE, "AL630")}  # a full check still reports in every file
    assert code == 1


def test_pre_commit_all_files_with_a_staged_change_holds_only_the_staged_files(repo):
    root, _base, _held = repo
    (root / APP).write_text("export const staged = true;\n", encoding="utf-8")
    git(root, "add", APP)
    (root / "frontend/src/app.css").write_text("body { color: red; }\n", encoding="utf-8")  # unstaged
    code, data = check(root, *tracked(root), env=PRE_COMMIT_ENV)
    assert found(data) == {(APP, "AL620")}
    assert code == 1


def test_pre_commit_files_outside_the_change_are_not_a_change(repo):
    """`pre-commit run --files a b` with nothing staged checks the files; S19 stays silent."""
    root, _base, _held = repo
    code, data = check(root, APP, "backend/alembic/versions/0001_init.py", env=PRE_COMMIT_ENV)
    assert found(data) == set()
    assert code == 0


def test_pre_commit_hook_filters_narrow_the_change(repo):
    """A staged file the hook's filters (files/exclude/types) leave out is not passed, so not held."""
    root, _base, held = repo
    (root / APP).write_text("export const staged = true;\n", encoding="utf-8")
    shutil.copy(held / "ai_service.py", root / AI_SERVICE)
    git(root, "add", "-A")
    code, data = check(root, AI_SERVICE, env=PRE_COMMIT_ENV)
    assert found(data) == {(AI_SERVICE, "AL630")}


def test_pre_commit_staged_deletion_is_part_of_the_change(repo):
    """pre-commit never passes a deleted file; deleting a migration is still a forbidden change."""
    root, _base, _held = repo
    migration = "backend/alembic/versions/0001_init.py"
    git(root, "rm", "-q", migration)
    code, data = check(root, "backend/app/main.py", env=PRE_COMMIT_ENV)
    assert found(data) == {(migration, "AL620")}
    assert code == 1


def test_pre_commit_push_range_is_the_change(repo):
    """On pre-push, PRE_COMMIT_FROM_REF...PRE_COMMIT_TO_REF is the change, intersected with the files passed."""
    root, base, held = repo
    boundary_commits(root, held)
    head = git(root, "rev-parse", "HEAD")
    (root / "frontend/src/app.css").write_text("body { color: red; }\n", encoding="utf-8")
    git(root, "add", "-A")  # staged, but not part of the pushed range
    pushed = git(root, "diff", "--name-only", f"{base}...{head}").splitlines()
    env = {"PRE_COMMIT": "1", "PRE_COMMIT_FROM_REF": base, "PRE_COMMIT_TO_REF": head}
    code, data = check(root, *pushed, env=env)
    assert found(data) == {(APP, "AL620"), (MIGRATION, "AL620"), (AI_SERVICE, "AL630")}
    # --all-files on pre-push: every file is passed, only the range is a change.
    code, data = check(root, *tracked(root), env=env)
    assert found(data) == {(APP, "AL620"), (MIGRATION, "AL620"), (AI_SERVICE, "AL630")}


def test_same_files_without_pre_commit_are_plain_paths(repo):
    """Outside pre-commit, file arguments are what to analyse, not a change: S19 stays silent."""
    root, _base, held = repo
    shutil.copy(held / "migration.py", root / MIGRATION)
    code, data = check(root, APP, MIGRATION, env={"PRE_COMMIT": ""})
    assert found(data) == set()
    assert code == 0


def test_pre_commit_with_a_directory_is_a_plain_run(repo):
    root, _base, held = repo
    shutil.copy(held / "ai_service.py", root / AI_SERVICE)
    code, data = check(root, ".", env=PRE_COMMIT_ENV)
    assert found(data) == {(AI_SERVICE, "AL630")}


def test_a_plain_directory_run_never_reports_s19(repo):
    root, base, held = repo
    boundary_commits(root, held)
    code, data = check(root)
    assert {rule for _path, rule in found(data)} == {"AL630"}


# --------------------------------------------------------------- --changed-files
def test_changed_files_list_from_a_file_and_from_stdin(repo, tmp_path):
    root, _base, _held = repo
    listing = tmp_path / "changes.txt"
    listing.write_text(
        f'{APP}\n\nbackend/app/api/v1/routes/items.py\nfrontend/src/removed.ts\n"frontend/caf\\303\\251.css"\n',
        encoding="utf-8",
    )
    expected = {(APP, "AL620"), ("frontend/src/removed.ts", "AL620"), ("frontend/café.css", "AL620")}
    code, data = check(root, "--changed-files", str(listing))
    assert code == 1
    assert found(data) == expected
    code, data = check(root, "--changed-files", "-", input=listing.read_text(encoding="utf-8"))
    assert found(data) == expected


def test_backend_with_its_own_configuration_and_custom_boundaries(repo):
    """A config in backend/ still sees repository-relative paths; its own boundaries apply to its files."""
    root, base, held = repo
    (root / "backend/pyproject.toml").write_text(
        '[tool.archlint]\nselect = ["S19", "S20"]\n\n'
        "[tool.archlint.standards.S19.forbidden-paths]\n"
        'database-engineer = ["**/alembic/**"]\n'
        'frontend-ui-developer = ["frontend/**"]\n'
        'workflow-architect = ["backend/app/workflows/**"]\n',
        encoding="utf-8",
    )
    commit(root, "backend config")
    boundary_commits(root, held)
    (root / "backend/alembic/env.py").parent.mkdir(parents=True, exist_ok=True)
    (root / "backend/alembic/env.py").write_text("config = None\n", encoding="utf-8")
    code, data = check(root, "--changed-since", "HEAD~2")
    assert found(data) == {
        (APP, "AL620"),  # outside backend/: judged by the root's (default) configuration
        (MIGRATION, "AL620"),
        ("backend/alembic/env.py", "AL620"),  # the backend's own, wider, database-engineer glob
        (AI_SERVICE, "AL630"),
    }


# ------------------------------------------------------------------- plumbing
def test_parse_name_status_keeps_both_sides_of_a_rename():
    out = b"M\0a.py\0R087\0old/x.ts\0new/x.ts\0D\0gone.css\0C100\0src.py\0copy.py\0A\0new file.py\0"
    assert parse_name_status(out) == [
        ChangedPath("a.py", "modified"),
        ChangedPath("new/x.ts", "renamed", "old/x.ts"),
        ChangedPath("old/x.ts", "renamed-away", "new/x.ts"),
        ChangedPath("gone.css", "deleted"),
        ChangedPath("copy.py", "copied", "src.py"),
        ChangedPath("new file.py", "added"),
    ]


def test_engine_takes_a_change_set_directly(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.archlint]\nselect = ["S19"]\n', encoding="utf-8")
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend/x.ts").write_text("export {};\n", encoding="utf-8")
    change = ChangeSet(tmp_path, [ChangedPath("frontend/x.ts", "added"), ChangedPath("frontend/gone.ts", "deleted")])
    result = run([], Overrides(change_set=change))
    assert sorted((f.path, f.rule_id) for f in result.report.findings) == [
        ("frontend/gone.ts", "AL620"),
        ("frontend/x.ts", "AL620"),
    ]
    assert result.report.files_checked == 2
