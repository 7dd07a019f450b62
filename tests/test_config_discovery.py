"""Which configuration applies: found upward as Ruff finds it.

A pyproject.toml without [tool.archlint] is skipped, so a monorepo's root
configuration applies to backend/ even when the backend has its own
pyproject.toml for packaging; an archlint.toml always counts; the search
stops at the repository root.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archlint.cli import cli
from archlint.config import find_config

UNVERSIONED = textwrap.dedent('''
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/users")
    async def list_users() -> list[str]:
        """List users."""
        return []
''').lstrip()

BACKEND_PACKAGING = '[project]\nname = "backend"\nversion = "0"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def check(cwd: Path, *args: str) -> tuple[int, dict]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, ["check", *args, "--format", "json"], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def monorepo(tmp_path):
    """A repository whose root configures archlint for backend/, which has a packaging-only pyproject.toml."""
    root = tmp_path / "repo"
    write(
        root,
        {
            ".git/HEAD": "ref: refs/heads/main\n",
            "pyproject.toml": '[tool.archlint]\nselect = ["S1"]\nignore = ["AL101"]\n',
            "backend/pyproject.toml": BACKEND_PACKAGING,
            "backend/app/__init__.py": "",
            "backend/app/main.py": UNVERSIONED,
        },
    )
    return root


def test_repository_root_configuration_applies_to_a_backend_with_a_packaging_pyproject(monorepo):
    assert find_config(monorepo / "backend" / "app" / "main.py") == (monorepo / "pyproject.toml", monorepo)
    for cwd, arg in ((monorepo, "backend"), (monorepo / "backend", "."), (monorepo / "backend", "app/main.py")):
        code, data = check(cwd, arg)
        assert data["findings"] == [], (cwd, arg)  # AL101 is ignored at the root
        assert code == 0


def test_a_backend_table_wins_over_the_root(monorepo):
    write(monorepo, {"backend/pyproject.toml": BACKEND_PACKAGING + '\n[tool.archlint]\nselect = ["S1"]\n'})
    assert find_config(monorepo / "backend")[1] == monorepo / "backend"
    code, data = check(monorepo, "backend")
    assert [(f["rule"], f["path"]) for f in data["findings"]] == [("AL101", "backend/app/main.py")]
    assert code == 1


def test_archlint_toml_always_counts(monorepo):
    write(monorepo, {"backend/archlint.toml": 'select = ["S1"]\n'})
    assert find_config(monorepo / "backend") == (monorepo / "backend" / "archlint.toml", monorepo / "backend")


def test_the_search_stops_at_the_repository_root(tmp_path):
    """A configuration above the repository is not the project's."""
    write(tmp_path, {"pyproject.toml": '[tool.archlint]\nignore = ["AL101"]\n'})
    repo = write(
        tmp_path / "repo",
        {".git/HEAD": "ref: refs/heads/main\n", "backend/pyproject.toml": BACKEND_PACKAGING, "backend/app/main.py": UNVERSIONED},
    )
    # No configuration inside the repository: the nearest project directory is the root, with the defaults.
    assert find_config(repo / "backend" / "app") == (None, repo / "backend")
    assert find_config(repo) == (None, repo)


def test_without_any_configuration_the_nearest_project_is_the_root(tmp_path):
    project = write(tmp_path / "svc", {"pyproject.toml": BACKEND_PACKAGING, "app/main.py": UNVERSIONED})
    path, root = find_config(project / "app")
    assert path is None and root == project
    code, data = check(project, ".", "--select", "S1")
    assert [(f["rule"], f["path"]) for f in data["findings"]] == [("AL101", "app/main.py")]


def test_an_unparsable_pyproject_is_reported_not_skipped(monorepo):
    write(monorepo, {"backend/pyproject.toml": "[tool.archlint\n"})
    result = CliRunner().invoke(cli, ["check", str(monorepo / "backend")])
    assert result.exit_code == 2
    assert "backend/pyproject.toml" in result.output and "invalid TOML" in result.output
